"""What a Metadata API deploy would do to the org's schema, checked without doing it: one
DeployMessage per component of the package (sandbox/metadata_deploy.py answers the API; a
kept org applies its earlier deploys again with this, sandbox/store.py)."""
from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, replace
from xml.etree import ElementTree as ET

from sandbox import formula as formulas
from sandbox.definitions import FieldDef, ObjectDef
from sandbox.metadata import NS, field_from_element, object_from_element
from sandbox.versions import VERSIONS

_MD = NS[1:-1]

TRACKED_PER_OBJECT = 20
# the folder and suffix of each type in a Metadata API zip (what sf's convert writes)
_FOLDERS = {
    "objects": ("CustomObject", ".object"),
    "permissionsets": ("PermissionSet", ".permissionset"),
    "notificationtypes": ("CustomNotificationType", ".notiftype"),
    "platformEventChannelMembers": ("PlatformEventChannelMember", ".platformEventChannelMember"),
}
_LWC_TARGETS = {
    "lightning__AppPage", "lightning__HomePage", "lightning__RecordPage", "lightning__RecordAction",
    "lightning__Tab", "lightning__FlowScreen", "lightning__UtilityBar", "lightning__Inbox",
    "lightningCommunity__Page", "lightningCommunity__Default", "lightningCommunity__Page_Layout",
    "lightningCommunity__Theme_Layout", "lightningSnapin__ChatMessage", "lightning__UrlAddressable",
    "lightning__GlobalAction", "lightning__Dashboard", "lightning__ChatMessage",
}  # fmt: skip
_OBJECT_PERMISSIONS = {"allowRead": "Read", "allowCreate": "Create", "allowEdit": "Edit", "allowDelete": "Delete",
                       "viewAllRecords": "View All", "modifyAllRecords": "Modify All"}  # fmt: skip
_DEPENDS_ON = {
    "allowCreate": ("allowRead",),
    "allowEdit": ("allowRead",),
    "allowDelete": ("allowRead", "allowEdit"),
    "viewAllRecords": ("allowRead",),
    "modifyAllRecords": ("allowRead", "allowEdit", "allowDelete", "viewAllRecords"),
}
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*__c")


@dataclass
class Message:
    """One DeployMessage."""

    componentType: str
    fullName: str
    fileName: str
    success: bool = True
    created: bool = False
    changed: bool = False
    problem: str | None = None
    problemType: str | None = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(el: ET.Element | None, tag: str) -> str:
    if el is None:
        return ""
    child = el.find(NS + tag)
    return (child.text or "").strip() if child is not None else ""


def _true(el: ET.Element, tag: str) -> bool:
    return _text(el, tag) == "true"


def check(archive: zipfile.ZipFile, org_objects: dict[str, ObjectDef]) -> tuple[list[Message], dict[str, ObjectDef]]:
    """(one DeployMessage per component, the objects as the deploy would leave them)."""
    names = [n for n in archive.namelist() if not n.endswith("/")]
    manifest = next((n for n in names if posixpath.basename(n) == "package.xml"), None)
    messages: list[Message] = []
    if manifest is None:
        return [Message("", "package.xml", "package.xml", False, problem="No package.xml found",
                        problemType="Error")], {}  # fmt: skip
    base = posixpath.dirname(manifest)
    files = {posixpath.relpath(n, base) if base else n: n for n in names}
    listed: dict[str, set[str]] = {}
    try:
        package = ET.fromstring(archive.read(manifest))
        for t in package.findall(f"{NS}types"):
            listed.setdefault(_text(t, "name"), set()).update((m.text or "").strip() for m in t.findall(f"{NS}members"))
    except ET.ParseError as exc:
        return [Message("", "package.xml", "package.xml", False, problem=f"Error parsing file: {exc}",
                        problemType="Error")], {}  # fmt: skip
    messages.append(Message("", "package.xml", "package.xml", changed=True))
    context = _Context(org_objects, listed)
    found: set[tuple[str, str]] = set()

    def read(rel: str) -> ET.Element | None:
        try:
            return ET.fromstring(archive.read(files[rel]))
        except ET.ParseError as exc:
            return ET.Element("_error", {"problem": f"Error parsing file: {exc}"})

    # objects first: everything else is checked against the schema they leave
    object_files = sorted(r for r in files if r.startswith("objects/") and r.endswith(".object"))
    for rel in object_files:
        name = posixpath.basename(rel).removesuffix(".object")
        root = read(rel)
        messages += context.object_file(name, rel, root, found)
    over = context.history_limits()
    failing = {m.fullName for m in over}
    messages = [m for m in messages if not (m.success and m.componentType == "CustomField" and m.fullName in failing)]
    messages += over
    for rel in sorted(files):
        if rel == "package.xml" or rel in object_files:
            continue
        folder = rel.split("/", 1)[0]
        if folder == "lwc":
            bundle = rel.split("/")[1] if rel.count("/") >= 2 else ""
            if ("LightningComponentBundle", bundle) in found:
                continue
            found.add(("LightningComponentBundle", bundle))
            bundle_files = {r: archive.read(files[r]) for r in files if r.startswith(f"lwc/{bundle}/")}
            messages.append(context.lwc(bundle, bundle_files))
            continue
        kind, suffix = _FOLDERS.get(folder, (None, ""))
        if kind is None or not rel.endswith(suffix):
            if rel.endswith("-meta.xml") and posixpath.splitext(rel[: -len("-meta.xml")])[1]:
                continue  # a file's companion metadata (a document, a static resource): one component
            messages.append(Message(_type_of(folder), posixpath.splitext(posixpath.basename(rel))[0], rel,
                                    changed=True, problemType="Warning",
                                    problem="The sandbox org does not model this metadata type: deployed without "
                                    "changing the sandbox"))  # fmt: skip
            found.add((_type_of(folder), posixpath.splitext(posixpath.basename(rel))[0]))
            continue
        name = posixpath.basename(rel).removesuffix(suffix)
        found.add((kind, name))
        root = read(rel)
        messages.append(context.component(kind, name, rel, root))
    for kind, members in listed.items():
        for member in sorted(members):
            if member == "*" or (kind, member) in found:
                continue
            messages.append(Message(kind, member, "package.xml", False, problemType="Error", problem=(
                f"An object '{member}' of type {kind} was named in package.xml, but was not found in zipped "
                "directory")))  # fmt: skip
    return messages, context.changed


def _type_of(folder: str) -> str:
    return {"flows": "Flow", "layouts": "Layout", "classes": "ApexClass", "triggers": "ApexTrigger",
            "aura": "AuraDefinitionBundle", "staticresources": "StaticResource", "tabs": "CustomTab",
            "applications": "CustomApplication", "flexipages": "FlexiPage"}.get(folder, folder)  # fmt: skip


class _Context:
    def __init__(self, org_objects: dict[str, ObjectDef], listed: dict[str, set[str]]):
        self.org = org_objects
        self.listed = listed
        self.changed: dict[str, ObjectDef] = {}
        self._tracked_by: dict[str, list[str]] = {}

    def object(self, name: str) -> ObjectDef | None:
        return self.changed.get(name) or self.org.get(name) or next(
            (o for n, o in {**self.org, **self.changed}.items() if n.lower() == name.lower()), None)

    # -- CustomObject and its children --
    def object_file(self, name: str, rel: str, root: ET.Element | None, found: set[tuple[str, str]]) -> list[Message]:
        messages: list[Message] = []
        if root is None or root.tag == "_error":
            problem = root.get("problem") if root is not None else "Error parsing file"
            return [Message("CustomObject", name, rel, False, problem=problem, problemType="Error")]
        if root.tag != NS + "CustomObject":
            return [Message("CustomObject", name, rel, False, problemType="Error",
                            problem=f"Error parsing file: expected a CustomObject in the {_MD} namespace")]
        existing = self.object(name)
        if name in self.listed.get("CustomObject", set()) and not name.endswith("__c"):
            found.add(("CustomObject", name))  # a standard object named whole: its settings stay the org's
            if existing is not None:
                messages.append(Message("CustomObject", name, rel, changed=True))
        if name.endswith("__c") and name in self.listed.get("CustomObject", set()):
            found.add(("CustomObject", name))
            if existing is None:
                try:
                    prefix = f"a{sum(1 for o in {**self.org, **self.changed}.values() if o.custom):02d}"
                    existing = object_from_element(root, name, prefix, rel)
                except ValueError as exc:
                    return [Message("CustomObject", name, rel, False, problemType="Error",
                                    problem=str(exc).split(": ", 1)[-1])]
                if not _text(root, "label"):
                    return [Message("CustomObject", name, rel, False, problemType="Error",
                                    problem="Must specify a non-empty label for the CustomObject")]
                self.changed[name] = existing
                messages.append(Message("CustomObject", name, rel, created=True, changed=True))
            else:
                messages.append(Message("CustomObject", name, rel, changed=True))
        if existing is None:
            problem = (f"the sandbox org does not model the standard object {name}" if not name.endswith("__c")
                       else f"Cannot find the object {name}: it is neither in the org nor in this deploy")
            for child in root:
                child_name = _text(child, "fullName")
                kind = {"fields": "CustomField", "listViews": "ListView"}.get(_local(child.tag), _local(child.tag))
                found.add((kind, f"{name}.{child_name}"))
                messages.append(Message(kind, f"{name}.{child_name}", rel, False, problem=problem, problemType="Error"))
            return messages
        obj = replace(existing, fields=dict(existing.fields))
        touched = False
        formula_fields: list[tuple[int, FieldDef]] = []
        for child in root.findall(NS + "fields"):
            fname = _text(child, "fullName")
            found.add(("CustomField", f"{name}.{fname}"))
            message, fdef = self.custom_field(obj, fname, child, rel)
            messages.append(message)
            if fdef is not None:
                obj.fields[fdef.name] = fdef
                touched = True
                if fdef.formula is not None:
                    formula_fields.append((len(messages) - 1, fdef))
        # a formula names fields of its object, which this same deploy may bring: checked once all are in
        for at, fdef in formula_fields:
            problem = formulas.operand_problem(replace(obj, fields=obj.fields), fdef)
            if problem:
                messages[at] = replace(messages[at], success=False, created=False, changed=False, problem=problem,
                                       problemType="Error")  # fmt: skip
                del obj.fields[fdef.name]
        if touched:
            obj = replace(obj, fields=obj.fields)  # reindexed
            self.changed[name] = obj
        for child in root.findall(NS + "listViews"):
            vname = _text(child, "fullName")
            found.add(("ListView", f"{name}.{vname}"))
            messages.append(self.list_view(name, vname, child, rel))
        return messages

    def custom_field(self, obj: ObjectDef, name: str, el: ET.Element, rel: str) -> tuple[Message, FieldDef | None]:
        full = f"{obj.name}.{name}"
        problems = field_problems(name, el)
        before = obj.field(name)
        if not problems and before is not None and not before.custom:
            return Message("CustomField", full, rel, changed=True, problemType="Warning", problem=(
                "a standard field: the sandbox org keeps its own definition of it")), None  # fmt: skip
        fdef = None
        if not problems:
            try:
                fdef = field_from_element(el, name, rel)
            except ValueError as exc:
                problems.append(str(exc).split(": ", 1)[-1].replace("is not emulated", "is not modelled by the "
                                                                     "sandbox org"))  # fmt: skip
        if fdef is not None and before is not None and before.type == "reference" != fdef.type:
            problems.append(f"Cannot change type of field {full}: a lookup relationship field's type cannot change")
        if fdef is not None and fdef.reference_to and self.object(fdef.reference_to[0]) is None:
            problems.append(f"Field {name} references an entity that does not exist: {fdef.reference_to[0]}")
        if problems:
            return Message("CustomField", full, rel, False, problem="; ".join(problems), problemType="Error"), None
        assert fdef is not None
        if fdef.track_history:
            self._tracked_by.setdefault(obj.name, []).append(name)
        changed = before is None or before != fdef
        return Message("CustomField", full, rel, created=before is None, changed=changed), fdef

    def history_limits(self) -> list[Message]:
        """Over 20 tracked fields on an object: every newly tracked field of the deploy fails."""
        out = []
        for name, deployed in self._tracked_by.items():
            obj = self.changed[name]
            tracked = [f.name for f in obj.fields.values() if f.track_history]
            if len(tracked) > TRACKED_PER_OBJECT:
                for fname in deployed:
                    out.append(Message("CustomField", f"{name}.{fname}", f"objects/{name}.object", False,
                                       problemType="Error", problem=(
                                           f"You have exceeded the allowed number of fields to track on {name}: "
                                           f"{len(tracked)} fields would be tracked ({TRACKED_PER_OBJECT} at most, "
                                           "standard fields included); untrack some first")))  # fmt: skip
        return out

    def list_view(self, obj: str, name: str, el: ET.Element, rel: str) -> Message:
        target = self.object(obj)
        columns = [(c.text or "").strip() for c in el.findall(NS + "columns")]
        columns += [_text(f, "field") for f in el.findall(NS + "filters")]
        missing = [c for c in columns if c.endswith("__c") and (target is None or target.field(c) is None)]
        if missing:
            return Message("ListView", f"{obj}.{name}", rel, False, problemType="Error",
                           problem=f"Could not resolve list view column: {missing[0]}")
        return Message("ListView", f"{obj}.{name}", rel, changed=True)

    # -- other components --
    def component(self, kind: str, name: str, rel: str, root: ET.Element | None) -> Message:
        if root is None or root.tag == "_error":
            return Message(kind, name, rel, False, problemType="Error",
                           problem=root.get("problem") if root is not None else "Error parsing file")  # fmt: skip
        if root.tag != NS + kind:
            return Message(kind, name, rel, False, problemType="Error",
                           problem=f"Error parsing file: expected a {kind} in the {_MD} namespace")
        problems = getattr(self, f"_{kind}")(name, root)
        if problems:
            return Message(kind, name, rel, False, problem="; ".join(problems), problemType="Error")
        return Message(kind, name, rel, changed=True)

    def _PermissionSet(self, name: str, root: ET.Element) -> list[str]:  # noqa: N802
        problems = []
        label = _text(root, "label")
        if not 0 < len(label) <= 80:
            problems.append("Label: a permission set needs a label of 1-80 characters")
        if len(_text(root, "description")) > 255:
            problems.append("Description: data value too large (max length=255)")
        for fp in root.findall(NS + "fieldPermissions"):
            ref = _text(fp, "field")
            obj_name, _, fname = ref.partition(".")
            obj = self.object(obj_name)
            fdef = obj.field(fname) if obj is not None else None
            if fdef is None:
                problems.append(f"In field: field - no CustomField named {ref} found")
            elif fdef.required:
                problems.append(f"You cannot deploy to a required field: {ref}")
            elif fdef.formula is not None and _true(fp, "editable"):
                problems.append(f"Field permission Edit {ref}: a formula field is read-only, its value is "
                                "calculated; grant readable only")  # fmt: skip
            elif _true(fp, "editable") and not _true(fp, "readable"):
                problems.append(f"Field permission Edit {ref} depends on permission(s): Read {ref}")
        for op in root.findall(NS + "objectPermissions"):
            obj_name = _text(op, "object")
            if self.object(obj_name) is None:
                problems.append(f"In field: object - no CustomObject named {obj_name} found")
                continue
            for perm, needs in _DEPENDS_ON.items():
                missing = [n for n in needs if _true(op, perm) and not _true(op, n)]
                if missing:
                    problems.append(f"Permission {_OBJECT_PERMISSIONS[perm]} {obj_name} depends on permission(s): "
                                    + ", ".join(f"{_OBJECT_PERMISSIONS[n]} {obj_name}" for n in missing))
        return problems

    def _CustomNotificationType(self, name: str, root: ET.Element) -> list[str]:  # noqa: N802
        label = _text(root, "masterLabel")
        return [] if 0 < len(label) <= 80 else ["Master Label: a notification type needs a label of 1-80 characters"]

    def _PlatformEventChannelMember(self, name: str, root: ET.Element) -> list[str]:  # noqa: N802
        channel, entity = _text(root, "eventChannel"), _text(root, "selectedEntity")
        if channel != "ChangeEvents":
            return [f"No such channel: {channel} (the sandbox org has the standard ChangeEvents channel only)"]
        obj = entity.removesuffix("__ChangeEvent") + "__c" if entity.endswith("__ChangeEvent") else entity.removesuffix("ChangeEvent")
        if obj == entity or self.object(obj) is None:
            return [f"In field: selectedEntity - no entity named {entity} found"]
        return []

    def lwc(self, bundle: str, files: dict[str, bytes]) -> Message:
        rel = f"lwc/{bundle}"
        meta_name = f"lwc/{bundle}/{bundle}.js-meta.xml"
        if f"lwc/{bundle}/{bundle}.js" not in files or meta_name not in files:
            return Message("LightningComponentBundle", bundle, rel, False, problemType="Error",
                           problem=f"A bundle needs {bundle}.js and {bundle}.js-meta.xml")
        problems = []
        try:
            meta = ET.fromstring(files[meta_name])
        except ET.ParseError as exc:
            return Message("LightningComponentBundle", bundle, meta_name, False, problemType="Error",
                           problem=f"Error parsing file: {exc}")


        version, newest = _text(meta, "apiVersion"), max(float(v) for v in VERSIONS)
        if not re.fullmatch(r"\d+\.0", version) or not 45 <= float(version) <= newest:
            problems.append(f"Invalid apiVersion {version or '(none)'}: a bundle's apiVersion is 45.0 to the org's "
                            f"{newest:.1f}")
        targets = [(t.text or "").strip() for t in meta.iter(NS + "target")]
        unknown = [t for t in targets if t not in _LWC_TARGETS]
        if unknown:
            problems.append(f"Invalid target: {unknown[0]}")
        if targets and not _true(meta, "isExposed"):
            problems.append("A component with targets must be exposed (isExposed true)")
        for path, content in sorted(files.items()):
            if not path.endswith(".js") or "/__tests__/" in path:
                continue
            for ref in re.findall(r"""['"]@salesforce/schema/([A-Za-z0-9_]+\.[A-Za-z0-9_.]+)['"]""", content.decode(
                    "utf-8", "replace")):
                obj_name, _, fname = ref.partition(".")
                obj = self.object(obj_name)
                if obj is None or (obj.field(fname) is None and obj.relationship(fname.split(".")[0]) is None):
                    problems.append(f"Invalid reference {ref} of type sobjectField in file {posixpath.basename(path)}")
        if problems:
            return Message("LightningComponentBundle", bundle, rel, False, problem="; ".join(problems),
                           problemType="Error")  # fmt: skip
        return Message("LightningComponentBundle", bundle, rel, changed=True)


# the Metadata API's FieldType enumeration (Metadata API Developer Guide, CustomField)
FIELD_TYPES = {
    "AutoNumber", "Lookup", "MasterDetail", "MetadataRelationship", "Checkbox", "Currency", "Date", "DateTime",
    "Email", "EncryptedText", "Note", "ExternalLookup", "IndirectLookup", "Number", "Percent", "Phone", "Picklist",
    "MultiselectPicklist", "Summary", "Text", "TextArea", "LongTextArea", "Url", "Hierarchy", "File", "Html",
    "Location", "Time",
}  # fmt: skip


def field_problems(name: str, el: ET.Element) -> list[str]:
    """What the Metadata API refuses in one CustomField (Metadata API Developer Guide, CustomField;
    Salesforce Help, "Custom Field Attributes")."""
    kind = _text(el, "type")
    if kind not in FIELD_TYPES and el.find(NS + "formula") is None:
        return [f"Error parsing file: '{kind}' is not a valid value for the enum 'FieldType'"]
    problems = []
    if not (_FIELD_NAME.fullmatch(name) and len(name) <= 43):
        problems.append(f"The API name {name} is not valid: it must begin with a letter, use only letters, digits "
                        "and single underscores, not end with an underscore, and have at most 40 characters "
                        "before __c")  # fmt: skip
    label = _text(el, "label")
    if not 0 < len(label) <= 40:
        problems.append("Field label: a label has 1-40 characters")
    if len(_text(el, "description")) > 1000:
        problems.append("Description: data value too large (max length=1000)")
    if len(_text(el, "inlineHelpText")) > 510:
        problems.append("Help Text: data value too large (max length=510)")
    length = int(_text(el, "length") or 0) if _text(el, "length").isdigit() else -1
    if kind == "Text" and not 1 <= length <= 255:
        problems.append("Length: a Text field's length is 1-255")
    if kind in ("LongTextArea", "Html") and not (256 <= length <= 131072 and _text(el, "visibleLines")):
        problems.append(f"Length: a {kind} field's length is 256-131,072, with visibleLines")
    if kind in ("Number", "Currency", "Percent"):
        precision = int(_text(el, "precision")) if _text(el, "precision").isdigit() else 0
        scale = int(_text(el, "scale")) if _text(el, "scale").isdigit() else -1
        if not (1 <= precision <= 18 and 0 <= scale <= precision):
            problems.append("Precision and scale: precision is 1-18 and scale 0 to the precision")
    if kind in ("Picklist", "MultiselectPicklist"):
        values = el.findall(f"{NS}valueSet/{NS}valueSetDefinition/{NS}value")
        if el.find(f"{NS}valueSet/{NS}valueSetName") is None and not values:
            problems.append("Picklist: a picklist needs its values")
        names = [_text(v, "fullName") for v in values]
        if len(names) > 1000:
            problems.append(f"Picklist: {len(names)} values, 1,000 at most")
        too_long = [n for n in names if not 0 < len(n) <= 255]
        if too_long:
            problems.append(f"Picklist value: {too_long[0][:40]!r}: a value has 1-255 characters")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            problems.append(f"Duplicate picklist value: {twice[0]}")
        if kind == "MultiselectPicklist" and not _text(el, "visibleLines"):
            problems.append("Visible lines: a multi-select picklist needs visibleLines")
        if kind == "MultiselectPicklist" and any(";" in n for n in names):
            problems.append("Picklist value: a multi-select picklist's value cannot contain ';'")
    if kind == "Checkbox" and _text(el, "defaultValue") not in ("true", "false"):
        problems.append("Default value: a Checkbox needs defaultValue true or false")
    if (_true(el, "unique") or _true(el, "externalId")) and kind not in ("Text", "Number", "Email", "AutoNumber"):
        problems.append("Unique and External ID: only on Text, Number, Email or Auto Number fields")
    if _true(el, "caseSensitive") and not _true(el, "unique"):
        problems.append("Case sensitive: only with unique")
    if el.find(NS + "formula") is not None:
        problems += formula_problems(el)
    return problems


def formula_problems(el: ET.Element) -> list[str]:
    """A formula field: what Salesforce refuses on any (no required, unique, external id, tracked
    history or default value: nothing is stored), and what the sandbox org cannot evaluate
    (sandbox/formula.py: one shape, Number, blanks as blanks)."""
    problems = []
    stored = [t for t in ("required", "unique", "externalId", "trackHistory") if _true(el, t)]
    stored += ["defaultValue"] if _text(el, "defaultValue") else []
    if stored:
        problems.append(f"Formula field: {', '.join(stored)} cannot be set on a formula field (its value is "
                        "calculated when the record is read, never stored)")  # fmt: skip
    if _text(el, "type") != "Number":
        problems.append(f"Formula field: the sandbox org evaluates Number formulas only, not "
                        f"{_text(el, 'type') or '(no type)'}")  # fmt: skip
    try:
        formulas.parse(_text(el, "formula"))
    except ValueError as exc:
        problems.append(f"Formula field: {exc}")
    if _text(el, "formulaTreatBlanksAs") != "BlankAsBlank":
        problems.append("Formula field: the sandbox org evaluates a formula with blank fields treated as blanks "
                        "only: set formulaTreatBlanksAs to BlankAsBlank")  # fmt: skip
    return problems


# ---- the REST resource: /services/data/vXX.X/metadata/deployRequest ------------------------------

"""Custom fields from SFDX source (`objects/<Object>/fields/<Field>.field-meta.xml`).

Only the parts of the CustomField metadata type the sandbox needs are read: type,
label, length/precision/scale, required, default, picklist values (restricted or
not), lookups, history tracking, and a Number formula of the one shape sandbox/formula.py
evaluates. An unknown metadata type is an error naming the file,
because silently skipping a field would make the sandbox accept writes the real org
refuses.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from sandbox import formula as formulas
from sandbox.definitions import FieldDef, ObjectDef

NS = "{http://soap.sforce.com/2006/04/metadata}"

# metadata <type> -> describe type
_TYPES = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Html": "textarea",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
    "Checkbox": "boolean",
    "Number": "double",
    "Currency": "currency",
    "Percent": "percent",
    "Date": "date",
    "DateTime": "datetime",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
    "Lookup": "reference",
}


def _text(el: ET.Element, tag: str) -> str | None:
    child = el.find(NS + tag)
    return child.text.strip() if child is not None and child.text else None


def _int(el: ET.Element, tag: str) -> int:
    value = _text(el, tag)
    return int(value) if value else 0


def _root(path: Path, tag: str) -> ET.Element:
    """The metadata file's root element, which must be `tag` in the metadata namespace."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{path}: not well-formed XML ({exc})") from None
    if root.tag != NS + tag:
        raise ValueError(f"{path}: expected a <{tag}> in the {NS[1:-1]} namespace, found <{root.tag}>")
    return root


def parse_field(path: Path) -> FieldDef:
    root = _root(path, "CustomField")
    return field_from_element(root, path.name.removesuffix(".field-meta.xml"), str(path))


def field_from_element(root: ET.Element, name: str, where: str) -> FieldDef:
    """A field from its CustomField element: a field-meta.xml file's root, or a <fields>
    of a Metadata API .object file (what a deploy's zip carries)."""
    name = _text(root, "fullName") or name
    meta_type = _text(root, "type")
    if meta_type not in _TYPES:
        raise ValueError(f"{where}: field type {meta_type!r} is not emulated; use one of {sorted(_TYPES)}")
    ftype = _TYPES[meta_type]
    formula = _text(root, "formula")
    if formula is not None:
        if meta_type != "Number":
            raise ValueError(f"{where}: a formula field of type {meta_type} is not emulated; the sandbox org "
                             f"evaluates Number formulas of the shape {formulas.SHAPE}")  # fmt: skip
        try:
            formulas.parse(formula)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    values: list[str] = []
    restricted = False
    value_set = root.find(NS + "valueSet")
    if value_set is not None:
        restricted = (_text(value_set, "restricted") or "false") == "true"
        definition = value_set.find(NS + "valueSetDefinition")
        if definition is not None:
            values = [_text(v, "fullName") or "" for v in definition.findall(NS + "value")]
    default = _text(root, "defaultValue")
    if ftype == "boolean":
        default = (default or "false").lower() == "true"
    elif ftype in ("double", "currency", "percent") and default is not None:
        default = float(default)
    length = _int(root, "length")
    if ftype in ("email", "phone"):
        length = length or (80 if ftype == "email" else 40)
    elif ftype == "url":
        length = length or 255
    elif ftype == "picklist":
        length = 255
    elif ftype == "multipicklist":
        length = 4099
    reference_to = [t] if (t := _text(root, "referenceTo")) else []
    # <relationshipName> is the CHILD side (the parent's subqueries: Referred_Leads__r);
    # Salesforce names the parent side after the field itself (Referring_Account__c ->
    # Referring_Account__r), which describe reports as the field's relationshipName
    child = _text(root, "relationshipName")
    parent = name.removesuffix("__c") + "__r" if ftype == "reference" else None
    return FieldDef(
        name=name,
        type=ftype,
        label=_text(root, "label") or name,
        length=length,
        precision=_int(root, "precision"),
        scale=_int(root, "scale"),
        nillable=formula is not None or (ftype != "boolean" and _text(root, "required") != "true"),
        picklist_values=values,
        restricted_picklist=restricted,
        reference_to=reference_to,
        relationship_name=parent,
        child_relationship_name=(child + "__r") if child and ftype == "reference" else None,
        required=_text(root, "required") == "true",
        default=default,
        custom=True,
        track_history=_text(root, "trackHistory") == "true",
        description=_text(root, "description"),
        unique=_text(root, "unique") == "true",
        case_sensitive=_text(root, "caseSensitive") == "true",
        external_id=_text(root, "externalId") == "true",
        # a formula's value is Salesforce's to calculate: describe says so, and no write reaches it
        formula=formula,
        calculated=formula is not None,
        createable=formula is None,
        updateable=formula is None,
    )


def custom_fields(sfdx_dir: Path) -> Iterator[tuple[str, FieldDef]]:
    """(object name, field) for every field file under the project's package directories."""
    objects_dirs = sorted(sfdx_dir.glob("**/objects"))
    if not objects_dirs:
        raise ValueError(
            f"no SFDX objects/ folder under {sfdx_dir}; the sandbox reads its custom fields from "
            f"salesforce/force-app/main/default/objects/<Object>/fields/*.field-meta.xml"
        )
    for objects_dir in objects_dirs:
        for path in sorted(objects_dir.glob("*/fields/*.field-meta.xml")):
            yield path.parent.parent.name, parse_field(path)


def custom_objects(sfdx_dir: Path) -> Iterator[ObjectDef]:
    """A custom object for every `objects/<Name>__c/<Name>__c.object-meta.xml`: the standard
    fields Salesforce gives every custom object (Id, Name, OwnerId, the audit fields), its
    own fields come from its fields/ folder like any other object's. Key prefixes are
    handed out a00, a01, … in name order, as an org numbers its custom objects."""
    paths = sorted(p for d in sorted(sfdx_dir.glob("**/objects")) for p in d.glob("*__c/*__c.object-meta.xml"))
    for n, path in enumerate(paths):
        yield object_from_element(_root(path, "CustomObject"), path.name.removesuffix(".object-meta.xml"),
                                  f"a{n:02d}", str(path))


def object_from_element(root: ET.Element, name: str, key_prefix: str, where: str) -> ObjectDef:
    """A custom object from its CustomObject element (an object-meta.xml file's root, or a
    deploy's .object file), with the standard fields Salesforce gives every custom object."""
    from sandbox.standard import custom_object_fields

    name_field = root.find(NS + "nameField")
    if name_field is None or _text(name_field, "type") != "Text":
        raise ValueError(f"{where}: only a Text <nameField> is emulated (an AutoNumber name is not)")
    label = _text(root, "label") or name
    return ObjectDef(name=name, label=label, key_prefix=key_prefix, custom=True,
                     fields={f.name: f for f in custom_object_fields(_text(name_field, "label") or "Name")},
                     label_plural=_text(root, "pluralLabel") or label + "s")


def notification_types(sfdx_dir: Path) -> Iterator[tuple[str, str]]:
    """(DeveloperName, MasterLabel) of each custom notification type the metadata deploys."""
    for path in sorted((sfdx_dir / "force-app/main/default/notificationtypes").glob("*.notiftype-meta.xml")):
        root = _root(path, "CustomNotificationType")
        name = path.name.removesuffix(".notiftype-meta.xml")
        yield name, _text(root, "masterLabel") or name

"""The Metadata API's deploy, as `sf project deploy start|validate|quick` calls it over SOAP
(`POST /services/Soap/m/{version}`): deploy(ZipFile, DeployOptions) answers an AsyncResult,
checkDeployStatus(asyncProcessId, includeDetails) a DeployResult with one DeployMessage per
component (componentSuccesses / componentFailures: componentType, fullName, fileName,
problem, problemType), deployRecentValidation(validationId) deploys a validated
(checkOnly) request again without checks, cancelDeploy(id) cancels one not done.

What the deploy changes is what the sandbox models of its schema: custom fields (added or
changed, picklist values, history tracking) and custom objects; describe, SOQL and writes see
them at once. The other components the project ships (permission sets, list views, the LWC
bundle, notification types, change-event channel members) are checked against the org's
schema as Salesforce checks them, and reported deployed, but not applied: the sandbox's
field-level security and channel selections stay salesforce/'s as of its start. A component
type the sandbox does not model (a Flow, a layout) is reported deployed with a warning saying
so. Any failure fails the whole request, as rollbackOnError (sf's default) does. The REST
resource `metadata/deployRequest` (POST multipart, GET /{id}?includeDetails=true, PATCH) answers
the same DeployResult as JSON. A kept org saves the zips it applied (Org.deployed_zips) and
applies them again when it is reopened.

Who may deploy: a user with Modify Metadata. The sandbox models no profiles or system
permissions for its internal users (they may do everything, describe and writes alike), so
every internal user may deploy — its admin, admin@leadrouter.sandbox, and the integration
user of connection.json; a partner (portal) user meets Salesforce's INSUFFICIENT_ACCESS fault.
"""
from __future__ import annotations

import base64
import binascii
import email.policy
import io
import json
import posixpath
import re
import zipfile
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET
from email.parser import BytesParser
from xml.sax.saxutils import escape

from sandbox import ids
from sandbox.definitions import FieldDef, ObjectDef
from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response
from sandbox.metadata import NS, field_from_element, object_from_element

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_MD = NS[1:-1]
_XML = {"Content-Type": "text/xml;charset=UTF-8"}
# Salesforce Help, "Field History Tracking": at most 20 fields per object
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


@dataclass
class Deployment:
    id: str
    check_only: bool
    created_by: str
    created_by_name: str
    created: str
    messages: list[Message] = field(default_factory=list)
    status: str = "Succeeded"
    error_message: str | None = None
    error_code: str | None = None
    changes: dict[str, ObjectDef] = field(default_factory=dict)
    quick_deployed: bool = False
    validated_id: str | None = None
    raw: bytes = b""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> list[Message]:
        return [m for m in self.messages if not m.success]


class _Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(el: ET.Element | None, tag: str) -> str:
    if el is None:
        return ""
    child = el.find(NS + tag)
    return (child.text or "").strip() if child is not None else ""


def _true(el: ET.Element, tag: str) -> bool:
    return _text(el, tag) == "true"


def _fault(code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{_ENV}" '
            'xmlns:sf="http://soap.sforce.com/2006/04/metadata">'
            f"<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{escape(f'{code}: {message}')}"
            "</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>")  # fmt: skip
    return Response(500, body.encode(), dict(_XML))


def _answer(call: str, result: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{_ENV}" xmlns="{_MD}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<soapenv:Body><{call}Response>{result}</{call}Response></soapenv:Body></soapenv:Envelope>")
    return Response(200, body.encode(), dict(_XML))


def _values(d: dict[str, Any]) -> str:
    out = []
    for k, v in d.items():
        if v is None:
            continue
        text = ("true" if v else "false") if isinstance(v, bool) else str(v)
        out.append(f"<{k}>{escape(text)}</{k}>")
    return "".join(out)


# ---- the SOAP calls ----------------------------------------------------------------------------

NOT_ALLOWED = ("use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions "
               "(a partner user has neither: deploy as an internal user, e.g. the sandbox org's admin, "
               "admin@leadrouter.sandbox, or the integration user of connection.json)")


def soap(sb: Sandbox, request: Request) -> Response:
    try:
        root = ET.fromstring(request.body or b"")
    except ET.ParseError as exc:
        return _fault("INVALID_XML", f"the request is not well-formed XML ({exc})")
    body = root.find(f"{{{_ENV}}}Body")
    call_el = next(iter(body), None) if body is not None else None
    if call_el is None:
        return _fault("INVALID_XML", "the SOAP envelope has no body")
    call = _local(call_el.tag)
    session = next((el.text or "" for el in root.iter() if _local(el.tag) == "sessionId"), "").strip()
    found = sb.auth.session_user(f"Bearer {session}") if session else None
    if found is None:
        return _fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
    user_id = found[1]
    if not _may_deploy(sb, user_id):
        return _fault("INSUFFICIENT_ACCESS", NOT_ALLOWED)
    args = {_local(c.tag): c for c in call_el}
    try:
        if call == "deploy":
            return _answer(call, _deploy(sb, user_id, args))
        if call == "checkDeployStatus":
            details = (args["includeDetails"].text or "").strip() == "true" if "includeDetails" in args else False
            return _answer(call, f"<result>{_result(_find(sb, args, 'asyncProcessId'), details)}</result>")
        if call == "deployRecentValidation":
            return _answer(call, f"<result>{_quick(sb, user_id, _find(sb, args, 'validationId')).id}</result>")
        if call == "cancelDeploy":
            found_deploy = _find(sb, args, "String") if "String" in args else _find(sb, args, "id")
            return _answer(call, f"<result><done>true</done><id>{found_deploy.id}</id></result>")
    except _Refused as exc:
        return _fault(exc.code, exc.message)
    return _fault("INVALID_OPERATION", f"the sandbox org's Metadata API serves deploy(), checkDeployStatus(), "
                  f"deployRecentValidation() and cancelDeploy(), not {call}(): its metadata is salesforce/ "
                  "plus what was deployed to it (retrieve that from your project, not from the sandbox)")  # fmt: skip


def _may_deploy(sb: Sandbox, user_id: str | None) -> bool:
    from sandbox.sharing import external_user

    with sb.org.lock:
        return bool(user_id) and external_user(sb.org, user_id) is None


def _find(sb: Sandbox, args: dict[str, ET.Element], name: str) -> Deployment:
    wanted = ids.to18((args[name].text or "").strip()) if name in args and ids.is_valid((args[name].text or "").strip()) else ""
    found = sb.org.deployments.get(wanted)
    if found is None:
        raise _Refused("INVALID_ID_FIELD", f"invalid deploy request id: {(args[name].text or '').strip() if name in args else ''}")
    return found


def _new_deployment(sb: Sandbox, user_id: str, check_only: bool) -> Deployment:
    with sb.org.lock:
        user = sb.org.get("User", user_id) or {}
    number = len(sb.org.deployments) + 1
    deploy_id = ids.make_id("0Af", number)
    name = " ".join(p for p in (user.get("FirstName"), user.get("LastName")) if p)
    return Deployment(id=deploy_id, check_only=check_only, created_by=user_id, created_by_name=name,
                      created=_now(sb))  # fmt: skip


def _now(sb: Sandbox) -> str:
    return sb.org.clock.now().strftime("%Y-%m-%dT%H:%M:%S.") + f"{sb.org.clock.now().microsecond // 1000:03d}Z"


def _deploy(sb: Sandbox, user_id: str, args: dict[str, ET.Element]) -> str:
    options = {_local(c.tag): (c.text or "").strip() for c in args["DeployOptions"]} if "DeployOptions" in args else {}
    try:
        raw = base64.b64decode((args["ZipFile"].text or "").strip() if "ZipFile" in args else "", validate=False)
    except (binascii.Error, ValueError):
        raw = b""
    deployment = deploy(sb, user_id, raw, options)
    return f"<result><done>false</done><id>{deployment.id}</id><state>Queued</state></result>"


def deploy(sb: Sandbox, user_id: str, raw: bytes, options: dict[str, str]) -> Deployment:
    """Check a deploy's zip against the org and, unless checkOnly or a component fails, apply it."""
    deployment = _new_deployment(sb, user_id, options.get("checkOnly") == "true")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError):
        deployment.status, deployment.error_code = "Failed", "INVALID_ZIP"
        deployment.error_message = "The zip file is not a valid zip archive"
    else:
        with sb.org.lock:
            schema = sb.org.schema
        deployment.messages, deployment.changes = check(archive, schema.objects)
        if deployment.failures:
            deployment.status = "Failed"
            deployment.changes = {}
        elif deployment.check_only:
            deployment.raw = raw  # for a quick deploy
        else:
            _apply(sb, deployment.changes, raw)
    sb.org.deployments[deployment.id] = deployment
    return deployment


def _apply(sb: Sandbox, changes: dict[str, ObjectDef], raw: bytes) -> None:
    if changes:
        sb.org.deploy_objects(changes)
    sb.org.deployed_zips.append(raw)  # kept with the org: a restart applies it again


def _quick(sb: Sandbox, user_id: str, validated: Deployment) -> Deployment:
    if not validated.check_only or validated.status != "Succeeded" or validated.quick_deployed:
        raise _Refused("INVALID_ID_FIELD", f"No validated deploy request with id {validated.id} can be quick "
                       "deployed: it must be a check-only deploy that succeeded and was not quick deployed yet")  # fmt: skip
    deployment = _new_deployment(sb, user_id, False)
    deployment.messages = [replace(m) for m in validated.messages]
    deployment.changes = validated.changes
    _apply(sb, deployment.changes, validated.raw)
    validated.quick_deployed = True
    deployment.validated_id = validated.id
    sb.org.deployments[deployment.id] = deployment
    return deployment


def result(d: Deployment, details: bool) -> dict[str, Any]:
    """The DeployResult, as checkDeployStatus (SOAP) and deployRequest/{id} (REST) answer it."""
    failures = d.failures
    components = [m for m in d.messages if m.componentType]
    out: dict[str, Any] = {
        "checkOnly": d.check_only, "completedDate": d.created, "createdBy": d.created_by,
        "createdByName": d.created_by_name, "createdDate": d.created, "done": True,
        "errorMessage": d.error_message, "errorStatusCode": d.error_code, "id": d.id, "ignoreWarnings": False,
        "lastModifiedDate": d.created, "numberComponentErrors": len(failures),
        "numberComponentsDeployed": 0 if failures or d.error_code else len(components),
        "numberComponentsTotal": len(components), "numberTestErrors": 0, "numberTestsCompleted": 0,
        "numberTestsTotal": 0, "rollbackOnError": True, "runTestsEnabled": False, "startDate": d.created,
        "status": d.status, "success": d.status == "Succeeded",
    }  # fmt: skip
    if details:
        def message(m: Message) -> dict[str, Any]:
            return {"changed": m.changed and d.status == "Succeeded", "componentType": m.componentType,
                    "created": m.created and d.status == "Succeeded", "createdDate": d.created, "deleted": False,
                    "fileName": m.fileName, "fullName": m.fullName, "problem": m.problem,
                    "problemType": m.problemType, "success": m.success}  # fmt: skip

        out["details"] = {"componentSuccesses": [message(m) for m in d.messages if m.success],
                          "componentFailures": [message(m) for m in d.messages if not m.success]}  # fmt: skip
    return out


def _result(d: Deployment, details: bool) -> str:
    out = result(d, details)
    shown = out.pop("details", None)
    xml = _values(out)
    if shown is not None:
        xml += "<details>"
        for kind in ("componentSuccesses", "componentFailures"):
            xml += "".join(f"<{kind}>{_values(m)}</{kind}>" for m in shown[kind])
        xml += "</details>"
    return xml


# ---- checking a package against the org ------------------------------------------------------


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
        for child in root.findall(NS + "fields"):
            fname = _text(child, "fullName")
            found.add(("CustomField", f"{name}.{fname}"))
            message, fdef = self.custom_field(obj, fname, child, rel)
            messages.append(message)
            if fdef is not None:
                obj.fields[fdef.name] = fdef
                touched = True
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
        from sandbox.app import VERSIONS

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
    return problems


# ---- the REST resource: /services/data/vXX.X/metadata/deployRequest ------------------------------


def _rest_user(sb: Sandbox, request: Request) -> str:
    if request.user_id is None or not _may_deploy(sb, request.user_id):
        raise SalesforceError(403, "INSUFFICIENT_ACCESS", NOT_ALLOWED)
    return request.user_id


def _rest_body(d: Deployment, details: bool) -> dict[str, Any]:
    shown = result(d, details)
    for key in ("completedDate", "createdDate", "lastModifiedDate", "startDate"):  # REST's dateTime form
        shown[key] = shown[key].removesuffix("Z") + "+0000"
    for m in [*shown.get("details", {}).get("componentSuccesses", []), *shown.get("details", {}).get("componentFailures", [])]:
        m["createdDate"] = m["createdDate"].removesuffix("Z") + "+0000"
    return {"id": d.id, "validatedDeployRequestId": d.validated_id, "deployOptions": d.options,
            "deployResult": shown}  # fmt: skip


def _multipart(request: Request) -> tuple[dict[str, Any], bytes]:
    """(deployOptions, the zip) of a multipart/form-data deployRequest: a JSON part (named
    json, or entity_content as jsforce names it) and the zip (named file)."""
    content_type = request.header("Content-Type") or ""
    if "multipart/form-data" not in content_type:
        raise SalesforceError(400, "INVALID_MULTIPART_REQUEST", "A deployRequest is multipart/form-data: a JSON part "
                              "with deployOptions and a file part with the .zip")  # fmt: skip
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + (request.body or b""))
    options: dict[str, Any] = {}
    raw = b""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        if name in ("json", "entity_content"):
            try:
                options = dict(json.loads(payload).get("deployOptions") or {})
            except (ValueError, AttributeError):
                raise SalesforceError(400, "JSON_PARSER_ERROR", f"The {name} part is not a JSON object") from None
        elif name == "file":
            raw = payload
    return options, raw


def rest_create(sb: Sandbox, request: Request) -> Response:
    user_id = _rest_user(sb, request)
    if (request.header("Content-Type") or "").startswith("application/json"):  # a quick deploy
        wanted = str(request.json().get("validatedDeployRequestId") or "")
        found = sb.org.deployments.get(ids.to18(wanted)) if ids.is_valid(wanted) else None
        if found is None:
            raise SalesforceError(404, "NOT_FOUND", f"No deploy request with id {wanted}")
        try:
            return Response(201, _rest_body(_quick(sb, user_id, found), False))
        except _Refused as exc:
            raise SalesforceError(400, exc.code, exc.message) from None
    options, raw = _multipart(request)
    flat = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in options.items()}
    deployment = deploy(sb, user_id, raw, flat)
    deployment.options = options
    body = _rest_body(deployment, False)
    body["deployResult"].update(done=False, status="Pending")  # as a new request is answered
    return Response(201, body)


def rest_get(sb: Sandbox, request: Request) -> Response:
    _rest_user(sb, request)
    wanted = request.params["id"]
    found = sb.org.deployments.get(ids.to18(wanted)) if ids.is_valid(wanted) else None
    if found is None:
        raise SalesforceError(404, "NOT_FOUND", f"No deploy request with id {wanted}")
    return Response(200, _rest_body(found, request.query.get("includeDetails") == "true"))


def rest_cancel(sb: Sandbox, request: Request) -> Response:
    """PATCH {"deployResult": {"status": "Canceling"}}: a done request stays as it ended."""
    _rest_user(sb, request)
    wanted = request.params["id"]
    found = sb.org.deployments.get(ids.to18(wanted)) if ids.is_valid(wanted) else None
    if found is None:
        raise SalesforceError(404, "NOT_FOUND", f"No deploy request with id {wanted}")
    return Response(202, _rest_body(found, False))


def add_routes(r: Any) -> None:
    r.add("other", "POST", "/services/Soap/m/{version}", soap)
    r.add("other", "POST", "/services/Soap/m/{version}/{org}", soap)
    r.add("api", "POST", "/metadata/deployRequest", rest_create)
    r.add("api", "GET", "/metadata/deployRequest/{id}", rest_get)
    r.add("api", "PATCH", "/metadata/deployRequest/{id}", rest_cancel)

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
import zipfile
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET
from email.parser import BytesParser
from xml.sax.saxutils import escape

from sandbox import ids
from sandbox.definitions import ObjectDef
from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response
from sandbox.metadata import NS
from sandbox.metadata_check import Message, _local, check

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_MD = NS[1:-1]
_XML = {"Content-Type": "text/xml;charset=UTF-8"}
# Salesforce Help, "Field History Tracking": at most 20 fields per object
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

"""The APIs the sandbox does not model, answered as a real org answers a user who may not
use them, and the one SOAP call clients still make to log in.

- **Tooling API** (`/services/data/vXX.X/tooling/…`, every method): 403
  `[{"errorCode": "INSUFFICIENT_ACCESS", "message": …}]` — 403 is Salesforce's status for a
  request refused for want of permission; the message is the sandbox's and says why.
- **Metadata API** (`POST /services/Soap/m/{version}[/{org id}]`, what `sf project deploy`
  calls): served by `sandbox.metadata_deploy` — deploy() and checkDeployStatus() for the org's
  admin, Salesforce's INSUFFICIENT_ACCESS fault for any other user; retrieve() is refused.
- **SOAP login()** (`POST /services/Soap/u/{version}` and `/c/`: jsforce's
  `conn.login(username, password)` without OAuth settings): a session for an active user and
  the org's password, answered as Salesforce's partner WSDL answers it; a wrong username or
  password is the `INVALID_LOGIN` fault. logout() ends the SessionHeader's session (jsforce's
  `conn.logout()` after such a login). Every other SOAP call is a fault saying the sandbox
  serves only login() and logout() over SOAP (use REST). The Apex and Tooling SOAP APIs (`/s/`, `/T/`:
  `sf apex run`) answer an INSUFFICIENT_ACCESS fault: the org runs no Apex.
- **Bulk API 1.0** (`/services/async/…`): 400 with Bulk API 1.0's XML error,
  `FeatureNotEnabled`, naming Bulk API 2.0.
- **Streaming API** (CometD, `/cometd/…`): each Bayeux message answered unsuccessful,
  `403::Handshake denied: …`, with advice `reconnect: none`; CDC is on the Pub/Sub API.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from sandbox.errors import SalesforceError
from sandbox.https_server import Request, Response

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox

_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_XML = {"Content-Type": "text/xml;charset=UTF-8"}


_SOURCE_MEMBER = re.compile(r"\bFROM\s+SourceMember\b", re.IGNORECASE)


def tooling(sb: Sandbox, request: Request) -> Response:
    # SourceMember exists only in orgs that track source (scratch orgs, some sandboxes); sf
    # asks for it before a deploy, and a production org answers as for any unknown object
    if re.match(r"^/tooling/sobjects/SourceMember(/|$)", _tooling_path(request), re.IGNORECASE):
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    if _SOURCE_MEMBER.search(request.query.get("q", "")):
        raise SalesforceError(400, "INVALID_TYPE", "sObject type 'SourceMember' is not supported. If you are attempting "
                              "to use a custom object, be sure to append the '__c' after the entity name. Please "
                              "reference your WSDL or the describe call for the appropriate names.")  # fmt: skip
    raise SalesforceError(403, "INSUFFICIENT_ACCESS",
                          "The Tooling API is not available to this user: the sandbox org models no Tooling API "
                          "(its setup metadata is salesforce/ as of the sandbox's start). Use the REST API "
                          "(sobjects, describe, query) for data and describe.")  # fmt: skip


def _tooling_path(request: Request) -> str:
    """The path below /services/data/vXX.X, e.g. /tooling/sobjects/SourceMember/describe."""
    m = re.match(r"^/services/data/v\d+\.\d(/.*)$", request.path)
    return m.group(1) if m else request.path


def _fault(code: str, message: str, detail: str = "") -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{_ENV}" '
            'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{escape(message)}</faultstring>"
            f"{detail}</soapenv:Fault></soapenv:Body></soapenv:Envelope>")  # fmt: skip
    # SOAP faults travel with HTTP 500, as the SOAP 1.1 binding (and Salesforce) sends them
    return Response(500, body.encode(), dict(_XML))


def apex(sb: Sandbox, request: Request) -> Response:
    """The Apex and Tooling SOAP APIs (`sf apex run`'s executeAnonymous): the org runs no Apex."""
    return _fault("INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS: the sandbox org runs no Apex (no Apex or Tooling "
                  "SOAP API): executeAnonymous and compile calls are refused")  # fmt: skip


def bulk_v1(sb: Sandbox, request: Request) -> Response:
    """Bulk API 1.0 (`/services/async/…`, jsforce's conn.bulk, `sf data resume`): its own XML
    error, with the exception code Salesforce gives when the feature is off for the org."""
    body = ('<?xml version="1.0" encoding="UTF-8"?><error xmlns="http://www.force.com/2009/06/asyncapi/dataload">'
            "<exceptionCode>FeatureNotEnabled</exceptionCode><exceptionMessage>Bulk API 1.0 is not available in the "
            "sandbox org: use Bulk API 2.0 (/services/data/vXX.X/jobs/ingest and jobs/query)</exceptionMessage></error>")
    return Response(400, body.encode(), {"Content-Type": "application/xml;charset=UTF-8"})


def cometd(sb: Sandbox, request: Request) -> Response:
    """The Streaming API (CometD, `/cometd/{version}`: jsforce's conn.streaming): every
    Bayeux message is answered unsuccessful with advice not to reconnect, so a client stops
    rather than retries a handshake forever; change events are served over the Pub/Sub API."""
    try:
        messages = request.json()
    except SalesforceError:
        messages = []
    if isinstance(messages, dict):
        messages = [messages]
    reason = ("403::Handshake denied: the sandbox org has no Streaming API (CometD); subscribe to "
              "change events over the Pub/Sub API (connection.json pubsub_url)")
    out = [{"channel": m.get("channel", "/meta/handshake"), "id": m.get("id"), "successful": False, "error": reason,
            "advice": {"reconnect": "none"}} for m in messages if isinstance(m, dict)]  # fmt: skip
    return Response(200, out or [{"channel": "/meta/handshake", "successful": False, "error": reason,
                                  "advice": {"reconnect": "none"}}])  # fmt: skip


def _body_call(request: Request) -> tuple[str, dict[str, str]]:
    """The SOAP body's first element (its local name) and its children's texts."""
    try:
        root = ET.fromstring(request.body or b"")
    except ET.ParseError:
        return "", {}
    body = root.find(f"{{{_ENV}}}Body")
    call = next(iter(body), None) if body is not None else None
    if call is None:
        return "", {}
    local = lambda tag: tag.rsplit("}", 1)[-1]  # noqa: E731
    return local(call.tag), {local(c.tag): (c.text or "") for c in call}


def _session_id(request: Request) -> str:
    """The SOAP Header's SessionHeader/sessionId: whose session a call is made in."""
    try:
        root = ET.fromstring(request.body or b"")
    except ET.ParseError:
        return ""
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "sessionId":
            return (element.text or "").strip()
    return ""


def _logout(sb: Sandbox, request: Request, wsdl: str) -> Response:
    """logout() (SOAP API Developer Guide): ends the SessionHeader's session, void back; a
    session already ended is the INVALID_SESSION_ID fault, as every call with one answers."""
    session = _session_id(request)
    if not session or sb.auth.session_user(f"Bearer {session}") is None:
        return _fault("INVALID_SESSION_ID", "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: "
                      "Illegal Session. Session not found, missing session hash")  # fmt: skip
    sb.auth.expire(session)
    return Response(200, (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{_ENV}" '
                          f'xmlns="urn:{wsdl}.soap.sforce.com"><soapenv:Body><logoutResponse/></soapenv:Body>'
                          "</soapenv:Envelope>").encode(), dict(_XML))  # fmt: skip


def partner(sb: Sandbox, request: Request) -> Response:
    call, args = _body_call(request)
    if call == "logout":
        return _logout(sb, request, "enterprise" if "/Soap/c/" in request.path else "partner")
    if call != "login":
        return _fault("UNKNOWN_EXCEPTION", f"UNKNOWN_EXCEPTION: the sandbox org answers only login() and logout() over SOAP, "
                      f"not {call or 'this request'}(); use the REST API")  # fmt: skip
    user_id = sb.auth.soap_login(args.get("username", ""), args.get("password", ""))
    if user_id is None:
        return _fault("INVALID_LOGIN", "INVALID_LOGIN: Invalid username, password, security token; or user locked out.",
                      '<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN'
                      "</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security token; or user "
                      "locked out.</sf:exceptionMessage></sf:LoginFault></detail>")  # fmt: skip
    return Response(200, _login_result(sb, request, user_id).encode(), dict(_XML))


def _login_result(sb: Sandbox, request: Request, user_id: str) -> str:
    token = sb.auth.issue(user_id)["access_token"]
    version = request.params.get("version", "62.0")
    org = sb.org.organization_id
    with sb.org.lock:
        user: dict[str, Any] = dict(sb.org.get("User", user_id) or {})
        org_row: dict[str, Any] = next(iter(sb.org.records("Organization")), {}) or {}
    info = {
        "accessibilityMode": "false", "currencySymbol": "$", "orgAttachmentFileSizeLimit": "5242880",
        "orgDefaultCurrencyIsoCode": "USD", "orgDisallowHtmlAttachments": "false", "orgHasPersonAccounts": "false",
        "organizationId": org, "organizationMultiCurrency": "false", "organizationName": org_row.get("Name") or "",
        "profileId": "", "roleId": "", "sessionSecondsValid": str(int(sb.auth.token_ttl.total_seconds())),
        "userDefaultCurrencyIsoCode": "", "userEmail": user.get("Email") or "",
        "userFullName": " ".join(p for p in (user.get("FirstName"), user.get("LastName")) if p),
        "userId": user_id, "userLanguage": "en_US", "userLocale": "en_US", "userName": user.get("Username") or "",
        "userTimeZone": "GMT", "userType": user.get("UserType") or "Standard", "userUiSkin": "Theme3",
    }  # fmt: skip
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in info.items())
    wsdl = "enterprise" if "/Soap/c/" in request.path else "partner"
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{_ENV}" '
            f'xmlns="urn:{wsdl}.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body><loginResponse><result>"
            f"<metadataServerUrl>{sb.url}/services/Soap/m/{version}/{org[:15]}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{sb.url}/services/Soap/{'c' if wsdl == 'enterprise' else 'u'}/{version}/{org[:15]}</serverUrl>"
            f"<sessionId>{escape(token)}</sessionId><userId>{user_id}</userId><userInfo>{fields}</userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>")  # fmt: skip


_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


def add_routes(r: Any) -> None:
    from sandbox.app import Route

    for method in _METHODS:  # every path under tooling/, whatever its depth
        r.api.append(Route(method, re.compile(r"^/tooling(/.*)?$"), f"{method} tooling", tooling))
    for kind in ("u", "c"):
        r.add("other", "POST", f"/services/Soap/{kind}/{{version}}", partner)
        r.add("other", "POST", f"/services/Soap/{kind}/{{version}}/{{org}}", partner)
    for method in _METHODS:
        r.other.append(Route(method, re.compile(r"^/services/async(/.*)?$"), f"{method} async (Bulk API 1.0)", bulk_v1))
    for method in ("GET", "POST"):
        r.other.append(Route(method, re.compile(r"^/cometd(/.*)?$"), f"{method} cometd", cometd))
    for kind in ("s", "T"):
        r.add("other", "POST", f"/services/Soap/{kind}/{{version}}", apex)
        r.add("other", "POST", f"/services/Soap/{kind}/{{version}}/{{org}}", apex)
    from sandbox import metadata_deploy

    metadata_deploy.add_routes(r)


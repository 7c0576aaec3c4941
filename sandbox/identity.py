"""Who a token belongs to: `/services/oauth2/userinfo` and the identity URL `/id/<org>/<user>`.

The token response names the identity URL in its `id` field; Salesforce's CLI and
other tools read the username and org from one of these two before anything else
(`sf org login access-token` stops with "Could not retrieve the username" without
them). Both need a live session's `Authorization: Bearer`; a bad token gets Salesforce's
403 `Bad_OAuth_Token`, and an identity URL naming another user than the token's is 403
too (a token only tells about its own user).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.https_server import Request, Response
from sandbox.jsonvalues import json_value
from sandbox.rest import served

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox


def _bad_token() -> Response:
    return Response(403, b"Bad_OAuth_Token", {"Content-Type": "text/plain;charset=UTF-8"})


def _session_user(sb: Sandbox, request: Request) -> dict | None:
    session = sb.auth.session_user(request.header("Authorization"))
    if session is None:
        return None
    with sb.org.lock:
        user = sb.org.get("User", session[1])
        return dict(user) if user is not None else None


def _urls(sb: Sandbox, user_id: str) -> dict[str, str]:
    """Salesforce's set of URLs, less those the sandbox does not answer a GET on (SOAP,
    recent items, Chatter, the UI): a tool that follows one must not meet a 404."""
    base = f"{sb.url}/services/data/v{{version}}"
    urls = {
        "enterprise": f"{sb.url}/services/Soap/c/{{version}}/{sb.org.organization_id[:15]}",
        "metadata": f"{sb.url}/services/Soap/m/{{version}}/{sb.org.organization_id[:15]}",
        "partner": f"{sb.url}/services/Soap/u/{{version}}/{sb.org.organization_id[:15]}",
        "rest": f"{base}/",
        "sobjects": f"{base}/sobjects/",
        "search": f"{base}/search/",
        "query": f"{base}/query/",
        "recent": f"{base}/recent/",
        "tooling_rest": f"{base}/tooling/",
        "profile": f"{sb.url}/{user_id}",
        "users": f"{base}/chatter/users",
        "custom_domain": sb.url,
    }
    return {k: u for k, u in urls.items() if served(sb, u.removeprefix(sb.url) or "/")}


def _common(sb: Sandbox, user: dict) -> dict[str, Any]:
    return {
        "user_id": user["Id"],
        "organization_id": sb.org.organization_id,
        "email": user["Email"],
        "email_verified": True,
        "urls": _urls(sb, user["Id"]),
        "active": bool(user["IsActive"]),
        "user_type": "STANDARD" if user["UserType"] == "Standard" else user["UserType"].upper(),
        "language": user.get("LanguageLocaleKey") or "en_US",
        "locale": user.get("LocaleSidKey") or "en_US",
        "utcOffset": 0,
        "is_app_installed": True,
    }


def userinfo(sb: Sandbox, request: Request) -> Response:
    """OpenID Connect's UserInfo, Salesforce flavour."""
    user = _session_user(sb, request)
    if user is None:
        return _bad_token()
    return Response(200, {
        "sub": f"{sb.url}/id/{sb.org.organization_id}/{user['Id']}",
        "preferred_username": user["Username"],
        "nickname": user.get("Alias") or user["LastName"],
        "name": user["Name"],
        "given_name": user.get("FirstName"),
        "family_name": user["LastName"],
        "zoneinfo": user.get("TimeZoneSidKey"),
        "updated_at": json_value(user["LastModifiedDate"]),
        **_common(sb, user),
    })  # fmt: skip


def identity(sb: Sandbox, request: Request) -> Response:
    """The identity URL from the token response: /id/<org id>/<user id>."""
    user = _session_user(sb, request)
    if user is None:
        return _bad_token()
    asked_org, asked_user = request.params["org"], request.params["user"]
    if asked_org[:15] != sb.org.organization_id[:15] or asked_user[:15] != user["Id"][:15]:
        return Response(403, b"Bad_Id", {"Content-Type": "text/plain;charset=UTF-8"})
    return Response(200, {
        "id": f"{sb.url}/id/{sb.org.organization_id}/{user['Id']}",
        "asserted_user": True,
        "username": user["Username"],
        "nick_name": user.get("Alias") or user["LastName"],
        "display_name": user["Name"],
        "first_name": user.get("FirstName"),
        "last_name": user["LastName"],
        "timezone": user.get("TimeZoneSidKey"),
        "status": {"created_date": None, "body": None},
        "last_modified_date": json_value(user["LastModifiedDate"]),
        **_common(sb, user),
    })  # fmt: skip

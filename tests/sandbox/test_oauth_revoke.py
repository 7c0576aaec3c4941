"""Token revocation at /services/oauth2/revoke over HTTPS, as Salesforce Help ("Revoke OAuth
Tokens Programmatically") and the Mobile SDK guide ("Revoking OAuth Tokens") describe it: a
form POST of `token`, or a GET with `token` as a query parameter; an access token ends that
session, a refresh token ends itself and the sessions issued from it; 200 on success and, for
every error, 400 with `unsupported_token_type` or `invalid_token`."""
from __future__ import annotations

import requests

from tests.conftest import client_credentials_token, https_session


def _call(sb, method: str, path: str, **kwargs) -> requests.Response:
    with https_session(sb.connection["ca_file"]) as session:
        return session.request(method, sb.connection["instance_url"] + path, timeout=10, **kwargs)


def _limits(sb, token: str) -> int:
    return _call(sb, "GET", "/services/data/v62.0/limits", headers={"Authorization": f"Bearer {token}"}).status_code


def _refresh(sb) -> requests.Response:
    c = sb.connection
    return _call(sb, "POST", "/services/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": c["refresh_token"], "client_id": c["client_id"]})  # fmt: skip


def test_revoke_by_get_with_the_token_in_the_url_ends_the_session(sandbox):
    """The documented "blind GET" answered 405, so a client logging out that way kept a live
    session."""
    token = client_credentials_token(sandbox.connection)
    r = _call(sandbox, "GET", "/services/oauth2/revoke", params={"token": token})
    assert r.status_code == 200, r.text
    assert _limits(sandbox, token) == 401


def test_revoking_an_unknown_or_missing_token_is_400_with_an_oauth_error(sandbox):
    """Any token, even one never issued, answered 200: a client could not tell a typo'd or
    already revoked token from a revoked session."""
    token = client_credentials_token(sandbox.connection)
    assert _call(sandbox, "POST", "/services/oauth2/revoke", data={"token": token}).status_code == 200
    again = _call(sandbox, "POST", "/services/oauth2/revoke", data={"token": token})
    assert again.status_code == 400, again.text
    assert again.json()["error"] in ("invalid_token", "unsupported_token_type")
    missing = _call(sandbox, "POST", "/services/oauth2/revoke", data={})
    assert missing.status_code == 400, missing.text
    assert missing.json()["error"] in ("invalid_token", "unsupported_token_type")


def test_revoking_the_refresh_token_ends_it_and_its_sessions(sandbox):
    """Revoking the refresh token answered 200 and changed nothing: the refresh grant kept
    working and its access tokens stayed live."""
    from_refresh = _refresh(sandbox).json()["access_token"]
    other = client_credentials_token(sandbox.connection)
    r = _call(sandbox, "POST", "/services/oauth2/revoke", data={"token": sandbox.connection["refresh_token"]})
    assert r.status_code == 200, r.text
    refused = _refresh(sandbox)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert _limits(sandbox, from_refresh) == 401
    assert _limits(sandbox, other) == 200  # a session of another grant is not the refresh token's

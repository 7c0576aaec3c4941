"""OAuth at /services/oauth2/token: four grants, Salesforce's error shape, expiring sessions."""
from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from tests.conftest import https_session


def token_request(sb, **form) -> requests.Response:
    with https_session(sb.connection["ca_file"]) as session:
        return session.post(sb.connection["login_url"] + "/services/oauth2/token", data=form, timeout=10)


def assertion(sb, **overrides) -> str:
    c = sb.connection
    claims = {"iss": c["client_id"], "sub": c["username"], "aud": c["login_url"], "exp": int(time.time()) + 180}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    with open(c["private_key_file"], "rb") as fh:
        return jwt.encode(claims, fh.read(), algorithm="RS256")


def test_client_credentials_returns_a_bearer_token_for_the_instance(sandbox):
    c = sandbox.connection
    r = token_request(sandbox, grant_type="client_credentials", client_id=c["client_id"], client_secret=c["client_secret"])
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    body = r.json()
    assert set(body) == {"access_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"}
    assert body["token_type"] == "Bearer" and body["instance_url"] == c["instance_url"]
    assert body["id"].endswith("/" + sandbox.org.integration_user_id)


def test_client_secret_in_basic_auth_header_works_too(sandbox):
    c = sandbox.connection
    with https_session(c["ca_file"]) as session:
        r = session.post(c["login_url"] + "/services/oauth2/token", data={"grant_type": "client_credentials"},
                         auth=(c["client_id"], c["client_secret"]))  # fmt: skip
    assert r.status_code == 200


def test_jwt_bearer_with_the_registered_key_logs_in_as_the_subject(sandbox):
    r = token_request(sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion(sandbox))
    assert r.status_code == 200
    assert r.json()["id"].endswith("/" + sandbox.org.integration_user_id)


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"exp": int(time.time()) - 60}, "expired authorization code"),
        ({"aud": "https://login.salesforce.com"}, "audience is invalid"),
        ({"sub": "nobody@leadrouter.sandbox"}, "user hasn't approved this consumer"),
        ({"exp": None}, "invalid assertion: missing claim exp"),
    ],
)
def test_jwt_bearer_checks_exp_aud_sub(sandbox, overrides, description):
    r = token_request(sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
                      assertion=assertion(sandbox, **overrides))  # fmt: skip
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_grant", "error_description": description}


def test_jwt_signed_with_another_key_is_an_invalid_assertion(sandbox):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    c = sandbox.connection
    forged = jwt.encode({"iss": c["client_id"], "sub": c["username"], "aud": c["login_url"],
                         "exp": int(time.time()) + 60}, other, algorithm="RS256")  # fmt: skip
    r = token_request(sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=forged)
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant", "error_description": "invalid assertion"})


def test_jwt_with_the_wrong_issuer_is_an_invalid_client_id(sandbox):
    r = token_request(sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
                      assertion=assertion(sandbox, iss="3MVGsomeoneelse"))  # fmt: skip
    assert (r.status_code, r.json()["error"]) == (400, "invalid_client_id")


def test_refresh_token_grant(sandbox):
    c = sandbox.connection
    ok = token_request(sandbox, grant_type="refresh_token", refresh_token=c["refresh_token"], client_id=c["client_id"])
    assert ok.status_code == 200 and ok.json()["access_token"]
    bad = token_request(sandbox, grant_type="refresh_token", refresh_token="5Aep-nope", client_id=c["client_id"])
    assert (bad.status_code, bad.json()) == (
        400, {"error": "invalid_grant", "error_description": "expired access/refresh token"})


def test_password_grant_and_a_wrong_password(sandbox):
    c = sandbox.connection
    base = {"grant_type": "password", "client_id": c["client_id"], "client_secret": c["client_secret"],
            "username": c["username"]}  # fmt: skip
    assert token_request(sandbox, **base, password=c["password"]).status_code == 200
    bad = token_request(sandbox, **base, password="hunter2")
    assert (bad.status_code, bad.json()) == (400, {"error": "invalid_grant", "error_description": "authentication failure"})


def test_wrong_client_secret_is_invalid_client(sandbox):
    c = sandbox.connection
    r = token_request(sandbox, grant_type="client_credentials", client_id=c["client_id"], client_secret="wrong")
    assert (r.status_code, r.json()) == (400, {"error": "invalid_client", "error_description": "invalid client credentials"})


def test_unknown_grant_type(sandbox):
    r = token_request(sandbox, grant_type="authorization_code", code="x")
    assert (r.status_code, r.json()["error"]) == (400, "unsupported_grant_type")


def test_expired_token_answers_401_invalid_session_id(sandbox_factory, sf_for):
    sb = sandbox_factory(token_ttl=60)
    sf = sf_for(sb)
    assert sf.Lead.describe()["name"] == "Lead"
    sb.clock.advance(timedelta(seconds=61))
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.Lead.describe()
    assert info.value.status == 401
    assert info.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}]


def test_missing_or_unknown_bearer_is_401_with_limit_header(sandbox):
    with https_session(sandbox.connection["ca_file"]) as session:
        r = session.get(sandbox.url + "/services/data/v62.0/limits", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}]
    assert r.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_simple_salesforce_works_with_a_token_from_each_grant(sandbox):
    c = sandbox.connection
    grants = [
        {"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]},
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion(sandbox)},
        {"grant_type": "refresh_token", "refresh_token": c["refresh_token"], "client_id": c["client_id"],
         "client_secret": c["client_secret"]},
    ]  # fmt: skip
    for form in grants:
        token = token_request(sandbox, **form).json()["access_token"]
        sf = Salesforce(instance_url=c["instance_url"], session_id=token, session=https_session(c["ca_file"]),
                        version="62.0")  # fmt: skip
        assert sf.limits()["DailyApiRequests"]["Max"] > 0

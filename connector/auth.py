"""OAuth 2.0 token requests against a configurable login URL.

simple-salesforce's own login helpers hard-code `https://{domain}.salesforce.com`, so
the token request is made here (`POST {login_url}/services/oauth2/token`) and the
resulting `instance_url` + `access_token` are handed to the client. Nothing here logs
or reprs a secret: the token is a `SecretStr`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable
from urllib.parse import urlparse

import jwt
import requests
from pydantic import SecretStr

from .config import (
    ClientCredentialsAuth,
    ConnectorConfig,
    JwtBearerAuth,
    PasswordAuth,
    RefreshTokenAuth,
    SecretResolutionError,
)
from .errors import ConfigError, Failure, as_exception, classify

JWT_LIFETIME_SECONDS = 180  # Salesforce accepts at most 3 minutes


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: SecretStr
    instance_url: str
    issued_at: float
    user_id: str | None = None  # the integration user, from the identity URL in the answer

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"TokenGrant(instance_url={self.instance_url!r}, access_token=**********)"


def identity_user_id(identity_url: object) -> str | None:
    """The user id at the end of the token answer's identity URL (`…/id/<org id>/<user id>`)."""
    if not isinstance(identity_url, str):
        return None
    last = identity_url.rstrip("/").rsplit("/", 1)[-1]
    return last if len(last) in (15, 18) and last.isalnum() and last.startswith("005") else None


def default_audience(login_url: str) -> str:
    """The JWT `aud` Salesforce expects for a login URL.

    Salesforce accepts only https://login.salesforce.com (production),
    https://test.salesforce.com (sandboxes) or an Experience Cloud site URL — not a
    My Domain host — so a My Domain login URL maps to the one its org type needs.
    Anything else (login/test themselves, the local sandbox) is its own audience.
    """
    host = (urlparse(login_url).hostname or "").lower()
    if host.endswith(".sandbox.my.salesforce.com") or (host.endswith(".my.salesforce.com") and "--" in host):
        return "https://test.salesforce.com"
    if host.endswith(".my.salesforce.com"):
        return "https://login.salesforce.com"
    return login_url


def jwt_assertion(auth: JwtBearerAuth, login_url: str, now: float) -> str:
    """An RS256 assertion: iss = consumer key, sub = username, aud = see default_audience."""
    claims = {
        "iss": auth.client_id,
        "sub": auth.username,
        "aud": auth.audience or default_audience(login_url),
        "exp": int(now) + JWT_LIFETIME_SECONDS,
    }
    key = auth.private_key().get_secret_value()  # an unset variable, a file not there: said as such (missing_secret)
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.exceptions.PyJWTError) as exc:
        raise ConfigError(
            Failure(
                "config",
                "invalid_private_key",
                f"the JWT private key could not be used ({type(exc).__name__})",
                "point private_key_file/private_key_env at the PEM private key whose certificate is "
                "uploaded to the connected app",
            )
        ) from None


def token_form(config: ConnectorConfig, now: float) -> dict[str, str]:
    """The form body of the token request for the configured method."""
    auth = config.auth
    if isinstance(auth, JwtBearerAuth):
        return {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": jwt_assertion(auth, config.login_url, now),
        }
    if isinstance(auth, ClientCredentialsAuth):
        return {
            "grant_type": "client_credentials",
            "client_id": auth.client_id,
            "client_secret": auth.client_secret().get_secret_value(),
        }
    if isinstance(auth, RefreshTokenAuth):
        form = {
            "grant_type": "refresh_token",
            "client_id": auth.client_id,
            "refresh_token": auth.refresh_token().get_secret_value(),
        }
        secret = auth.client_secret()
        if secret is not None:
            form["client_secret"] = secret.get_secret_value()
        return form
    if isinstance(auth, PasswordAuth):
        return {
            "grant_type": "password",
            "client_id": auth.client_id,
            "client_secret": auth.client_secret().get_secret_value(),
            "username": auth.username,
            "password": auth.password().get_secret_value(),
        }
    raise TypeError(f"unknown auth method {type(auth).__name__}")


def request_token(
    config: ConnectorConfig,
    session: requests.Session,
    *,
    now: Callable[[], float] = time.time,
) -> TokenGrant:
    """One token request. Raises ConfigError (with a fix) or TransientError."""
    try:
        form = token_form(config, now())
    except SecretResolutionError as exc:
        raise ConfigError(
            Failure("config", "missing_secret", str(exc), "provide the secret the auth config references")
        ) from None
    url = f"{config.login_url}/services/oauth2/token"
    try:
        resp = session.post(url, data=form, headers={"Accept": "application/json"}, timeout=config.timeout)
    except requests.RequestException as exc:
        raise as_exception(classify(exc), context=f"token request to {config.login_url}") from None
    if resp.status_code != 200:
        failure = classify(resp)
        if failure.kind == "session":
            # A 401 from the token endpoint is a refused login, not an expired session.
            failure = Failure("config", failure.code, failure.message, classify({"error": "invalid_grant"}).fix, 401)
        host = urlparse(config.login_url).hostname or ""
        if isinstance(config.auth, ClientCredentialsAuth) and host in ("login.salesforce.com", "test.salesforce.com"):
            # Salesforce serves the client credentials flow only on the org's own My Domain.
            failure = replace(
                failure,
                fix=(failure.fix or "")
                + "; for client_credentials set login_url to your My Domain (https://yourdomain.my.salesforce.com)",
            )
        raise as_exception(failure, context=f"{config.auth.method} login at {config.login_url}")
    body = resp.json()
    try:
        return TokenGrant(SecretStr(body["access_token"]), body["instance_url"].rstrip("/"), now(),
                          identity_user_id(body.get("id")))
    except (KeyError, AttributeError):
        raise ConfigError(
            Failure(
                "config",
                "bad_token_response",
                "the token endpoint answered without access_token/instance_url",
                f"check that login_url {config.login_url} is a Salesforce login endpoint",
            )
        ) from None

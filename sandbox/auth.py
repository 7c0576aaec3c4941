"""OAuth 2.0 at /services/oauth2/token and the sessions it hands out.

Four grants, as a connected app with the integration user offers them:
client_credentials, JWT bearer (RS256 against the certificate registered with the
app; iss/sub/aud/exp checked), refresh_token and username-password. Failures answer
like Salesforce: 400 with {"error", "error_description"}. Sessions expire after
`token_ttl` seconds of *org* time, so a test can advance the clock past expiry.
"""
from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable
from urllib.parse import parse_qs, unquote

import jwt
from cryptography import x509

from sandbox.credentials import Credentials

if TYPE_CHECKING:
    from sandbox.store import Org

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    def __init__(self, error: str, description: str):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass
class Session:
    user_id: str
    expires_at: datetime


class Auth:
    def __init__(self, org: Org, creds: Credentials, token_ttl: float, login_url: str):
        self.org = org
        self.creds = creds
        self.token_ttl = timedelta(seconds=token_ttl)
        self.login_url = login_url
        self.instance_url = login_url
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        # Revoking the refresh token ends it and the access tokens issued from it (Salesforce
        # Help, "Revoke OAuth Tokens Programmatically"). Kept in memory only: a restart of a
        # kept org gives the refresh token in connection.json back.
        self._refresh_revoked = False
        self._from_refresh: set[str] = set()
        cert = x509.load_pem_x509_certificate(creds.certificate_pem())
        self._jwt_public_key = cert.public_key()
        # What a JWT assertion's `exp` is checked against. Salesforce checks it on its own
        # clock (`sb.auth.jwt_exp_clock = sb.clock.now`); by default the host's, since clients
        # a test drives (jsforce, sf) sign with the host's clock while the test moves the org's.
        self.jwt_exp_clock: Callable[[], datetime] | None = None

    # ---- the token endpoint --------------------------------------------------------
    def token(self, body: bytes, authorization: str | None) -> dict:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if authorization and authorization.lower().startswith("basic "):
            # client_secret_basic: client id and secret in the Authorization header
            try:
                client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except ValueError:
                raise OAuthError("invalid_client", "invalid client credentials") from None
            form.setdefault("client_id", unquote(client_id))
            form.setdefault("client_secret", unquote(client_secret))
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        if grant == "client_credentials":
            self._check_client(form, secret_required=True)
            user = self.org.integration_user_id
        elif grant == JWT_GRANT:
            user = self._check_assertion(form.get("assertion", ""))
        elif grant == "refresh_token":
            self._check_client(form, secret_required=False)
            if self._refresh_revoked or not secrets.compare_digest(form.get("refresh_token", ""), self.creds.refresh_token):
                raise OAuthError("invalid_grant", "expired access/refresh token")
            issued = self._issue(self.org.integration_user_id)
            with self._lock:
                self._from_refresh.add(issued["access_token"])
            return issued
        elif grant == "password":
            self._check_client(form, secret_required=True)
            user = self._check_password(form.get("username", ""), form.get("password", ""))
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return self._issue(user)

    def _check_client(self, form: dict, *, secret_required: bool) -> None:
        if form.get("client_id") != self.creds.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        secret = form.get("client_secret")
        if (secret_required or secret is not None) and not secrets.compare_digest(
            secret or "", self.creds.client_secret
        ):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _check_password(self, username: str, password: str) -> str:
        user = self._active_user(username)
        # Salesforce accepts the password with the user's security token appended; the
        # sandbox has no security token, so the bare password is the whole credential
        if user is None or not secrets.compare_digest(password, self.creds.password):
            raise OAuthError("invalid_grant", "authentication failure")
        return user

    def _check_assertion(self, assertion: str) -> str:
        if not assertion:
            raise OAuthError("invalid_grant", "invalid assertion: the assertion parameter is missing")
        try:
            claims = jwt.decode(
                assertion,
                self._jwt_public_key,
                algorithms=["RS256"],
                audience=[self.login_url, self.login_url + "/"],
                options={"require": ["iss", "sub", "aud", "exp"], "verify_exp": self.jwt_exp_clock is None},
            )
            if self.jwt_exp_clock is not None:
                exp = claims["exp"]
                if not isinstance(exp, (int, float)) or isinstance(exp, bool):
                    raise jwt.InvalidTokenError("exp is not a number")
                if exp <= self.jwt_exp_clock().timestamp():
                    raise jwt.ExpiredSignatureError("expired on the org's clock")
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_grant", "expired authorization code") from None
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_grant", "audience is invalid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise OAuthError("invalid_grant", f"invalid assertion: missing claim {exc.claim}") from None
        except jwt.InvalidTokenError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if claims["iss"] != self.creds.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        user = self._active_user(claims["sub"])
        if user is None:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return user

    def _active_user(self, username: str) -> str | None:
        with self.org.lock:
            for u in self.org.records("User"):
                if u["Username"].lower() == username.lower() and u["IsActive"]:
                    return u["Id"]
        return None

    def soap_login(self, username: str, password: str) -> str | None:
        """The user id SOAP login() opens a session for, or None (INVALID_LOGIN): an active
        user and the org's password, as the password grant checks them, without a client."""
        try:
            return self._check_password(username, password)
        except OAuthError:
            return None

    def issue(self, user_id: str) -> dict:
        """A new session for this user, as the token endpoint answers it."""
        return self._issue(user_id)

    def _issue(self, user_id: str) -> dict:
        token = f"{self.org.organization_id[:15]}!" + secrets.token_urlsafe(72)
        now = self.org.clock.now()
        with self._lock:
            self._sessions[token] = Session(user_id, now + self.token_ttl)
        issued_at = str(int(now.timestamp() * 1000))
        return {
            "access_token": token,
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            "scope": "api",
            "instance_url": self.instance_url,
            "id": f"{self.login_url}/id/{self.org.organization_id}/{user_id}",
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    # ---- sessions ------------------------------------------------------------------
    def session_user(self, authorization: str | None) -> tuple[str, str] | None:
        """(token, user id) for a live `Authorization: Bearer` (or OAuth) header, else None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):
            return None
        token = token.strip()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if self.org.clock.now() >= session.expires_at:
                del self._sessions[token]
                self._from_refresh.discard(token)
                return None
        return token, session.user_id

    def expire(self, token: str | None = None) -> None:
        """End one session (or all of them): the next call with it gets 401."""
        with self._lock:
            if token is None:
                self._sessions.clear()
                self._from_refresh.clear()
            else:
                self._sessions.pop(token, None)
                self._from_refresh.discard(token)

    def revoke(self, token: str) -> None:
        """/services/oauth2/revoke: an access token ends its session; the refresh token ends
        itself and the sessions issued from it. Every error is an OAuthError (400)."""
        if not token:
            raise OAuthError("unsupported_token_type", "this token type is not supported: give the access or refresh token to revoke as `token`")  # fmt: skip
        with self._lock:
            if secrets.compare_digest(token, self.creds.refresh_token) and not self._refresh_revoked:
                self._refresh_revoked = True
                for issued in self._from_refresh:
                    self._sessions.pop(issued, None)
                self._from_refresh.clear()
                return
            if self._sessions.pop(token, None) is None:
                raise OAuthError("invalid_token", "invalid token: not a live access token or refresh token of this org (already revoked or expired?)")  # fmt: skip
            self._from_refresh.discard(token)

    # ---- persistence -----------------------------------------------------------------
    def sessions(self) -> dict[str, tuple[str, datetime]]:
        with self._lock:
            return {t: (s.user_id, s.expires_at) for t, s in self._sessions.items()}

    def restore(self, saved: dict[str, tuple[str, datetime]]) -> None:
        with self._lock:
            for token, (user_id, expires_at) in saved.items():
                self._sessions[token] = Session(user_id, expires_at)

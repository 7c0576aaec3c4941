"""How the connector reaches an org: login URL, API version, TLS, timeouts, auth, budget.

Secrets never live in config files. Every secret field is a *reference* — the name of
an environment variable (`*_env`) or the path of a file (`*_file`) — resolved only when
the connector logs in, into a `SecretStr` whose repr is redacted. A literal secret in
the config (`client_secret = "…"`) is refused with a message saying which reference to
use instead, so a pasted secret never survives into a committed TOML file.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# Keys people paste a secret under; each maps to the references that replace it.
_LITERAL_SECRET_KEYS = {
    "client_secret": ("client_secret_env", "client_secret_file"),
    "consumer_secret": ("client_secret_env", "client_secret_file"),
    "password": ("password_env", "password_file"),
    "security_token": ("security_token_env", "security_token_file"),
    "private_key": ("private_key_file", "private_key_env"),
    "privatekey": ("private_key_file", "private_key_env"),
    "refresh_token": ("refresh_token_env", "refresh_token_file"),
    "access_token": ("a supported auth method", "(access tokens are obtained, not configured)"),
    "session_id": ("a supported auth method", "(sessions are obtained, not configured)"),
}


# What a `*_env` key holds: the name of a variable. A value no one would name a variable
# (a dot, a dash, a space; 25 characters or more with no underscore; mixed case with digits)
# is a secret pasted in its place: refused without being shown, as a literal secret is.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _looks_like_a_variable_name(value: str) -> bool:
    if not _ENV_NAME.fullmatch(value):
        return False
    if len(value) > 24 and "_" not in value:
        return False
    return not (value != value.upper() and value != value.lower() and any(c.isdigit() for c in value))


class SecretResolutionError(ValueError):
    """A secret reference points at nothing (unset variable, missing file)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _refuse_literal_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                refs = _LITERAL_SECRET_KEYS.get(str(key).lower())
                if refs:
                    raise ValueError(
                        f"`{key}` holds a literal secret, which config files must not contain; "
                        f"set `{refs[0]}` (or `{refs[1]}`) to name where the secret lives instead"
                    )
                if str(key).endswith("_env") and isinstance(data[key], str) and data[key] \
                        and not _looks_like_a_variable_name(data[key]):
                    raise ValueError(
                        f"`{key}` names the environment variable that holds the secret (e.g. "
                        f"LEADROUTER_CLIENT_SECRET), and its value ({len(data[key])} characters, not shown) is no "
                        f"such name: if it is the secret itself, take it out of the file, export it as a variable "
                        f"and put the variable's name here"
                    )
        return data


def _path_said(path: Path) -> str:
    """A secret file's path for a message, unless its name is a secret pasted in its place
    (no extension, and no name one would give a file: see _looks_like_a_variable_name)."""
    name = path.name
    if "." in name or _looks_like_a_variable_name(name):
        return str(path)
    return f"{path.parent}/<a name of {len(name)} characters, not shown: the secret itself?>"


def _resolve(what: str, env: str | None, file: Path | None, *, required: bool = True) -> SecretStr | None:
    if env:
        value = os.environ.get(env)
        if value is None or value == "":
            raise SecretResolutionError(
                f"{what}: environment variable {env} is not set; export it before starting leadrouter"
            )
        return SecretStr(value)
    if file:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretResolutionError(
                f"{what}: cannot read secret file {_path_said(Path(file))} ({exc.strerror}); check the path and "
                f"permissions"
            ) from None
        if not value:
            raise SecretResolutionError(f"{what}: secret file {file} is empty")
        return SecretStr(value)
    if required:
        raise SecretResolutionError(f"{what}: no reference configured")
    return None


def _exactly_one(model: BaseModel, name: str, *, required: bool = True) -> None:
    env, file = getattr(model, f"{name}_env"), getattr(model, f"{name}_file")
    if env and file:
        raise ValueError(f"set either `{name}_env` or `{name}_file`, not both")
    if required and not env and not file:
        raise ValueError(
            f"`{name}` is required: set `{name}_env` (an environment variable name) "
            f"or `{name}_file` (a file path)"
        )


class JwtBearerAuth(_Strict):
    """OAuth 2.0 JWT bearer flow: a connected app with a certificate, pre-authorised user.

    The recommended server-to-server method: no secret leaves this host, only a
    short-lived assertion signed with the private key.
    """

    method: Literal["jwt_bearer"] = "jwt_bearer"
    client_id: str = Field(min_length=1, description="connected app consumer key")
    username: str = Field(min_length=1, description="the integration user's username")
    private_key_file: Path | None = None
    private_key_env: str | None = None
    audience: str | None = Field(
        None,
        description="JWT aud; by default the login URL, or login/test.salesforce.com for a My Domain login URL",
    )

    @model_validator(mode="after")
    def _one_key(self) -> JwtBearerAuth:
        _exactly_one(self, "private_key")
        return self

    def private_key(self) -> SecretStr:
        return _resolve("jwt_bearer private key", self.private_key_env, self.private_key_file)  # type: ignore[return-value]


class ClientCredentialsAuth(_Strict):
    """OAuth 2.0 client credentials: the connected app runs as its configured 'Run As' user."""

    method: Literal["client_credentials"] = "client_credentials"
    client_id: str = Field(min_length=1)
    client_secret_env: str | None = None
    client_secret_file: Path | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> ClientCredentialsAuth:
        _exactly_one(self, "client_secret")
        return self

    def client_secret(self) -> SecretStr:
        return _resolve("client_credentials client secret", self.client_secret_env, self.client_secret_file)  # type: ignore[return-value]


class RefreshTokenAuth(_Strict):
    """OAuth 2.0 refresh token obtained once by a person through the web flow."""

    method: Literal["refresh_token"] = "refresh_token"
    client_id: str = Field(min_length=1)
    refresh_token_env: str | None = None
    refresh_token_file: Path | None = None
    # Optional: connected apps may skip the secret for the refresh-token flow.
    client_secret_env: str | None = None
    client_secret_file: Path | None = None

    @model_validator(mode="after")
    def _refs(self) -> RefreshTokenAuth:
        _exactly_one(self, "refresh_token")
        _exactly_one(self, "client_secret", required=False)
        return self

    def refresh_token(self) -> SecretStr:
        return _resolve("refresh_token", self.refresh_token_env, self.refresh_token_file)  # type: ignore[return-value]

    def client_secret(self) -> SecretStr | None:
        return _resolve("refresh_token client secret", self.client_secret_env, self.client_secret_file, required=False)


class PasswordAuth(_Strict):
    """OAuth 2.0 username-password flow. Legacy: Salesforce is retiring it; prefer JWT bearer."""

    method: Literal["password"] = "password"
    client_id: str = Field(min_length=1)
    username: str = Field(min_length=1)
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    password_env: str | None = None
    password_file: Path | None = None
    security_token_env: str | None = None
    security_token_file: Path | None = None

    @model_validator(mode="after")
    def _refs(self) -> PasswordAuth:
        _exactly_one(self, "client_secret")
        _exactly_one(self, "password")
        _exactly_one(self, "security_token", required=False)
        return self

    def client_secret(self) -> SecretStr:
        return _resolve("password-flow client secret", self.client_secret_env, self.client_secret_file)  # type: ignore[return-value]

    def password(self) -> SecretStr:
        """The password with the security token appended, as the token endpoint expects."""
        pw = _resolve("password", self.password_env, self.password_file)
        token = _resolve("security token", self.security_token_env, self.security_token_file, required=False)
        joined = pw.get_secret_value() + (token.get_secret_value() if token else "")  # type: ignore[union-attr]
        return SecretStr(joined)


AuthConfig = Annotated[
    Union[JwtBearerAuth, ClientCredentialsAuth, RefreshTokenAuth, PasswordAuth],
    Field(discriminator="method"),
]


class RetryConfig(_Strict):
    """Backoff for transient faults: exponential with full jitter, capped twice."""

    max_attempts: int = Field(5, ge=1, le=20)
    max_seconds: float = Field(60.0, gt=0, description="give up on one call after this long")
    initial_wait: float = Field(0.5, ge=0)
    max_wait: float = Field(8.0, ge=0)


class BudgetConfig(_Strict):
    """How much of the org's daily API allowance this connector may spend."""

    share: float = Field(
        0.25, gt=0, le=1, description="fraction of the org's daily API limit this connector may use"
    )
    pause_non_urgent_at: float = Field(
        0.8, gt=0, le=1, description="org-wide usage fraction at which non-urgent jobs hold back"
    )


class NotifyConfig(_Strict):
    kind: Literal["custom", "email", "none"] = "none"
    custom_notification_type_id: str | None = Field(
        None, description="CustomNotificationType Id (0ML…) for bell notifications"
    )
    email_sender_type: Literal["CurrentUser", "DefaultWorkflowUser", "OrgWideEmailAddress"] | None = None
    email_sender_address: str | None = None

    @model_validator(mode="after")
    def _needs_type(self) -> NotifyConfig:
        if self.kind == "custom" and not self.custom_notification_type_id:
            raise ValueError(
                "notify.kind = 'custom' needs `custom_notification_type_id`: create a Custom "
                "Notification Type in Setup and copy its Id (0ML…)"
            )
        return self


class ConnectorConfig(_Strict):
    login_url: str = Field(
        "https://login.salesforce.com",
        description="https://login.salesforce.com, https://test.salesforce.com, a My Domain, or the sandbox",
    )
    api_version: str = "62.0"
    ca_bundle: Path | None = Field(None, description="PEM bundle to trust instead of the system store")
    timeout: float = Field(30.0, gt=0, le=600, description="seconds per HTTP request")
    auth: AuthConfig
    retry: RetryConfig = RetryConfig()
    budget: BudgetConfig = BudgetConfig()
    notify: NotifyConfig = NotifyConfig()
    query_batch_size: int = Field(2000, ge=200, le=2000, description="Sforce-Query-Options batchSize")
    bulk_threshold: int = Field(10_000, ge=1, description="records from which a read or a write goes through Bulk API 2.0")
    write_concurrency: int = Field(2, ge=1, le=4, description="write calls in flight while the lead stream reads on "
                                   "(1: one at a time); each batch holds whole owners, so parallel batches do not "
                                   "contend for the same owner's row locks (UNABLE_TO_LOCK_ROW)")

    @field_validator("login_url")
    @classmethod
    def _https_url(cls, v: str) -> str:
        parsed = urlparse(v)
        if parsed.scheme != "https" or not parsed.hostname:
            raise ValueError(
                f"login_url {v!r} must be an https:// URL such as https://login.salesforce.com, "
                "https://test.salesforce.com or https://yourdomain.my.salesforce.com"
            )
        if parsed.path.rstrip("/") or parsed.query or parsed.fragment:
            # a pasted token endpoint or a Setup page: the client adds its own paths to this
            raise ValueError(f"login_url {v!r} must be the org's address without a path: "
                             f"https://{parsed.netloc}")
        if parsed.hostname.endswith(".lightning.force.com"):
            my_domain = parsed.hostname.removesuffix(".lightning.force.com")
            raise ValueError(f"login_url {v!r} is the Lightning UI's address, which does not log API clients in: "
                             f"use the My Domain, https://{my_domain}.my.salesforce.com")
        return v.rstrip("/")

    @field_validator("api_version")
    @classmethod
    def _version(cls, v: str) -> str:
        parts = v.removeprefix("v").split(".")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise ValueError(f"api_version {v!r} must look like '62.0'")
        if int(parts[0]) < 47:  # Bulk API 2.0 query jobs (the first run's reads) came with 47.0
            raise ValueError(f"api_version {v!r} is older than the connector can use: 47.0 or later, e.g. '62.0'")
        return v.removeprefix("v")

    @field_validator("ca_bundle")
    @classmethod
    def _bundle_exists(cls, v: Path | None) -> Path | None:
        if v is not None and not Path(v).is_file():
            raise ValueError(f"ca_bundle {str(v)!r} is not a readable file; point it at a PEM bundle")
        return v

"""The connector's own configuration: one TOML file plus environment overrides.

Every section is a strict pydantic model, so a typo is an error naming the file, the
line, the key and the nearest valid key — never a silently ignored setting. Secrets
are not allowed in the file at all: the file names the environment variable or the
file that holds each one, and `LEADROUTER_*` variables override URLs and secrets so a
container can run with the example file untouched.
"""
from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG = "leadrouter.toml"

# Keys people are tempted to put in the file; each gets its own error with the fix.
SECRET_KEYS = {
    "client_secret": "LEADROUTER_CLIENT_SECRET",
    "refresh_token": "LEADROUTER_REFRESH_TOKEN",
    "password": "LEADROUTER_PASSWORD",
    "private_key": "LEADROUTER_PRIVATE_KEY_FILE (a path to the key file)",
    "access_token": "nothing: the connector obtains its own token",
    "session_id": "nothing: the connector obtains its own token",
}

# Environment variable -> (section, key). Only URLs, paths and identities: the knobs
# a deployment changes without editing the file.
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "LEADROUTER_LOGIN_URL": ("salesforce", "login_url"),
    "LEADROUTER_INSTANCE_URL": ("salesforce", "instance_url"),
    "LEADROUTER_API_VERSION": ("salesforce", "api_version"),
    "LEADROUTER_CA_BUNDLE": ("salesforce", "ca_bundle"),
    "LEADROUTER_CLIENT_ID": ("salesforce", "client_id"),
    "LEADROUTER_USERNAME": ("salesforce", "username"),
    "LEADROUTER_PRIVATE_KEY_FILE": ("salesforce", "private_key_file"),
    "LEADROUTER_STATE_URL": ("state", "url"),
    "LEADROUTER_LOG_FORMAT": ("log", "format"),
    "LEADROUTER_LOG_LEVEL": ("log", "level"),
}


class ConfigFileError(ValueError):
    """A configuration mistake, already phrased for the person who made it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SalesforceSettings(_Strict):
    login_url: str = "https://login.salesforce.com"
    instance_url: str | None = None
    api_version: str = "62.0"
    ca_bundle: Path | None = None
    auth: Literal["jwt", "client_credentials", "refresh_token", "password"] = "jwt"
    client_id: str | None = None
    username: str | None = None
    private_key_file: Path | None = None
    # Where each secret comes from: an environment variable, or a file (Docker/K8s secrets).
    client_secret_env: str = "LEADROUTER_CLIENT_SECRET"
    client_secret_file: Path | None = None
    refresh_token_env: str = "LEADROUTER_REFRESH_TOKEN"
    refresh_token_file: Path | None = None
    password_env: str = "LEADROUTER_PASSWORD"
    timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("login_url", "instance_url")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("https://"):
            raise ValueError(f"{v!r} must start with https:// (Salesforce only speaks TLS)")
        return v.rstrip("/") if v else v

    @field_validator("api_version")
    @classmethod
    def _version(cls, v: str) -> str:
        v = v.lstrip("v")
        if not re.fullmatch(r"\d{2}\.0", v):
            raise ValueError(f"{v!r} is not an API version; write it like \"62.0\"")
        return v

    def secret(self, name: Literal["client_secret", "refresh_token", "password"],
               env: Mapping[str, str] | None = None) -> str | None:
        """Read a secret from its file or environment variable; never from the TOML."""
        env = os.environ if env is None else env
        path = getattr(self, f"{name}_file", None)
        if path is not None:
            return Path(path).read_text().strip()
        return env.get(getattr(self, f"{name}_env")) or None


class StateSettings(_Strict):
    url: str = "sqlite:///leadrouter.sqlite"

    @field_validator("url")
    @classmethod
    def _known_database(cls, v: str) -> str:
        if not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError(
                f"{v!r}: use a SQLite file (sqlite:///leadrouter.sqlite) or a PostgreSQL URL "
                "(postgresql+psycopg://user@host/db)"
            )
        if v.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
            v = "postgresql+psycopg://" + v[len("postgresql://"):]
        return v


class ScheduleSettings(_Strict):
    """Seconds between runs of each job."""

    sync_partners: int = Field(900, ge=5)
    leads: int = Field(60, ge=1)  # one incremental Lead read: new leads AND partner responses
    offers: int = Field(60, ge=1)  # deadlines, reminders, follow-ups: local, no reads
    outbox: int = Field(30, ge=1)
    deleted: int = Field(900, ge=5)
    misfire_grace: int = Field(30, ge=1)


class RoutingSettings(_Strict):
    rules: Path = Path("rules.toml")
    # How far back each incremental read reaches behind its watermark: a commit that
    # lands late in Salesforce still gets read.
    lookback_seconds: int = Field(300, ge=0)


class MappingsSettings(_Strict):
    dir: Path | None = None


class OffersSettings(_Strict):
    reminder_before_hours: float = Field(4.0, gt=0)
    followup_days: float = Field(3.0, gt=0)
    reclaim: bool = False
    reclaim_after_days: float = Field(7.0, gt=0)
    # A lead still in this Status after acceptance counts as untouched.
    untouched_status: str = "Open - Not Contacted"


class BudgetSettings(_Strict):
    share: float = Field(0.25, gt=0, le=1)  # our share of the org's daily API limit
    pause_threshold: float = Field(0.9, gt=0, le=1)  # of our share: stop non-urgent jobs


class NotificationSettings(_Strict):
    mode: Literal["none", "custom", "email"] = "none"
    custom_notification_type: str = "LeadRouter_Offer"
    email_sender: str | None = None


class LogSettings(_Strict):
    format: Literal["auto", "json", "pretty"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("level", "format", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v


class Settings(_Strict):
    salesforce: SalesforceSettings = SalesforceSettings()
    state: StateSettings = StateSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    routing: RoutingSettings = RoutingSettings()
    mappings: MappingsSettings = MappingsSettings()
    offers: OffersSettings = OffersSettings()
    budget: BudgetSettings = BudgetSettings()
    notifications: NotificationSettings = NotificationSettings()
    log: LogSettings = LogSettings()

    @model_validator(mode="after")
    def _schedule_fits_deadlines(self) -> "Settings":
        if self.schedule.offers > self.offers.reminder_before_hours * 3600:
            raise ValueError(
                "schedule.offers runs less often than offers.reminder_before_hours: reminders "
                "would arrive after the deadline; lower schedule.offers"
            )
        return self


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    path: Path | None  # None when running on defaults

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, p: Path | None) -> Path | None:
        """Relative paths in the file are relative to the file, not to the cwd."""
        if p is None:
            return None
        p = Path(os.path.expanduser(str(p)))
        return p if p.is_absolute() else self.base_dir / p

    def state_url(self) -> str:
        url = self.settings.state.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.base_dir / url[len(prefix):])
        return url


def load(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read the TOML file (or defaults when `path` is None), then apply env overrides."""
    env = os.environ if env is None else env
    text, data, p = "", {}, None
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigFileError(
                f"{p}: no such config file; copy config.example.toml to {p} and edit it"
            )
        text = p.read_text()
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigFileError(f"{p}: not valid TOML: {e}") from None
    _refuse_secrets(data, text, p)
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            data.setdefault(section, {})[key] = env[var]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigFileError(_explain(e, text, p)) from None
    return LoadedConfig(settings, p)


def _refuse_secrets(data: dict, text: str, path: Path | None) -> None:
    sf = data.get("salesforce", {})
    for key, where in SECRET_KEYS.items():
        if key in sf:
            raise ConfigFileError(
                f"{_where(path, text, ('salesforce', key))}: [salesforce] {key}: secrets do not "
                f"belong in the config file; remove it and set {where} instead"
            )


def _explain(err: ValidationError, text: str, path: Path | None) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(str(x) for x in e["loc"])
        where = _where(path, text, loc)
        key = ".".join(loc) or "(top level)"
        if e["type"] == "extra_forbidden":
            msg = f"unknown key {key!r}"
            hint = _did_you_mean(loc)
            if hint:
                msg += f"; did you mean {hint!r}?"
        else:
            msg = f"{key}: {e['msg']}"
        lines.append(f"{where}: {msg}")
    return "\n".join(lines)


def _did_you_mean(loc: tuple[str, ...]) -> str | None:
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        if field is None or not isinstance(field.annotation, type) or not issubclass(field.annotation, BaseModel):
            return None
        model = field.annotation
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1, cutoff=0.5)
    if not close:
        return None
    return ".".join((*loc[:-1], close[0]))


def _where(path: Path | None, text: str, loc: tuple[str, ...]) -> str:
    name = str(path) if path else "<defaults/environment>"
    line = _line_of(text, loc)
    return f"{name}:{line}" if line else name


def _line_of(text: str, loc: tuple[str, ...]) -> int | None:
    """Find the line defining `loc` (table header then key), tomllib keeps no positions."""
    if not loc or not text:
        return None
    table: tuple[str, ...] = ()
    header_line = None
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        m = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]\s*(#.*)?", line)
        if m:
            table = tuple(part.strip().strip('"') for part in m.group(1).split("."))
            if table == loc:
                header_line = n
            continue
        km = re.match(r'^"?([A-Za-z0-9_\-]+)"?\s*=', line)
        if km and (*table, km.group(1)) == loc:
            return n
    return header_line

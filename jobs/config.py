"""The connector's own configuration: one TOML file plus environment overrides.

Every section is a strict pydantic model, so a typo is an error naming the file, the
line, the key and the nearest valid key — never a silently ignored setting. Secrets
are not allowed in the file at all: the file names the environment variable or the
file that holds each one, and `LEADROUTER_*` variables override URLs and secrets so a
container can run with the example file untouched.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rules.errors import Problem, nearest, toml_problem
from rules.tomllines import TomlLines
from rules.tomllines import loads as toml_loads

DEFAULT_CONFIG = "leadrouter.toml"

# Keys people are tempted to put in the file; each gets its own error with the fix.
SECRET_KEYS = ("client_secret", "consumer_secret", "refresh_token", "password", "security_token",
               "private_key", "access_token", "session_id")

# Environment variable -> (section, key). Only URLs, paths and identities: the knobs
# a deployment changes without editing the file.
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "LEADROUTER_ORG": ("org", "name"),
    "LEADROUTER_LOGIN_URL": ("salesforce", "login_url"),
    "LEADROUTER_API_VERSION": ("salesforce", "api_version"),
    "LEADROUTER_CA_BUNDLE": ("salesforce", "ca_bundle"),
    "LEADROUTER_AUTH_METHOD": ("salesforce", "auth", "method"),
    "LEADROUTER_CLIENT_ID": ("salesforce", "auth", "client_id"),
    "LEADROUTER_USERNAME": ("salesforce", "auth", "username"),
    "LEADROUTER_PRIVATE_KEY_FILE": ("salesforce", "auth", "private_key_file"),
    "LEADROUTER_STATE_URL": ("state", "url"),
    "LEADROUTER_RULES": ("routing", "rules"),
    "LEADROUTER_MAPPINGS_DIR": ("mappings", "dir"),
    "LEADROUTER_LOG_FORMAT": ("log", "format"),
    "LEADROUTER_METRICS_BIND": ("metrics", "bind"),
    "LEADROUTER_LOG_LEVEL": ("log", "level"),
    "LEADROUTER_PUBSUB_URL": ("stream", "pubsub_url"),
}


class ConfigFileError(ValueError):
    """A configuration mistake, already phrased for the person who made it. Made from the
    problems found in the file (file, line, key, message, fix), they are in `problems`."""

    def __init__(self, what: str | list[Problem]):
        self.problems = [] if isinstance(what, str) else list(what)
        super().__init__(what if isinstance(what, str) else "\n".join(str(p) for p in self.problems))


class SalesforceUnreachable(ConfigFileError):
    """The org did not answer the login (refused, timed out, down for maintenance) after
    the retries. Said as a configuration problem where a person reads it — the URL may be
    wrong — but `once` and `run` exit 1 (try again), not 2: a Salesforce outage is not a
    mistake in the file, and a scheduler should simply run again."""


class _Strict(BaseModel):
    # nan and inf are TOML numbers, and no duration or share: "Input should be a finite number"
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# Upper bounds of the durations: each value becomes a timedelta or a timer, which a value past
# the calendar breaks (OverflowError) in a job at every run, after validate said it was fine.
WEEK_SECONDS = 7 * 86_400


class StateSettings(_Strict):
    url: str = "sqlite:///leadrouter.sqlite"
    # Leads whose routing ended (closed, released) this many days ago leave the state:
    # their stored copy, offers, bars and audit. The org keeps the history (LeadHistory).
    retention_days: int = Field(default=90, ge=1, le=36_500)

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
        if v.startswith("postgresql"):
            from jobs import extras

            needs = extras.problem("postgres", "PostgreSQL state")
            if needs:
                raise ValueError(needs)
        return v


class ScheduleSettings(_Strict):
    """Seconds between runs of each job."""

    sync_partners: int = Field(900, ge=5, le=WEEK_SECONDS)
    leads: int = Field(60, ge=1, le=WEEK_SECONDS)  # one incremental Lead read: new leads AND partner responses
    offers: int = Field(60, ge=1, le=WEEK_SECONDS)  # deadlines, reminders, follow-ups: local, no reads
    outbox: int = Field(30, ge=1, le=WEEK_SECONDS)
    deleted: int = Field(900, ge=5, le=WEEK_SECONDS)
    housekeeping: int = Field(3600, ge=60, le=WEEK_SECONDS)  # prune old job runs and settled outbox entries
    misfire_grace: int = Field(30, ge=1, le=WEEK_SECONDS)
    # `run` stopped (SIGTERM): after the job in flight, the decided writes go out for at most
    # this long before the lock is released (jobs/stop_flush.py); 0 leaves them to the next leader
    stop_flush: int = Field(10, ge=0, le=3600)


class RoutingSettings(_Strict):
    rules: Path = Path("rules.toml")
    # How far back each incremental read reaches behind its watermark: a commit that
    # lands late in Salesforce still gets read.
    lookback_seconds: int = Field(300, ge=0, le=WEEK_SECONDS)
    # The very first run (no watermark yet) starts this far back, so switching the
    # connector on does not route years of old, never-routed leads.
    backfill_hours: float = Field(168.0, gt=0, le=87_600)  # ten years


class MappingsSettings(_Strict):
    dir: Path | None = None


class OffersSettings(_Strict):
    reminder_before_hours: float = Field(4.0, gt=0, le=8_760)  # a year
    followup_days: float = Field(3.0, gt=0, le=3_650)
    reclaim: bool = False
    reclaim_after_days: float = Field(7.0, gt=0, le=3_650)
    # A lead still in this Status after acceptance counts as untouched.
    untouched_status: str = "Open - Not Contacted"
    # Lead Status values that mean the partner closed an accepted lead without converting
    # it: its place in the partner's capacity frees up and it counts as lost. [] turns it off.
    closed_unconverted_statuses: list[str] = ["Closed - Not Converted"]


class BudgetSettings(_Strict):
    share: float = Field(0.25, gt=0, le=1)  # our share of the org's daily API limit
    pause_non_urgent_at: float = Field(0.8, gt=0, le=1)  # org-wide usage: non-urgent jobs hold back


class NotificationSettings(_Strict):
    mode: Literal["none", "custom", "email"] = "none"
    custom_notification_type_id: str | None = None  # 0ML…, for mode = "custom"
    email_sender_type: Literal["CurrentUser", "DefaultWorkflowUser", "OrgWideEmailAddress"] | None = None
    email_sender_address: str | None = None
    offer_alert: Literal["email", "custom", "off"] = "email"  # tell the offered rep (jobs/alerts.py); off: a Flow does
    # a lead put into a pool: tell the reps of the members it is for, by the offer_alert channel.
    # Off when unset: a config written before pool alerts may have a Flow telling the pool
    # already, and each pool lead emails every member's reps (config.example.toml turns it on)
    pool_alert: Literal["members", "off"] = "off"
    portal_url: str | None = None  # the partner portal's base URL (…/s): alerts link the Lead there
    # A completed Task on the Lead saying what was sent (jobs/activity.py): all, failed (only what
    # did not go out), off. Needs Edit Tasks. An alert coincides with the offer the Lead shows
    # already (Offered_At__c), so by default only an alert that failed leaves a Task: one for
    # each would cost a call per 200 offers, as much as writing the offers.
    reminder_tasks: Literal["all", "failed", "off"] = "all"
    alert_tasks: Literal["all", "failed", "off"] = "failed"


class LogSettings(_Strict):
    format: Literal["auto", "json", "pretty"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("level", "format", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v


class MetricsSettings(_Strict):
    """The /healthz and /metrics endpoint (jobs/metrics.py): off unless a bind address is set."""

    bind: str | None = None  # "127.0.0.1:9464"; "0.0.0.0:9464" inside a container

    @field_validator("bind")
    @classmethod
    def _host_port(cls, v: str | None) -> str | None:
        if v:
            from jobs.metrics import parse_bind

            parse_bind(v)
        return v or None


class StreamSettings(_Strict):
    """How changes reach us (jobs/stream.py): Change Data Capture events, or polling alone."""

    # auto: CDC when the org offers the topics to the integration user, else polling with a
    # warning naming the setup step; cdc: the same, but its absence is an error; poll: no CDC
    mode: Literal["auto", "cdc", "poll"] = "auto"
    pubsub_url: str = "api.pubsub.salesforce.com:7443"  # host:port of the Pub/Sub API
    # with CDC connected, the lead stream's read becomes a reconciliation read this often
    reconcile_seconds: int = Field(900, ge=60, le=WEEK_SECONDS)
    # and partners (Account events drive it) and deletions (DELETE events) are read this often
    reconcile_partners_seconds: int = Field(21600, ge=300, le=WEEK_SECONDS)
    batch_size: int = Field(100, ge=1, le=100)  # events requested at a time

    @field_validator("pubsub_url")
    @classmethod
    def _host_port(cls, v: str) -> str:
        host, _, port = v.rpartition(":")
        if "://" in v or not host or not port.isdigit():
            raise ValueError(f"{v!r} must be host:port, such as api.pubsub.salesforce.com:7443 (no https://)")
        return v


class OrgSettings(_Strict):
    """The org this worker serves (jobs/state/orgs.py): its state, leader lock and metrics
    are keyed by it, so one PostgreSQL database serves many orgs, one worker each."""

    name: str = "default"

    @field_validator("name")
    @classmethod
    def _org_name(cls, v: str) -> str:
        from jobs.state.orgs import check_name

        return check_name(v)


class Settings(_Strict):
    org: OrgSettings = OrgSettings()
    # Validated as the connector's own ConnectorConfig (see `connector_config`), with
    # [budget] and [notifications] folded in.
    salesforce: dict[str, Any] | None = None
    state: StateSettings = StateSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    routing: RoutingSettings = RoutingSettings()
    mappings: MappingsSettings = MappingsSettings()
    offers: OffersSettings = OffersSettings()
    budget: BudgetSettings = BudgetSettings()
    notifications: NotificationSettings = NotificationSettings()
    log: LogSettings = LogSettings()
    metrics: MetricsSettings = MetricsSettings()
    stream: StreamSettings = StreamSettings()

    @model_validator(mode="after")
    def _state_url_leaves_the_schema_to_the_org(self) -> "Settings":
        from jobs.state.orgs import url_for

        url_for(self.state.url, self.org.name)  # ValueError when the URL chooses a search_path itself
        return self

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
    text: str = ""

    @property
    def base_dir(self) -> Path:
        return self.path.resolve().parent if self.path else Path.cwd()

    def resolve(self, p: Path | None) -> Path | None:
        """Relative paths in the file are relative to the file, not to the cwd."""
        if p is None:
            return None
        p = Path(os.path.expanduser(str(p)))
        return p if p.is_absolute() else self.base_dir / p

    def connector_config(self):  # -> connector.config.ConnectorConfig
        """The connector's config: [salesforce] plus [budget] and [notifications]."""
        from connector.config import ConnectorConfig

        s = self.settings
        if s.salesforce is None:
            raise ConfigFileError(
                f"{self.path or 'the configuration'}: no [salesforce] section; copy it from "
                "config.example.toml (login_url and an [salesforce.auth] method)"
            )
        data = dict(s.salesforce)
        for inner, table in (("budget", "budget"), ("notify", "notifications")):
            if inner in data:  # the connector's own names: this file keeps them at the top
                raise ConfigFileError(
                    f"{self.path or 'the configuration'}: [salesforce.{inner}] is not read here; its settings "
                    f"go in the top-level [{table}] section (config.example.toml shows it)"
                )
        if data.get("ca_bundle"):
            data["ca_bundle"] = str(self.resolve(Path(data["ca_bundle"])))
        auth = dict(data.get("auth") or {})
        for key in ("private_key_file", "client_secret_file", "refresh_token_file", "password_file",
                    "security_token_file"):
            if auth.get(key):
                auth[key] = str(self.resolve(Path(auth[key])))
        data["auth"] = auth
        data["budget"] = s.budget.model_dump()
        n = s.notifications
        data["notify"] = {"kind": n.mode, "custom_notification_type_id": n.custom_notification_type_id,
                          "email_sender_type": n.email_sender_type, "email_sender_address": n.email_sender_address}
        try:
            return ConnectorConfig.model_validate(data)
        except ValidationError as e:
            raise ConfigFileError(_explain(e, self.text, self.path, prefix=("salesforce",),
                                           model=ConnectorConfig)) from None

    def state_url(self) -> str:
        """[state] url as this org's workers connect to it: a relative SQLite path
        resolved; on PostgreSQL the org's own schema (jobs/state/orgs.py)."""
        from jobs.state.orgs import url_for

        url = self.settings.state.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.base_dir / url[len(prefix):])
        return url_for(url, self.settings.org.name)


def read_config_text(p: Path) -> str:
    """The config file's text, or a ConfigFileError saying why it cannot be read."""
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigFileError(f"{p}: not UTF-8 text (byte {e.start}); save the config file as UTF-8") from None
    except OSError as e:
        what = "is a directory, not a file" if p.is_dir() else f"cannot be read: {e.strerror or e}"
        raise ConfigFileError(f"{p}: the config file {what}; point --config (or $LEADROUTER_CONFIG) at the "
                              "TOML file, a copy of config.example.toml") from None


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
        text = read_config_text(p)
        try:
            data = toml_loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigFileError([toml_problem(str(p), text, e)]) from None
    _refuse_secrets(data, text, p)
    for var, loc in ENV_OVERRIDES.items():
        if env.get(var):
            node = data
            for part in loc[:-1]:
                node = node.setdefault(part, {})
            node[loc[-1]] = env[var]
    overridden = {".".join(loc): var for var, loc in ENV_OVERRIDES.items() if env.get(var)}
    try:
        try:
            settings = Settings.model_validate(data)
        except ValidationError as e:
            raise ConfigFileError(_explain(e, text, p)) from None
        loaded = LoadedConfig(settings, p, text)
        unsendable = _unsendable(settings.notifications, text, p)
        if unsendable:
            raise ConfigFileError(unsendable)
        if settings.salesforce is not None:
            loaded.connector_config()  # fail at load time, with file and line, not at first call
    except ConfigFileError as e:
        if not any(q.key in overridden for q in e.problems):
            raise
        raise ConfigFileError([_from_environment(q, overridden) for q in e.problems]) from None
    return loaded


def _unsendable(n: NotificationSettings, text: str, path: Path | None) -> list[Problem]:
    """[notifications] settings Salesforce would refuse at every send (each alert of each run
    failing with a warning): said at load and by validate, at the key's line."""
    out = []
    if not n.custom_notification_type_id:
        for key in ("mode", "offer_alert"):
            if getattr(n, key) == "custom":
                out.append(_problem(path, text, ("notifications", key),
                                    f'{key} = "custom" (bell notifications) needs custom_notification_type_id',
                                    "create a Custom Notification Type in Setup (salesforce/ ships Lead_Routing) and "
                                    "set custom_notification_type_id = \"0ML…\" (its Id) under [notifications], "
                                    f'or {key} = "email"'))
    if n.email_sender_type == "OrgWideEmailAddress" and not n.email_sender_address:
        out.append(_problem(path, text, ("notifications", "email_sender_type"),
                            'email_sender_type = "OrgWideEmailAddress" needs email_sender_address',
                            "set email_sender_address to a verified address from Setup → Organization-Wide "
                            "Addresses, or leave email_sender_type unset"))
    return out


def _from_environment(problem: Problem, overridden: Mapping[str, str]) -> Problem:
    """A wrong value an environment variable gave: said as the variable's, not at the file's
    line (which holds another value, or none)."""
    var = overridden.get(problem.key)
    if var is None:
        return problem
    return replace(problem, line=None, message=f"{problem.message} (the value of ${var}, which overrides the file)",
                   fix=f"correct ${var} or unset it to use the file's value; {problem.fix}" if problem.fix
                   else f"correct ${var} or unset it to use the file's value")


def _refuse_secrets(data: dict, text: str, path: Path | None, loc: tuple[str, ...] = ()) -> None:
    for key, value in data.items():
        here = (*loc, key)
        if isinstance(value, dict):
            _refuse_secrets(value, text, path, here)
        elif key.lower() in SECRET_KEYS:
            fix = (f"set {key}_env = \"LEADROUTER_{key.upper()}\" and export that variable "
                   f"(or {key}_file = a path)") if key not in ("access_token", "session_id") \
                else "configure an auth method; the connector obtains its own session"
            raise ConfigFileError([_problem(path, text, here, "secrets do not belong in the config file",
                                            f"remove it and {fix}")])


def _explain(err: ValidationError, text: str, path: Path | None, prefix: tuple[str, ...] = (),
             model: type[BaseModel] | None = None) -> list[Problem]:
    problems = []
    for e in err.errors():
        inner = tuple(str(x) for x in e["loc"])
        loc = _file_loc(prefix, inner)
        key = ".".join(loc) or "(top level)"
        if e["type"] == "extra_forbidden":
            hint = _did_you_mean(inner, model or Settings)
            if hint and prefix and not hint.startswith(prefix[0]):
                hint = ".".join((*prefix, hint))
            if hint == key:  # a key of another variant (auth method): say whose, never "did you mean <itself>"
                owners = _variants_with(inner, model or Settings)
                fix = (f"it belongs to method {' / '.join(map(repr, owners))}, not the one chosen here" if owners
                       else "remove it")
            else:
                fix = f"did you mean {hint!r}?" if hint else "remove it; config.example.toml lists every key"
            problems.append(_problem(path, text, loc, f"unknown key {key!r}", fix))
        elif e["type"] == "union_tag_invalid":  # [salesforce.auth] method = "jwt": a choice, not pydantic's "tag"
            ctx = e.get("ctx") or {}
            field, tag = str(ctx.get("discriminator", "")).strip("'\""), str(ctx.get("tag", ""))
            tags = [t.strip(" '\"") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
            problems.append(_problem(path, text, (*loc, field), f"unknown {field} {tag!r}",
                                     f"did you mean {_tag_meant(tag, tags)!r}? ({', '.join(tags)})"
                                     if _tag_meant(tag, tags) else f"one of: {', '.join(tags)}"))
        else:
            # a validator of ours says the fix in its words; pydantic's own ("Input should be…") do not
            default = _default_of(inner, model or Settings) if e["type"] != "value_error" else None
            fix = (f"e.g. {loc[-1]} = {default} (its default; config.example.toml says what it means)"
                   if default is not None else "see config.example.toml for this key's type and default")
            problems.append(_problem(path, text, loc, e["msg"].removeprefix("Value error, "), fix))
    return problems


def _tag_meant(tag: str, tags: list[str]) -> str | None:
    """The choice a written one abbreviates or contains (jwt → jwt_bearer), else the nearest."""
    folded = tag.lower().replace("_", "").replace("-", "").replace(" ", "")
    for t in tags:
        plain = t.replace("_", "")
        if folded and (plain.startswith(folded) or plain in folded):
            return t
    return nearest(tag, tags)


def _default_of(loc: tuple[str, ...], model: type[BaseModel]) -> str | None:
    """A plain key's default as TOML writes it (share = 0.25, leads = 60), or None."""
    import json

    field = None
    for part in loc:
        if field is not None:
            ann = field.annotation
            if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
                return None
            model = ann
        field = model.model_fields.get(part)
        if field is None:
            return None
    default = field.default if field is not None else None
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, (int, float, str)) and default != "":
        return json.dumps(default, ensure_ascii=False)
    return None


_AUTH_METHODS = ("jwt_bearer", "client_credentials", "refresh_token", "password")


def _file_loc(prefix: tuple[str, ...], inner: tuple[str, ...]) -> tuple[str, ...]:
    """Where a ConnectorConfig error sits in OUR file: budget/notify are top-level there."""
    if prefix == ("salesforce",) and inner[:1] == ("budget",):
        return inner
    if prefix == ("salesforce",) and inner[:1] == ("notify",):
        return ("notifications", *inner[1:])
    # discriminated unions add the tag to the path: salesforce.auth.jwt_bearer.client_id
    if prefix == ("salesforce",) and inner[:1] == ("auth",) and (
            len(inner) > 2 or (len(inner) == 2 and inner[1] in _AUTH_METHODS)):
        inner = ("auth", *inner[2:])
    return (*prefix, *inner)


def _variants_with(loc: tuple[str, ...], model: type[BaseModel]) -> list[str]:
    """The variants of a union (auth methods, by their `method`) that have the key `loc[-1]`."""
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
            continue
        members = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not members:
            args = getattr(ann, "__metadata__", None) and getattr(ann, "__origin__", None)
            members = [a for a in getattr(args, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        out = []
        for m in members:
            if loc[-1] in m.model_fields and "method" in m.model_fields:
                method = m.model_fields["method"]
                out += [str(v) for v in getattr(method.annotation, "__args__", ())] or [str(method.default)]
        return out
    return []


def _did_you_mean(loc: tuple[str, ...], model: type[BaseModel]) -> str | None:
    path: list[str] = []
    for part in loc[:-1]:
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            # a union (auth methods): offer names from all members
            members = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
            if not members:
                args = getattr(ann, "__metadata__", None) and getattr(ann, "__origin__", None)
                members = [a for a in getattr(args, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
            names = sorted({n for m in members for n in m.model_fields})
            # the key itself when another member has it (the caller names that member)
            close = loc[-1] if loc[-1] in names else nearest(loc[-1], names)
            return ".".join((*path, part, close)) if close else None
        path.append(part)
        model = ann
    close = nearest(loc[-1], model.model_fields)
    if not close:
        return None
    return ".".join((*loc[:-1], close))


def _problem(path: Path | None, text: str, loc: tuple[str, ...], message: str, fix: str | None) -> Problem:
    return Problem(str(path) if path else "<defaults/environment>", TomlLines(text).line(loc) if loc and text else None,
                   ".".join(loc) or "(top level)", message, fix)

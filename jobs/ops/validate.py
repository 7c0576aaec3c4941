"""`leadrouter validate`: config, mappings and rules, checked against the org — all at once.

Every finding names the file, the key (and line where known) and the fix. Errors stop
a deployment (exit 1); warnings are worth a look: rules no lead in the org matches,
leads no rule can place (coverage holes), partners no rule can reach, and coverage
that partners of the same tier share.
"""
from __future__ import annotations

import re
import sys
import tomllib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jobs.printable import for_terminal, json_text, one_line

SAMPLE_LEADS = 5000
# how long `validate` waits for the Pub/Sub API to answer: a blackholed address held it for the
# call's own 30 s (a TLS handshake never answered: 20 s) with no word of why
PUBSUB_CHECK_SECONDS = 5.0


@dataclass
class Finding:
    severity: str  # error | warning | note (what the org makes of the files: no problem, worth knowing)
    file: str
    key: str
    message: str
    fix: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        # a message quotes the org's text (a partner's name, a zone typed by a person): on its
        # own line, whatever line breaks that text holds
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f"{self.key}: " if self.key else ""  # a problem with the file itself (not TOML) has none
        text = one_line(f"{self.severity.upper():7} {where}: {key}{self.message}")
        return f"{text}\n        fix: {one_line(self.fix)}" if self.fix else text


def as_json(f: Finding) -> dict[str, Any]:
    """A finding for machines: a line where there is one, no `"line": null` where there is none."""
    return {k: v for k, v in asdict(f).items() if v is not None or k not in ("line", "fix")}


def _from_problem(p: Any) -> Finding:
    return Finding(getattr(p, "severity", "error"), str(p.file), str(p.key), p.message, p.fix, p.line)


def validate(config: Path | None, *, offline: bool = False, client: Any = None, clock: Any = None) -> list[Finding]:
    from jobs.config import ConfigFileError, load, read_config_text
    from rules.tomllines import loads as toml_loads
    from mappings import MappingError, load_mappings
    from rules import load_rules
    from rules.errors import RulesError

    findings: list[Finding] = []
    cfg_name = str(config) if config else "(defaults)"
    loaded = None
    raw: dict[str, Any] = {}
    unread = False  # the file is no TOML: what it seems to lack is nothing it lacks
    if config is not None and config.exists():
        try:
            raw = toml_loads(read_config_text(config))
        except (tomllib.TOMLDecodeError, ConfigFileError):  # load() below says what is wrong
            raw, unread = {}, True
    try:
        loaded = load(config)
    except ConfigFileError as e:
        findings += [_from_problem(p) for p in e.problems] or [
            _config_finding(cfg_name, line.strip()) for line in str(e).splitlines() if line.strip()]
        loaded = None if unread else _essentials(config, raw)

    base = config.resolve().parent if config else Path.cwd()

    def path_of(section: str, key: str, default: str | None) -> Path | None:
        if loaded is not None:
            s = getattr(loaded.settings, section)
            value = getattr(s, key)
            return loaded.resolve(value) if value is not None else None
        value = (raw.get(section) or {}).get(key, default)
        if value is None:
            return None
        p = Path(value)
        return p if p.is_absolute() else base / p

    ms = None
    try:
        ms = load_mappings(path_of("mappings", "dir", None))
        findings += [_from_problem(p) for p in getattr(ms, "warnings", [])]
    except MappingError as e:
        findings += [_from_problem(p) for p in e.problems]

    if loaded is not None:
        findings += _state_findings(loaded, cfg_name, offline=offline)
        findings += _alert_findings(loaded, cfg_name)
    rules_path = path_of("routing", "rules", "rules.toml")
    online = not offline and loaded is not None and loaded.settings.salesforce is not None
    if not offline and loaded is not None and loaded.settings.salesforce is None:
        findings.append(Finding("warning", cfg_name, "salesforce", "no [salesforce] section: the org was not checked",
                                "add [salesforce] (see config.example.toml) or pass --offline"))
    queue_names = None
    currencies = None  # the org's, in a multi-currency org (mappings/currency.OrgCurrencies)
    picklists = None  # the org's picklist values as mapped, once describe has answered
    if online:
        try:
            client = client or _connect(loaded, clock)
        except Exception as e:  # noqa: BLE001 — an unreachable org or bad credentials is a finding, not a crash
            fix = getattr(e, "fix", None) or "check [salesforce] login_url, ca_bundle and the auth settings"
            # the fix goes on its own line, once — not inside the message too
            findings.append(Finding("error", cfg_name, "salesforce", f"could not connect to the org: {_said(e)}", fix))
            online = False
    if online:
        problem = _api_version(client, cfg_name)
        if problem is not None:  # every other check would fail on the same missing version
            findings.append(problem)
            online = False
    if online:
        from connector.errors import ConnectorError
        from connector.soql import select

        try:
            queue_names = {r["DeveloperName"] for r in client.query(select("Group", ["DeveloperName"],
                                                                           where="Type = 'Queue'"))
                           if r.get("DeveloperName")}
        except ConnectorError as e:  # the user cannot read queues, or the org refused: a finding, not a crash
            findings.append(Finding("error", cfg_name, "salesforce", f"the org refused the queue check: {_said(e)}",
                                    getattr(e, "fix", None) or "give the integration user the LeadRouter permission "
                                                               "set (salesforce/README.md)"))
            online = False
    if online and ms is not None:
        describes: dict[str, dict] = {}

        def describe(name: str) -> dict:
            if name not in describes:
                describes[name] = client.describe(name)
            return describes[name]

        currencies, said = _org_currencies(client, ms)
        if currencies is not None:  # its lead amounts are converted, as a start converts them
            ms.use_currencies(currencies)
        findings += said
        findings += [_from_problem(p) for p in ms.validate(describe)]
        picklists = {side: ms.picklist_values(side, describe) for side in ("lead", "partner")}
        findings += _rating_field(describe, ms.sobject("lead"))
        findings += _feedback_fields(describe, ms.sobject("partner"))
        findings += _org_lease(client, cfg_name)
        if loaded is not None:
            findings += _pub_sub(loaded.settings.stream, client, cfg_name)
        findings += _history_tracking(client, ms)
        if loaded is not None:
            findings += _activity_tasks(describe, loaded.settings.notifications, cfg_name)
            findings += _lead_statuses(describe, ms, loaded.settings.offers, cfg_name)

    book = None
    if rules_path is not None and not rules_path.exists():
        findings.append(Finding("error", cfg_name, "routing.rules", f"rule file {rules_path} does not exist",
                                "point [routing] rules at your rule file, e.g. a copy of rules/defaults/rules.toml"))
    else:
        try:
            from jobs.performance import rule_attributes

            lead_attributes, partner_attributes = rule_attributes(ms)
            book = load_rules(rules_path, lead_attributes=lead_attributes, partner_attributes=partner_attributes,
                              queue_names=queue_names, picklists=picklists)
            findings += [_from_problem(p) for p in book.warnings]
        except RulesError as e:
            findings += [_from_problem(p) for p in e.problems]

    if loaded is not None and book is not None:
        findings += _nothing_sent(loaded, raw, book, cfg_name, str(rules_path or "rules"))
    if ms is not None and book is not None:
        findings += _unmapped_matchers(book, ms, str(rules_path or "rules"))
    if currencies is not None and book is not None:
        findings += _amount_conditions(currencies, book, str(rules_path or "rules"))
    if online and book is not None:
        findings += _org_calendar(client, book, str(rules_path or "rules"))
    if online and ms is not None and book is not None and not any(f.severity == "error" for f in findings):
        findings += _data_warnings_for(loaded, client, clock, str(rules_path or "rules"), book)
    return findings


def _said(e: Exception) -> str:
    """A connector error's what, without the fix its text carries (the finding's fix says it)."""
    fix = getattr(e, "fix", None)
    return str(e).replace(f" — fix: {fix}", "") if fix else str(e)


def _org_currencies(client, ms) -> tuple[Any, list[Finding]]:
    """A multi-currency org (jobs/preflight.org_currencies, as a start reads it): said, with
    its corporate currency and the lead attributes converted into it before any rule
    compares them — the start's log said it, validate did not."""
    from connector.errors import ConnectorError
    from jobs.preflight import org_currencies

    try:
        currencies = org_currencies(client, ms)
    except ConnectorError as e:
        return None, [Finding("warning", "org: CurrencyType", "currencies",
                              f"could not read the org's currencies: {_said(e)}",
                              e.fix or "give the integration user read access to CurrencyType (View Setup and "
                                       "Configuration); a start needs it too")]
    if currencies is None:
        return None, []
    active = ", ".join(sorted(currencies.rates))
    sources = ms.source_fields("lead")
    converted = ", ".join(f"{a} ({'/'.join(sources.get(a) or ()) or a})" for a in sorted(currencies.attributes))
    said = (f"a multi-currency org: corporate currency {currencies.corporate}, active currencies {active}; "
            + (f"each lead's {converted} is converted from the lead's own currency (CurrencyIsoCode) to "
               f"{currencies.corporate} at the org's static conversion rates before any rule compares it, as "
               "the org's reports on Leads convert it; the Lead keeps its own currency and amount"
               if converted else "no mapped lead attribute is read from a currency field: nothing is converted"))
    return currencies, [Finding("note", f"org: {ms.sobject('lead')}", "CurrencyIsoCode", said)]


# What a rule's match (or distribution) reads of a partner: the [partner] attributes it needs.
_PARTNER_NEEDS: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("geography = true", lambda r: r.match.geography, ("coverage",)),
    ("within_km", lambda r: r.match.proximity, ("lat", "lon")),
    ("partner_radius = true", lambda r: r.match.partner_radius, ("radius_km",)),
    ("industry = true", lambda r: r.match.industry, ("industries",)),
    ("products", lambda r: bool(r.match.products), ("products",)),
    ("certified_for_products = true", lambda r: r.match.certified_for_products, ("certifications",)),
    ("certifications", lambda r: bool(r.match.certifications or r.match.certifications_all), ("certifications",)),
    ("language = true", lambda r: r.match.language, ("languages",)),
    ("tiers / min_tier", lambda r: bool(r.match.tiers or r.match.min_tier), ("tier",)),
    ("programs", lambda r: bool(r.match.programs), ("programs",)),
    ("role", lambda r: bool(r.match.role) and r.match.role != "Reseller", ("role",)),  # unread: every partner a Reseller
    ('weighted by "tier"', lambda r: r.distribute == "weighted" and r.weight_by == "tier", ("tier",)),
)


def _unmapped_matchers(book, ms, rules_file: str) -> list[Finding]:
    """A rule matching on partner attributes the [partner] mapping does not read: a
    partner.toml of the org's own replaces the shipped section whole, so an attribute it
    leaves out is read from no field — a proximity rule then finds nobody near, a tier rule
    nobody of the tier — and nothing else says why."""
    try:
        mapped = ms.source_fields("partner")
        shipped = _shipped_partner_fields()
    except Exception:  # noqa: BLE001 — a mapping that failed to load is reported elsewhere
        return []
    out: list[Finding] = []
    file = ms.file("partner")
    for rule in book.rules:
        missing: list[str] = []
        uses: list[str] = []
        for said, used, attrs in _PARTNER_NEEDS:
            lost = [a for a in attrs if a not in mapped and a not in missing]
            if lost and used(rule):
                missing += lost
                uses.append(said)
        if not missing:
            continue
        example = "; ".join(f"{a} = {shipped[a]!r}".replace("'", '"') for a in missing if a in shipped)
        out.append(Finding(
            "warning", rules_file, f"rule {rule.name!r}",
            f"matches on {', '.join(uses)}, but the [partner] mapping ({file}) maps no {', '.join(missing)}: "
            "no partner has it, so the rule can offer a lead to nobody",
            f"add {'them' if len(missing) > 1 else 'it'} under [partner.fields] in {file}"
            + (f" ({example}, as the shipped mappings/defaults/partner.toml does)" if example else "")
            + ": a [partner] section of your own replaces the shipped one whole, so copy the shipped file and edit it",
            rule.line))
    return out


def _shipped_partner_fields() -> dict[str, str]:
    from mappings import load_mappings

    return {a: f[0] for a, f in load_mappings().source_fields("partner").items() if len(f) == 1}


def _amount_conditions(currencies, book, rules_file: str) -> list[Finding]:
    """Each condition comparing an attribute read from currency fields (`amount >= 100000`):
    in the corporate currency, at the org's static rates — whatever the lead's currency."""
    conditions = [(f"gate check {g.reason!r}", g.when, g.line) for g in book.gate]
    for rs in book.rulesets:
        conditions.append((f"rule set {rs.name!r}", rs.when, rs.line))
        conditions += [(f"rule {r.name!r}", r.when, r.line) for r in rs.rules]
    corporate = currencies.corporate
    others = sorted((code, rate) for code, rate in currencies.rates.items() if code != corporate)
    example = (f" (a lead's 100,000 {others[0][0]} counts as {100_000 / others[0][1]:,.2f} {corporate} at "
               f"{others[0][1]:g} {others[0][0]} to 1 {corporate})" if others else "")
    out = []
    for key, cond, line in conditions:
        read = sorted(cond.symbols & currencies.attributes)
        if cond.always or not read:
            continue
        out.append(Finding("note", rules_file, key,
                           f"its condition {cond.text!r} compares {', '.join(read)} in {corporate}, the org's "
                           f"corporate currency, at the org's static conversion rates{example}", None, line))
    return out


def _org_lease(client, cfg_name: str) -> list[Finding]:
    """The org lease keeps a second connector with its own state from routing the same leads
    (connector/lease.py): without its object the connector runs as before, unprotected."""
    from connector.errors import ConnectorError
    from connector.lease import DEPLOY_FIX, OBJECT, problem

    fix = DEPLOY_FIX
    try:
        said = problem(client)
    except ConnectorError as e:
        said = f"the org did not answer the describe of {OBJECT}: {_said(e)}"
        fix = f"{e.fix}; or {DEPLOY_FIX}" if e.fix else DEPLOY_FIX
    if said is None:
        return []
    return [Finding("warning", cfg_name, "salesforce", f"{said}: the connector routes without the org lease, so "
                    "two connectors with their own state databases on this org would both route every lead", fix)]


def _pub_sub(stream: Any, client, cfg_name: str) -> list[Finding]:
    """What `run` subscribes to (jobs/stream.py): asked once for the lead topic, no retries
    and no log line, so an address this host cannot reach is a finding with the fix."""
    import structlog

    from connector.config import RetryConfig
    from connector.errors import ConfigError, ConnectorError
    from connector.pubsub import PubSubConfig, Subscriber, credentials_from
    from connector.retry import RetryPolicy
    from jobs.stream import LEADS, PUBSUB_UNREACHABLE, SETUP_STEP

    if stream.mode == "poll":
        return []
    severity, instead = ("error", "") if stream.mode == "cdc" else ("warning", "; `run` polls instead")
    sub = None
    try:
        sub = Subscriber(PubSubConfig(url=stream.pubsub_url, ca_bundle=client.config.ca_bundle),
                         credentials_from(client), RetryPolicy(RetryConfig(max_attempts=1), logger=structlog.ReturnLogger()),
                         logger=structlog.ReturnLogger())
        sub.topic(LEADS, timeout=PUBSUB_CHECK_SECONDS)
    except ConfigError as e:
        return [Finding(severity, cfg_name, "stream.mode", f"Change Data Capture of Lead is not offered to the "
                        f"integration user ({_said(e)}){instead}", SETUP_STEP)]
    except ConnectorError as e:
        within = f" in {PUBSUB_CHECK_SECONDS:g} s" if e.failure.code == "DEADLINE_EXCEEDED" else ""
        return [Finding(severity, cfg_name, "stream.pubsub_url", f"the Pub/Sub API at {stream.pubsub_url} did not "
                        f"answer{within} ({_said(e)}){instead}", PUBSUB_UNREACHABLE)]
    finally:
        if sub is not None:
            sub.close()
    return []


def _history_tracking(client, ms) -> list[Finding]:
    """A lost state is rebuilt from LeadHistory, and an assignment rule's owner change is told
    from a person's by it (jobs/recovery.py, jobs/owner_history.py): of a field the org does
    not track there is no history to read (jobs/preflight.history_tracking)."""
    from jobs.preflight import history_fix, history_tracking
    from jobs.recovery import history_fields

    sobject = ms.sobject("lead")
    untracked, refused = history_tracking(client, ms)
    if refused is not None:
        fields = ", ".join(history_fields(ms))
        return [Finding("warning", f"org: {sobject}", "field history",
                        f"could not check which {sobject} fields' history the org tracks (it refused the "
                        f"FieldDefinition query: {refused}); the state's rebuild and the owner-change checks read "
                        f"the history of {fields}",
                        "check by hand: " + history_fix(sobject, list(history_fields(ms)))
                        + "; or give the integration user View Setup and Configuration so validate can check")]
    if not untracked:
        return []
    fields = ", ".join(f for f, _ in untracked)
    return [Finding("warning", f"org: {sobject}", "field history",
                    f"{sobject} field history is not tracked for {fields}: "
                    + "; ".join(f"without {f}'s, {why}" for f, why in untracked),
                    history_fix(sobject, [f for f, _ in untracked]))]


def _org_calendar(client, book, rules_file: str) -> list[Finding]:
    """The rule file's calendar must be the org's (jobs/preflight.org_calendar; a run says
    it at start too)."""
    from jobs.preflight import org_calendar

    return [Finding("warning", rules_file, key, problem, fix) for key, problem, fix in org_calendar(client, book)]


def _api_version(client, cfg_name: str) -> Finding | None:
    """The configured api_version must be one the org serves (an org serves a range; old
    versions are retired): otherwise every query and describe answers NOT_FOUND."""
    from connector.errors import ConnectorError

    wanted = getattr(getattr(client, "config", None), "api_version", None)
    try:
        served = client.versions()
    except (ConnectorError, AttributeError):  # a client that cannot list versions: the other checks will say
        return None
    if not wanted or not served or wanted in served:
        return None

    def number(v: str) -> float:
        try:
            return float(v)
        except ValueError:
            return 0.0

    from connector.config import ConnectorConfig

    tested = ConnectorConfig.model_fields["api_version"].default  # the version the connector is tested on
    best = tested if tested in served else max(served, key=number)
    return Finding("error", cfg_name, "salesforce.api_version",
                   f"api_version {wanted!r} is not served by this org (it serves {min(served, key=number)} to {best})",
                   f'set api_version = "{best}" under [salesforce]')


def _rating_field(describe, sobject: str) -> list[Finding]:
    """The partners' rating of lead quality is optional: without it routing works, the
    lead score and `lead_quality` just lack what partners think of their leads."""
    from jobs.ratings import RATING_FIELD

    try:
        fields = {f["name"] for f in describe(sobject).get("fields", [])}
    except Exception:  # noqa: BLE001 — the mapping checks already said why the object cannot be described
        return []
    if RATING_FIELD in fields:
        return []
    return [Finding("warning", f"org: {sobject}", RATING_FIELD,
                    "no field for partners' rating of lead quality (or hidden from the integration user): the lead "
                    "score and the `lead_quality` fact go without it",
                    "deploy salesforce/ (the field and the LeadRouter permission sets), or leave it: routing works")]


def _feedback_fields(describe, sobject: str) -> list[Finding]:
    """Ops reviews of partners' feedback and the adjustments in force live on the partner's
    Account when the org has the fields; without them routing works, reviews are kept in
    the state database only (a lost state brings back what ops lifted)."""
    from jobs.feedback_account import REVIEW_FIELD, SHOWN_FIELD

    try:
        fields = {f["name"]: f for f in describe(sobject).get("fields", [])}
    except Exception:  # noqa: BLE001 — the mapping checks already said why the object cannot be described
        return []
    why = {REVIEW_FIELD: "ops reviews of partners' feedback (`leadrouter feedback reset`) are kept in the state "
                         "database only: a lost state brings back the throttles, exclusions and stops ops lifted",
           SHOWN_FIELD: "the feedback adjustments in force are not shown on the partners' Accounts"}
    return [Finding("warning", f"org: {sobject}", name,
                    f"no field {name} the integration user can edit: {effect}",
                    f"deploy salesforce/ ({sobject}.{name} and the LeadRouter permission sets), or leave it: "
                    "routing works")
            for name, effect in why.items() if not fields.get(name, {}).get("updateable")]


def _activity_tasks(describe, notifications: Any, cfg_name: str) -> list[Finding]:
    """Reminders (and failed alerts) show on the Lead as completed Tasks (jobs/activity.py):
    an integration user that cannot create Tasks still reminds, but the Lead shows nothing."""
    from jobs.activity import PERMISSION_FIX

    wanted = [k for k in ("reminder_tasks", "alert_tasks") if getattr(notifications, k, "off") != "off"]
    if notifications.mode == "none" or not wanted:
        return []
    try:
        createable = bool(describe("Task").get("createable"))
    except Exception:  # noqa: BLE001 — NOT_FOUND / INVALID_TYPE: the user cannot see Tasks at all
        createable = False
    if createable:
        return []
    return [Finding("warning", "org: Task", "createable",
                    "the integration user cannot create Tasks: reminders and alerts still go out, but no Lead shows "
                    "them in its activity history",
                    f"{PERMISSION_FIX}, or set [notifications] {' and '.join(wanted)} = \"off\" in {cfg_name}")]


def _lead_statuses(describe, ms, offers: Any, cfg_name: str) -> list[Finding]:
    """[offers] names Lead Status values (untouched, closed unconverted): one the org's
    picklist lacks never matches, so follow-ups, reclaims or freed capacity silently never happen."""
    import difflib

    field = (ms.source_fields("lead").get("status") or (None,))[0]
    try:
        info = next((f for f in describe(ms.sobject("lead")).get("fields", []) if f.get("name") == field), None)
    except Exception:  # noqa: BLE001 — the mapping checks already said why the object cannot be described
        return []
    values = [p["value"] for p in (info or {}).get("picklistValues") or () if p.get("active", True)]
    if not values:
        return []
    wanted = [("untouched_status", offers.untouched_status, "accepted leads are never seen as untouched: no "
                                                            "follow-up reminder, no reclaim")]
    wanted += [("closed_unconverted_statuses", v, "a lead the partner closes this way keeps its place in the "
                                                  "partner's capacity") for v in offers.closed_unconverted_statuses]
    findings = []
    for key, value, effect in wanted:
        if value not in values:
            close = difflib.get_close_matches(value, values, n=1, cutoff=0.6)
            findings.append(Finding(
                "warning", cfg_name, f"offers.{key}",
                f"Lead.{field} has no value {value!r}: {effect}",
                f"did you mean {close[0]!r}?" if close else f"use one of the org's values: {', '.join(values)}"))
    return findings


def _state_findings(loaded, cfg_name: str, *, offline: bool = False) -> list[Finding]:
    """The state path as `once`/`run` will find it (jobs/state_path.py): usable, or why not."""
    from jobs.state_path import problem, sqlite_path

    try:
        url = loaded.state_url()
        found = problem(url)
        path = sqlite_path(url)
    except Exception as e:  # noqa: BLE001 - an unparsable URL is a finding
        return [Finding("error", cfg_name, "state.url", f"not a database URL: {e}",
                        "e.g. sqlite:///state/leadrouter.sqlite or postgresql+psycopg://user@host/db")]
    if found is not None:
        return [Finding("error", cfg_name, "state.url", found.message, found.fix)]
    if path is not None and not path.exists():
        return [Finding("warning", cfg_name, "state.url", f"no state database at {path} yet",
                        "expected before the first run: `leadrouter once --init` creates it; on a deployment that "
                        "has run before, the state was lost — restore it or `leadrouter state rebuild`")]
    if path is None and not offline:  # a database server: once and status need it to answer
        said = _server_unanswered(url)
        if said:
            message, _, fix = said.partition("\n  fix: ")
            return [Finding("error", cfg_name, "state.url", message, fix or None)]
    if path is not None or not offline:
        from jobs.ops.context import earlier_state
        from jobs.state.migrations import too_new
        from jobs.state.orgs import location
        from jobs.state.schema import SCHEMA_VERSION
        from jobs.state.store import ahead, behind

        version = behind(url)
        if version is not None:  # an upgrade: said, and left for the first start to migrate
            message, _, fix = earlier_state(url, version).partition("\n  fix: ")
            return [Finding("warning", cfg_name, "state.url", message, fix)]
        version = ahead(url)
        if version is not None:  # a rollback: once and run stop (exit 4) on it, in these words
            message, _, fix = too_new(location(url), version, SCHEMA_VERSION).partition("\n  fix: ")
            return [Finding("error", cfg_name, "state.url", message, fix)]
    return []


def _server_unanswered(url: str) -> str | None:
    """Why the state's database server does not take a connection (refused, no such host,
    role or password refused), in jobs/state/store.py's words; None when it does."""
    from sqlalchemy import create_engine, text

    from jobs.state.store import server_connect_args, unreachable

    engine = create_engine(url, connect_args={**server_connect_args(url), "connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as e:  # noqa: BLE001 - whatever the driver raises is said, not raised
        return unreachable(url, str(getattr(e, "orig", None) or e).splitlines()[0])
    finally:
        engine.dispose()


def _linking(n) -> list[str]:
    """The messages to partner reps that link the lead and go out with these settings: offer
    alerts by `offer_alert` (whatever `mode` says), reminders and follow-ups by `mode`."""
    return ([f'offer alerts (offer_alert = "{n.offer_alert}")'] if n.offer_alert != "off" else []) + \
        ([f'reminders and follow-ups (mode = "{n.mode}")'] if n.mode != "none" else [])


def _alert_findings(loaded, cfg_name: str) -> list[Finding]:
    """Offer alerts, reminders and follow-ups link the lead: partner reps log in to the
    partner portal, not to the org, so a link into the org's own Lightning pages shows them an
    error page. Said only when one of them goes out (with mode "none" and offer_alert "off"
    nothing does), naming which."""
    from urllib.parse import urlparse

    n = loaded.settings.notifications
    sent = _linking(n)
    if not sent:
        return []
    if not n.portal_url:
        return [Finding("warning", cfg_name, "notifications.portal_url",
                        f"{' and '.join(sent)} link each lead to the org's Lightning page (…/lightning/r/Lead/…/view), "
                        "which partner users cannot open",
                        'set portal_url = "https://<your site>/s" (Setup → Digital Experiences → All Sites: the '
                        "site's URL) under [notifications]")]
    url = urlparse(n.portal_url)
    if url.scheme != "https" or not url.hostname or url.query or url.fragment or "/lead/" in url.path.lower():
        return [Finding("error", cfg_name, "notifications.portal_url",
                        f"{n.portal_url!r} is not the site's base URL: {' and '.join(sent)} add /lead/<id>/detail "
                        "to it",
                        'e.g. portal_url = "https://partners.example.com/s"')]
    return []


def _nothing_sent(loaded, raw: dict[str, Any], book, cfg_name: str, rules_name: str) -> list[Finding]:
    """Offers lapse at their deadline whether or not anyone was told of them: with mode
    "none" leadrouter sends no offer alert, reminder or follow-up. Said once. A warning when
    the mode was never set (the default: nobody chose silence), a note when set to "none"
    on purpose (config.example.toml's case: a Flow on Routing_Status__c tells partners)."""
    n, offers = loaded.settings.notifications, loaded.settings.offers
    if n.mode != "none" or not any(r.ruleset != "hand_down" for r in book.rules):
        return []
    hours = sorted({float(r.offer_hours) for r in book.rules if getattr(r, "offer_hours", None)}
                   or {float(book.settings.offer_hours)})
    window = f"{hours[0]:g}" if len(hours) == 1 else f"{hours[0]:g} to {hours[-1]:g}"
    chosen = "mode" in (raw.get("notifications") or {})
    # offer alerts go by their own setting, mode "none" or not: said as sent when they are
    # (the portal_url finding asks for their links' site)
    silence = (f"no reminder {offers.reminder_before_hours:g} h before the deadline and no follow-up after "
               f"{offers.followup_days:g} day(s)")
    if n.offer_alert == "off":
        told = f", but leadrouter sends no offer alert, {silence}; partners hear of an offer only if a Flow on " \
               "Routing_Status__c tells them"
    else:
        how = "by email" if n.offer_alert == "email" else "as bell notifications"
        told = (f"; leadrouter sends offer alerts {how} (offer_alert = \"{n.offer_alert}\") but {silence}; partners "
                "are reminded of an offer only if a Flow on Routing_Status__c does it")
    message = (f"[notifications] mode is \"none\"{'' if chosen else ' (the default)'}: offers lapse after their "
               f"deadline ({window} h in {Path(rules_name).name}){told}")
    return [Finding("note" if chosen else "warning", cfg_name, "notifications.mode", message,
                    'set mode = "custom" with custom_notification_type_id (the LeadRouter_Offer type salesforce/ '
                    'deploys: SELECT Id FROM CustomNotificationType WHERE DeveloperName = \'LeadRouter_Offer\') or '
                    'mode = "email" under [notifications]; keep "none" only where a Flow tells partners')]


def _connect(loaded, clock):
    from connector.client import SalesforceClient

    return SalesforceClient.connect(loaded.connector_config(), clock=clock.now if clock else None)


def _essentials(config: Path | None, raw: dict[str, Any]):
    """The config minus its broken parts, when what reaches the org is intact: so a typo
    in [schedule] does not hide the mapping and rule problems only the org can reveal."""
    from pydantic import ValidationError

    from jobs.config import LoadedConfig, Settings

    keep = {k: v for k, v in raw.items() if k in ("salesforce", "state", "routing", "mappings")}
    try:
        text = config.read_text(encoding="utf-8") if config else ""
    except (OSError, UnicodeDecodeError):  # the file itself is the problem, already named
        return None
    try:
        loaded = LoadedConfig(Settings.model_validate(keep), config, text)
        if loaded.settings.salesforce is not None:
            loaded.connector_config()
        return loaded
    except (ValidationError, ValueError):
        return None


def _config_finding(cfg_name: str, line: str) -> Finding:
    """One line of a jobs.config error that is not about a key of the file (its problems
    carry their own key and fix): `<file>[:<line>]: <key>: <message>`."""
    m = re.match(r"^(?P<file>.+?)(?::(?P<line>\d+))?: (?P<rest>.*)$", line)
    if not m:
        return Finding("error", cfg_name, "config", line, "compare with config.example.toml")
    file, ln, rest = m.group("file"), m.group("line"), m.group("rest")
    number = int(ln) if ln else None
    key, _, message = rest.partition(": ")
    if not message:
        return Finding("error", file, "config", rest, "compare with config.example.toml", number)
    return Finding("error", file, key, message, "see config.example.toml for this key's type and default", number)


def _data_warnings_for(loaded, client, clock, rules_file: str, book) -> list[Finding]:
    """Warnings that need the org's data: run only when the files themselves are sound."""
    from jobs.ops.context import open_context, unrouted_leads_soql

    with open_context(loaded, client=client, clock=clock) as ctx:
        return _data_warnings(ctx.connector, ctx.connector.routing(), ctx.connector.book, rules_file,
                              unrouted_leads_soql(ctx.connector, SAMPLE_LEADS), ctx.live_state)


def _data_warnings(cx, routing, book, rules_file: str, soql: str, live_state=None) -> list[Finding]:
    import copy

    from jobs import learning
    from jobs.route import not_ours
    from mappings import Unroutable
    from rules.state import RoutingState

    findings: list[Finding] = []
    index = routing.index
    coverage_field = _partner_field(cx.mappings, "coverage")
    # what the partner data itself gets wrong: a ParentId cycle, coverage we cannot read
    for problem in index.problems:
        field = _partner_field(cx.mappings, problem.attribute) if problem.attribute else None
        fix = problem.fix_said(field) or (f"set {field} so each reseller points to its distributor and none to "
                                          "itself" if problem.attribute == "parent_id"
                                          else f"correct the account's {coverage_field}")
        findings.append(Finding("warning", f"Account {problem.partner_id}", "partner",
                                f"{problem.partner}: {problem.said(field)}", fix))
    findings += _partner_records(routing, cx.mappings)
    findings += _pools_not_read(book, index, cx.mappings, rules_file)
    findings += _pool_members_not_admitted(book, index, rules_file)
    findings += _never_offered(cx, index, book, coverage_field)
    reachable = 0
    for rule in book.rules:
        reachable |= index.rule_mask.get(rule.name, 0)
    unreachable = [index.partners[i] for i in index.positions(index.available & ~reachable)]
    if unreachable:
        names = ", ".join(p.name for p in unreachable[:8])
        findings.append(Finding("warning", rules_file, "rules", f"{len(unreachable)} active partner(s) no rule can reach: {names}"
                                + (" …" if len(unreachable) > 8 else ""),
                                "check their tier/programs/certifications against the rules' partner conditions"))

    records = list(cx.client.query(soql))
    convert = cx.mappings.lead_converter()
    # The live fairness counters, capacity consumed lead by lead: what dry-run shows, so
    # validate never calls a rule dead that dry-run routes a lead through.
    state = copy.deepcopy(live_state) if live_state is not None else RoutingState()
    applied: Counter[str] = Counter()
    holes: Counter[str] = Counter()
    stopped: Counter[str] = Counter()  # why leads would be marked Unroutable before any rule
    now = cx.clock.now()
    sampled = []  # the leads rules are tried on
    taken_by: list = []  # for each lead sampled, (rule set, rule) that placed it; None: a gate stopped it
    for rec in records:
        lead = convert(rec)
        if isinstance(lead, Unroutable):
            stopped[lead.reason] += 1
            continue
        if not_ours(lead, cx.mappings, rec):  # `once` leaves it alone: no rule is tried
            continue
        sampled.append(lead)
        learning.score(routing.learning, lead)  # as jobs/route.py routes it (feedback: the router's hook)
        ex = routing.router.explain(lead, state, now)
        for trial in ex.trials:
            if trial.applied:
                applied[trial.rule] += 1
        decision = routing.router.decide(lead, state, now)
        state.record_offer(decision, now)
        # the rule set it was decided in (None: before any, as a deal registration is)
        taken_by.append(None if ex.gate else (ex.ruleset, decision.rule))
        if decision.rule:
            applied[decision.rule] += 1
        if ex.kind in ("fallback", "unroutable") and not ex.gate:
            holes[" / ".join(x for x in (lead.country, lead.state) if x) or "(no place)"] += 1
        elif ex.gate:
            stopped["; ".join(ex.gate)] += 1
    findings += _unevaluable(book, sampled, now, rules_file)
    findings += _inactive_currencies(cx.mappings, records)
    if records:
        for rule in book.rules:
            if rule.ruleset == "hand_down":
                continue  # the file's [hand_down] or a rule's own: only leads a distributor accepted reach it
            if applied[rule.name] == 0:
                findings.append(_took_none(routing.router, rule, sampled, taken_by, now, len(records), rules_file))
        if stopped:
            top = "; ".join(f"{why} ({n})" for why, n in stopped.most_common(5))
            findings.append(Finding("warning", rules_file, "gate",
                                    f"{sum(stopped.values())} of {len(records)} unrouted leads would be marked Unroutable "
                                    f"before any rule: {top}",
                                    "correct those leads' data (`leadrouter dry-run` lists them with their ids), or the "
                                    "mapping or [[gate]] check that stops them"))
        if holes:
            top = ", ".join(f"{place} ({n})" for place, n in holes.most_common(8))
            findings.append(Finding("warning", rules_file, "coverage",
                                    f"{sum(holes.values())} of {len(records)} unrouted leads no rule can place; most in: {top}",
                                    "add partners' coverage for these places, or a rule/pool that takes them"))

    # "Out of territory" declines: coverage the partners themselves say is wrong
    adj = getattr(routing, "feedback", None)
    if adj is not None:
        stopped = {(p, a) for p, per in adj.stopped.items() for a in per}
        for pid, per in sorted(adj.territory.items()):
            name = adj.names.get(pid, pid)
            for area, n in sorted(per.items()):
                stop_note = ("; it is no longer offered leads there until reviewed" if (pid, area) in stopped else "")
                findings.append(Finding("warning", f"Account {pid}", "coverage",
                                        f"{name} declined {n} lead(s) in {area} as 'Out of territory'{stop_note}",
                                        f"correct its {coverage_field} (or the rule's territory) if it does not work {area}; "
                                        f"then `leadrouter feedback reset {pid} --area {area}`"))

    shared: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(index.partners):
        if index.unavailable_why[i]:  # paused, or no active rep: it shares nothing it can be offered
            continue
        for item in p.coverage:
            shared[p.tier or "(no tier)"][item].append(p.name)
    for tier in sorted(shared):
        overlaps = {item: names for item, names in shared[tier].items() if len(names) > 1}
        if overlaps:
            busiest = sorted(overlaps.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:5]
            text = "; ".join(f"{item}: {', '.join(sorted(names)[:4])}{' …' if len(names) > 4 else ''}" for item, names in busiest)
            findings.append(Finding("warning", f"org: {cx.mappings.sobject('partner')}.{coverage_field}", f"tier {tier}",
                                    f"{len(overlaps)} coverage area(s) shared by several {tier} partners — {text}",
                                    "intended if the rules distribute among them (round robin, weights); otherwise narrow the coverage"))
    return findings


def _took_none(router, rule, sampled: list, taken_by: list, now, total: int, rules_file: str) -> Finding:
    """A rule no lead of the sample reached: dead, or pre-empted — its condition and
    territories hold for some leads, but rules before it placed each of them first. The
    two want different fixes, so they are told apart."""
    # a lead an earlier rule set took never reaches this one by design (a rule set without
    # `when` takes the rest): only what was placed ahead of it in its own rule set, or by a
    # deal registration ahead of every rule, pre-empts it
    earlier: Counter[str] = Counter(
        taken[1] for lead, taken in zip(sampled, taken_by)
        if taken and taken[1] and taken[1] != rule.name and taken[0] in (rule.ruleset, None)
        and router.would_apply(rule.name, lead, now))
    if not earlier:
        return Finding("warning", rules_file, f"rule {rule.name!r}", f"matched none of the {total} unrouted leads in the org",
                       "check its `when` condition and territories; it may never match", rule.line)
    by = ", ".join(f"{name!r} ({n})" for name, n in earlier.most_common(3)) + (" …" if len(earlier) > 3 else "")
    return Finding("warning", rules_file, f"rule {rule.name!r}",
                   f"pre-empted by {by}: of the {total} unrouted leads in the org, the {sum(earlier.values())} it would "
                   "match were each placed by a rule before it",
                   "move it above the rules named if it should take those leads, narrow theirs, or remove it", rule.line)


def _inactive_currencies(ms, records: list) -> list[Finding]:
    """Unrouted leads in a currency the org does not list as active (deactivated after they
    were entered): their amounts cannot be put in the corporate currency, so no condition
    on them holds (mappings/currency.py drops the value) — named with the count and ids."""
    from mappings.currency import CURRENCY_FIELD

    currencies = getattr(ms, "currencies", None)
    if currencies is None or not currencies.attributes:
        return []
    sources = ms.source_fields("lead")
    fields = sorted({f for a in currencies.attributes for f in sources.get(a) or ()})
    unlisted: dict[str, list[str]] = defaultdict(list)
    held: dict[str, set[str]] = defaultdict(set)  # the fields those leads fill in
    for rec in records:
        code = rec.get(CURRENCY_FIELD)
        filled = {f for f in fields if rec.get(f) is not None}
        if code in currencies.rates or not filled:
            continue
        unlisted[str(code) if code else ""].append(str(rec.get("Id")))
        held[str(code) if code else ""] |= filled
    out = []
    for code, ids in sorted(unlisted.items()):
        fields = sorted(held[code])
        attrs = sorted(a for a in currencies.attributes if set(sources.get(a) or ()) & held[code])
        first = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
        what = f"in {code!r}, a currency the org does not list as active" if code else "without a currency"
        out.append(Finding(
            "warning", f"org: {ms.sobject('lead')}", CURRENCY_FIELD,
            f"{len(ids)} of the {len(records)} unrouted leads are {what}: their {', '.join(fields)} cannot be put "
            f"in {currencies.corporate}, so no condition on {', '.join(attrs)} holds for "
            f"them (first: {first})",
            (f"activate {code} again in Setup → Company Information → Manage Currencies (with its rate), or set "
             "these leads' Currency to an active one" if code else
             "set these leads' Currency (CurrencyIsoCode) to one of the org's active currencies")))
    return out


ERRED_AT_LEAST = 3  # leads: one or two with a placeholder value (a close date of 0001-01-01) are the data's doing


def _unevaluable(book, leads: list, now, rules_file: str) -> list[Finding]:
    """A condition that errs for every sampled lead holding the values it reads (`amount /
    (amount - amount) > 5`) never holds: a decision counts the error as no match, so a rule
    takes no lead and a [[gate]] check stops every lead as Unroutable. Not ready to run."""
    from rules.expressions import time_values

    tv = time_values(now, book.settings.calendar)
    conditions = [(f"gate check {g.reason!r}", "[[gate]]", g.when, g.line) for g in book.gate]
    for rs in book.rulesets:
        conditions.append((f"rule set {rs.name!r}", "[[ruleset]]", rs.when, rs.line))
        conditions += [(f"rule {r.name!r}", "[[ruleset.rule]]", r.when, r.line) for r in rs.rules]
    out = []
    for key, where, cond, line in conditions:
        if cond.always:
            continue
        erred: Counter[str] = Counter()
        for lead in leads:
            if not cond.holds_values(lead, tv):  # a missing value: no match, not an error
                continue
            error = cond.evaluation_error(lead, tv)
            if error is None:
                break  # evaluated for this lead: not an error for every lead
            erred[error] += 1
        else:
            n = sum(erred.values())
            if n >= ERRED_AT_LEAST:
                said = "; ".join(f"{e} ({k})" for e, k in erred.most_common(3))
                effect = ("so this check stops every lead as Unroutable" if where == "[[gate]]"
                          else "so it never holds and takes no lead")
                out.append(Finding("error", rules_file, key,
                                   f"its condition {cond.text!r} could not be evaluated for any of the {n} sampled "
                                   f"lead(s) holding the values it reads: {said}; a condition that cannot be "
                                   f"evaluated counts as no match, {effect}",
                                   f"correct the `when` of this {where} so it can be worked out for a lead "
                                   "(no division by a value that is 0, no number too large to compute)", line))
    return out


def _partner_field(ms, attribute: str) -> str:
    """The org's field a partner attribute is read from, as its mappings say (Coverage__c
    in the shipped ones, Sales_Territory__c in an org that keeps territories there)."""
    fields = ms.source_fields("partner").get(attribute) or ()
    return " / ".join(fields) or attribute


def _pools_not_read(book, index, ms, rules_file: str) -> list[Finding]:
    """A rule's pool must be a queue the [pool] mapping reads (shipped: DeveloperName LIKE
    'Partner_Pool_%'): of any other queue the members are not known, so the lead goes there
    for every covering partner to pull, and a partner that let it lapse is not kept off it."""
    out = []
    for rule in book.rules:
        for queue in dict.fromkeys([*([rule.pool] if rule.pool else []), *(q for _, q in rule.pools_by_territory)]):
            if queue in index.pools:
                continue
            out.append(Finding(
                "warning", rules_file, f"rule {rule.name!r}",
                f"pool {queue!r} is a queue the [pool] mapping does not read as a pool (its filter: "
                f"{ms.filter('pool') or 'none'}): who may pull its leads is not known",
                f"name the queue Partner_Pool_… in Salesforce, or widen [pool] filter in {ms.file('pool')} "
                f"(e.g. \"Type = 'Queue' AND DeveloperName IN ('{queue}', …)\")", rule.line))
    return out


def _pool_members_not_admitted(book, index, rules_file: str) -> list[Finding]:
    """Members of a rule's pool that its partner-only criteria (tiers, programs,
    certifications, role, `partners`) never admit: Salesforce lets every member take a
    queue's lead, so they can take the leads the rule keeps for others (README, pools)."""
    out = []
    for rule in book.rules:
        admitted = index.rule_mask.get(rule.name, index.all)
        for queue in dict.fromkeys([*([rule.pool] if rule.pool else []), *(q for _, q in rule.pools_by_territory)]):
            outside = index.pool_members.get(queue, 0) & ~admitted
            if not outside:
                continue
            names = [index.partners[pos].name for pos in index.positions(outside)]
            out.append(Finding(
                "warning", rules_file, f"rule {rule.name!r}",
                f"{len(names)} member partner(s) of pool {queue!r} that this rule never admits can still take its "
                f"leads (a queue's lead is any member's to take): {', '.join(names[:5])}{' …' if len(names) > 5 else ''}",
                f"take their reps out of {queue!r}, or give the rule a pool of its own partners", rule.line))
    return out


def _partner_records(routing, ms) -> list[Finding]:
    """Partner data the mappings could not read, or read in part: a partner left out of
    routing (a required value empty), coverage items or a country not understood. Routing
    goes on without them and logs the first few; here each one is named."""
    out = []
    sobject = ms.sobject("partner")
    for record_id, why in getattr(routing, "problems", ()):
        partner = routing.partners.get(record_id)
        who = f"{partner.name}: " if partner is not None else ""
        if partner is None and record_id and str(record_id).startswith("001"):
            why += " — this account is left out of routing"
        fix = (_COVERAGE_FIX if "coverage items" in why
               else "correct the value on the record, or the mapping that reads it (mappings/*.toml)")
        out.append(Finding("warning", f"{sobject} {record_id}" if record_id else f"org: {sobject}", "partner",
                           f"{who}{why}", fix))
    return out


_COVERAGE_FIX = ("write each item as a code: a country (US), a state or province (US-TX, CA-ON), a postal prefix "
                 "(US:750, CA:K1A) or a territory of the rule file (@NA), separated by ';'")


_SHIPPED_REP_FILTER = "UserType = 'PowerPartner'"  # mappings/defaults/partner.toml


def _never_offered(cx, index, book, coverage_field: str) -> list[Finding]:
    """Partner accounts the router can never offer a lead, whatever the rules say: no active
    rep to own it (none invited yet, or the only ones deactivated), or no coverage while
    every rule needs it. The router passes them by silently, lead after lead."""
    sobject = cx.mappings.sobject("partner")
    out = []
    no_rep = [p for i, p in enumerate(index.partners) if index.unavailable_why[i] == "no active rep"]
    if no_rep:
        # an org that narrowed the [rep] filter (only Sales reps get leads) may have reps it leaves out
        narrowed = cx.mappings.filter("rep") != _SHIPPED_REP_FILTER
        none = " (no rep the [rep] filter reads)" if narrowed else " (no rep)"
        said = ", ".join(p.name + (" (its reps are inactive)" if p.reps else none) for p in no_rep[:8])
        out.append(Finding("warning", f"org: {sobject}", "partner reps",
                           f"{len(no_rep)} partner account(s) never offered a lead, having no active rep to own it: "
                           f"{said}{' …' if len(no_rep) > 8 else ''}",
                           "give each an active partner user (a User of the account's contact with a partner "
                           "licence)" + (f"{' the [rep] filter reads' if narrowed else ''}; an account that is no "
                                         "partner any more: untick IsPartner")
                           + (f"; or widen the [rep] filter ({cx.mappings.filter('rep')})" if narrowed else "")))
    rules = [r for r in book.rules if r is not book.hand_down and not r.pool]
    if rules and all(r.match.geography for r in rules):
        # a pool rule that asks for no coverage lets its pool's members pull the lead
        pulls = 0
        for r in book.rules:
            if (r.pool or r.pools_by_territory) and not r.match.geography:
                for name in ([r.pool] if r.pool else []) + [q for _, q in r.pools_by_territory]:
                    pulls |= index.pool_members.get(name, 0)
        bare = [p for i, p in enumerate(index.partners)
                if not p.coverage and not index.unavailable_why[i] and not (pulls >> i) & 1]
        if bare:
            names = ", ".join(p.name for p in bare[:8]) + (" …" if len(bare) > 8 else "")
            out.append(Finding("warning", f"org: {sobject}.{coverage_field}", "coverage",
                               f"{len(bare)} partner account(s) with no coverage, so no rule (each matches on "
                               f"geography) offers them a lead: {names}",
                               f"fill in {coverage_field} with the countries, states or postal prefixes each works "
                               "(e.g. 'US-TX; CA-ON; US:750')"))
    return out


def run(args) -> int:
    from jobs.logging import configure

    configure("auto", "error", stream=sys.stderr)
    config = Path(args.config) if args.config else None
    if config is not None and not config.exists() and args.config != "leadrouter.toml":
        print(f"leadrouter validate: {config}: no such config file", file=sys.stderr)
        return 2
    if config is not None and not config.exists():
        config = None
    findings = validate(config, offline=args.offline)
    errors = [f for f in findings if f.severity == "error"]
    warnings = sum(f.severity == "warning" for f in findings)
    notes = len(findings) - len(errors) - warnings
    if args.json:
        print(json_text({"ok": not errors, "errors": len(errors), "warnings": warnings, "notes": notes,
                         "findings": [as_json(f) for f in findings]}))
    else:
        rank = {"error": 0, "warning": 1}
        for f in sorted(findings, key=lambda f: (rank.get(f.severity, 2), f.file, f.line or 0)):
            print(for_terminal(str(f)))
        print(f"\n{len(errors)} error(s), {warnings} warning(s)" + (f", {notes} note(s)" if notes else "")
              + ("" if errors else " — ready to run"))
    return 1 if errors else 0

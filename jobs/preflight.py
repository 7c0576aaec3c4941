"""Start-up checks against the org, before any lead is read or written.

The rule file's queues must exist in the org (a typo names the nearest queue) and every
mapped field must exist and, for write-back, be updateable — checked with describe().
That costs a query and a handful of describe calls, so a pass is remembered in the state
database for a day, keyed by the exact mapping and rule files, the org and the release
(what it writes): a cron job running `leadrouter once` every minute pays for it once, and
any edit, or an upgrade, checks again.
Optional write-back fields are checked at every start all the same (one describe): what
the org lacks must be left out of this process's writes, whatever passed yesterday. With
the full check, whether the org tracks the history of the Lead fields a lost state is
rebuilt from (FieldDefinition, one query): a warning once, as `validate` says it.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connector.soql import select
from jobs.state import store as st

FRESH_FOR = timedelta(hours=24)


def fingerprint(ms: Any, rules_path: Path | None, org: str) -> str:
    h = hashlib.sha1(org.encode())
    files = sorted({ms.file(kind) for kind in ("lead", "partner", "rep", "pool", "pool_member", "dealreg")}
                   | {str(rules_path) if rules_path else ""})
    for name in files:
        h.update(name.encode())
        try:
            h.update(Path(name).read_bytes())
        except OSError:
            h.update(b"<unreadable>")
    try:
        h.update(repr(sorted(ms.writeback_fields().items())).encode())
    except Exception:  # noqa: BLE001 - only a cache key
        pass
    h.update(release().encode())
    return h.hexdigest()


def release() -> str:
    """What this leadrouter asks of the org beyond the files: the picklist values it writes
    (an upgrade adds some: Fallback and Released came with 2026-12-05's package) and its
    version and state schema. A pass an earlier release remembered (cron ran it a minute
    before the upgrade) does not stand for this one."""
    from importlib.metadata import PackageNotFoundError, version

    from jobs.state.schema import SCHEMA_VERSION
    from rules.model import Response, RoutingStatus

    try:
        ours = version("leadrouter")
    except PackageNotFoundError:
        ours = "source"
    return (f"leadrouter {ours}; state schema {SCHEMA_VERSION}; writes "
            f"{sorted(s.value for s in RoutingStatus)} {sorted(r.value for r in Response)}")


def recently_passed(store, key: str, now: datetime) -> bool:
    with store.connect() as conn:
        at = st.get_watermark(conn, f"preflight:{key}"[:64])
    return at is not None and now - at < FRESH_FOR


def ever_passed(store, key: str) -> bool:
    """These files passed a full check against this org before, however long ago: a queue
    they name that the org now lacks went from the org (an admin deleted or renamed it),
    not from a rules file just written."""
    with store.connect() as conn:
        return st.get_watermark(conn, f"preflight:{key}"[:64]) is not None


def remember_pass(store, key: str, now: datetime) -> None:
    with store.begin() as conn:
        st.set_watermark(conn, f"preflight:{key}"[:64], now, now)


def queue_names(client) -> set[str]:
    return {r["DeveloperName"] for r in client.query(select("Group", ["DeveloperName"], where="Type = 'Queue'"))
            if r.get("DeveloperName")}


_WHAT_BECOMES = {
    "pool": "the org lacks it (deleted, renamed or misspelt): a pool rule naming it passes its leads to the next "
            "rule (or its otherwise), as a running connector does",
    "fallback": "the org lacks it (deleted, renamed or misspelt): leads sent to it are escalated instead, as a "
                "running connector does",
    "escalation": "the org lacks it (deleted, renamed or misspelt): leads that must escalate are held, Unroutable "
                  "with a reason saying so, and escalate once it is there; every other lead routes on",
}


def missing_queues(book, org_queues: set[str], rules_path: Path | str | None) -> list[dict[str, str]]:
    """The queues the rules file names that the org lacks, each with where the file names it,
    what becomes of its leads meanwhile and the fix. A start says them as warnings and routes
    on, with the outcomes a running connector has for a queue gone from the org (jobs/partners.py);
    `leadrouter validate` calls them errors."""
    from rules.book import OTHERWISE_WORDS
    from rules.errors import did_you_mean

    uses: dict[str, list[tuple[str, str]]] = {}  # queue -> [(role, where)]

    def use(name: str | None, role: str, where: str) -> None:
        if name and name not in org_queues:
            uses.setdefault(name, []).append((role, where))

    settings = book.settings
    use(settings.escalation_queue, "escalation", "[settings] escalation_queue")
    use(settings.fallback_queue, "fallback", "[settings] fallback_queue")
    for rs in book.rulesets:
        if rs.otherwise not in OTHERWISE_WORDS:
            use(rs.otherwise, "fallback", f"rule set {rs.name!r} otherwise")
    for r in book.rules:
        use(r.pool, "pool", f"rule {r.name!r} pool")
        for territory, queue in r.pools_by_territory:
            use(queue, "pool", f"rule {r.name!r} pool for {territory}")
        if r.otherwise not in OTHERWISE_WORDS:
            use(r.otherwise, "fallback", f"rule {r.name!r} otherwise")
    out = []
    for name in sorted(uses):
        roles = [role for role, _ in uses[name]]
        role = "escalation" if "escalation" in roles else "pool" if "pool" in roles else "fallback"
        wheres = list(dict.fromkeys(w for _, w in uses[name]))
        meant = did_you_mean(name, sorted(org_queues)) if org_queues else ""
        change = ("name an existing queue in the rules file's [settings] escalation_queue" if role == "escalation"
                  else f"change {', '.join(wheres)} in the rules file")
        out.append({"queue": name, "where": f"{rules_path or 'rules'}: {', '.join(wheres)}",
                    "problem": f"the rules file names the queue {name}; {_WHAT_BECOMES[role]}",
                    "fix": f"create the queue {name} (Setup > Queues, supported object Lead) or {change}"
                           + (f" ({meant})" if meant else "")})
    return out


def check_mappings(client, ms) -> list[Any]:
    """MappingError when a mapping does not fit the org; the warnings otherwise."""
    return ms.ensure_valid(client.describe)


def check_optional_fields(client, ms) -> list[Any]:
    """The optional write-back fields alone (a start whose full check passed recently, or
    that skips it): those the org lacks, or the integration user may not edit, are left out
    of every write and named in the warnings returned. No call when none is optional."""
    return ms.ensure_optional_fields(client.describe)


def org_calendar(client, book) -> list[tuple[str, str, str]]:
    """Where the rule file's calendar is not the org's: (settings key, problem, fix). A
    rule file counting quarters from January in an org whose fiscal year starts in February
    is a month off; one on UTC in a Los Angeles org turns the day 8 hours early — for
    `today`, "this quarter", the day a daily cap counts and the working hours of partners
    without a Time_Zone__c. One query; a user that cannot read Organization: nothing said."""
    import calendar

    from connector.errors import ConnectorError
    from rules.windows import known_zone, same_clock

    try:
        rows = list(client.query("SELECT FiscalYearStartMonth, TimeZoneSidKey FROM Organization LIMIT 1"))
    except ConnectorError:  # the rule file's settings stand
        return []
    org = rows[0] if rows else {}
    out = []
    month, ours = org.get("FiscalYearStartMonth"), book.settings.fiscal_year_start_month
    if isinstance(month, int) and 1 <= month <= 12 and month != ours:
        names = calendar.month_name
        out.append(("settings.fiscal_year_start_month",
                    f"the org's fiscal year starts in {names[month]} (Organization.FiscalYearStartMonth = {month}); "
                    f"this rule file counts quarters from {names[ours]}, so quarter_start, quarter_end, year_end and "
                    "the performance facts \"this quarter\" are not the org's quarters",
                    f"set fiscal_year_start_month = {month} under [settings]"))
    tz, our_tz = org.get("TimeZoneSidKey"), book.settings.time_zone
    if isinstance(tz, str) and tz and not same_clock(tz, our_tz) and _zone_name(tz) != _zone_name(our_tz):
        out.append(("settings.time_zone",
                    f"the org's time zone is {tz} (Organization.TimeZoneSidKey); this rule file's day turns in "
                    f"{our_tz or 'UTC'}, so `today`, quarter_end, \"this quarter\", the day a daily cap counts and "
                    "the working hours of partners without a Time_Zone__c turn at another hour than the org's"
                    + ("" if known_zone(tz) else f"; this Python's time zone database does not know {tz}"),
                    f'set time_zone = "{tz}" under [settings]' if known_zone(tz) else
                    f'update the tzdata package (pip install -U tzdata) so Python knows it, then set time_zone = '
                    f'"{tz}" under [settings]; until then, a zone that keeps the same time'))
    return out


def _zone_name(name: str | None) -> str:
    """UTC by any of its names (or none) is one zone."""
    return "UTC" if not name or name.upper() in ("UTC", "GMT", "ETC/UTC", "ETC/GMT", "Z") else name


UNREAD_PERIODS = "could not read the org's fiscal periods "
FISCAL_PERIODS = ("SELECT Type, StartDate, EndDate, FullyQualifiedLabel FROM Period "
                  "WHERE Type IN ('Quarter', 'Year') AND FiscalYearSettings.IsStandardYear = false "
                  "ORDER BY StartDate")


def fiscal_periods(client) -> tuple[list[Any], list[str]]:
    """The org's custom fiscal quarters and years (Setup → Fiscal Year → Custom), and what
    could not be used, each said with its fix. An org on standard fiscal years has none:
    its quarters follow Organization.FiscalYearStartMonth. One query at each start: a
    custom year an admin defines later counts from the next start."""
    from datetime import date

    from connector.errors import ConnectorError
    from rules.fiscal import FiscalPeriod

    try:
        rows = list(client.query(FISCAL_PERIODS))
    except ConnectorError as e:
        # said at info by the caller: most orgs use standard years, and an integration user
        # Salesforce does not let read Period should not warn at every start
        return [], [f"{UNREAD_PERIODS}({e}); \"this quarter\" and quarter_end follow fiscal_year_start_month — "
                    "if the org uses custom fiscal years, let the integration user read Period and "
                    "FiscalYearSettings"]
    periods, problems = [], []
    for row in rows:
        label = str(row.get("FullyQualifiedLabel") or row.get("Type") or "a period")
        try:
            start, end = date.fromisoformat(str(row.get("StartDate"))), date.fromisoformat(str(row.get("EndDate")))
        except ValueError:
            problems.append(f"the fiscal period {label!r} has no usable StartDate/EndDate "
                            f"({row.get('StartDate')!r}, {row.get('EndDate')!r}); its days follow fiscal_year_start_month")
            continue
        if end < start:
            problems.append(f"the fiscal period {label!r} ends ({end}) before it starts ({start}); "
                            "its days follow fiscal_year_start_month — fix it in Setup → Fiscal Year")
            continue
        periods.append(FiscalPeriod(str(row.get("Type")), start, end, label))
    return periods, problems


def org_currencies(client, ms) -> Any:
    """The org's currencies when multi-currency is on (mappings/currency.OrgCurrencies), or
    None: a single-currency org has no CurrencyType (INVALID_TYPE), and one query says so.
    In a multi-currency org, one describe of the lead object finds the currency fields."""
    from connector.errors import ConnectorError
    from mappings.currency import OrgCurrencies, currency_attributes

    try:
        rows = list(client.query("SELECT IsoCode, ConversionRate, IsCorporate FROM CurrencyType WHERE IsActive = true"))
    except ConnectorError as e:
        if getattr(e, "code", None) == "INVALID_TYPE":
            return None
        raise
    corporate = next((r.get("IsoCode") for r in rows if r.get("IsCorporate")), None)
    if not corporate:
        return None
    rates = {str(r["IsoCode"]): float(r["ConversionRate"]) for r in rows
             if r.get("IsoCode") and isinstance(r.get("ConversionRate"), (int, float)) and r["ConversionRate"] > 0}
    described = client.describe(ms.sobject("lead"))
    types = {f.get("name"): f.get("type") for f in described.get("fields", [])}
    sources = ms.source_fields("lead")
    attributes = currency_attributes(sources, types)
    labels = {name: "/".join(sources[name]) for name in attributes}
    return OrgCurrencies(str(corporate), rates, attributes, labels, dated=dated_rates_enabled(client))


def dated_rates_enabled(client) -> bool:
    """Whether the org has advanced currency management (dated exchange rates for
    opportunities): Salesforce offers DatedConversionRate to such orgs only, and answers
    INVALID_TYPE elsewhere. One query of one row."""
    from connector.errors import ConnectorError

    try:
        list(client.query("SELECT Id FROM DatedConversionRate LIMIT 1"))
    except ConnectorError as e:
        if getattr(e, "code", None) == "INVALID_TYPE":
            return False
        raise
    return True


HISTORY_FIX = ("Setup → Object Manager → {sobject} → Fields & Relationships → Set History Tracking: tick "
               "Enable {sobject} History and {fields}, then Save")
_SETUP_LABELS = {"OwnerId": "Lead Owner", "PartnerAccountId": "Partner Account"}  # as that page lists them


def history_fix(sobject: str, fields: list[str]) -> str:
    """HISTORY_FIX for these fields, a standard one by the label Setup shows it under too."""
    named = [f"{_SETUP_LABELS[f]} ({f})" if f in _SETUP_LABELS else f for f in fields]
    return HISTORY_FIX.format(sobject=sobject, fields=", ".join(named))


def history_tracking(client, ms) -> tuple[list[tuple[str, str]], str | None]:
    """([(Lead field, what goes without its history)] for the fields jobs/recovery.py and
    jobs/owner_history.py read from LeadHistory that the org does not track, None), or
    ([], why) when the org would not say (FieldDefinition refused: a user without View Setup
    and Configuration). One query; a field the org lacks is the mapping check's to name."""
    from connector.errors import ConnectorError
    from connector.soql import format_soql
    from jobs.recovery import history_fields

    sobject = ms.sobject("lead")
    wanted = history_fields(ms)
    try:
        rows = list(client.query(format_soql(
            "SELECT QualifiedApiName, IsFieldHistoryTracked FROM FieldDefinition "
            "WHERE EntityDefinition.QualifiedApiName = {}", sobject)))
    except ConnectorError as e:  # its code and the message's last line: not the query echoed back
        said = [line for line in (e.failure.message or "").splitlines() if line.strip()]
        return [], f"{e.code}: {said[-1]}" if said else e.code
    # a standard lookup may be named by its field (OwnerId) or its relationship (Owner)
    tracked = {}
    for r in rows:
        name = str(r.get("QualifiedApiName") or "").lower()
        tracked[name] = tracked[name + "id"] = bool(r.get("IsFieldHistoryTracked"))
    return [(field, why) for field, why in wanted.items() if tracked.get(field.lower()) is False], None


ORG_SETUP = "org_setup"  # snapshot kind: the org's currencies and custom fiscal periods, as last read


def org_setup(client, ms, store, fresh: bool, now: datetime) -> tuple[Any, list[Any], list[str]]:
    """(currencies, custom fiscal periods, problems): read from the org with the day's full
    check (`fresh`, or none kept yet), kept in the state, and taken from there by the starts
    between — a cron `once` every minute would pay two queries a start for what an admin
    changes a few times a year. A lost state reads them again."""
    from datetime import date

    from mappings.currency import OrgCurrencies
    from rules.fiscal import FiscalPeriod

    with store.connect() as conn:
        kept = None if fresh else next(iter(st.snapshot_records(conn, ORG_SETUP)), None)
    if kept is not None:
        money = kept.get("currencies")
        currencies = None if money is None else OrgCurrencies(
            money["corporate"], money["rates"], frozenset(money["attributes"]), money["labels"],
            dated=bool(money.get("dated")))
        periods = [FiscalPeriod(p["kind"], date.fromisoformat(p["start"]), date.fromisoformat(p["end"]), p["label"])
                   for p in kept.get("periods", [])]
        return currencies, periods, list(kept.get("problems", []))
    currencies = org_currencies(client, ms)
    periods, problems = fiscal_periods(client)
    record = {"Id": "org", "at": now.isoformat(), "problems": problems,
              "periods": [{"kind": p.kind, "start": p.start.isoformat(), "end": p.end.isoformat(), "label": p.label}
                          for p in periods],
              "currencies": None if currencies is None else {
                  "corporate": currencies.corporate, "rates": dict(currencies.rates),
                  "attributes": sorted(currencies.attributes), "labels": dict(currencies.labels),
                  "dated": currencies.dated}}
    with store.begin() as conn:
        st.put_snapshot(conn, ORG_SETUP, [record], now, modstamp_field="at")
    return currencies, periods, problems

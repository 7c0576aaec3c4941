"""Which partner already works a company, as the org says it: its Opportunities.

A rule with `prefer_incumbent = true` offers a lead to the partner working its company.
A partner works a company when its rep accepted a lead of it (jobs/poll.py learns that as
the answer is read; a rebuild from the org, jobs/recovery.py, learns it again from the
accepted leads), and when it is the partner on an Opportunity of the company's Account
that is open, or was won in the last INCUMBENT_DAYS (a year): read here, at each partner
sync, in one query — the Opportunities changed since the last sync, all of them at the
daily full refresh (and after a lost state: its watermark went with it). The partner
is the deal registrations' partner field where they are Opportunities (dealreg.toml's
partner_id), else PartnerAccountId. An open opportunity dates the partner's work on the
company at its last change, a won one at its CloseDate: where two partners work the
company, the one most recently on it is the incumbent (rules/state.py).

An Opportunity lost, or won longer ago, makes nobody the incumbent; one that learned its
partner before stays until a later partner is learned or its year is up (`save_learned`
forgets it at the next sync).

Incumbents are rows of their own table (jobs/state/incumbents.py, state migration 10):
the router is handed those of the companies of the leads it is about to decide (`take`,
one indexed query per page), and what is learned is written as learned (the job's
lifecycle.save_state; the sync's Opportunities here).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from connector.errors import ConfigError
from connector.soql import format_soql
from jobs.state import incumbents as rows
from jobs.timeutil import parse_sf_datetime
from rules.model import Lead
from rules.state import INCUMBENT_DAYS, RoutingState, incumbent_keys, lead_domain

if TYPE_CHECKING:
    from jobs.context import Context

WATERMARK = "sync:incumbent"


def wanted(book: Any) -> bool:
    """Does a rule prefer incumbents? Only then are they learned, and read for the leads
    being decided (a query per page that nothing would read otherwise)."""
    return any(r.prefer_incumbent for r in book.rules)


def take(cx: Context, conn: Any, state: RoutingState, leads: Iterable[Any]) -> None:
    """Hand the router the incumbents of these leads' companies (by name and email domain),
    read in one query, where a rule prefers incumbents."""
    if not wanted(cx.book):
        return
    keys = [k for lead in leads if isinstance(lead, Lead) for k in incumbent_keys(lead.company, lead_domain(lead))]
    state.take_incumbents(rows.read(conn, keys))


def save_learned(conn: Any, state: RoutingState, now: datetime) -> tuple[int, int]:
    """The sync's facts, written without the counters' document (the sync changes none of
    its counters); then those older than INCUMBENT_DAYS go: (cap let go, forgotten)."""
    capped = rows.write(conn, state.learned)
    state.learned = {}
    return capped, rows.forget(conn, now - timedelta(days=INCUMBENT_DAYS))


def partner_field(mappings: Any) -> str:
    """The Opportunity field naming its partner, as the org's deal registrations read it."""
    try:
        if mappings.sobject("dealreg") == "Opportunity":
            fields = mappings.source_fields("dealreg").get("partner_id") or ()
            if len(fields) == 1 and re.fullmatch(r"[A-Za-z0-9_]+", fields[0]):
                return fields[0]
    except Exception:  # noqa: BLE001 — an org without a dealreg mapping: Salesforce's own field
        pass
    return "PartnerAccountId"


def read(cx: Context, now: datetime, watermark: datetime | None, *, won_since: date | None = None) -> list[dict[str, Any]]:
    """The open and recently won Opportunities with a partner, changed since `watermark`
    (None: all of them): one query. Won: since `won_since` (the backtest's replay reaches
    further back), else in the last INCUMBENT_DAYS. An org whose Opportunities have no such field (no
    partner portal) or that hides them from our user: none, said in the log at each sync,
    and incumbents are learned from accepted leads alone — the partners' sync goes on."""
    field = partner_field(cx.mappings)
    since = won_since or (now - timedelta(days=INCUMBENT_DAYS)).date()
    where = format_soql(f"{field} != null AND (IsClosed = false OR (IsWon = true AND CloseDate >= {{}}))", since)
    try:
        return list(cx.client.read_incremental(
            "Opportunity", [field, "Account.Name", "Account.Website", "IsClosed", "IsWon", "CloseDate",
                            "LastModifiedDate"], watermark=watermark, lookback=cx.lookback, where=where))
    except ConfigError as e:
        cx.log(component="incumbents").warning(
            "incumbent_opportunities_not_read", error=str(e)[:300],
            fix=f"give the integration user read access to Opportunity and its {field} and Account fields, or "
                "map dealreg.toml's partner_id to the Opportunity field naming the partner; meanwhile a rule's "
                "prefer_incumbent knows the partners that accepted leads only")
        return []


def learn(state: RoutingState, records: Iterable[dict[str, Any]], field: str, now: datetime) -> tuple[int, int]:
    """Each Opportunity's partner works its Account's company (name and website); facts
    older than a year are forgotten: (how many Opportunities taught one, facts forgotten)."""
    n = 0
    for partner, name, website, at in dated(records, field, now):
        state.set_incumbent(partner, company=name, domain=website, at=at, how="opportunity")
        n += 1
    return n, state.forget_incumbents(now - timedelta(days=INCUMBENT_DAYS))


def dated(records: Iterable[dict[str, Any]], field: str, now: datetime) -> Iterator[tuple[str, Any, Any, datetime]]:
    """(partner, company name, website, since when) of each Opportunity that names a
    partner and a customer Account: an open one since its last change, a won one since
    the end of its CloseDate."""
    for r in records:
        partner = r.get(field)
        account = r.get("Account") or {}
        name, website = account.get("Name"), account.get("Website")
        if not partner or not (name or website):
            continue  # no customer Account on it: no company to know
        at = _won_at(r.get("CloseDate")) if r.get("IsWon") else parse_sf_datetime(r.get("LastModifiedDate"))
        yield partner, name, website, min(at or now, now)


def _won_at(value: Any) -> datetime | None:
    """A won Opportunity's CloseDate ("2031-02-14") as the end of that day, UTC."""
    if not value:
        return None
    day = datetime.fromisoformat(str(value)[:10]).date()
    return datetime.combine(day, time.max, timezone.utc).replace(microsecond=0)

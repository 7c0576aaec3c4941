"""Partner performance facts, gathered: outcome events from our state and the org, facts
computed by rules.performance, attached to partners so rule conditions can use them.

Where each event comes from:

- our state database (read only, the `offers` table): offered, accepted (with the time
  to accept), rejected (with the partner's reason), lapsed;
- the org: leads converted while a partner held them (`IsConverted`, `PartnerAccountId`,
  `ConvertedDate`), and Opportunities won with a `PartnerAccountId` (`IsWon`, `Amount`,
  `CloseDate`) — wins a partner brought in outside our offers count too.

"This quarter" and "the last 90 days" are measured from the `now` given (Salesforce's
clock, as every job takes it), never the host's. Facts are recomputed per partner sync;
the reads are bounded to the facts' longest window (90 days or the quarter, whichever
starts earlier).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Protocol

from simple_salesforce.format import format_soql
from sqlalchemy import select
from sqlalchemy.engine import Connection

from jobs.state.schema import offers as OFFERS
from jobs.timeutil import as_utc
from rules.model import Partner
from rules.fiscal import UTC_CALENDAR, OrgCalendar
from rules.performance import PARTNER_ATTRIBUTES, OutcomeEvent, PartnerFacts, partner_facts
from rules.values import LEAD_SCORE

__all__ = ["LEAD_ATTRIBUTES", "PARTNER_ATTRIBUTES", "attach", "rule_attributes", "facts", "offer_events", "org_events", "wanted",
           "window_start"]

# the lead-potential score the predictive learner puts on each lead (jobs/learning.py)
LEAD_ATTRIBUTES: dict[str, type] = {LEAD_SCORE: float}


def rule_attributes(mappings: Any) -> tuple[dict[str, type] | None, dict[str, type] | None]:
    """(lead, partner) attributes a rule condition may name: the mappings' own, plus the
    lead score and the partner performance facts (a mapping's attribute wins a clash of
    names). One definition for `once`/`run`, `validate`, `dry-run` and `explain`: a rule
    one of them accepts, all of them accept."""
    if mappings is None:  # no mappings loaded (validate reports why): attributes go unchecked
        return None, None
    return ({**LEAD_ATTRIBUTES, **mappings.lead_attribute_types()},
            {**PARTNER_ATTRIBUTES, **mappings.partner_attribute_types()})


class _Queries(Protocol):
    def query(self, soql: str) -> Iterable[dict[str, Any]]: ...


def wanted(book: Any) -> bool:
    """Does any rule condition name a performance fact? (Only then are they gathered:
    two queries to the org per routing build.)"""
    names = set(PARTNER_ATTRIBUTES)
    return any(names & set(getattr(cond, "symbols", ())) for r in book.rules for cond in (r.when, r.partners))


def window_start(now: datetime, calendar: OrgCalendar = UTC_CALENDAR) -> datetime:
    """The earliest moment any fact looks at."""
    now = as_utc(now)
    return min(calendar.quarter_start(now), now - timedelta(days=90))


def offer_events(conn: Connection, since: datetime) -> list[OutcomeEvent]:
    """Offers made since `since`, as events (read only)."""
    rows = conn.execute(select(OFFERS.c.lead_id, OFFERS.c.kind, OFFERS.c.partner_id, OFFERS.c.offered_at,
                               OFFERS.c.status, OFFERS.c.accepted_at, OFFERS.c.closed_at, OFFERS.c.close_reason)
                        .where(OFFERS.c.offered_at >= since, OFFERS.c.partner_id.is_not(None))
                        .order_by(OFFERS.c.id))
    out: list[OutcomeEvent] = []
    for r in rows:
        if r.kind != "offer":
            continue  # a pool offer is made to a queue, not to one partner
        offered = as_utc(r.offered_at)
        out.append(OutcomeEvent(r.partner_id, "offered", offered, r.lead_id))
        if r.accepted_at is not None:
            out.append(OutcomeEvent(r.partner_id, "accepted", as_utc(r.accepted_at), r.lead_id, offered_at=offered))
        at = as_utc(r.closed_at) if r.closed_at is not None else offered
        if r.status in ("rejected", "lapsed"):
            out.append(OutcomeEvent(r.partner_id, r.status, at, r.lead_id, offered_at=offered,
                                    reason=r.close_reason if r.status == "rejected" else None))
        elif r.status in ("lost", "reclaimed", "escalated"):
            # closed unconverted by the partner, or accepted and never worked
            out.append(OutcomeEvent(r.partner_id, "lost", at, r.lead_id))
        elif r.status == "closed":
            # withdrawn, or converted: whether the lead converted is the org's to say (org_events)
            out.append(OutcomeEvent(r.partner_id, "withdrawn", at, r.lead_id))
    return out


def converted_events(client: _Queries, since: datetime, conn: Connection | None = None,
                     partner_field: str | None = "PartnerAccountId") -> list[OutcomeEvent]:
    """Leads converted since `since`, each credited to the partner that held it: the Lead's
    partner field (writeback.toml's partner_id: PartnerAccountId as shipped, or the org's own
    lookup); where the org keeps no partner on the Lead, the partner that accepted it in our
    offers table (`conn`), whose leads alone are read."""
    day = as_utc(since).date()
    if partner_field:
        field = partner_field if re.fullmatch(r"[A-Za-z0-9_]+", partner_field) else "PartnerAccountId"
        return [OutcomeEvent(r[field], "converted", at, r["Id"]) for r in client.query(format_soql(
                    f"SELECT Id, {field}, ConvertedDate FROM Lead WHERE IsConverted = true "
                    f"AND {field} != null AND ConvertedDate >= {{}}", day))
                if (at := _day(r.get("ConvertedDate"))) is not None]
    if conn is None:
        return []
    held = accepted_partners(conn)
    out: list[OutcomeEvent] = []
    ids = sorted(held)
    for i in range(0, len(ids), 200):
        for r in client.query(format_soql("SELECT Id, ConvertedDate FROM Lead WHERE IsConverted = true "
                                          "AND ConvertedDate >= {} AND Id IN {}", day, ids[i:i + 200])):
            at = _day(r.get("ConvertedDate"))
            if at is not None and r["Id"] in held:
                out.append(OutcomeEvent(held[r["Id"]], "converted", at, r["Id"]))
    return out


def accepted_partners(conn: Connection) -> dict[str, str]:
    """{lead id: the partner that accepted it in our offers table} — who holds a lead in an
    org that keeps no partner on the Lead; the latest acceptance of a lead wins."""
    return {r.lead_id: r.partner_id for r in conn.execute(
        select(OFFERS.c.lead_id, OFFERS.c.partner_id).where(OFFERS.c.accepted_at.is_not(None),
                                                            OFFERS.c.partner_id.is_not(None))
        .order_by(OFFERS.c.id))}


def org_events(client: _Queries, since: datetime, currencies: Any = None, *, conn: Connection | None = None,
               partner_field: str | None = "PartnerAccountId") -> list[OutcomeEvent]:
    """Conversions and partner wins from the org since `since`; in a multi-currency org
    (`currencies`: mappings/currency.OrgCurrencies) each win's amount in the corporate
    currency: with advanced currency management (`currencies.dated`) at the dated rate whose
    range holds its CloseDate, as Salesforce converts opportunities (one more query, of the
    ranges that reach into the window), else at the org's static rate; a win in a currency
    the org no longer lists adding no revenue."""
    day = as_utc(since).date()
    out = converted_events(client, since, conn, partner_field)
    code = ", CurrencyIsoCode" if currencies is not None else ""
    dated = None
    if currencies is not None and getattr(currencies, "dated", False):
        from mappings.currency import DatedRates

        dated = DatedRates(client.query(format_soql(
            "SELECT IsoCode, ConversionRate, StartDate, NextStartDate FROM DatedConversionRate "
            "WHERE NextStartDate = null OR NextStartDate > {}", day)))
    for r in client.query(format_soql(
            f"SELECT Id, PartnerAccountId, Amount{code}, CloseDate FROM Opportunity WHERE IsWon = true "
            "AND PartnerAccountId != null AND CloseDate >= {}", day)):
        at = _day(r.get("CloseDate"))
        if at is not None:
            amount = r.get("Amount")
            if currencies is not None and amount is not None and r.get("CurrencyIsoCode") != currencies.corporate:
                iso = r.get("CurrencyIsoCode")
                rate = dated.rate(iso, at.date()) if dated is not None else None  # at: the CloseDate
                rate = rate or currencies.rates.get(iso)  # no dated range holds the day: the static rate
                amount = amount / rate if rate else None
            out.append(OutcomeEvent(r["PartnerAccountId"], "won", at, amount=amount))
    return out


def facts(conn: Connection, client: _Queries, now: datetime,
          calendar: OrgCalendar = UTC_CALENDAR, currencies: Any = None,
          partner_field: str | None = "PartnerAccountId") -> dict[str, PartnerFacts]:
    """Every partner's facts as of `now`; "this quarter" is the org's fiscal quarter
    (`calendar`: the rule book's, `settings.calendar`); `partner_field`: see converted_events."""
    since = window_start(now, calendar)
    return partner_facts(offer_events(conn, since) + org_events(client, since, currencies, conn=conn,
                                                                partner_field=partner_field), now, calendar)


def lead_partner_field(mappings: Any) -> str | None:
    """The Lead field holding the partner of a lead (writeback.toml's partner_id), if any."""
    return mappings.writeback_fields().get("partner_id")


def attach(partners: Iterable[Partner], by_partner: dict[str, PartnerFacts],
           quality: Mapping[str, tuple[float, int]] | None = None) -> None:
    """Put the facts in each partner's `extra` (zeros / none for a partner without events),
    before PartnerIndex.build evaluates the rules' partner conditions. `quality`: each
    partner's average rating of the leads it got and how many (jobs/ratings.quality)."""
    for p in partners:
        f = by_partner.get(p.id) or PartnerFacts(p.id)
        rated = (quality or {}).get(p.id)
        if rated is not None:
            f.lead_quality, f.lead_quality_ratings = rated
        p.extra.update(f.attributes())


def _day(value: Any) -> datetime | None:
    """A Salesforce date ("2026-11-23") as midnight UTC."""
    if not value:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    return datetime.fromisoformat(str(value)[:10]).replace(tzinfo=timezone.utc)

"""Partner performance facts, computed from what happened to offers — nothing else.

Input: a list of `OutcomeEvent`s (offered, accepted, rejected, lapsed, converted, lost,
withdrawn, won), gathered by jobs/performance.py from the state database and the org. Output: one
`PartnerFacts` per partner, whose fields are usable in rule conditions as partner
attributes (`won_this_quarter >= 3`, `acceptance_rate >= 0.5`): pass
`PARTNER_ATTRIBUTES` to `load_rules(partner_attributes=…)` and `facts.attributes()` into
each Partner's `extra` before `PartnerIndex.build`.

"This quarter" (the org's fiscal quarter, rules/fiscal.py) and "the last 90 days" are
counted from the `now` passed in, never the host's clock. Pure: no I/O, nothing of ours but rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from statistics import median
from typing import Any, Iterable

from rules.fiscal import UTC_CALENDAR, OrgCalendar
from rules.model import Lead

KINDS = ("offered", "accepted", "rejected", "lapsed", "converted", "lost", "withdrawn", "won")
_RECENT = timedelta(days=90)
# kinds the org dates with a day (ConvertedDate, CloseDate), written as midnight UTC of the
# date: "after now" for such a date is after the org's today — else a Sydney org's win of
# this morning waited for UTC's date to turn before it counted, and a Los Angeles org at
# 17:00 counted tomorrow's win in this quarter
_DATED = frozenset({"converted", "won"})
_MIDNIGHT = time(0)


@dataclass(frozen=True, slots=True)
class OutcomeEvent:
    """One thing that happened between a partner and a lead.

    kind: offered | accepted | rejected (with `reason`) | lapsed (the offer's deadline passed)
    | converted (the accepted lead was converted; `amount` its value) | lost (closed without
    conversion, or accepted and never worked) | withdrawn (the offer or acceptance ended through
    nobody's answer: a person took the lead, asked for it to be routed again; neither a
    conversion nor a loss) | won (an Opportunity with this PartnerAccountId closed won; `amount`).
    `offered_at` on accepted/rejected gives the time to answer. `lead` carries the lead's
    public attributes (its segment) for the learner; facts do not need it.
    """

    partner_id: str
    kind: str
    at: datetime
    lead_id: str | None = None
    offered_at: datetime | None = None
    reason: str | None = None
    amount: float | None = None
    lead: Lead | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"outcome kind {self.kind!r} is not one of {', '.join(KINDS)}")


@dataclass(slots=True)
class PartnerFacts:
    partner_id: str
    offers: int = 0
    accepted: int = 0
    rejected: int = 0
    lapsed: int = 0
    acceptance_rate: float | None = None  # accepted / answered-or-lapsed offers
    lapse_rate: float | None = None
    median_hours_to_accept: float | None = None
    converted_this_quarter: int = 0
    converted_90d: int = 0
    won_this_quarter: int = 0
    won_90d: int = 0
    revenue_this_quarter: float = 0.0
    revenue_90d: float = 0.0
    open_load: int = 0  # offered or accepted, not yet closed
    decline_reasons: dict[str, int] = field(default_factory=dict)  # reason → count
    # the partner's own rating of the leads it got (Lead_Quality_Rating__c, 1–5), last 90 days:
    # jobs fills these from the org, they are not outcome events
    lead_quality: float | None = None
    lead_quality_ratings: int = 0

    def attributes(self) -> dict[str, Any]:
        """The facts rule conditions may use, by name (numbers only; the reason mix is for reports)."""
        return {name: getattr(self, name) for name in PARTNER_ATTRIBUTES}

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


# name → type, for load_rules(partner_attributes=…): a typo in a condition fails at load
PARTNER_ATTRIBUTES: dict[str, type] = {
    "offers": int, "accepted": int, "rejected": int, "lapsed": int, "acceptance_rate": float, "lapse_rate": float,
    "median_hours_to_accept": float, "converted_this_quarter": int, "converted_90d": int, "won_this_quarter": int,
    "won_90d": int, "revenue_this_quarter": float, "revenue_90d": float, "open_load": int,
    "lead_quality": float, "lead_quality_ratings": int,
}


def partner_facts(events: Iterable[OutcomeEvent], now: datetime,
                  calendar: OrgCalendar = UTC_CALENDAR) -> dict[str, PartnerFacts]:
    """Facts per partner from its events up to `now` (later events are ignored: a replay
    at an earlier `now` sees what was known then). "This quarter" is the org's fiscal
    quarter in its time zone (`calendar`)."""
    now = _utc(now)
    q0 = calendar.quarter_start(now)
    today = calendar.day(now).date()
    since = now - _RECENT
    # a date's last 90 days are the org's last 90 dates, today included: `since`, an
    # instant, would take one date fewer in an org behind UTC late in its day, one more ahead
    first_date = today - _RECENT + timedelta(days=1)
    facts: dict[str, PartnerFacts] = {}
    hours: dict[str, list[float]] = {}
    holding: dict[str, set[str]] = {}  # partner → leads it holds open
    for e in sorted(events, key=lambda e: _utc(e.at)):
        at = _utc(e.at)
        kind = e.kind
        dated = kind in _DATED and at.time() == _MIDNIGHT
        if (at.date() > today) if dated else (at > now):
            continue
        f = facts.get(e.partner_id)
        if f is None:
            f = facts[e.partner_id] = PartnerFacts(e.partner_id)
        held = holding.setdefault(e.partner_id, set())
        if kind == "offered":
            f.offers += 1
            if e.lead_id:
                held.add(e.lead_id)
        elif kind == "accepted":
            f.accepted += 1
            if e.offered_at is not None:
                hours.setdefault(e.partner_id, []).append((at - _utc(e.offered_at)).total_seconds() / 3600)
        elif kind in ("rejected", "lapsed"):
            setattr(f, kind, getattr(f, kind) + 1)
            held.discard(e.lead_id)
            if kind == "rejected":
                reason = e.reason or "(no reason given)"
                f.decline_reasons[reason] = f.decline_reasons.get(reason, 0) + 1
        elif kind in ("converted", "won"):
            if kind == "converted":
                held.discard(e.lead_id)
            amount = float(e.amount or 0.0)
            for window, recent in (("this_quarter", at >= q0),
                                   ("90d", at.date() >= first_date if dated else at >= since)):
                if recent:
                    name = f"{kind}_{window}"
                    setattr(f, name, getattr(f, name) + 1)
                    setattr(f, f"revenue_{window}", getattr(f, f"revenue_{window}") + amount)
        else:  # lost, withdrawn: the partner holds it no more
            held.discard(e.lead_id)
    for pid, f in facts.items():
        settled = f.accepted + f.rejected + f.lapsed
        if settled:
            f.acceptance_rate = round(f.accepted / settled, 4)
            f.lapse_rate = round(f.lapsed / settled, 4)
        if hours.get(pid):
            f.median_hours_to_accept = round(median(hours[pid]), 2)
        f.open_load = len(holding.get(pid, ()))
        f.revenue_this_quarter = round(f.revenue_this_quarter, 2)
        f.revenue_90d = round(f.revenue_90d, 2)
    return facts


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)

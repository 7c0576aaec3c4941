"""Feedback that acts (issue 17, item 3): a partner's rejection reasons, from the restricted
list (Rejection_Reason_Code__c, which the portal writes at the head of Rejection_Reason__c),
adjust how it is routed to — visibly, and undone by ops.

- "No capacity": the partner's inferred capacity drops to 70 % of what it was (never
  below 1, never above its declared Capacity__c) and rises by one with each offer it
  accepts: gradual throttling that recovers. It is the cap every strategy respects.
- "Not our product/industry": after `EXCLUDE_AFTER` such declines of one industry's
  leads, the partner is no longer offered that industry's leads; `explain` names why
  ("already said … — skips this lead") on each lead it skips.
- "Out of territory": counted per country and listed as a coverage fix to review
  (`leadrouter feedback`), never acted on alone.

Everything is derived from the offers table and the leads we read (the last 90 days),
recomputed at each routing build and at least hourly; nothing is stored but an ops
review: `leadrouter feedback reset PARTNER_ID` sets a watermark from which that
partner's feedback counts afresh (its throttle lifted, its exclusions cleared).
`leadrouter feedback [--json]` lists every adjustment in force.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.engine import Connection

from jobs.state import store as st
from jobs.state.schema import offers as OFFERS
from jobs.state.schema import watermarks as WATERMARKS
from rules.model import Lead, Partner

NO_CAPACITY, NOT_OUR_FIT, OUT_OF_TERRITORY = "No capacity", "Not our product/industry", "Out of territory"
EXCLUDE_AFTER = 2  # "Not our product/industry" declines of one industry's leads before it is excluded
THROTTLE = 0.7  # a "No capacity" decline keeps this share of the inferred capacity
WINDOW = timedelta(days=90)
REFRESH = timedelta(hours=1)
_REVIEW = "feedback:"  # watermark name prefix: the time ops last reviewed a partner's feedback


@dataclass
class Adjustments:
    at: datetime
    capacity: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # partner → (inferred, declared, declines)
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)  # partner → industry → declines (≥ N)
    territory: dict[str, dict[str, int]] = field(default_factory=dict)  # partner → country → declines
    reviewed: dict[str, datetime] = field(default_factory=dict)

    def stale(self, now: datetime) -> bool:
        return now - self.at >= REFRESH

    def to_dict(self, names: Mapping[str, str] | None = None) -> dict[str, Any]:
        name = (names or {}).get
        return {
            "throttled": [{"partner_id": p, "partner": name(p, p), "capacity": c, "declared": d, "declines": n}
                          for p, (c, d, n) in sorted(self.capacity.items())],
            "excluded": [{"partner_id": p, "partner": name(p, p), "industry": i, "declines": n}
                         for p, per in sorted(self.excluded.items()) for i, n in sorted(per.items())],
            "out_of_territory": [{"partner_id": p, "partner": name(p, p), "country": c, "declines": n,
                                  "fix": f"review whether {name(p, p)} covers {c} (its coverage lists it)"}
                                 for p, per in sorted(self.territory.items()) for c, n in sorted(per.items())],
            "reviewed": {p: t.isoformat() for p, t in sorted(self.reviewed.items())},
        }


def gather(conn: Connection, partners: Mapping[str, Partner], to_lead: Any, now: datetime) -> Adjustments:
    """What the partners' answers of the last 90 days say, since each one's last review."""
    from jobs.learning import _leads

    reviewed = reviews(conn)
    rows = list(conn.execute(
        select(OFFERS.c.lead_id, OFFERS.c.partner_id, OFFERS.c.status, OFFERS.c.accepted_at, OFFERS.c.closed_at,
               OFFERS.c.close_reason)
        .where(OFFERS.c.kind == "offer", OFFERS.c.partner_id.is_not(None), OFFERS.c.offered_at >= now - WINDOW)))
    answers: list[tuple[datetime, str, str, str | None]] = []  # (when, partner, accepted | reason, lead)
    for r in rows:
        if r.accepted_at is not None:
            answers.append((_utc(r.accepted_at), r.partner_id, "accepted", r.lead_id))
        elif r.status == "rejected" and r.closed_at is not None:
            answers.append((_utc(r.closed_at), r.partner_id, code_of(r.close_reason), r.lead_id))
    need = {lid for _, _, what, lid in answers if what in (NOT_OUR_FIT, OUT_OF_TERRITORY)}
    leads: dict[str, Lead] = _leads(conn, need, to_lead) if need else {}
    adj = Adjustments(at=now, reviewed=reviewed)
    level: dict[str, float] = {}
    declines: dict[str, int] = {}
    fit: dict[str, dict[str, int]] = {}
    for at, pid, what, lid in sorted(answers, key=lambda a: a[0]):
        if pid not in partners or (pid in reviewed and at <= reviewed[pid]):
            continue
        declared = partners[pid].capacity
        if what == NO_CAPACITY and declared:
            level[pid] = max(1.0, int(level.get(pid, declared) * THROTTLE))
            declines[pid] = declines.get(pid, 0) + 1
        elif what == "accepted" and pid in level and declared:
            level[pid] = min(float(declared), level[pid] + 1)
        elif what in (NOT_OUR_FIT, OUT_OF_TERRITORY):
            lead = leads.get(lid or "")
            key = (lead.industry if what == NOT_OUR_FIT else lead.country) if lead is not None else None
            if key:
                per = (fit if what == NOT_OUR_FIT else adj.territory).setdefault(pid, {})
                per[key] = per.get(key, 0) + 1
    for pid, lv in level.items():
        declared = partners[pid].capacity or 0
        if int(lv) < declared:
            adj.capacity[pid] = (int(lv), declared, declines[pid])
    for pid, per in fit.items():
        out = {i: n for i, n in per.items() if n >= EXCLUDE_AFTER}
        if out:
            adj.excluded[pid] = out
    return adj


def code_of(reason: str | None) -> str:
    """The restricted code at the head of Rejection_Reason__c ("No capacity: two reps on leave")."""
    text = (reason or "").strip()
    for code in (NO_CAPACITY, NOT_OUR_FIT, OUT_OF_TERRITORY):
        if text.lower().startswith(code.lower()):
            return code
    return text


def apply(partners: Iterable[Partner], adj: Adjustments) -> None:
    """The inferred capacities become the partners' caps (before PartnerIndex.build), and
    their `extra` says so (`inferred_capacity`, for reports and rule conditions)."""
    for p in partners:
        throttled = adj.capacity.get(p.id)
        if throttled is not None:
            p.extra["inferred_capacity"] = throttled[0]
            p.capacity = throttled[0]


def bar(state: Any, lead: Lead, adj: Adjustments | None) -> None:
    """Partners excluded from this lead's industry by their own feedback skip it."""
    if adj is None or not lead.industry:
        return
    for pid, per in adj.excluded.items():
        n = per.get(lead.industry)
        if n:
            state.bar(lead.id, pid, f"said '{NOT_OUR_FIT}' {n}× for {lead.industry} leads (feedback; undo: "
                                    f"leadrouter feedback reset {pid}) — skips")


def reviews(conn: Connection) -> dict[str, datetime]:
    rows = conn.execute(select(WATERMARKS.c.name, WATERMARKS.c.value).where(WATERMARKS.c.name.like(_REVIEW + "%")))
    return {r.name[len(_REVIEW):]: _utc(r.value) for r in rows}


def reset(conn: Connection, partner_id: str, now: datetime) -> None:
    """Ops reviewed this partner's feedback: what came before counts no more."""
    st.set_watermark(conn, _REVIEW + partner_id, now, now)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)

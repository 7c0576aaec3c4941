"""The predictive learner, rebuilt from history rather than kept: the org is the truth.

`rebuild(...)` replays the outcome events jobs/performance.py gathers (our offers table,
read only; conversions from the org) into a fresh `rules.predictive.Predictor`, each with
the lead's segment read from the lead as we last saw it (the `leads` table's record,
through the mappings). A lost state database loses nothing the learner needs that a
rebuild from the org and the offers kept cannot give back; a routing build after a
partner sync calls it once, not per lead.

The one-line hook (jobs/partners.py, build_routing):

    router = Router(cx.book, index, queue_ids=queue_ids,
                    learner=learning.rebuild(conn, cx.client, partners, cx.mappings.lead_converter(), cx.clock.now()))

then `router.learner.record_offer(decision)` next to `state.record_offer(decision, now)`,
and `router.learner.observe(event, partner)` where an outcome is recorded.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.engine import Connection

from jobs import performance
from jobs.state.schema import leads as LEADS
from rules.model import Lead, Partner
from rules.performance import OutcomeEvent
from rules.predictive import Predictor

HISTORY = timedelta(days=365)  # older outcomes have faded to nothing at a 60-day half-life


def rebuild(conn: Connection, client: Any, partners: Mapping[str, Partner] | Iterable[Partner],
            to_lead: Callable[[dict], Any], now: datetime, *, seed: int = 0, **settings: Any) -> Predictor:
    """A Predictor that has seen every outcome of the last year, oldest first."""
    by_id = partners if isinstance(partners, Mapping) else {p.id: p for p in partners}
    since = now - HISTORY
    events = performance.offer_events(conn, since) + performance.org_events(client, since)
    leads = _leads(conn, {e.lead_id for e in events if e.lead_id}, to_lead)
    # whether a lead converted is learnt only of the partner that accepted it, and once:
    # a converted lead's offer also ends ("lost" from the offers table) — the conversion wins
    accepted = {(e.lead_id, e.partner_id) for e in events if e.kind == "accepted"}
    converted = {(e.lead_id, e.partner_id) for e in events if e.kind == "converted"}
    learner = Predictor(seed=seed, **settings)
    for e in sorted(events, key=lambda e: e.at):
        lead = leads.get(e.lead_id or "")
        if lead is None or e.kind not in ("accepted", "rejected", "lapsed", "converted", "lost"):
            continue  # no segment to learn from (a lead we never read, or a win without a lead)
        if e.kind in ("converted", "lost") and ((e.lead_id, e.partner_id) not in accepted
                                               or (e.kind == "lost" and (e.lead_id, e.partner_id) in converted)):
            continue
        learner.observe(OutcomeEvent(e.partner_id, e.kind, e.at, e.lead_id, offered_at=e.offered_at,
                                     reason=e.reason, amount=e.amount, lead=lead), by_id.get(e.partner_id))
    return learner


def _leads(conn: Connection, ids: set[str], to_lead: Callable[[dict], Any]) -> dict[str, Lead]:
    out: dict[str, Lead] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for r in conn.execute(select(LEADS.c.lead_id, LEADS.c.record).where(LEADS.c.lead_id.in_(chunk))):
            if r.record:
                lead = to_lead(r.record)
                if isinstance(lead, Lead):
                    out[r.lead_id] = lead
    return out

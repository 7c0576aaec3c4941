"""The predictive learner, rebuilt from history rather than kept: the org is the truth.

`rebuild(...)` replays the outcome events jobs/performance.py gathers (our offers table,
read only; conversions from the org) into a fresh `rules.predictive.Predictor`, each with
the lead's segment read from the lead as we last saw it (the `leads` table's record,
through the mappings). A lost state database loses nothing the learner needs that a
rebuild from the org and the offers kept cannot give back; a routing build after a
partner sync calls it once, not per lead.

While the connector runs (hooks, one line each):

- jobs/partners.py `build_routing`: `for_routing(...)` gives the Router its learner
  (rebuilt as above) when a rule says `distribute = "predictive"`, and `Live` keeps it
  with a watermark;
- jobs/route.py, before a batch is decided: `catch_up(...)` feeds it every answer our
  offers table gained since the watermark (accepted, rejected with the partner's reason,
  lapsed; an accepted lead ended: converted if its record says so, lost if the partner closed
  it unconverted or never worked it, nothing if it was withdrawn), and puts
  the lead-potential `score` on each lead (`score >= 0.6` in a rule);
- jobs/lifecycle.py `commit_decisions`: `committed(...)` tells it which offers were made
  (its fairness floor counts them).

The watermark lives in memory: a restart rebuilds from the org and the offers table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from jobs import performance
from jobs.state.schema import leads as LEADS
from jobs.state.schema import offers as OFFERS
from jobs.timeutil import as_utc
from rules.book import RuleBook
from rules.model import Decision, DecisionKind, Lead, Partner
from rules.performance import OutcomeEvent
from rules.predictive import Predictor, tuning
from rules.values import LEAD_SCORE

# older outcomes weigh little: answers fade with a 60-day half-life, conversions with 150 (a year: ×0.19)
HISTORY = timedelta(days=365)


def rebuild(conn: Connection, client: Any, partners: Mapping[str, Partner] | Iterable[Partner],
            to_lead: Callable[[dict], Any], now: datetime, *, seed: int = 0,
            partner_field: str | None = "PartnerAccountId", **settings: Any) -> Predictor:
    """A Predictor that has seen every outcome of the last year, oldest first."""
    by_id = partners if isinstance(partners, Mapping) else {p.id: p for p in partners}
    since = now - HISTORY
    events = performance.offer_events(conn, since) + performance.org_events(client, since, conn=conn,
                                                                             partner_field=partner_field)
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


# ---------------------------------------------------------------- the running connector
LAG = timedelta(days=7)  # an answer can be recorded with a time before the last batch (read late): look back this far


@dataclass
class Live:
    """The learner a routing build made, and which answers and closes of the offers table
    it has learnt (by offer and kind, for the last `LAG`: an answer read late is dated when
    the rep gave it, which can be before the batch that last read the table)."""

    learner: Predictor
    partners: Mapping[str, Partner]
    to_lead: Callable[[dict], Any]
    mark: datetime  # the last catch-up
    learnt: dict[tuple[int, str], datetime] = field(default_factory=dict)


def predictive_rules(book: RuleBook) -> frozenset[str]:
    """Names of the rules that choose with the learner."""
    return frozenset(r.name for r in book.rules if r.distribute == "predictive")


def for_routing(cx: Any, conn: Connection, partners: Mapping[str, Partner], now: datetime) -> Live | None:
    """The learner for a routing build, or None when no rule needs one: the one this
    connector already keeps (told the newest partners), else rebuilt from history."""
    if not predictive_rules(cx.book):
        return None
    live = getattr(cx, "learning", None)
    if isinstance(live, Live):  # what it learnt does not depend on the rules; its floor counts are per rule
        live.partners = partners
        live.learner.tune(cx.book.settings)  # a reloaded rule book's fairness_floor, accept_weight
        return live
    to_lead = cx.mappings.lead_converter()
    live = Live(rebuild(conn, cx.client, partners, to_lead, now, partner_field=performance.lead_partner_field(cx.mappings),
                        **tuning(cx.book.settings)), partners, to_lead, now)
    # the rebuild read everything up to now: those answers are learnt
    live.learnt = {key: e.at for key, e in _recent(conn, now - LAG, to_lead)}
    cx.learning = live
    return live


def catch_up(conn: Connection, live: Live | None, now: datetime) -> int:
    """Learn every answer and close our offers table gained since the last call; returns
    how many outcomes were learnt."""
    if live is None:
        return 0
    since = min(live.mark, now) - LAG
    learnt = 0
    for key, e in sorted(_recent(conn, since, live.to_lead), key=lambda ke: ke[1].at):
        if key in live.learnt:
            continue
        live.learnt[key] = e.at
        if e.lead is not None:
            live.learner.observe(e, live.partners.get(e.partner_id))
            learnt += 1
    live.learnt = {k: at for k, at in live.learnt.items() if at > since}
    live.mark = now
    return learnt


def _recent(conn: Connection, since: datetime, to_lead: Callable[[dict], Any]) -> list[tuple[tuple[int, str], OutcomeEvent]]:
    """Answers and closes of our offers dated after `since`, each keyed by (offer, kind)."""
    rows = list(conn.execute(
        select(OFFERS.c.id, OFFERS.c.lead_id, OFFERS.c.partner_id, OFFERS.c.offered_at, OFFERS.c.status,
               OFFERS.c.accepted_at, OFFERS.c.closed_at, OFFERS.c.close_reason)
        .where(OFFERS.c.partner_id.is_not(None), OFFERS.c.kind == "offer",
               or_(OFFERS.c.accepted_at > since, OFFERS.c.closed_at > since))
        .order_by(OFFERS.c.id)))
    leads = _leads(conn, {r.lead_id for r in rows}, to_lead) if rows else {}
    out: list[tuple[tuple[int, str], OutcomeEvent]] = []
    for r in rows:
        lead = leads.get(r.lead_id)
        offered = as_utc(r.offered_at)
        if r.accepted_at is not None and as_utc(r.accepted_at) > since:
            out.append(((r.id, "accepted"), OutcomeEvent(r.partner_id, "accepted", as_utc(r.accepted_at), r.lead_id,
                                                         offered_at=offered, lead=lead)))
        if r.closed_at is None or as_utc(r.closed_at) <= since:
            continue
        closed = as_utc(r.closed_at)
        if r.status in ("rejected", "lapsed"):
            out.append(((r.id, r.status), OutcomeEvent(r.partner_id, r.status, closed, r.lead_id, offered_at=offered,
                                                       reason=r.close_reason if r.status == "rejected" else None,
                                                       lead=lead)))
        elif r.accepted_at is not None and lead is not None:
            # an accepted lead's offer ended: the record we keep (or why it closed) says whether it
            # converted; closed unconverted by the partner or never worked is lost; anything else
            # (a person took it over, asked for routing again) is a withdrawal and teaches nothing
            if lead.converted or (r.close_reason or "").startswith("converted"):
                kind = "converted"
            elif r.status in ("lost", "reclaimed", "escalated"):
                kind = "lost"
            else:
                continue
            out.append(((r.id, "closed"), OutcomeEvent(r.partner_id, kind, closed, r.lead_id, lead=lead)))
    return out


def rate(conn: Connection, live: Live | None, rated: Iterable[Any] | None) -> int:
    """Give the learner the partners' ratings of their leads (jobs/ratings.ratings), each
    lead's segment as we last read it; returns how many it took. None: ratings not read,
    the learner keeps what it had."""
    if live is None or rated is None:
        return 0
    rated = list(rated)
    leads = _leads(conn, {r.lead_id for r in rated}, live.to_lead)
    pairs = [(leads[r.lead_id], r.rating) for r in rated if r.lead_id in leads]
    live.learner.rate(pairs)
    return len(pairs)


def score(live: Live | None, lead: Lead) -> None:
    """Put the lead-potential score where rule conditions read it (`score >= 0.6`)."""
    if live is not None:
        lead.extra[LEAD_SCORE] = live.learner.score(lead)


def committed(cx: Any, decisions: Iterable[Decision]) -> None:
    """Offers the learner chose were made: its fairness floor counts them. (A decision of a
    predictive rule comes from a routing build, so asking for it builds nothing.)"""
    mine = predictive_rules(cx.book)
    chosen = [d for d in decisions if d.kind is DecisionKind.OFFER and d.rule in mine]
    live = cx.routing().learning if chosen else None
    if live is not None:
        for d in chosen:
            live.learner.record_offer(d)

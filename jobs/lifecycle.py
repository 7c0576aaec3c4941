"""The lifecycle's actions: commit a decision, end an offer, redistribute, release.

What happens to a lead is decided once, in `rules.lifecycle` (states × events); the
functions here carry those actions out. Each runs inside the caller's transaction, so
a decision, its offer row, the lead's state, the engine's counters and the outbox
entry carrying the Salesforce write commit together: after a crash there is either
all of it or none of it.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from jobs import feedback, incumbents, learning
from jobs import lead_words as words
from jobs.logging import get_logger
from jobs.state import incumbents as incumbent_rows
from jobs.state import offers as of
from jobs.state import schema
from jobs.state import outbox as ob
from jobs.state import store as st
from jobs.timeutil import format_sf_datetime
from rules.explain import REASON_MAX, clip
from rules.lifecycle import DECISION_STATE, DECISION_STATUS, LeadState
from rules.model import Decision, DecisionKind, Lead, RoutingStatus
from rules.state import RoutingState

if TYPE_CHECKING:
    from jobs.context import Context

_log = get_logger(component="route")


_PLAIN = frozenset((str, int, float, bool, type(None)))
_FIELDS: dict[type, tuple[str, ...]] = {}


def jsonable(value: Any) -> Any:
    """Dataclasses, enums, sets and datetimes as JSON the state DB and Salesforce accept.

    Exact-type checks first: a decision's explanation is mostly plain strings, numbers
    and dicts, and this runs for every decision (a quarter of a backfill's CPU when it
    asked isinstance() of each value in turn)."""
    t = type(value)
    if t in _PLAIN:
        return value
    if t is dict:
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    names = _FIELDS.get(t)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[t] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return {n: jsonable(getattr(value, n)) for n in names}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    return value


def load_state(conn: Connection, lead_ids: Any = ()) -> RoutingState:
    """The engine's counters, plus the per-lead facts of `lead_ids` (the leads the caller
    is about to act on) read from their rows. The incumbents of the leads' companies are
    the router's caller's to hand it (jobs/incumbents.take): it has the leads."""
    data = st.load_routing_state(conn)
    state = RoutingState.from_dict(data) if data else RoutingState()
    ids = list(lead_ids)
    if ids:
        state.take_leads(*of.lead_facts(conn, ids))
    return state


def save_state(conn: Connection, state: RoutingState, now: datetime) -> None:
    """The counters' document, and the incumbents learned since loaded as their rows."""
    st.save_routing_state(conn, state.to_dict(), now)
    if state.learned:
        incumbent_rows.write(conn, state.learned)
        state.learned = {}


def commit_decision(cx: Context, conn: Connection, state: RoutingState, lead: Lead, decision: Decision, *,
                    record: dict[str, Any] | None, seen_modstamp: datetime | None, now: datetime,
                    redistribution: bool = False) -> None:
    """Store the decision, its offer, the lead's new state and the write it needs."""
    commit_decisions(cx, conn, state, [(lead, decision, record, seen_modstamp)], now, redistribution=redistribution)


def commit_decisions(cx: Context, conn: Connection, state: RoutingState,
                     items: list[tuple[Lead, Decision, dict[str, Any] | None, datetime | None]], now: datetime, *,
                     redistribution: bool = False, record_offers: bool = True) -> None:
    """`commit_decision` for many leads at once: a page of new leads costs a handful of
    multi-row statements instead of five statements per lead."""
    if not items:
        return
    # Each table's rows built as tuples in one pass over the page (no dict per row).
    audit, offer_rows, with_record, without, writes = [], [], [], [], []
    writeback = cx.mappings.decision_writeback
    # The previous partner's answer must not read as the new partner's.
    cleared = cx.mappings.cleared_answer() if redistribution else None
    offered = (DecisionKind.OFFER, DecisionKind.POOL)
    # A lead escalated or handed to a fallback queue is in no offer: the last offer's time
    # goes with its deadline. The read-back of a write lost in flight (jobs/outbox.landed)
    # is not weakened: only an offer's own time is its witness; this write is judged by all
    # its fields, and a Lead still showing the offer's time is one it did not reach.
    no_offer = cx.mappings.writeback({"offered_at": None})
    queued = (DecisionKind.ESCALATE, DecisionKind.FALLBACK)
    # A lead left Unroutable after its offer ended (an escalation held while its queue is
    # gone) is in no offer either: neither its time nor its deadline (a day ahead after a
    # rejection) may read as a clock still running.
    none_running = cx.mappings.writeback({"offered_at": None, "deadline": None, "calendar": None})
    # ... and, held for want of the escalation queue, it shows as an escalated lead does: off the
    # rep and the partner that gave it up (our integration user keeps it until the queue is back)
    holder = getattr(cx.client, "user_id", None)
    held_off_partner = cx.mappings.writeback({"partner_id": None, **({"owner_id": holder} if holder else {})})
    for lead, decision, record, seen in items:
        kind = decision.kind
        value, lead_id, attempt = kind.value, lead.id, decision.attempt
        audit.append((lead_id, now, value, decision.rule, decision.partner_id, attempt, decision))
        held = redistribution and kind is DecisionKind.UNROUTABLE and decision.rule == HELD_RULE
        owner = decision.rep_id or decision.queue_id or (holder if held else None)
        if kind in offered:
            offer_rows.append((lead_id, value, decision.partner_id, decision.rep_id, decision.queue_id, owner,
                               decision.rule, attempt, decision.offered_at or now, decision.deadline, seen, "live",
                               decision.calendar))
        reason = clip(decision.reason or "")
        rule = (decision.rule or "")[:80] or None
        if record is not None:
            with_record.append((lead_id, _STATE[kind], attempt, owner, reason, seen, lead.status, now, rule, record))
        else:  # without a fresh record (a lapse decided from state): keep the lead as last read
            without.append((lead_id, _STATE[kind], attempt, owner, reason, seen, lead.status, now, rule))
        payload = dict(writeback(decision, _STATUS[kind]))
        if kind in queued:
            payload.update(no_offer)
        elif redistribution and kind is DecisionKind.UNROUTABLE:
            payload.update(none_running)
            if held:
                payload.update(held_off_partner)
        if cleared is not None:
            payload.update(cleared)
        # as it is: the JSON column's serializer (rules.serial) writes what jsonable would
        writes.append({"lead_id": lead_id, "purpose": value, "payload": payload, "seen_modstamp": seen})
        if record_offers:
            state.record_offer(decision, now)
    ob.record_decisions(conn, audit, names=_AUDIT)
    learning.committed(cx, [d for _, d, _, _ in items])
    offer_ids = of.insert_offers(conn, offer_rows, names=_OFFER)
    st.upsert(conn, schema.leads, with_record, ["lead_id"], names=_LEAD)
    st.upsert(conn, schema.leads, without, ["lead_id"], names=_LEAD[:-1])
    for w in writes:
        w["offer_id"] = offer_ids.get(w["lead_id"])
    ob.add_many(conn, writes, now)


_AUDIT = ("lead_id", "at", "kind", "rule", "partner_id", "attempt", "decision")
_OFFER = ("lead_id", "kind", "partner_id", "rep_id", "queue_id", "owner_id", "rule", "attempt", "offered_at",
          "deadline", "lead_modstamp", "status", "calendar")
_LEAD = ("lead_id", "state", "attempt", "owner_id", "reason", "modstamp", "status", "updated_at", "rule", "record")
_STATE = {kind: state.value for kind, state in DECISION_STATE.items()}
_STATUS = {kind: status.value for kind, status in DECISION_STATUS.items()}


def escalation(cx: Context, lead: Lead, reason: str, attempt: int) -> Decision:
    """Nobody took the lead: hand it to the escalation queue, saying why (held, while the
    queue is not in the org)."""
    routing = cx.routing()
    name = cx.book.settings.escalation_queue
    queue_id = routing.queue_ids.get(name)
    decision = Decision(lead_id=lead.id, kind=DecisionKind.ESCALATE, reason=clip(reason), rule=words.ESCALATED,
                        queue_id=queue_id, attempt=attempt, explanation={"escalation": reason, "queue": name})
    return decision if queue_id else hold_escalation(name, decision, routing.router.outcomes.label(name))


# A held escalation's mark, on the Lead and in the state: Unroutable, Routing_Rule__c this
# (the rule that escalated it is kept in the decision's trace). The org holds it, so a state
# rebuilt from the org finds the held leads (jobs/recovery.py); the reason is wording.
HELD_RULE = "Escalation held"
ESCALATION_HELD = "Escalation held: "  # how a held escalation's reason starts (rows from before HELD_RULE: their mark)
HELD_THEN = "; the lead escalates once it is. "  # what comes after: the escalation's own reason


def hold_escalation(name: str, decision: Decision, label: str | None = None) -> Decision:
    """An escalation whose queue is not in the org (deleted while running, or renamed): the
    lead is held, Unroutable, its reason saying so and what brings the queue back; the expire
    job escalates it once the queue is back (`escalate_held`). Everything else routes on
    meanwhile. `name`: the escalation queue's DeveloperName; `label`: the name the admin knew
    it by (its label, as last read from the org), where known."""
    was = (decision.explanation or {}).get("held")
    rule = was.get("rule") if decision.rule == HELD_RULE and isinstance(was, dict) else decision.rule
    label = label or (was.get("label") if isinstance(was, dict) else None) or name
    said = f"{words.escalation_held(label)}{HELD_THEN}{decision.reason or ''}"
    return dataclasses.replace(decision, kind=DecisionKind.UNROUTABLE, queue_id=None, reason=clip(said), rule=HELD_RULE,
                               explanation={**(decision.explanation or {}),
                                            "held": {"queue": name, "label": label, "reason": decision.reason,
                                                     "rule": rule},
                                            "problem": f"queue {name} not found in the org"})


def escalation_reason(decision: Decision) -> str:
    """What a decision says of why the lead escalates: a held escalation's own reason."""
    was = (decision.explanation or {}).get("held")
    return (was.get("reason") or "") if isinstance(was, dict) else (decision.reason or "")


def said_first(decision: Decision, words: str) -> Decision:
    """The decision with `words` put before its reason; a held escalation stays one (its
    mark, its reason starting as it does), the words going before the escalation's own reason."""
    was = (decision.explanation or {}).get("held")
    if isinstance(was, dict):
        return hold_escalation(was.get("queue") or "", dataclasses.replace(
            decision, reason=clip(f"{words}{was.get('reason') or ''}")), was.get("label"))
    return dataclasses.replace(decision, reason=clip(f"{words}{decision.reason}"))


def escalate_held(cx: Context, now: datetime) -> dict[str, int]:
    """Leads held for want of the escalation queue escalate once it is in the org again;
    while it is not, they are counted (`leadrouter status` names them and the fix)."""
    with cx.store.connect() as conn:
        waiting = of.leads_in_state(conn, LeadState.UNROUTABLE.value, HELD_RULE, ESCALATION_HELD)
    if not waiting:
        return {}
    queue_id = cx.routing().queue_ids.get(cx.book.settings.escalation_queue)
    if not queue_id:
        return {"escalation_held": len(waiting)}
    with cx.store.begin() as conn:
        state = load_state(conn, [w["lead_id"] for w in waiting])
        for w in waiting:
            was = ((ob.last_decision(conn, w["lead_id"]) or {}).get("explanation") or {}).get("held") or {}
            reason = was.get("reason") or (w["reason"] or "").split(HELD_THEN, 1)[-1]
            decision = Decision(lead_id=w["lead_id"], kind=DecisionKind.ESCALATE, reason=clip(reason),
                                rule=was.get("rule") or words.ESCALATED, queue_id=queue_id, attempt=w.get("attempt") or 1,
                                explanation={"escalation": reason, "queue": cx.book.settings.escalation_queue,
                                             "held_since": jsonable(w.get("updated_at"))})
            commit_decision(cx, conn, state, Lead(id=w["lead_id"]), decision, record=None,
                            seen_modstamp=w.get("modstamp"), now=now)
        save_state(conn, state, now)
    _log.info("held_escalations_released", leads=len(waiting), queue=cx.book.settings.escalation_queue)
    return {"escalated_after_hold": len(waiting)}


def decide(routing: Any, lead: Lead, state: RoutingState, now: datetime, *, attempt: int) -> Decision:
    """How every lead is decided, new or offered again: the lead score where rules read
    it, the router's choice (it skips the partners their own feedback keeps away: the
    routing build hooks them in), and the Lead naming those partners."""
    try:
        learning.score(routing.learning, lead)
        skipped = feedback.skipped(lead, routing.feedback)
        decision = routing.router.decide(lead, state, now, attempt=attempt)
        feedback.note(decision, skipped, routing.feedback)
        if decision.kind is DecisionKind.ESCALATE and not decision.queue_id:
            queue = routing.router.settings.escalation_queue
            decision = hold_escalation(queue, decision, routing.router.outcomes.label(queue))
    except Exception as exc:  # a defect met by one lead must not stop the leads behind it
        _log.error("decision_failed", lead_id=lead.id, error=type(exc).__name__, exc_info=True,
                   fix="a defect in leadrouter: report this log line; the lead shows why (Unroutable, or escalated "
                       "when offered before) and is routed again when set to Pending")
        return failed(lead, exc, attempt)
    return decision


def failed(lead: Lead, exc: Exception, attempt: int = 1) -> Decision:
    """The decision a lead gets when deciding it failed: nothing automatic, and the Lead
    says so (the error's type only: its text may quote the lead, and partner reps read
    the field)."""
    reason = (f"routing this lead failed on a defect in leadrouter ({type(exc).__name__}; the connector's log has "
              f"it as decision_failed); {words.ROUTE_AGAIN}")
    return Decision(lead_id=lead.id, kind=DecisionKind.UNROUTABLE, reason=clip(reason), attempt=attempt,
                    explanation={"failed": type(exc).__name__})


def redistribute(cx: Context, conn: Connection, state: RoutingState, lead: Lead, *, attempt: int, why: str,
                 record: dict[str, Any] | None, seen_modstamp: datetime | None, now: datetime,
                 moved: str | None = None) -> Decision:
    """Offer the lead to the next target (never one that declined it), or escalate.
    `moved`: what became of the previous offer, in words that name no partner (the next
    partner's reps read the reason), put before the new offer's reason on the Lead.

    A lead a distributor accepted and handed down goes to its next reseller instead, and
    back to the distributor when none is left."""
    incumbents.take(cx, conn, state, [lead])
    distributor = handed_down_by(cx, conn, lead.id)
    if distributor is not None:
        return hand_down(cx, conn, state, lead, distributor, attempt=attempt, why=why, record=record,
                         seen_modstamp=seen_modstamp, now=now, moved=moved)
    max_attempts = cx.book.settings.max_attempts
    if attempt > max_attempts:
        decision = escalation(cx, lead, f"{why}; no partner took it after {max_attempts} offers", attempt)
    else:
        decision = decide(cx.routing(), lead, state, now, attempt=attempt)
        if decision.kind is DecisionKind.UNROUTABLE or barred(state, lead.id, decision):
            decision = escalation(cx, lead, f"{why}; {escalation_reason(decision)}", attempt)
        elif decision.kind is DecisionKind.ESCALATE:
            # a rule's `otherwise = "escalate"`: its reason speaks of the rule that ended the
            # search ("nobody within 50 km", "lead has no coordinates"), not of the offer that
            # ended: said after it (an escalation's reason starts "Escalated: <rule>: "); the
            # escalation queue is the channel team's, so it may name the partner
            decision = dataclasses.replace(decision, reason=clip(f"{decision.reason}; {why}"))
        else:
            decision = said_why(decision, moved)
    commit_decision(cx, conn, state, lead, decision, record=record, seen_modstamp=seen_modstamp, now=now,
                    redistribution=True)
    return decision


REROUTE_WHY = words.REROUTED
HELD = "had"  # how a partner that held the lead shows among the exclusions of its fresh decision


def reroute(cx: Context, conn: Connection, state: RoutingState, lead: Lead, *, record: dict[str, Any] | None,
            seen_modstamp: datetime | None, now: datetime, held_before: set[str] | None = None) -> Decision:
    """A person set Pending: whatever of ours is on the lead is withdrawn and it is decided
    afresh at attempt 1, with the reason saying who asked (docs/LIFECYCLE.md: reroute_requested).

    A withdrawal bars nobody; the partners that held the lead are only passed over by this
    decision (routing it again to the same partner would leave the Lead as the person
    found it). A lead a partner's rep still owns never stays with it: when nothing can be
    offered it goes to escalation, where a channel manager sees it. `held_before`: partners
    this request already withdrew the lead from (its decision, deciding again, never landed:
    jobs/outbox.decide_again)."""
    incumbents.take(cx, conn, state, [lead])
    held = withdraw_held(conn, state, lead.id, f"withdrawn: {REROUTE_WHY}", now) | (held_before or set())
    # a partner that closed the lead unconverted has had its go: a person reopening it wants another
    held |= {o["partner_id"] for o in of.offers_for_lead(conn, lead.id) if o["status"] == "lost" and o["partner_id"]}
    declined = state.excluded.get(lead.id)
    if held:
        state.excluded[lead.id] = {**{p: HELD for p in held}, **(declined or {})}
    try:
        decision = decide(cx.routing(), lead, state, now, attempt=1)
    finally:
        if declined is None:
            state.excluded.pop(lead.id, None)
        else:
            state.excluded[lead.id] = declined
    if held and decision.kind is DecisionKind.UNROUTABLE:
        decision = escalation(cx, lead, f"{REROUTE_WHY}; {escalation_reason(decision)}", 1)
    else:
        decision = said_first(decision, f"{REROUTE_WHY}; ")
    decision.explanation["rerouted"] = {"why": REROUTE_WHY, "withdrawn_from": sorted(held)}
    commit_decision(cx, conn, state, lead, decision, record=record, seen_modstamp=seen_modstamp, now=now,
                    redistribution=True)
    return decision


def barred(state: RoutingState, lead_id: str, decision: Decision) -> bool:
    """Does the decision put the lead back in front of a target that declined it?
    (The router already skips them; this is the lifecycle's own guard.)"""
    declined = state.declined(lead_id)
    return any(t and t in declined for t in (decision.partner_id, decision.queue_id))


def is_distributor(cx: Context, partner_id: str | None) -> bool:
    p = cx.routing().partners.get(partner_id or "")
    return p is not None and str(p.role) == "Distributor"


def handed_down_by(cx: Context, conn: Connection, lead_id: str) -> dict[str, Any] | None:
    """The distributor's accepted offer, when this lead is in its hand-down."""
    accepted = of.accepted_offers(conn, [lead_id]).get(lead_id)
    if accepted and is_distributor(cx, accepted.get("partner_id")):
        return accepted
    return None


def said_why(decision: Decision, moved: str | None) -> Decision:
    """An offer made again, or a rule's fallback queue taking the lead on, says why the lead
    moved on, before the rule's own reason (an escalation says it in its own words)."""
    if not moved or decision.kind not in (DecisionKind.OFFER, DecisionKind.POOL, DecisionKind.FALLBACK):
        return decision
    return dataclasses.replace(decision, reason=clip(f"{moved}; {decision.reason}"))


def hand_down(cx: Context, conn: Connection, state: RoutingState, lead: Lead, distributor: dict[str, Any], *, attempt: int,
              why: str | None, record: dict[str, Any] | None, seen_modstamp: datetime | None,
              now: datetime, moved: str | None = None) -> Decision:
    """Offer a distributor's lead to one of its resellers; when none qualifies (or all
    declined, or the attempts ran out) the lead stays with the distributor's rep."""
    dist_id = distributor["partner_id"]
    incumbents.take(cx, conn, state, [lead])
    decision = cx.routing().router.hand_down(lead, dist_id, state, now, attempt=attempt)
    if (decision.kind is DecisionKind.OFFER and not barred(state, lead.id, decision) and decision.partner_id != dist_id
            and attempt <= cx.book.settings.max_attempts):
        decision = said_why(decision, moved)
        commit_decision(cx, conn, state, lead, decision, record=record, seen_modstamp=seen_modstamp, now=now,
                        redistribution=True)
        return decision
    # the distributor's reps read it: what became of the reseller's offer in words naming no
    # partner (`moved`), not `why`, which names the reseller and quotes its rejection
    said = moved or why
    reason = f"{said}; " if said else ""
    reason += f"{decision.reason}" if decision.kind is not DecisionKind.OFFER else "no reseller left to offer it to"
    # a lead that never went down (no reseller qualified when the distributor accepted) is not
    # "back": the reason says why it stays with the distributor
    # `attempt` is the offer that would have come next: none is made, so the lead's attempt
    # stays the last offer's, as its Routing_Attempt__c (it counts offers) and the state say
    made = max(attempt - 1, 1)
    back = Decision(lead_id=lead.id, kind=DecisionKind.UNROUTABLE,
                    reason=clip(f"Back to the distributor: {reason}" if said else reason),
                    rule="hand_down", ruleset="hand_down", partner_id=dist_id, attempt=made,
                    explanation={"hand_down": reason, "distributor": dist_id})
    ob.record_decision(conn, lead_id=lead.id, at=now, kind="hand_back", rule="hand_down", partner_id=dist_id,
                       attempt=made, decision=jsonable(back))
    owner = distributor.get("accepted_by")
    state.record_held(lead.id, dist_id)  # its accepted lead again: it counts against its capacity
    of.put_lead(conn, lead.id, now, state=LeadState.ACCEPTED.value, owner_id=owner, reason=back.reason,
                **({"modstamp": seen_modstamp} if seen_modstamp else {}))
    # the last reseller's deadline is of an offer that is over: cleared, it no longer reads as a
    # clock running on an accepted lead. Offered_At__c is left as it is: it is the witness the
    # read-back of a write lost in flight trusts (jobs/outbox.landed), and the distributor's own
    # time, written again, would read as landed on a Lead the write never reached
    values: dict[str, Any] = {"owner_id": owner, "partner_id": dist_id, "routing_status": RoutingStatus.ACCEPTED.value,
                              "reason": back.reason, "deadline": None, "calendar": None}
    if said:  # back from its resellers: the rule of the hand-down that is over decides nothing now
        values["rule"] = words.BACK_TO_DISTRIBUTOR
    payload = cx.mappings.writeback(values) | cx.mappings.cleared_answer()
    ob.add(conn, lead_id=lead.id, purpose="hand_back", payload=jsonable(payload), now=now,
           seen_modstamp=seen_modstamp, offer_id=distributor["id"])
    return back


def end_offer(conn: Connection, state: RoutingState, offer: dict[str, Any], status: str, reason: str,
              now: datetime, *, outcome: str | None, answered: datetime | None = None) -> bool:
    """Close a live offer; `outcome` feeds the engine. Rejected or lapsed bars the target
    — the partner, or the pool's queue — from this lead for good. `answered`: when the rep
    answered, by Salesforce's clock, where known (else now): the partner's time to answer."""
    if not of.close_offer(conn, offer["id"], status, reason, now):
        return False
    target = offer.get("partner_id") or offer.get("queue_id")
    if outcome and offer.get("partner_id"):
        at = answered or now
        hours = max(0.0, (at - offer["offered_at"]).total_seconds() / 3600) if offer.get("offered_at") else None
        state.record_outcome(offer["lead_id"], offer["partner_id"], outcome, now,
                             response_hours=hours if outcome in ("accepted", "rejected") else None)
    elif outcome in ("rejected", "lapsed") and target:
        state.bar(offer["lead_id"], target, outcome)
    if outcome in ("rejected", "lapsed") and target:
        of.exclude(conn, offer["lead_id"], target, outcome, reason, now)
    return True


def release(conn: Connection, state: RoutingState, lead_id: str, reason: str, now: datetime, *,
            final_state: LeadState | str = LeadState.RELEASED, modstamp: datetime | None = None,
            lead_update: dict[str, Any] | None = None, converted: bool = False, lost: bool = False) -> None:
    """End our interest in a lead: its offers close and pending writes drop. A person
    (or Salesforce) has it now; `lead_update` is the one write that tells the admin so
    (None: the lead is gone, or nothing of ours is on it). `converted`: the lead was
    converted, which an accepting partner's record counts; `lost`: the accepting partner
    closed it unconverted, which frees its capacity and counts as lost; anything else
    ending an offer or an acceptance (a takeover, a deletion, a refused write) is a
    withdrawal, neither to its credit nor its fault."""
    final_state = LeadState(final_state)
    withdraw_held(conn, state, lead_id, reason, now, converted=converted, lost=lost)
    if not lost:  # a lead the partner closed is still there: what we last wrote (Accepted) must land
        ob.drop_open(conn, lead_id, reason, now)
    if final_state is LeadState.RELEASED:
        reason = f"{reason}{AGAIN}"  # the state's copy: the Lead's is released_update's
    values: dict[str, Any] = {"state": final_state.value, "reason": clip(reason)}
    if modstamp is not None:
        values["modstamp"] = modstamp
    of.put_lead(conn, lead_id, now, **values)
    if lead_update is not None:
        ob.add(conn, lead_id=lead_id, purpose="release", payload=jsonable(lead_update), now=now,
               seen_modstamp=modstamp)


def withdraw_held(conn: Connection, state: RoutingState, lead_id: str, reason: str, now: datetime, *,
                  converted: bool = False, lost: bool = False) -> set[str]:
    """Close the lead's live offer and its acceptance, barring nobody; the partners that
    held it. Only the end of an accepted lead — converted, or closed unconverted (`lost`)
    by the partner — counts on the partner's record."""
    held: set[str] = set()
    for offer in of.live_offers(conn, [lead_id]).values():
        end_offer(conn, state, offer, "closed", reason, now, outcome="withdrawn")
        if offer.get("partner_id"):
            held.add(offer["partner_id"])
    outcome = "closed" if converted else "lost" if lost else "withdrawn"
    for offer in of.every_accepted_offer(conn, lead_id):
        of.set_offer(conn, offer["id"], status="lost" if outcome == "lost" else "closed", closed_at=now,
                     close_reason=reason[:255])
        if offer.get("partner_id"):
            state.record_outcome(lead_id, offer["partner_id"], outcome, now)
            held.add(offer["partner_id"])
    return held


AGAIN = f"; {words.ROUTE_AGAIN}"  # a released lead's reason ends so, whole


def released_update(cx: Context, reason: str, *, partner_id: Any = ...,
                    rule: str = words.RELEASED_BY_PERSON) -> dict[str, Any]:
    """What the Lead shows once a person has it: Released, why, what released it (in
    Routing_Rule__c: the rule of the offer that is over decides nothing now), and no offer
    fields (no deadline ticking, no calendar it is counted in, no stale answer). `partner_id`:
    the partner to show, when the one we set no longer fits the owner (None clears it)."""
    again = f"; {words.ROUTE_AGAIN_UNTICKED}" if rule == words.RELEASED_BY_DO_NOT_ROUTE else AGAIN
    values: dict[str, Any] = {"routing_status": RoutingStatus.RELEASED.value,
                              "reason": clip(reason, REASON_MAX - len(again)) + again, "rule": rule,
                              "offered_at": None, "deadline": None, "calendar": None}
    if partner_id is not ...:
        values["partner_id"] = partner_id
    return cx.mappings.writeback(values) | cx.mappings.cleared_answer()


def put_back(cx: Context, conn: Connection, lead_id: str, *, owner_id: str | None, partner_id: str | None,
             status: RoutingStatus, reason: str, now: datetime, seen_modstamp: datetime | None,
             offer_id: int | None = None, clear_answer: bool = False) -> None:
    """Undo a move that does not stand (a barred partner's pick-up, a second pick-up, an
    outsider's answer): the owner goes back, and the Lead says what happened.
    `clear_answer`: the answer on the Lead (response, reason, code) is not the offered
    partner's; it is cleared so its reps can still answer."""
    values: dict[str, Any] = {"owner_id": owner_id, "partner_id": partner_id,
                              "routing_status": status.value, "reason": clip(reason)}
    if status is RoutingStatus.ACCEPTED:
        values["deadline"] = values["calendar"] = None  # no clock runs on an accepted lead
    payload = cx.mappings.writeback(values)
    if clear_answer:
        payload |= cx.mappings.cleared_answer()
    ob.add(conn, lead_id=lead_id, purpose="put_back", payload=jsonable(payload), now=now,
           seen_modstamp=seen_modstamp, offer_id=offer_id)

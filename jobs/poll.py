"""What a changed, already-known lead means, and carrying it out.

`classify` turns the lead as Salesforce now shows it (against what we last knew) into
one `rules.lifecycle.Event`: a partner's answer, a pool pick-up, a person taking over,
a conversion... `rules.lifecycle.step` says what that event does in the lead's state;
`carry_out` does it. The order of the checks in `classify` is the policy: a
conversion or a tick in Do_Not_Route__c ends everything; then the partner's answer;
then an owner nobody expected — a person — wins over the connector.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from jobs import lead_words as words
from jobs import incumbents, lifecycle
from jobs.owner_names import called as owner_names_called
from jobs.route import reason_read
from jobs.state import offers as of
from jobs.state import outbox as ob
from jobs.timeutil import parse_sf_datetime
from mappings import Unroutable
from rules import lifecycle as rl
from rules.lifecycle import Action, Event, Ignored, LeadState
from rules.explain import clip, quoted
from rules.model import Lead, Response, RoutingStatus
from rules.outcomes import POOL_OPEN, POOL_TAKEN
from rules.state import RoutingState, lead_domain

# a rejection answered without a reason, as the offer's close reason (recovery rebuilds the same)
NO_REASON = "no reason given"
ANSWERS = (Response.ACCEPTED.value, Response.REJECTED.value)
SAVED_BY = "LastModifiedById"  # read with every lead (read_fields)


def read_fields(mappings: Any) -> list[str]:
    """The Lead fields every read of leads asks for (REST, Bulk, the event stream's
    re-reads): the mapping's, who saved the lead last — an answer saved by a rep of a
    partner the lead is not offered to is not that partner's answer (Event.OUTSIDER_ANSWER) —
    and the reason the connector wrote (jobs/route.reason_read)."""
    fields = mappings.soql_fields("lead")
    # the reason: a lead `undo --apply` put back says so there, and is no new lead (not_ours)
    return list(dict.fromkeys([*fields, SAVED_BY, *filter(None, [reason_read(mappings)])]))


def rejection_words(lead: Lead, code: str | None = None) -> str:
    """The rep's reason for a rejection: the code picked from the restricted list and the
    words written beside it ("No capacity: two reps on leave"), as the portal component
    writes them in Rejection_Reason__c. A rep answering on the Lead's own page (a layout
    without the component, a hand-back of an accepted lead, which the component does not
    offer) picks the code in its own field and perhaps writes words: the code was read as no
    reason at all, and feedback (a "No capacity" throttles the partner, an "Out of territory"
    stops the area) never counted it. `code`: the one the answering rep set
    (jobs/answer_history.codes_given)."""
    return with_code(lead.rejection_reason, code)


def with_code(words: str | None, code: str | None) -> str:
    """A rejection's reason from its words (Rejection_Reason__c) and its code: "<code>: <words>",
    the words alone where they start with the code already (the portal component's), the
    code alone without words, NO_REASON without either. A state rebuilt from the org reads
    the same (jobs/recovery.py)."""
    words, code = (words or "").strip(), (code or "").strip()
    if not code or words.casefold().startswith(code.casefold()):
        return words or NO_REASON
    return clip(f"{code}: {words}" if words else code)

if TYPE_CHECKING:
    from jobs.context import Context


def wants_reroute(lead: Any, local: dict[str, Any]) -> bool:
    """Routing_Status__c reads Pending on a lead we know, changed since we last read it:
    somebody asking for it to be routed again (the connector itself never writes Pending).

    Only that explicit word counts. A blank status on a lead we released means we never
    wrote to it, and whatever else the person changed is theirs to keep."""
    if isinstance(lead, Unroutable) or lead.converted or lead.do_not_route:
        return False
    if lead.routing_status != RoutingStatus.PENDING.value:
        return False
    if not isinstance(rl.step(local["state"], Event.REROUTE_REQUESTED), rl.Step):
        return False
    seen = local.get("modstamp")
    return seen is None or (lead.modstamp is not None and lead.modstamp > seen)


def closed_unconverted(cx: Context, lead: Lead) -> bool:
    """Does the lead's Status say it was closed without a conversion (Closed - Not Converted)?"""
    return bool(lead.status) and lead.status in cx.settings.offers.closed_unconverted_statuses


def evaluate(cx: Context, conn: Connection, state: RoutingState, lead: Any, rec: dict[str, Any], local: dict[str, Any],
             live: dict[str, Any] | None, now: datetime, seen_only: list[dict[str, Any]] | None = None, *,
             asked: bool = False, first_taker: tuple[str, datetime] | None = None, by_rule: bool = False,
             answered_by: str | None = None, owner_set_by: str | None = None,
             owner_names: dict[str, str] | None = None, rejection_code: str | None = None,
             answered_at: datetime | None = None, picked_at: datetime | None = None) -> str:
    """`seen_only`: where to note leads that changed nothing of ours (the caller writes
    them in one statement per page); None writes each at once. `asked`: a person set the
    lead's Routing_Status__c to Pending (`wants_reroute`). `first_taker`: (rep, when) of
    another partner's rep who took this pool lead before its owner now did
    (jobs/pool_race.py). `answered_by`: who set the answer the lead holds (LeadHistory,
    jobs/answer_history.py); without it, whoever saved the lead last. `owner_set_by`: who set
    the owner it has, where another partner's rep owns it (LeadHistory, jobs/owner_history.py).
    `owner_names`: {user id: name} of new owners (jobs/owner_names.py), for the Lead to say who.
    `rejection_code`: the code from the restricted list the answering rep set with a rejection
    (LeadHistory, jobs/answer_history.codes_given). `answered_at`: when that answer was set, by
    Salesforce's clock (LeadHistory; unknown where the field's history is not tracked).
    `picked_at`: when the rep who owns a pool lead now took it (jobs/pool_race.picked_at)."""
    answerer = answered_by or rec.get(SAVED_BY)
    seen = parse_sf_datetime(rec.get("SystemModstamp"))
    if isinstance(lead, Unroutable):
        of.put_lead(conn, rec["Id"], now, modstamp=seen, record=rec)
        return "unreadable"
    event, who = classify(cx, conn, state, lead, local, live, asked=asked, saved_by=rec.get(SAVED_BY),
                          by_rule=by_rule, answered_by=answerer, owner_set_by=owner_set_by, now=now,
                          answered_at=answered_at, picked_at=picked_at)
    move = rl.step(local["state"], event) if event is not None else None
    pooled = live is not None and live["kind"] == "pool"
    if pooled:
        answered_at = picked_at or answered_at  # a pool lead is answered by taking it
    if first_taker is not None and pooled and (event is Event.POOL_PICKUP or event is Event.LAPSE) \
            and not after_deadline(live, first_taker[1]):
        first = cx.routing().rep_partner.get(first_taker[0])
        # a pick-up refused before (barred, or not admitted by the pool's rule) put it back: not first
        if first and first != who and first not in state.declined(lead.id) \
                and not not_admitted(cx, state, lead, live, first, now):
            return _first_taker_keeps(cx, conn, state, lead, rec, live, first_taker, first, who, seen, now)
    if move is None or isinstance(move, Ignored):
        if seen_only is None:
            of.put_lead(conn, lead.id, now, modstamp=seen, status=lead.status, record=rec)
        else:
            seen_only.append({"lead_id": lead.id, "modstamp": seen, "status": lead.status, "record": rec})
        return "unchanged" if event is None else f"ignored_{event.value}"
    done = carry_out(cx, conn, state, move, event, who, lead, rec, local, live, seen, now, answered_by=answerer,
                     owner_names=owner_names, rejection_code=rejection_code, answered_at=answered_at)
    if move.action is Action.SETTLE_ACCEPTED and closed_unconverted(cx, lead) \
            and of.get_leads(conn, [lead.id]).get(lead.id, {}).get("state") == LeadState.ACCEPTED.value:
        # accepted and closed in one save (and not handed down): the lead will not change
        # again to tell us, so the close is taken now, after the acceptance is written
        then = rl.step(LeadState.ACCEPTED, Event.CLOSED_UNCONVERTED)
        assert isinstance(then, rl.Step)
        done = carry_out(cx, conn, state, then, Event.CLOSED_UNCONVERTED, None, lead, rec,
                         {**local, "state": LeadState.ACCEPTED.value}, None, seen, now)
    return done


def classify(cx: Context, conn: Connection, state: RoutingState, lead: Lead, local: dict[str, Any],
             live: dict[str, Any] | None, *, asked: bool = False,
             saved_by: str | None = None, by_rule: bool = False,
             answered_by: str | None = None, owner_set_by: str | None = None,
             now: datetime | None = None, answered_at: datetime | None = None,
             picked_at: datetime | None = None) -> tuple[Event | None, str | None]:
    """The one event this change of the lead amounts to (None: nothing of ours changed),
    and the partner it concerns, when one does. A person's Pending outranks whatever else
    they changed in the same save (a new owner, the partner cleared): they asked for the
    lead to be routed again. `saved_by`: the lead's LastModifiedById. `by_rule`: the org's
    assignment rule set the lead's owner in that save (jobs/owner_history.py). `answered_by`:
    who set the answer the lead holds (LeadHistory), else `saved_by` — an answer is its
    setter's, whoever saved the lead after. `owner_set_by`: who set the owner it has
    (LeadHistory), else `saved_by` — a lead another partner's rep owns was taken by that rep
    only if that rep set the owner, not if a person of the org gave it to them. `now`: when a
    pool pick-up is held to the pool's rule (without it, every member's pick-up stands).
    `answered_at`, `picked_at`: when, by Salesforce's clock, the answer was set and the owner
    who holds a pool lead took it: either saved after the offer's deadline is a lapse."""
    if lead.converted:
        return Event.CONVERTED, None
    if lead.do_not_route:
        return Event.DO_NOT_ROUTE, None
    if asked:
        return Event.REROUTE_REQUESTED, None
    if local["state"] == LeadState.ACCEPTED.value and closed_unconverted(cx, lead):
        return Event.CLOSED_UNCONVERTED, None  # the partner's verdict: whatever else moved, the lead is over
    routing = cx.routing()
    owner = lead.owner_id
    owner_partner = routing.rep_partner.get(owner or "")
    answerer = answered_by or saved_by
    outsider = _outsider(routing, live, answerer) if lead.response in ANSWERS else None
    if outsider:
        # Only the offered partner's reps answer its offer. Salesforce's sharing keeps other
        # partners' reps off the lead unless the org opened it to them; then this answer is
        # theirs, not the partner's (and not a person of the org's).
        return Event.OUTSIDER_ANSWER, outsider
    outsider = _outsider(routing, live, owner_set_by or saved_by)
    if outsider and owner_partner == outsider and owner != _live_owner(live):
        return Event.OUTSIDER_ANSWER, outsider  # an outsider's rep took the lead: not a person's takeover
    if live is not None and live["kind"] == "pool":
        pool = routing.pools.get(live["queue_id"])
        if owner and owner == live["queue_id"]:
            # an answer in the response field, the lead left in the pool: a member's rep
            # rejecting it, or accepting it without taking it (a page layout without the
            # offer component); anyone else's was dealt with above
            member = routing.rep_partner.get(answerer or "") if pool and answerer in pool.member_rep_ids else None
            if member and lead.response == Response.REJECTED.value:
                return Event.REJECT, member
            if member and lead.response == Response.ACCEPTED.value:
                return _pickup(cx, state, lead, live, member, now, answered_at), member
            return None, None
        if owner_partner and (pool is None or owner in pool.member_rep_ids):
            return _pickup(cx, state, lead, live, owner_partner, now, picked_at or answered_at), owner_partner
        member = routing.rep_partner.get(saved_by or "") if pool and saved_by in pool.member_rep_ids else None
        if member and not owner_partner and by_rule:
            # a member's own save, and the org's assignment rule took the lead out of the pool
            if lead.response == Response.REJECTED.value:
                return Event.REJECT, member
            if lead.response == Response.ACCEPTED.value:
                return _pickup(cx, state, lead, live, member, now, answered_at), member
            return Event.ASSIGNED_BY_RULE, member
        return Event.PERSON_TAKES_OVER, None
    if live is not None:
        moved = bool(live.get("owner_id")) and owner != live["owner_id"]
        if moved and owner_partner != live["partner_id"]:
            if (not owner_partner and routing.rep_partner.get(saved_by or "") == live["partner_id"]
                    and by_rule):
                # the offered partner's own save, and the org's assignment rule moved the lead in
                # it: Salesforce's doing, not a person's; an answer in that save is the partner's
                if lead.response == Response.REJECTED.value:
                    return Event.REJECT, live["partner_id"]
                if lead.response == Response.ACCEPTED.value:
                    return (Event.LAPSE if after_deadline(live, answered_at) else Event.ACCEPT), live["partner_id"]
                return Event.ASSIGNED_BY_RULE, live["partner_id"]
            # Someone outside the partner took the lead: that outranks an answer given in
            # the same moment (an acceptance must not settle the lead on an admin).
            return Event.PERSON_TAKES_OVER, None
        if _partner_removed(cx, lead, live.get("partner_id")):
            return Event.PARTNER_REMOVED, None  # outranks an answer: the partner is off the lead
        if lead.response == Response.REJECTED.value:
            return Event.REJECT, live["partner_id"]
        if lead.response == Response.ACCEPTED.value:
            # the offer ended at its deadline: an acceptance saved after it finds it lapsed
            return (Event.LAPSE if after_deadline(live, answered_at) else Event.ACCEPT), live["partner_id"]
        if moved:
            return Event.PASSED_TO_COLLEAGUE, owner_partner
        return None, None
    if local["state"] == LeadState.ACCEPTED.value and lead.response == Response.REJECTED.value:
        # the accepting partner's rep hands the lead back; a Rejected set by anyone else (a
        # person of the org, another partner's rep) is not that partner's answer
        holder = (of.accepted_offers(conn, [lead.id]).get(lead.id) or {}).get("partner_id")
        saver = routing.rep_partner.get(answerer or "") if answerer else owner_partner
        if holder and owner_partner == holder and saver == holder:
            return Event.REJECT, holder
        if holder and saver == holder and not owner_partner and by_rule:
            return Event.REJECT, holder  # handed back in a save the assignment rule also moved
    if local["state"] == LeadState.ACCEPTED.value and lead.partner_id != owner_partner:
        accepted = of.accepted_offers(conn, [lead.id]).get(lead.id) or {}
        if owner_partner == accepted.get("partner_id") and _partner_removed(cx, lead, accepted.get("partner_id")):
            return Event.PARTNER_REMOVED, None
    if not owner or owner == local.get("owner_id") or not local.get("owner_id"):
        return None, None
    if local["state"] == LeadState.ACCEPTED.value:
        accepted = of.accepted_offers(conn, [lead.id]).get(lead.id) or {}
        if owner_partner and owner_partner == accepted.get("partner_id"):
            return Event.PASSED_TO_COLLEAGUE, owner_partner
        holder = accepted.get("partner_id")
        if (holder and not owner_partner and routing.rep_partner.get(saved_by or "") == holder
                and by_rule):
            return Event.ASSIGNED_BY_RULE, holder
        pool = routing.pools.get(accepted.get("queue_id") or "")
        if accepted.get("kind") == "pool" and owner_partner and pool is not None and owner in pool.member_rep_ids:
            return Event.SECOND_PICKUP, owner_partner
    return Event.PERSON_TAKES_OVER, None


def _in_time(answered_at: datetime | None, seen: datetime | None) -> datetime | None:
    """When the rep answered (the answer's Lead History row), for a partner's time to answer:
    not when the connector happened to read it. Never after the save that brought it."""
    return answered_at if answered_at is not None and seen is not None and answered_at <= seen else None


def after_deadline(live: dict[str, Any], answered_at: datetime | None) -> bool:
    """Was the answer saved after the offer's deadline, both by Salesforce's clock? An offer
    with no deadline (no clock runs on it) or an answer of unknown time is in time."""
    deadline = live.get("deadline")
    return deadline is not None and answered_at is not None and answered_at > deadline


def _pickup(cx: Context, state: RoutingState, lead: Lead, live: dict[str, Any], partner: str,
            now: datetime | None, at: datetime | None = None) -> Event:
    """A pool member's pick-up: saved after the pool's deadline (`at`, by Salesforce's clock:
    the pool's offer had lapsed), barred (it rejected the lead or let it lapse), not admitted
    by the pool's rule for this lead, or the partner's."""
    if after_deadline(live, at):
        return Event.LAPSE
    if partner in state.declined(lead.id):
        return Event.BARRED_PICKUP
    if now is not None and not_admitted(cx, state, lead, live, partner, now):
        return Event.UNADMITTED_PICKUP
    return Event.POOL_PICKUP


def not_admitted(cx: Context, state: RoutingState, lead: Lead, live: dict[str, Any], partner: str | None,
                 now: datetime) -> str | None:
    """Why the rule that pooled the lead does not admit this member for it (coverage,
    certification, another partner's registered deal, its capacity…), or None: it does, or the
    offer names no rule the book still has."""
    rule = live.get("rule")
    if not rule or not partner:
        return None
    return cx.routing().router.admits(lead, rule, partner, state, now)


def _outsider(routing, live: dict[str, Any] | None, saved_by: str | None) -> str | None:
    """The partner of the rep who saved the lead, when that partner is not the one the live
    offer is for (for a pool: not one of its members); None otherwise, and for a save by
    anyone who is not a partner rep (the org's people answer on a partner's behalf)."""
    partner = routing.rep_partner.get(saved_by or "")
    if live is None or not partner:
        return None
    if live["kind"] != "pool":
        return partner if partner != live["partner_id"] else None
    pool = routing.pools.get(live["queue_id"])
    if pool is None:
        return None
    members = {routing.rep_partner.get(r) for r in pool.member_rep_ids}
    return partner if partner not in members else None


def _live_owner(live: dict[str, Any] | None) -> str | None:
    """Who owns the lead while the offer runs: the pool's queue, else the offered rep."""
    if live is None:
        return None
    return live["queue_id"] if live["kind"] == "pool" else (live.get("owner_id") or live.get("rep_id"))


def _partner_removed(cx: Context, lead: Lead, ours: str | None) -> bool:
    """Is the partner we set on the lead (`ours`) no longer its PartnerAccountId? Only where
    the mappings both write and read that field: else the Lead never shows our partner."""
    if not ours or lead.partner_id == ours:
        return False
    field = cx.mappings.writeback_fields().get("partner_id")
    return bool(field) and field in cx.mappings.soql_fields("lead")


def carry_out(cx: Context, conn: Connection, state: RoutingState, move: rl.Step, event: Event, who: str | None, lead: Lead,
              rec: dict[str, Any], local: dict[str, Any], live: dict[str, Any] | None, seen: datetime | None,
              now: datetime, *, answered_by: str | None = None, owner_names: dict[str, str] | None = None,
              rejection_code: str | None = None, answered_at: datetime | None = None) -> str:
    """`answered_by`: who set the answer the lead holds (else whoever saved it last).
    `owner_names`: {user id: name}, for a takeover's reason to name the new owner.
    `rejection_code`: the rejecting rep's code from the restricted list (`rejection_words`)."""
    routing = cx.routing()
    answerer = answered_by or rec.get(SAVED_BY)
    action = move.action
    if action is Action.ROUTE:
        decision = lifecycle.reroute(cx, conn, state, lead, record=rec, seen_modstamp=seen, now=now)
        return f"rerouted_{decision.kind.value}"
    if action is Action.CLOSE:
        lifecycle.release(conn, state, lead.id, move.why, now, final_state=move.to or LeadState.CLOSED, modstamp=seen,
                          converted=event is Event.CONVERTED, lost=event is Event.CLOSED_UNCONVERTED)
        return event.value if event is Event.CLOSED_UNCONVERTED else f"closed_{event.value}"
    if action is Action.RELEASE:
        reason = _takeover_reason(routing, event, lead, now, owner_names)
        keep_partner = ...
        owner_partner = routing.rep_partner.get(lead.owner_id or "")
        if owner_partner:
            # a partner rep owns it now: the Lead names that rep's partner, whoever set it
            if lead.partner_id != owner_partner:
                keep_partner = owner_partner
        elif lead.partner_id and lead.partner_id == _our_partner(conn, lead.id, live):
            keep_partner = None  # the partner we set does not fit an internal owner
        lifecycle.release(conn, state, lead.id, reason, now, modstamp=seen,
                          lead_update=lifecycle.released_update(cx, reason, partner_id=keep_partner,
                                                                rule=_released_by(event)))
        return f"released_{event.value}"
    if action is Action.FOLLOW_OWNER:
        if live is not None:
            of.set_offer(conn, live["id"], owner_id=lead.owner_id)
        of.put_lead(conn, lead.id, now, owner_id=lead.owner_id, modstamp=seen, status=lead.status, record=rec)
        return "reassigned_within_partner"
    if action is Action.SETTLE_ACCEPTED:
        assert live is not None
        # accepted in the field with the lead left in the queue, or moved off the partner by the
        # org's assignment rule in the same save: the rep who saved it takes it
        off_partner = lead.owner_id == live.get("queue_id") or not routing.rep_partner.get(lead.owner_id or "")
        taker = answerer if off_partner and answerer else lead.owner_id
        return _accept(cx, conn, state, lead, rec, live, taker, who, seen, now,
                       via_pool=event is Event.POOL_PICKUP, shown=local.get("reason"),
                       answered=_in_time(answered_at, seen))
    if action is Action.DECLINE_IN_POOL:
        assert live is not None and who is not None
        declined = rejection_words(lead, rejection_code)
        # a decline on the member's track record, as a pushed offer's is (the pool's offer runs on)
        at = _in_time(answered_at, seen) or now
        hours = max(0.0, (at - live["offered_at"]).total_seconds() / 3600) if live.get("offered_at") else None
        state.record_outcome(lead.id, who, "rejected", now, response_hours=hours)
        of.exclude(conn, lead.id, who, "rejected", declined, now)
        # Every pool member reads this reason: it names no partner.
        why = (f"a partner of the pool declined it at {(seen or now):%Y-%m-%d %H:%M} UTC; "
               "the other partners of the pool can still take it")
        lifecycle.put_back(cx, conn, lead.id, owner_id=live["queue_id"], partner_id=None, status=RoutingStatus.OFFERED,
                           reason=why, now=now, seen_modstamp=seen, offer_id=live["id"], clear_answer=True)
        of.put_lead(conn, lead.id, now, modstamp=seen, status=lead.status, record=rec, reason=why[:255])
        cx.log(lead_id=lead.id).info("pool_member_declined", partner_id=who, reason=declined)
        return "declined_in_pool"
    if action is Action.REDISTRIBUTE and event is Event.LAPSE:
        assert live is not None and live.get("deadline") is not None and answered_at is not None
        return _answered_too_late(cx, conn, state, lead, rec, live, answered_by, answered_at, seen, now)
    if action is Action.REDISTRIBUTE:
        assert event is Event.REJECT
        reason = rejection_words(lead, rejection_code)
        if live is None:
            return _handed_back(cx, conn, state, lead, rec, who, reason, seen, now)
        lifecycle.end_offer(conn, state, live, "rejected", reason, now, outcome="rejected",
                            answered=_in_time(answered_at, seen))
        decision = lifecycle.redistribute(cx, conn, state, lead, attempt=live["attempt"] + 1,
                                          why=f"rejected by {_name(routing, live['partner_id'])}: {reason}",
                                          record=rec, seen_modstamp=seen, now=now,
                                          moved=f"offer {live['attempt']} was rejected")
        return f"rejected_then_{decision.kind.value}"
    if action is Action.BACK_TO_POOL:
        assert live is not None
        # Pool members read this reason: it names no partner (partner isolation).
        why = ("a pick-up by a partner barred from this lead (it rejected it or let it lapse before) was undone; "
               "back in the pool for the other partners")
        # the pick-up's Accepted is cleared too: the other members' offer component offers the lead again
        lifecycle.put_back(cx, conn, lead.id, owner_id=live["queue_id"], partner_id=None,
                           status=RoutingStatus.OFFERED, reason=why, now=now, seen_modstamp=seen, offer_id=live["id"],
                           clear_answer=True)
        of.put_lead(conn, lead.id, now, modstamp=seen, status=lead.status, record=rec, reason=why[:255])
        cx.log(lead_id=lead.id).info("pickup_refused_barred", partner_id=who)
        return "pickup_refused_barred"
    if action is Action.REFUSE_ANSWER and event is Event.UNADMITTED_PICKUP:
        assert live is not None
        why_not = not_admitted(cx, state, lead, live, who, now) or "not admitted"
        taker = lead.owner_id if routing.rep_partner.get(lead.owner_id or "") == who else answerer
        # Every pool member reads this reason: it names the rule and the criterion, not the partner.
        why = (f"a pick-up at {(seen or now):%Y-%m-%d %H:%M} UTC by a partner the rule {quoted(live.get('rule'))} does not "
               f"admit for this lead ({why_not}) was undone; back in the pool for the partners it admits")
        lifecycle.put_back(cx, conn, lead.id, owner_id=live["queue_id"], partner_id=None,
                           status=RoutingStatus.OFFERED, reason=why, now=now, seen_modstamp=seen, offer_id=live["id"],
                           clear_answer=True)
        of.put_lead(conn, lead.id, now, modstamp=seen, status=lead.status, record=rec, reason=why[:255])
        # info, as a barred partner's: the Lead says it, and a pool open to more members than its
        # rule admits makes it routine (the README's advice on membership; validate names them)
        cx.log(lead_id=lead.id).info("pickup_refused_not_admitted", partner_id=who, taken_by=taker,
                                     rule=live.get("rule"), why=why_not)
        return "pickup_refused_not_admitted"
    if action is Action.REFUSE_ANSWER:
        assert live is not None
        pool = live["kind"] == "pool"
        at = seen or now
        # Both partners' reps may read this reason: it names neither.
        why = (f"an answer or pick-up saved at {at:%Y-%m-%d %H:%M} UTC by a rep of a partner this lead is not "
               f"offered to was not taken; {'back in the pool' if pool else 'the offer stands'}")
        lifecycle.put_back(cx, conn, lead.id, owner_id=_live_owner(live), partner_id=None if pool else live["partner_id"],
                           status=RoutingStatus.OFFERED, reason=why, now=now, seen_modstamp=seen, offer_id=live["id"],
                           clear_answer=True)
        of.put_lead(conn, lead.id, now, modstamp=seen, status=lead.status, record=rec, reason=why[:255])
        cx.log(lead_id=lead.id).warning("answer_not_taken", saved_by=answerer, saved_by_partner_id=who,
                                        last_saved_by=rec.get(SAVED_BY),
                                        offered_to=live["queue_id"] if pool else live["partner_id"],
                                        response=lead.response, owner_id=lead.owner_id)
        return "outsider_answer_refused"
    if action is Action.OWNER_BACK:
        at = seen or now
        if live is not None:
            pool = live["kind"] == "pool"
            owner_id, partner_id, status, offer_id = (_live_owner(live), None if pool else live["partner_id"],
                                                      RoutingStatus.OFFERED, live["id"])
        else:
            accepted = of.accepted_offers(conn, [lead.id]).get(lead.id) or {}
            owner_id, partner_id, status, offer_id = (local.get("owner_id") or accepted.get("accepted_by"),
                                                      accepted.get("partner_id"), RoutingStatus.ACCEPTED,
                                                      accepted.get("id"))
        # the partner's reps read it: it names no one
        why = (f"Salesforce's lead assignment rule moved this lead when the partner's rep saved it at "
               f"{at:%Y-%m-%d %H:%M} UTC (an API save without Sforce-Auto-Assign: FALSE); the owner was put back"
               + ("; the offer stands" if live is not None else ""))
        lifecycle.put_back(cx, conn, lead.id, owner_id=owner_id, partner_id=partner_id, status=status, reason=why,
                           now=now, seen_modstamp=seen, offer_id=offer_id)
        of.put_lead(conn, lead.id, now, modstamp=seen, status=lead.status, record=rec, reason=why[:255])
        cx.log(lead_id=lead.id).warning("owner_put_back_after_assignment_rule", saved_by=rec.get(SAVED_BY),
                                        rule_owner=lead.owner_id, owner_id=owner_id,
                                        fix="a partner integration saving leads through the API should send the "
                                            "header Sforce-Auto-Assign: FALSE")
        return "owner_back_after_assignment_rule"
    if action is Action.BACK_TO_FIRST_TAKER:
        accepted = of.accepted_offers(conn, [lead.id]).get(lead.id) or {}
        first, first_partner = local.get("owner_id"), accepted.get("partner_id")
        taken = accepted.get("accepted_at") or now
        why = (f"taken from the pool first at {taken:%Y-%m-%d %H:%M} UTC; a later pick-up by another partner's "
               "rep was undone")  # names no partner: both partners' reps can read it
        lifecycle.put_back(cx, conn, lead.id, owner_id=first, partner_id=first_partner,
                           status=RoutingStatus.ACCEPTED, reason=why, now=now, seen_modstamp=seen,
                           offer_id=accepted.get("id"))
        of.put_lead(conn, lead.id, now, modstamp=seen, status=lead.status, record=rec, reason=why[:255])
        cx.log(lead_id=lead.id).info("second_pickup_undone", first_partner_id=first_partner, second_partner_id=who)
        return "second_pickup_undone"
    raise AssertionError(f"{action} for {event} is not carried out by the lead stream")  # a table/jobs mismatch


def _first_taker_keeps(cx: Context, conn, state, lead: Lead, rec, live, first_taker: tuple[str, datetime],
                       first_partner: str, second_partner: str | None, seen, now) -> str:
    """Both picked the pool lead up between two reads: the first taker's pick-up is the one
    that counts, and the later one is undone, as when the two are read apart."""
    rep, taken_at = first_taker
    _accept(cx, conn, state, lead, rec, live, rep, first_partner, seen, now, via_pool=True, answered=taken_at)
    why = (f"taken from the pool first at {taken_at:%Y-%m-%d %H:%M} UTC; a later pick-up by another partner's "
           "rep was undone")  # names no partner: both partners' reps can read it
    lifecycle.put_back(cx, conn, lead.id, owner_id=rep, partner_id=first_partner, status=RoutingStatus.ACCEPTED,
                       reason=why, now=now, seen_modstamp=seen, offer_id=live["id"])
    of.put_lead(conn, lead.id, now, owner_id=rep, modstamp=seen, status=lead.status, record=rec, reason=why[:255])
    cx.log(lead_id=lead.id).info("second_pickup_undone", first_partner_id=first_partner,
                                 second_partner_id=second_partner, same_read=True)
    return "second_pickup_undone"


def _accept(cx: Context, conn, state, lead: Lead, rec, offer, owner, partner_id, seen, now, *, via_pool: bool,
            shown: str | None = None, answered: datetime | None = None) -> str:
    """`shown`: the reason the Lead shows (as the state last wrote it). `answered`: when
    the rep took it, where the lead's SystemModstamp is a later save's."""
    lifecycle.end_offer(conn, state, offer, "accepted", "accepted", now, outcome=None)
    # when the rep answered (the lead's SystemModstamp), not when we happened to read it
    answered = answered or (min(now, seen) if seen is not None else now)
    of.set_offer(conn, offer["id"], accepted_at=answered, accepted_by=owner, partner_id=partner_id)
    if partner_id:
        hours = max(0.0, (answered - offer["offered_at"]).total_seconds() / 3600)
        state.record_outcome(lead.id, partner_id, "accepted", now, response_hours=hours)
        if via_pool:
            state.record_held(lead.id, partner_id)
        if incumbents.wanted(cx.book):
            # the partner works this company now: a rule that prefers incumbents offers it the next lead of it
            state.set_incumbent(partner_id, company=lead.company, domain=lead_domain(lead), at=answered)
    of.put_lead(conn, lead.id, now, state=LeadState.ACCEPTED.value, owner_id=owner, modstamp=seen,
                status=lead.status, record=rec, reason="accepted")
    # no clock runs on an accepted lead: a deadline left on it read, in an admin's list
    # view or report, as an offer still waiting (or long overdue)
    # nor a calendar it is counted in (Offer_Calendar__c is the window's, and the window is over)
    values: dict[str, Any] = {"routing_status": RoutingStatus.ACCEPTED.value, "deadline": None, "calendar": None}
    if via_pool and partner_id:
        values["partner_id"] = partner_id  # who picked it from the pool
    if owner and owner != lead.owner_id:
        # accepted in the field, left in the queue (or moved off by the assignment rule): the rep takes it
        values["owner_id"] = owner
    # a put-back since the offer (a member's decline, a refused pick-up or outsider's answer)
    # left words that no longer hold ("can still take it", "the offer stands"): the offer's own
    # reason, why this partner has the lead, is what the Lead says once it is accepted
    offered = ob.offer_reason(conn, lead.id, offer.get("attempt")) if shown is not None or via_pool else None
    if via_pool:
        # taken from the pool: it is open to the others no more, and the pool offer's words
        # ("… may pull it") would say it is; the Lead says when it was taken, and the offer in the past
        said = (offered or shown or "").replace(POOL_OPEN, POOL_TAKEN)
        values["reason"] = clip(f"taken from the pool at {answered:%Y-%m-%d %H:%M} UTC" + (f"; {said}" if said else ""))
    elif offered and offered != (shown or "")[:255]:
        values["reason"] = offered
    ob.add(conn, lead_id=lead.id, purpose="accept", payload=lifecycle.jsonable(cx.mappings.writeback(values)),
           now=now, seen_modstamp=seen, offer_id=offer["id"])
    if not via_pool and lifecycle.is_distributor(cx, partner_id):
        # Multi-tier: the distributor took it; one of its resellers is offered it next
        # (superseding the write above). If none qualifies, the distributor keeps it.
        # The hand-down is one more offer of this lead: it counts against max_attempts.
        accepted = of.get_offer(conn, offer["id"])
        decision = lifecycle.hand_down(cx, conn, state, lead, accepted, attempt=offer["attempt"] + 1, why=None,
                                       record=rec, seen_modstamp=seen, now=now)
        return f"accepted_then_hand_down_{decision.kind.value}"
    return "accepted_from_pool" if via_pool else "accepted"


def _handed_back(cx: Context, conn, state, lead: Lead, rec, partner_id, reason: str, seen, now) -> str:
    """The partner's rep rejected a lead the partner had accepted: its acceptance ends as a
    rejection with the rep's reason (feedback and the track record read it as one), the
    partner is barred, and the lead goes to the next partner (a reseller's goes back into
    its distributor's hand-down), as an offer rejected would."""
    accepted = of.accepted_offers(conn, [lead.id]).get(lead.id)
    if accepted is None or accepted.get("partner_id") != partner_id:
        return "unchanged"
    answered = min(now, seen) if seen is not None else now
    of.set_offer(conn, accepted["id"], status="rejected", closed_at=answered,
                 close_reason=f"handed back after accepting: {reason}"[:255])
    state.record_outcome(lead.id, partner_id, "rejected", now)
    of.exclude(conn, lead.id, partner_id, "rejected", reason, now)
    decision = lifecycle.redistribute(cx, conn, state, lead, attempt=accepted["attempt"] + 1,
                                      why=f"handed back by {_name(cx.routing(), partner_id)} after accepting it: {reason}",
                                      record=rec, seen_modstamp=seen, now=now,
                                      moved=f"offer {accepted['attempt']} was accepted, then handed back")
    cx.log(lead_id=lead.id).info("accepted_lead_handed_back", partner_id=partner_id, reason=reason,
                                 then=decision.kind.value)
    return f"handed_back_then_{decision.kind.value}"


def _our_partner(conn, lead_id: str, live: dict[str, Any] | None) -> str | None:
    """The partner the connector put on the lead: the live offer's, else the accepted one's."""
    if live is not None:
        return live.get("partner_id")
    return (of.accepted_offers(conn, [lead_id]).get(lead_id) or {}).get("partner_id")


def _released_by(event: Event) -> str:
    """Routing_Rule__c of a released lead: what released it."""
    return words.RELEASED_BY_DO_NOT_ROUTE if event is Event.DO_NOT_ROUTE else words.RELEASED_BY_PERSON


def _takeover_reason(routing, event: Event, lead: Lead, now: datetime, owner_names: dict[str, str] | None = None) -> str:
    if event is Event.DO_NOT_ROUTE:
        return words.DO_NOT_ROUTE_TICKED
    if event is Event.PARTNER_REMOVED:
        now_on = f"set to {_name(routing, lead.partner_id, owner_names)}" if lead.partner_id else "cleared"
        why = f"taken over by a person: the partner account was {now_on} at {now:%Y-%m-%d %H:%M} UTC"
        owner_partner = routing.rep_partner.get(lead.owner_id or "")
        if owner_partner:  # the Lead names the owner's partner (see RELEASE): say how to take it off
            why += f"; a rep of {_name(routing, owner_partner)} still owns it: change the owner to take it off them"
        return why
    partner = routing.rep_partner.get(lead.owner_id or "")
    whom = owner_names_called(lead.owner_id, {**_rep_names(routing, partner), **(owner_names or {})})
    if partner:
        whom = f"{whom}, a rep of {_name(routing, partner)},"
    return f"taken over by a person: owner set to {whom} at {now:%Y-%m-%d %H:%M} UTC"


def _rep_names(routing, partner_id: str | None) -> dict[str, str]:
    """{rep id: name} of a partner's reps, as the partner snapshot has them."""
    p = routing.partners.get(partner_id or "")
    return {r.id: r.name for r in (p.reps if p else ()) if r.name}


def _name(routing, partner_id: str | None, names: dict[str, str] | None = None) -> str:
    """A partner as the Lead names it: its name from the snapshot, else the Account's Name read
    with the page (`names`: jobs/owner_names.py), its Id only when no name could be read."""
    if not partner_id:
        return str(partner_id)
    return routing.partner_name(partner_id) or owner_names_called(partner_id, names)


def _answered_too_late(cx: Context, conn: Connection, state: RoutingState, lead: Lead, rec: dict[str, Any],
                       live: dict[str, Any], answered_by: str | None, answered_at: datetime,
                       seen: datetime | None, now: datetime) -> str:
    """An acceptance (or a pool lead's pick-up) saved after the offer's deadline: the offer
    lapsed at its deadline, as the expire job would have lapsed it had it looked first. The
    lead moves on as from any lapse, and the Lead says the answer came too late (naming no
    partner: the next one reads it)."""
    pool = live["kind"] == "pool"
    name = "the pool" if pool else cx.routing().partner_name(live["partner_id"]) or live["partner_id"]
    answer = "a pick-up" if pool else "an answer"
    why = (f"offer to {name} lapsed at {live['deadline']:%Y-%m-%d %H:%M} UTC; "
           f"{'a pick-up' if pool else 'its acceptance'} saved at {answered_at:%Y-%m-%d %H:%M} UTC came after")
    lifecycle.end_offer(conn, state, live, "lapsed", why, now, outcome="lapsed")
    cx.log(lead_id=lead.id).info("late_answer_not_taken", partner_id=live["partner_id"], queue_id=live.get("queue_id"),
                                 saved_by=answered_by, owner_id=lead.owner_id, response=lead.response,
                                 answered_at=str(answered_at), deadline=str(live["deadline"]))
    decision = lifecycle.redistribute(cx, conn, state, lead, attempt=live["attempt"] + 1, why=why, record=rec,
                                      seen_modstamp=seen, now=now,
                                      moved=f"offer {live['attempt']} lapsed unanswered; "
                                            f"{answer} saved after it lapsed was not taken")
    return "escalated" if decision.kind.value == "escalate" else "redistributed"

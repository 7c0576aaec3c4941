"""A routed lead's lifecycle, defined once: states × events → what happens, and why not.

Every state a lead can be in for us, every event the org (or the clock) can bring,
and for each pair either a `Step` — the next state, what the connector does, and what
the Lead then shows — or an `Ignored` with the reason it changes nothing. The jobs
classify what they see into an `Event`, ask `step(state, event)`, and carry the
answer out; they do not decide transitions themselves. `docs/LIFECYCLE.md` is
generated from this table (`table_markdown()`), and a test checks every cell is one
or the other.

Pools and hand-downs are offer targets like partners: a target that rejected or let
an offer lapse is barred from that lead for good, whichever way it would come back
(another rule, a pool pick-up, a hand-down).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from rules.model import DecisionKind, RoutingStatus


class LeadState(str, Enum):
    """Where a lead stands for the connector (the state database's `leads.state`)."""

    OFFERED = "offered"  # a live offer to one partner (a rep inside it)
    POOLED = "pooled"  # a live offer to a pool queue several partners pull from
    ACCEPTED = "accepted"  # a partner works it
    ESCALATED = "escalated"  # in the escalation queue: a channel manager decides
    FALLBACK = "fallback"  # in a rule's fallback queue: nobody matched
    UNROUTABLE = "unroutable"  # cannot be routed as it is (bad data, a gate); a person fixes it
    RELEASED = "released"  # a person took it over (or ticked Do_Not_Route__c): hands off
    CLOSED = "closed"  # converted, deleted or merged: nothing left to do


class Event(str, Enum):
    """What the lead stream, the clock or a partner sync can tell about a known lead."""

    ACCEPT = "accept"  # the offered partner's rep answered Accepted
    REJECT = "reject"  # the offered partner's rep answered Rejected (with a reason)
    LAPSE = "lapse"  # the offer's deadline passed unanswered
    POOL_PICKUP = "pool_pickup"  # a rep of an eligible pool member took the lead from the queue
    BARRED_PICKUP = "barred_pickup"  # a rep of a partner barred from this lead took it from the pool
    # a rep of a pool member the pool's rule does not admit for this lead (coverage, certification,
    # another partner's registered deal, its capacity…) took it from the pool, or accepted it there
    UNADMITTED_PICKUP = "unadmitted_pickup"
    SECOND_PICKUP = "second_pickup"  # a rep of another partner took a pool lead someone already took
    PASSED_TO_COLLEAGUE = "passed_to_colleague"  # the owner moved to another rep of the same partner
    OUTSIDER_ANSWER = "outsider_answer"  # a rep of a partner the lead is not offered to answered it or took it
    PERSON_TAKES_OVER = "person_takes_over"  # the owner moved to someone who is not the partner's
    # the org's lead assignment rule moved the lead in a save by the holding partner's own rep, with
    # no answer in it (an API save without Sforce-Auto-Assign: FALSE: REST runs the rule by default)
    ASSIGNED_BY_RULE = "assigned_by_rule"
    PARTNER_REMOVED = "partner_removed"  # a person cleared (or changed) the PartnerAccountId we set
    DO_NOT_ROUTE = "do_not_route"  # a person ticked Do_Not_Route__c
    REROUTE_REQUESTED = "reroute_requested"  # a person (LeadHistory: not us) set Routing_Status__c back to Pending
    CONVERTED = "converted"
    CLOSED_UNCONVERTED = "closed_unconverted"  # the lead's Status became a closed, unconverted one (Closed - Not Converted)
    DELETED = "deleted"  # deleted or merged into another lead (both leave the org's Lead table)
    PARTNER_PAUSED = "partner_paused"  # the partner paused routing after this offer was made
    REP_DEACTIVATED = "rep_deactivated"  # the offered rep was deactivated after this offer was made
    DEAL_REGISTRATION = "deal_registration"  # a registration for the lead's company appeared
    UNTOUCHED = "untouched"  # accepted long ago and never worked: reclaim (when configured)


class Action(str, Enum):
    """What the connector does. The jobs carry each out in one transaction."""

    SETTLE_ACCEPTED = "settle_accepted"  # close the offer as accepted; the Lead says Accepted
    HAND_DOWN = "hand_down"  # the accepting partner is a distributor: offer to one of its resellers
    REDISTRIBUTE = "redistribute"  # bar the target, decide again at attempt + 1 (or escalate)
    REDECIDE = "redecide"  # withdraw the offer (nobody declined) and decide again at the same attempt
    BACK_TO_POOL = "back_to_pool"  # the pick-up does not stand: owner back to the pool queue, with why
    BACK_TO_FIRST_TAKER = "back_to_first_taker"  # owner back to the rep who took it first, with why
    FOLLOW_OWNER = "follow_owner"  # keep the offer, note the new owner (same partner)
    DECLINE_IN_POOL = "decline_in_pool"  # bar the declining pool member (its reason counts in feedback); the others may take it
    REFUSE_ANSWER = "refuse_answer"  # the answer or pick-up does not stand: answer cleared, owner back, with why
    OWNER_BACK = "owner_back"  # the owner put back where the offer or acceptance has it, with why; nothing else
    RELEASE = "release"  # end our interest; the Lead says a person has it (Released) and offer fields clear
    CLOSE = "close"  # end our interest without writing (the lead is gone or converted)
    ROUTE = "route"  # withdraw any live offer or acceptance (no bar), decide afresh at attempt 1, saying why


@dataclass(frozen=True)
class Step:
    """A transition: the lead's next state for us, the action, and what the Lead shows."""

    to: LeadState | None  # None: the action decides (a redistribution may offer, pool or escalate)
    action: Action
    status: RoutingStatus | None  # Routing_Status__c afterwards; None: the action's decision sets it
    why: str  # one line, for the generated table and the reason written on the Lead

    @property
    def writes(self) -> bool:
        return self.action is not Action.CLOSE


@dataclass(frozen=True)
class Ignored:
    """A pair that changes nothing, and the reason it does not."""

    why: str


_LIVE = (LeadState.OFFERED, LeadState.POOLED)

# The Lead's Routing_Status__c for each decision kind, when a decision is written.
DECISION_STATUS = {
    DecisionKind.OFFER: RoutingStatus.OFFERED,
    DecisionKind.POOL: RoutingStatus.OFFERED,
    DecisionKind.ESCALATE: RoutingStatus.ESCALATED,
    DecisionKind.FALLBACK: RoutingStatus.FALLBACK,
    DecisionKind.UNROUTABLE: RoutingStatus.UNROUTABLE,
}
# ... and the state the lead is then in for us.
DECISION_STATE = {
    DecisionKind.OFFER: LeadState.OFFERED,
    DecisionKind.POOL: LeadState.POOLED,
    DecisionKind.ESCALATE: LeadState.ESCALATED,
    DecisionKind.FALLBACK: LeadState.FALLBACK,
    DecisionKind.UNROUTABLE: LeadState.UNROUTABLE,
}
LIVE_STATES = frozenset(_LIVE)
# States a person can send back to routing by setting Routing_Status__c to Pending.
REROUTABLE_STATES = frozenset(s for s in LeadState if s is not LeadState.CLOSED)

_RELEASE = Step(LeadState.RELEASED, Action.RELEASE, RoutingStatus.RELEASED,
                "a person took the lead over; the connector stops and the Lead says so")
_HANDS_OFF = Step(LeadState.RELEASED, Action.RELEASE, RoutingStatus.RELEASED,
                  "Do_Not_Route__c ticked: the connector stops and the Lead says so")
_CONVERTED = Step(LeadState.CLOSED, Action.CLOSE, None, "converted: the lead's journey is over")
_GONE = Step(LeadState.CLOSED, Action.CLOSE, None, "deleted or merged in Salesforce: nothing to write to")
# Released, not closed: the partner's verdict ends our interest, but a person who reopens the
# lead can still ask for it to be routed again (Pending).
_CLOSED_UNCONVERTED = Step(LeadState.RELEASED, Action.CLOSE, None,
                           "the partner closed the accepted lead without converting it: its place in the partner's "
                           "capacity frees up and it counts as lost (not a conversion, no bar); nothing is written, "
                           "the Lead's Status says it")
_REROUTE = Step(None, Action.ROUTE, None, "a person asked for routing again (Pending): routed afresh, attempt 1")
_REROUTE_HELD = Step(None, Action.ROUTE, None,
                     "a person asked for routing again (Pending): the Lead must not keep saying Pending while the "
                     "offer or acceptance runs on, so it is withdrawn (nobody declined: no bar, nothing on the "
                     "partner's record) and the lead routed afresh, attempt 1, past the partner that held it")
_PARTNER_REMOVED = Step(LeadState.RELEASED, Action.RELEASE, RoutingStatus.RELEASED,
                        "a person took the partner we set off the Lead: that is taking the lead over (an answer "
                        "after it must not settle a lead with no partner); hands off, the Lead says so and names "
                        "the owner's partner while a rep of it still owns the lead")


_BY_RULE = ("the org's lead assignment rule moved the lead when the holding partner's own rep saved it (an API "
            "save without Sforce-Auto-Assign: FALSE runs it; LeadHistory says ownerAssignment): Salesforce's doing, "
            "not a person taking it over; ")


def _table() -> dict[tuple[LeadState, Event], Step | Ignored]:
    t: dict[tuple[LeadState, Event], Step | Ignored] = {}
    s, e = LeadState, Event
    for state in s:
        # what holds for every state unless overridden below
        t[state, e.CONVERTED] = _CONVERTED
        t[state, e.DELETED] = _GONE
        t[state, e.DO_NOT_ROUTE] = _HANDS_OFF
        t[state, e.PERSON_TAKES_OVER] = _RELEASE
        t[state, e.REROUTE_REQUESTED] = _REROUTE
        t[state, e.PARTNER_REMOVED] = Ignored("no partner of ours is on the lead: the partner field is the person's")
        for ev in (e.ACCEPT, e.REJECT, e.LAPSE):
            t[state, ev] = Ignored("no offer is live: an answer or a deadline only counts on a live offer")
        for ev in (e.POOL_PICKUP, e.BARRED_PICKUP, e.UNADMITTED_PICKUP, e.SECOND_PICKUP):
            t[state, ev] = Ignored("the lead is not in a pool")
        t[state, e.PASSED_TO_COLLEAGUE] = Ignored("no partner holds the lead")
        t[state, e.OUTSIDER_ANSWER] = Ignored("no offer is live: an answer or a deadline only counts on a live offer")
        t[state, e.PARTNER_PAUSED] = Ignored("no live offer to withdraw")
        t[state, e.REP_DEACTIVATED] = Ignored("no live offer to withdraw")
        t[state, e.DEAL_REGISTRATION] = Ignored(
            "decided already; a registration counts when the lead is next decided (it outranks every rule then)")
        t[state, e.UNTOUCHED] = Ignored("only an accepted lead can sit untouched")
        t[state, e.ASSIGNED_BY_RULE] = Ignored("no partner holds the lead: the owner the assignment rule set stands")
        t[state, e.CLOSED_UNCONVERTED] = Ignored(
            "only an accepted lead is the partner's to close; an offer is answered by accepting or rejecting")

    # --- an offer to one partner
    t[s.OFFERED, e.ACCEPT] = Step(s.ACCEPTED, Action.SETTLE_ACCEPTED, RoutingStatus.ACCEPTED,
                                  "the partner accepted: it works the lead (a distributor hands it down)")
    t[s.OFFERED, e.REJECT] = Step(None, Action.REDISTRIBUTE, None,
                                  "rejected: the partner is barred from this lead; next partner, or escalation")
    t[s.OFFERED, e.LAPSE] = Step(None, Action.REDISTRIBUTE, None,
                                 "lapsed: the partner is barred from this lead; next partner, or escalation")
    t[s.OFFERED, e.PASSED_TO_COLLEAGUE] = Step(s.OFFERED, Action.FOLLOW_OWNER, RoutingStatus.OFFERED,
                                               "the partner passed it to a colleague: the offer stands")
    t[s.OFFERED, e.PARTNER_PAUSED] = Step(None, Action.REDECIDE, None,
                                          "the partner paused after the offer was made: withdrawn, decided again")
    t[s.OFFERED, e.REP_DEACTIVATED] = Step(None, Action.REDECIDE, None,
                                           "the rep was deactivated after the offer was made: withdrawn, decided again")
    t[s.OFFERED, e.DEAL_REGISTRATION] = Ignored(
        "the offer stands until answered or lapsed; if it moves on, the registration routes it")
    t[s.OFFERED, e.PARTNER_REMOVED] = _PARTNER_REMOVED
    t[s.OFFERED, e.OUTSIDER_ANSWER] = Step(s.OFFERED, Action.REFUSE_ANSWER, RoutingStatus.OFFERED,
                                           "a rep of another partner answered or took the lead (the org's sharing "
                                           "let it reach the lead): not the offered partner's answer; the answer is "
                                           "cleared, the owner put back, the offer stands and the Lead says so")
    t[s.OFFERED, e.REROUTE_REQUESTED] = _REROUTE_HELD
    t[s.OFFERED, e.ASSIGNED_BY_RULE] = Step(s.OFFERED, Action.OWNER_BACK, RoutingStatus.OFFERED,
                                            _BY_RULE + "the owner is put back to the rep, the offer runs on and the "
                                            "Lead says so (an answer in that save is taken as the partner's)")

    # --- an offer to a pool
    t[s.POOLED, e.POOL_PICKUP] = Step(s.ACCEPTED, Action.SETTLE_ACCEPTED, RoutingStatus.ACCEPTED,
                                      "a pool member's rep took it: that partner works the lead")
    t[s.POOLED, e.BARRED_PICKUP] = Step(s.POOLED, Action.BACK_TO_POOL, RoutingStatus.OFFERED,
                                        "taken by a rep whose partner rejected or let this lead lapse before: "
                                        "back to the pool, with why")
    t[s.POOLED, e.UNADMITTED_PICKUP] = Step(s.POOLED, Action.REFUSE_ANSWER, RoutingStatus.OFFERED,
                                            "taken (or accepted) by a rep of a pool member the pool's rule does not "
                                            "admit for this lead: refused as an outsider's pick-up; back to the pool, "
                                            "the answer cleared, and the Lead says why")
    t[s.POOLED, e.LAPSE] = Step(None, Action.REDISTRIBUTE, None,
                                "nobody took it from the pool in time: the pool is barred from this lead; "
                                "next rule, or escalation")
    t[s.POOLED, e.ACCEPT] = Ignored("a pool is answered by taking the lead: an acceptance in the response field by "
                                    "a member's rep is that rep's pick-up")
    t[s.POOLED, e.REJECT] = Step(s.POOLED, Action.DECLINE_IN_POOL, RoutingStatus.OFFERED,
                                 "a pool member's rep rejected it: that partner is barred from this lead (its pick-up "
                                 "is undone) and its reason counts in its feedback, as a pushed offer's; the answer is "
                                 "cleared and the other members can still take it")
    t[s.POOLED, e.PARTNER_PAUSED] = Ignored("the other pool members can still take it; a paused partner's "
                                            "pick-up is handled as a pick-up")
    t[s.POOLED, e.REP_DEACTIVATED] = Ignored("a pool is offered to no rep in particular")
    t[s.POOLED, e.DEAL_REGISTRATION] = t[s.OFFERED, e.DEAL_REGISTRATION]
    t[s.POOLED, e.PARTNER_REMOVED] = Ignored("a pool offer names no partner")
    t[s.POOLED, e.REROUTE_REQUESTED] = _REROUTE_HELD
    t[s.POOLED, e.ASSIGNED_BY_RULE] = Step(s.POOLED, Action.OWNER_BACK, RoutingStatus.OFFERED,
                                           _BY_RULE + "back to the pool queue, and the Lead says so (a member's "
                                           "answer in that save is taken as its pick-up or decline)")
    t[s.POOLED, e.OUTSIDER_ANSWER] = Step(s.POOLED, Action.REFUSE_ANSWER, RoutingStatus.OFFERED,
                                          "a rep of a partner outside the pool answered or took the lead: back to "
                                          "the pool, the answer cleared, and the Lead says so")

    # --- accepted
    t[s.ACCEPTED, e.PASSED_TO_COLLEAGUE] = Step(s.ACCEPTED, Action.FOLLOW_OWNER, RoutingStatus.ACCEPTED,
                                                "the partner passed it to a colleague")
    t[s.ACCEPTED, e.SECOND_PICKUP] = Step(s.ACCEPTED, Action.BACK_TO_FIRST_TAKER, RoutingStatus.ACCEPTED,
                                          "another partner's rep took a pool lead already taken: back to the "
                                          "first taker, with why")
    t[s.ACCEPTED, e.CLOSED_UNCONVERTED] = _CLOSED_UNCONVERTED
    t[s.ACCEPTED, e.UNTOUCHED] = Step(None, Action.REDISTRIBUTE, None,
                                      "accepted and never worked: reclaimed, the partner is barred; next partner")
    t[s.ACCEPTED, e.REJECT] = Step(None, Action.REDISTRIBUTE, None,
                                   "the partner handed the accepted lead back (its rep set the answer to Rejected, "
                                   "with a reason): a rejection like any other, the partner is barred from this lead; "
                                   "next partner, or escalation (left alone, the Lead said Accepted and Rejected at "
                                   "once and nobody worked it)")
    t[s.ACCEPTED, e.PARTNER_PAUSED] = Ignored("pausing stops new offers; a lead already accepted stays")
    t[s.ACCEPTED, e.REP_DEACTIVATED] = Ignored("the partner's admin reassigns its leads; a person's move is seen then")
    t[s.ACCEPTED, e.PARTNER_REMOVED] = _PARTNER_REMOVED
    t[s.ACCEPTED, e.REROUTE_REQUESTED] = _REROUTE_HELD
    t[s.ACCEPTED, e.ASSIGNED_BY_RULE] = Step(s.ACCEPTED, Action.OWNER_BACK, RoutingStatus.ACCEPTED,
                                             _BY_RULE + "back to the rep who holds it, and the Lead says so (a "
                                             "Rejected in that save hands the lead back)")

    # --- parked: a person decides next (routed again on Pending, as every state but closed)
    t[s.ESCALATED, e.PERSON_TAKES_OVER] = Step(s.RELEASED, Action.RELEASE, RoutingStatus.RELEASED,
                                               "a channel manager assigned the escalated lead: hands off")
    t[s.FALLBACK, e.PERSON_TAKES_OVER] = Step(s.RELEASED, Action.RELEASE, RoutingStatus.RELEASED,
                                              "a person assigned the lead from the fallback queue: hands off")

    # --- released and closed
    t[s.RELEASED, e.PERSON_TAKES_OVER] = Ignored("a person has the lead already")
    t[s.RELEASED, e.DO_NOT_ROUTE] = Ignored("hands off already")
    for ev in Event:
        if ev is not e.DELETED:
            t[s.CLOSED, ev] = Ignored("the lead is closed for the connector")
    t[s.CLOSED, e.DELETED] = Ignored("closed already")
    return t


TABLE: dict[tuple[LeadState, Event], Step | Ignored] = _table()


def step(state: LeadState | str, event: Event) -> Step | Ignored:
    """What happens to a lead in `state` when `event` comes."""
    return TABLE[LeadState(state), event]


def table_markdown() -> str:
    """The whole table for people (docs/LIFECYCLE.md is this, generated)."""
    lines = [
        "# The lead lifecycle",
        "",
        "Generated from `rules/lifecycle.py` by `python -m rules.lifecycle > docs/LIFECYCLE.md`; "
        "a test keeps it current. Each cell is a transition (→ next state · action · Routing_Status__c) "
        "or *ignored*, with the reason.",
        "",
        "States: " + ", ".join(f"`{s.value}`" for s in LeadState) + ".",
        "",
    ]
    for state in LeadState:
        lines += [f"## {state.value}", "", "| event | what happens | why |", "|---|---|---|"]
        for event in Event:
            cell = TABLE[state, event]
            if isinstance(cell, Step):
                to = cell.to.value if cell.to else "decided"
                status = cell.status.value if cell.status else "per decision"
                what = f"→ {to} · {cell.action.value} · {status}"
            else:
                what = "*ignored*"
            lines.append(f"| {event.value} | {what} | {cell.why} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table_markdown(), end="")

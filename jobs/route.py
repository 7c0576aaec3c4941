"""Routing new leads: ask the engine, commit each decision with its outbox write."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable

from sqlalchemy import Connection

from jobs import feedback, incumbents, learning, lifecycle
from jobs import lead_words as words
from jobs.logging import get_logger
from jobs.owner_names import lead_labels
from jobs.state import offers as of
from jobs.timeutil import parse_sf_datetime
from mappings import Unroutable
from rules.explain import clip
from rules.model import Decision, DecisionKind, Lead
from rules.state import RoutingState

if TYPE_CHECKING:
    from jobs.context import Context

ROUTABLE_STATUSES = (None, "", "Pending")
log = get_logger(component="route")


def route(cx: Context, conn: Connection, state: RoutingState, items: Iterable[tuple[Any, dict[str, Any]]],
          now: datetime, *, parse: Callable[[Any], datetime | None] = parse_sf_datetime) -> list[str]:
    """Decide and commit each lead; returns one outcome label per lead, for the counts.
    `parse`: how a record's SystemModstamp is read (the caller's memo of its page's)."""
    items = list(items)
    # the page's companies' incumbents, in one query, before the first of them is decided
    incumbents.take(cx, conn, state, (lead for lead, _ in items))
    outcomes = []
    routing = None  # built (or refreshed) once a lead needs deciding
    decided: list[tuple[Lead, Decision, dict[str, Any] | None, datetime | None]] = []
    # Bound once for the page (it still follows a configure() made before the call):
    # the module's lazy logger builds a bound logger anew at every call, ~3 µs a lead.
    logger = log.bind()
    unroutable = DecisionKind.UNROUTABLE
    for lead, rec in items:
        seen = parse(rec.get("SystemModstamp"))
        if isinstance(lead, Unroutable):
            lead_id = lead.record_id or rec["Id"]
            # the field by the label the admin sees on the page, not its API name
            said = f"{words.said(lead.fields, lead_labels(cx))}: {lead.why}" if lead.fields else lead.reason
            decision = Decision(lead_id=lead_id, kind=DecisionKind.UNROUTABLE, reason=clip(said),
                                explanation={"mapping": lead.reason})
            decided.append((Lead(id=lead_id), decision, rec, seen))
            outcomes.append("unroutable")
            # the log is read by whoever fixes the mappings: the field by its API name beside the
            # admin's words
            logger.info("not_routed", lead_id=lead_id, reason=decision.reason, mapping=lead.reason)
            continue
        skip = not_ours(lead, cx.mappings, rec)
        if skip:
            state_name, reason = skip
            of.put_lead(conn, lead.id, now, state=state_name, reason=reason, modstamp=seen, status=lead.status,
                        owner_id=lead.owner_id, record=rec)
            outcomes.append(f"skipped_{state_name}")
            logger.info("left_alone", lead_id=lead.id, reason=reason)
            continue
        if routing is None:
            routing = feedback.current_routing(cx, now)  # partners' feedback at most an hour old
            learning.catch_up(conn, routing.learning, now)  # answers since the last batch, before choosing
        decision = lifecycle.decide(routing, lead, state, now, attempt=1)  # a failure: Unroutable, saying so
        # Record it at once: the next lead's decision must see this one's capacity use.
        state.record_offer(decision, now)
        decided.append((lead, decision, rec, seen))
        kind = decision.kind.value
        outcomes.append(f"routed_{kind}")
        # Every lead the connector does not route is named at info level, with why;
        # the routine offers stay at debug (the audit table has them all).
        (logger.info if decision.kind is unroutable else logger.debug)(
            "not_routed" if decision.kind is unroutable else "decided", lead_id=lead.id,
            kind=kind, rule=decision.rule, partner_id=decision.partner_id, reason=decision.reason)
    lifecycle.commit_decisions(cx, conn, state, decided, now, record_offers=False)
    return outcomes


def not_ours(lead: Lead, ms: Any = None, record: dict[str, Any] | None = None) -> tuple[str, str] | None:
    """Leads the connector must leave alone, with the state we remember them in and why.
    Whatever the rule file says (it may have no Do_Not_Route gate): dry-run, explain and
    validate ask this too, so they never show an offer `once` would not make. `ms`: the
    mappings, whose fields and words the reason names (an org may tick its own box).
    `record`: the Lead as read; where it has the reason field, a lead `undo --apply` put back
    (its Routing Status empty again, as a new lead's) is left alone, as the state keeps it."""
    if lead.converted:
        return "closed", "converted before routing"
    if lead.do_not_route:
        box = _field(ms, "do_not_route", "Do_Not_Route__c")
        return "released", words.DO_NOT_ROUTE if box == "Do_Not_Route__c" else f"{box} is ticked"
    if lead.routing_status not in ROUTABLE_STATUSES:
        field, shown = _status_field(ms)
        status = ms.writeback({"routing_status": lead.routing_status}).get(field, lead.routing_status) \
            if ms is not None else lead.routing_status
        return "released", f"its {shown} is already {status}; {_route_again(ms)}"
    put_back = _put_back_by_undo(ms, record) if lead.routing_status in (None, "") else None  # Pending: asked again
    if put_back:
        return "released", f"{put_back}; {_route_again(ms)}"
    return None


def _status_field(ms: Any) -> tuple[str, str]:
    """The routing status field (API name) and how the Lead page labels it."""
    field = ms.writeback_fields().get("routing_status", "Routing_Status__c") if ms is not None else "Routing_Status__c"
    if field == "Routing_Status__c":
        return field, words.label(field)
    return field, ms.label(field) if hasattr(ms, "label") else field


def _route_again(ms: Any) -> str:
    """How a person has a lead left alone routed again, in the org's field and word for Pending."""
    field, shown = _status_field(ms)
    pending = ms.writeback({"routing_status": "Pending"}).get(field, "Pending") if ms is not None else "Pending"
    if field == "Routing_Status__c" and pending == "Pending":
        return words.ROUTE_AGAIN
    return f"to have it routed again, set {shown} to {pending}: leadrouter routes it at its next run"


def reason_read(ms: Any) -> str | None:
    """The Lead's reason field, where every read of leads must ask for it: it is how
    not_ours tells a lead `undo --apply` put back from a new one, also once the state has
    let go of it (pruned after `[state] retention_days`, or rebuilt)."""
    reason = ms.writeback_fields().get("reason")
    return reason if reason and ms.writeback_sobject() == ms.sobject("lead") else None


def _put_back_by_undo(ms: Any, record: dict[str, Any] | None) -> str | None:
    """The Lead's reason where `leadrouter undo --apply` wrote it (jobs/recovery.py finds such
    leads by the same words when it rebuilds the state)."""
    field = ms.writeback_fields().get("reason") if ms is not None else "Routing_Reason__c"
    said = (record or {}).get(field) if field else None
    return said if isinstance(said, str) and said.startswith(words.PUT_BACK_BY_UNDO) else None


def _field(ms: Any, attribute: str, shipped: str) -> str:
    """The Lead field the [lead] mapping reads `attribute` from (the shipped one without mappings)."""
    fields = ms.source_fields("lead").get(attribute) if ms is not None else None
    if fields and tuple(fields) == (shipped,):
        return shipped
    # the org's own box by its label, where the org gave one
    return words.said(fields, getattr(ms, "field_labels", None) or {}) if fields else shipped

"""The lead lifecycle is one table: every state meets every event, and says what happens or why not."""
from __future__ import annotations

from pathlib import Path

import pytest

from rules import lifecycle as rl
from rules.lifecycle import Action, Event, Ignored, LeadState, Step
from rules.model import DecisionKind, RoutingStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "LIFECYCLE.md"


@pytest.mark.parametrize("state", list(LeadState), ids=lambda s: s.value)
def test_every_cell_is_a_transition_or_an_explicit_ignore_with_a_reason(state):
    for event in Event:
        cell = rl.step(state, event)
        assert isinstance(cell, (Step, Ignored)), (state, event)
        assert cell.why.strip(), f"{state.value} × {event.value} needs a reason"


def test_the_generated_document_is_current():
    assert DOC.read_text() == rl.table_markdown(), "run: python -m rules.lifecycle > docs/LIFECYCLE.md"


def test_a_rejected_or_lapsed_offer_moves_the_lead_on_never_back():
    for state, event in ((LeadState.OFFERED, Event.REJECT), (LeadState.OFFERED, Event.LAPSE),
                         (LeadState.POOLED, Event.LAPSE), (LeadState.ACCEPTED, Event.UNTOUCHED)):
        assert rl.step(state, event).action is Action.REDISTRIBUTE


def test_a_barred_partner_cannot_take_a_pooled_lead_and_a_second_taker_is_undone():
    assert rl.step(LeadState.POOLED, Event.BARRED_PICKUP).action is Action.BACK_TO_POOL
    assert rl.step(LeadState.ACCEPTED, Event.SECOND_PICKUP).action is Action.BACK_TO_FIRST_TAKER


def test_a_person_taking_over_is_shown_on_the_lead_in_every_live_or_parked_state():
    for state in (LeadState.OFFERED, LeadState.POOLED, LeadState.ACCEPTED, LeadState.ESCALATED, LeadState.FALLBACK):
        cell = rl.step(state, Event.PERSON_TAKES_OVER)
        assert isinstance(cell, Step) and cell.status is RoutingStatus.RELEASED and cell.writes


def test_a_persons_pending_routes_every_lead_we_follow_again_withdrawing_what_is_live():
    for state in LeadState:
        cell = rl.step(state, Event.REROUTE_REQUESTED)
        if state is LeadState.CLOSED:
            assert isinstance(cell, Ignored)
        else:
            assert isinstance(cell, Step) and cell.action is Action.ROUTE and cell.to is None, state
    assert rl.REROUTABLE_STATES == frozenset(LeadState) - {LeadState.CLOSED}


def test_the_partner_taken_off_an_offer_or_an_accepted_lead_is_a_takeover():
    for state in (LeadState.OFFERED, LeadState.ACCEPTED):
        cell = rl.step(state, Event.PARTNER_REMOVED)
        assert isinstance(cell, Step) and cell.action is Action.RELEASE and cell.status is RoutingStatus.RELEASED
    for state in (LeadState.POOLED, LeadState.ESCALATED, LeadState.RELEASED):
        assert isinstance(rl.step(state, Event.PARTNER_REMOVED), Ignored)


def test_a_closed_lead_ignores_everything():
    assert all(isinstance(rl.step(LeadState.CLOSED, e), Ignored) for e in Event)


def test_every_decision_kind_has_a_status_and_a_state():
    assert set(rl.DECISION_STATUS) == set(DecisionKind) == set(rl.DECISION_STATE)
    assert rl.DECISION_STATUS[DecisionKind.FALLBACK] is RoutingStatus.FALLBACK, "a fallback queue is not an escalation"


def test_the_jobs_name_no_routing_status_by_string():
    """Statuses come from the enums; a string literal in a job would be a second definition."""
    jobs_dir = Path(__file__).resolve().parents[2] / "jobs"
    literals = [f'"{s.value}"' for s in RoutingStatus if s is not RoutingStatus.PENDING]
    offenders = []
    for path in ("lifecycle.py", "poll.py", "route.py", "expire.py", "withdraw.py", "followup.py", "leads.py"):
        text = (jobs_dir / path).read_text()
        offenders += [f"{path}: {lit}" for lit in literals if lit in text]
    assert offenders == []

"""Feedback that acts (issue 17, item 3), end to end: reps reject offers in the org with a
reason from the restricted list; the connector throttles a partner that says "No
capacity" (and lets it recover), stops offering an industry to a partner that says "Not
our product/industry" about it twice, shows both, and ops undo them."""
from __future__ import annotations

import dataclasses
import json

from jobs import feedback
from jobs.ops import feedback as feedback_command
from jobs.cli import main
from rules.state import RoutingState


def _reject(loop, offer: dict, code: str, words: str) -> None:
    loop.sb.org.update("Lead", offer["lead_id"], {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": code,
                                                  "Rejection_Reason__c": f"{code}: {words}"})


def _rebuilt(loop):
    loop.cx.snapshot_changed()
    return loop.cx.routing()


def test_no_capacity_declines_throttle_the_partner_and_ops_lift_it(loop):
    loop.cycle(partners_act=False)
    pid, offers = loop.busiest_partner()
    declared = loop.cx.routing().partners[pid].capacity
    assert declared and declared > 1 and len(offers) >= 2
    for o in offers[:2]:
        _reject(loop, o, "No capacity", "two reps on leave")
    loop.cycle(partners_act=False)
    routing = _rebuilt(loop)
    inferred, was, declines = routing.feedback.capacity[pid]
    assert (was, declines) == (declared, 2) and inferred == max(1, int(int(declared * 0.7) * 0.7))
    assert routing.partners[pid].capacity == inferred  # the cap every strategy respects
    assert routing.partners[pid].extra["inferred_capacity"] == inferred
    text = feedback_command.render(routing.feedback.to_dict({pid: routing.partners[pid].name}))
    assert f"{inferred} of {declared} open leads" in text and "No capacity" in text

    with loop.cx.store.begin() as conn:
        feedback.reset(conn, pid, loop.cx.clock.now())
    routing = _rebuilt(loop)
    assert pid not in routing.feedback.capacity and routing.partners[pid].capacity == declared


def test_not_our_industry_twice_excludes_that_industry_visibly_until_reviewed(loop):
    loop.cycle(partners_act=False)
    pid, offers = loop.busiest_partner()
    leads = {o["lead_id"]: loop.lead(o["lead_id"]) for o in offers}
    industry = leads[offers[0]["lead_id"]]["Industry"]
    assert industry
    # the same industry on two of its offered leads, then both rejected for fit
    for o in offers[:2]:
        loop.sb.org.update("Lead", o["lead_id"], {"Industry": industry})
        _reject(loop, o, "Not our product/industry", "no references in this industry")
    loop.cycle(partners_act=False)
    routing = _rebuilt(loop)
    assert routing.feedback.excluded[pid] == {industry: 2}

    # a new lead of that industry where the partner works: it is skipped, and explain says why
    rec = loop.cx.client.read_by_ids("Lead", loop.cx.mappings.soql_fields("lead"), [offers[0]["lead_id"]])
    lead = dataclasses.replace(loop.cx.mappings.lead_converter()(next(iter(rec))), id="00Q5g00000NEWLEADX")
    state = RoutingState()  # (the routing build's router skips them by itself: feedback.hook)
    ex = routing.router.explain(lead, state, loop.cx.clock.now(), attempt=1)
    skipped = [t.excluded.get(pid) for t in ex.trials if pid in t.excluded]
    assert skipped and "Not our product/industry" in skipped[0] and "feedback reset" in skipped[0]
    d = routing.router.decide(lead, state, loop.cx.clock.now(), attempt=1)
    assert d.partner_id != pid
    # other industries are still offered to it (leads of other products: the declined leads' may be excluded too)
    other = dataclasses.replace(lead, id="00Q5g00000NEWLEADY", industry="(another industry)", products=frozenset())
    assert pid not in feedback.skipped(other, routing.feedback)

    with loop.cx.store.begin() as conn:
        feedback.reset(conn, pid, loop.cx.clock.now())
    assert pid not in _rebuilt(loop).feedback.excluded


def test_the_feedback_command_lists_adjustments_and_refuses_a_reset_without_a_partner(capsys, tmp_path):
    assert main(["feedback", "reset", "--config", str(tmp_path / "none.toml")]) == 2
    assert "name the partner Account id" in capsys.readouterr().err
    data = feedback.Adjustments(at=None, capacity={"001A": (3, 10, 3)}, excluded={"001A": {"Banking": 2}},  # type: ignore[arg-type]
                                territory={"001A": {"FR": 4}}).to_dict({"001A": "Acme"})
    json.dumps(data)
    text = feedback_command.render(data)
    assert "Acme: 3 of 10 open leads" in text and "no Banking leads" in text and "covers FR" in text

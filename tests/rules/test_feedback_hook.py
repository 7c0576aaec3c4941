"""The eligibility's feedback hook: partners a caller says are kept from a lead (their own
"Out of territory" or "Not our product/industry" feedback, jobs/feedback.py) drop out like
partners that declined the lead — for every decision and attempt — and the trace says why."""
from __future__ import annotations

from rules import RoutingState

from .conftest import NOW, lead, partner, router_for, simple_rules


def test_a_partner_the_hook_bars_is_skipped_on_every_attempt_and_named():
    a, b = partner("001A", coverage=("US",)), partner("001B", coverage=("US",))
    router = router_for(simple_rules("round_robin"), [a, b])
    ca, ny = lead("00Q1", state="US-CA"), lead("00Q2", state="US-NY", postal_code="10001")
    first = {router.decide(ca, RoutingState(), NOW).partner_id, router.decide(lead("00Q3", state="US-CA"), RoutingState(), NOW, attempt=2).partner_id}
    assert first == {"001A"}  # round robin from a fresh state: the first partner by id

    router.eligibility.barred = lambda l: {"001A": "said 'Out of territory' 3× for US-CA leads — skips"} \
        if l.state == "US-CA" else {}
    for attempt in (1, 2, 3):
        d = router.decide(ca, RoutingState(), NOW, attempt=attempt)
        assert d.partner_id == "001B"
        trial = next(t for t in d.explanation["rules"] if t["applied"])
        assert trial["excluded"]["001A"] == "already said 'Out of territory' 3× for US-CA leads — skips this lead"
    assert router.decide(ny, RoutingState(), NOW).partner_id == "001A"  # other areas: as before

    # with nobody else covering it, the lead says who was kept away and why
    only = router_for(simple_rules("round_robin"), [a])
    only.eligibility.barred = router.eligibility.barred
    d = only.decide(ca, RoutingState(), NOW)
    assert d.partner_id is None and "'Out of territory' 3× for US-CA" in d.reason


def test_without_a_hook_nothing_changes():
    a = partner("001A")
    router = router_for(simple_rules("round_robin"), [a])
    assert router.eligibility.barred is None
    assert router.decide(lead(), RoutingState(), NOW).partner_id == "001A"

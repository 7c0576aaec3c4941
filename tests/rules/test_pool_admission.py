"""Which pool members a pool rule admits for a lead: a member's pick-up is held to the
rule that pooled the lead (jobs/poll.py refuses the others' pick-ups)."""
from __future__ import annotations

from datetime import date

from rules import RoutingState
from rules.model import DealRegistration, Pool

from .conftest import NOW, QUEUES, lead, partner, router_for

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
business_hours = false
offer_hours = 24

[settings.certifications_for_products]
"Security Suite" = ["Security"]

[[ruleset]]
name = "All"
  [[ruleset.rule]]
  name = "Certified pool"
  match = { geography = true, certified_for_products = true }
  pool = "Partner_Pool_NA"
"""

MEMBERS = [
    partner("001A", coverage=("US",), certifications={"Security"}),
    partner("001B", coverage=("US",)),  # not certified
    partner("001C", coverage=("DE",), certifications={"Security"}),  # covers elsewhere
    partner("001D", coverage=("US",), certifications={"Security"}, capacity=0),
    partner("001E", coverage=("US",), certifications={"Security"}, daily_cap=0),
]


def _router(registrations=()):
    pool = Pool(id=QUEUES["Partner_Pool_NA"], name="NA", developer_name="Partner_Pool_NA",
                member_rep_ids=frozenset(r.id for p in MEMBERS for r in p.reps),
                member_partner_ids=frozenset(p.id for p in MEMBERS))
    return router_for(RULES, MEMBERS, pools=[pool], registrations=registrations)


def test_the_rule_admits_a_covering_certified_member_and_says_why_not_for_the_others():
    router, state = _router(), RoutingState()
    the_lead = lead(products={"Security Suite"})
    assert router.decide(the_lead, state, NOW).kind.value == "pool"
    assert router.admits(the_lead, "Certified pool", "001A", state, NOW) is None
    assert router.admits(the_lead, "Certified pool", "001B", state, NOW) == 'not certified for "Security"'
    assert router.admits(the_lead, "Certified pool", "001C", state, NOW) == "does not cover US-CA, where the lead is"
    # a pick-up is the partner's own choice to take one more: its capacity and daily cap hold
    # back what the connector pushes, not what the partner takes
    assert router.admits(the_lead, "Certified pool", "001D", state, NOW) is None
    assert router.admits(the_lead, "Certified pool", "001E", state, NOW) is None


def test_another_partners_registered_deal_keeps_the_others_out_and_its_owner_in():
    reg = DealRegistration(id="006A", partner_id="001B", status="Approved", expires=date(2027, 1, 1),
                           company="Acme Corp")
    router, state = _router([reg]), RoutingState()
    the_lead = lead(products={"Security Suite"})
    assert "registered this deal" in router.admits(the_lead, "Certified pool", "001A", state, NOW)
    assert router.admits(the_lead, "Certified pool", "001B", state, NOW) is None


def test_a_rule_the_book_no_longer_has_holds_no_pick_up_back():
    assert _router().admits(lead(), "Gone rule", "001C", RoutingState(), NOW) is None


def test_a_member_its_own_feedback_keeps_from_the_leads_area_or_industry_is_not_admitted():
    """A partner stopped in the lead's area ("Out of territory" N times) or excluded from its
    industry ("Not our product/industry") is skipped by every decision; its pick-up from a
    pool is refused alike, in words naming the criterion and the value, not the partner."""
    router, state = _router(), RoutingState()
    the_lead = lead(products={"Security Suite"})
    router.eligibility.barred = lambda l: {"001A": "said 'Out of territory' 3× for US-CA leads (feedback; undo: "
                                                   "leadrouter feedback reset 001A --area US-CA) — skips"} \
        if l.state == "US-CA" else {}
    why = router.admits(the_lead, "Certified pool", "001A", state, NOW)
    assert why is not None and "own feedback" in why and "'Out of territory' 3× for US-CA" in why, why
    assert "001A" not in why, "every pool member reads the reason: it names no partner"
    assert router.admits(lead(state="US-NY", postal_code="10001", products={"Security Suite"}),
                         "Certified pool", "001A", state, NOW) is None, "other areas: as before"
    assert router.admits(the_lead, "Certified pool", "001D", state, NOW) is None, "other partners: as before"

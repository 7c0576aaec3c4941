"""A lead's values are read in the spelling the rule file and the partners use, whatever
their case and surrounding spaces; anything else stays as the org wrote it."""
from __future__ import annotations

from rules import RoutingState

from .conftest import NOW, lead, partner, router_for

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
business_hours = false

[[ruleset]]
name = "Web"
when = 'source in ["Web"]'

  [[ruleset.rule]]
  name = "Hot analytics to a specialist"
  when = 'rating == "Hot" and "Analytics" in products'
  match = { geography = true, industry = true }

[[ruleset]]
name = "Rest"

  [[ruleset.rule]]
  name = "Anyone"
  match = { geography = true }
"""


def test_a_lead_typed_in_another_case_is_decided_as_the_rules_spell_it():
    router = router_for(RULES, [partner("001A", industries={"Technology"})])
    typed = lead(source=" web", rating="HOT", products={"analytics", "Other thing"}, industry="technology")
    decision = router.decide(typed, RoutingState(), NOW)
    assert (decision.kind.value, decision.rule, decision.partner_id) == ("offer", "Hot analytics to a specialist", "001A")
    # the caller's lead is the org's record as read: it is not changed
    assert (typed.source, typed.rating, typed.industry) == (" web", "HOT", "technology")


def test_values_no_rule_or_partner_writes_stay_as_they_are():
    router = router_for(RULES, [partner("001A", industries={"Technology"})])
    spelt = router.spelling.lead(lead(rating="Hottest", industry="Software", products={"analytics", "Widgets"}))
    assert (spelt.rating, spelt.industry, spelt.products) == ("Hottest", "Software", frozenset({"Analytics", "Widgets"}))
    same = lead(rating="Hot", industry="Technology", products={"Analytics"})
    assert router.spelling.lead(same) is same  # nothing to respell: no copy


PARTNER_RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
business_hours = false

[[ruleset]]
name = "All"

  [[ruleset.rule]]
  name = "Preferred technology specialists"
  when = 'industry == "Technology"'
  partners = '"Public Sector" not in programs'
  match = { geography = true, industry = true, programs = ["Preferred"], certifications = ["AWS Migration"] }
"""


def test_partners_typed_in_another_case_meet_the_rules_and_the_leads():
    typed = partner("001A", programs={"preferred", "public sector"}, industries={" technology"},
                    certifications={"aws migration"})
    spelt = partner("001B", programs={"Preferred"}, industries={"Technology"}, certifications={"AWS Migration"})
    router = router_for(PARTNER_RULES, [typed, spelt])
    # 001A is in Public Sector whatever the case, so the partner condition leaves it out
    decision = router.decide(lead(industry="Technology"), RoutingState(), NOW)
    assert (decision.rule, decision.partner_id) == ("Preferred technology specialists", "001B")
    router = router_for(PARTNER_RULES.replace('"Public Sector" not in programs', "true"), [typed])
    decision = router.decide(lead(industry="TECHNOLOGY"), RoutingState(), NOW)
    assert (decision.rule, decision.partner_id) == ("Preferred technology specialists", "001A")
    assert typed.programs == frozenset({"preferred", "public sector"})  # the caller's partner is not changed

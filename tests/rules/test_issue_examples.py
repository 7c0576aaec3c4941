"""One test per example of the routing issue, against the shipped rule set where it has the rule."""
from __future__ import annotations

from datetime import date

from rules import RoutingState
from rules.model import DecisionKind

from tests.rules.conftest import NOW, QUEUES, DealRegistration, Pool, lead, partner, route_many, router_for


def test_hot_lead_closing_this_quarter_goes_to_gold_partner_in_preferred_program():
    partners = [
        partner("001A", tier="Gold", programs={"Preferred"}, coverage=("US-CA",)),
        partner("001B", tier="Gold", programs=set(), coverage=("US-CA",)),  # not in the program
        partner("001C", tier="Silver", programs={"Preferred"}, coverage=("US-CA",)),  # tier too low
    ]
    router = router_for(None, partners)
    hot = lead(rating="Hot", amount=75_000.0, close_date=date(2026, 12, 15))
    d = router.decide(hot, RoutingState(), NOW)
    assert d.kind is DecisionKind.OFFER
    assert d.rule == "Hot this quarter to Gold preferred (web)"
    assert d.partner_id == "001A"


def test_hot_lead_closing_next_quarter_is_not_treated_as_this_quarters():
    partners = [partner("001A", tier="Gold", programs={"Preferred"}, coverage=("US-CA",))]
    router = router_for(None, partners)
    later = lead(rating="Hot", amount=75_000.0, close_date=date(2027, 2, 1))
    d = router.decide(later, RoutingState(), NOW)
    assert d.rule != "Hot this quarter to Gold preferred (web)"


def test_cloud_migration_lead_goes_to_partner_certified_for_a_migration_platform():
    partners = [
        partner("001A", certifications={"Security"}, coverage=("US",)),
        partner("001B", certifications={"Azure Migration"}, coverage=("US",)),
    ]
    router = router_for(None, partners)
    d = router.decide(lead(products={"Cloud Migration"}, amount=20_000.0), RoutingState(), NOW)
    assert d.rule == "Cloud migration to certified partner"
    assert d.partner_id == "001B"


def test_enterprise_lead_goes_to_top_tier_partner_with_enterprise_team():
    partners = [
        partner("001A", tier="Platinum", enterprise_team=False),
        partner("001B", tier="Platinum", enterprise_team=True),
        partner("001C", tier="Gold", enterprise_team=True),
    ]
    router = router_for(None, partners)
    d = router.decide(lead(employees=5_000, amount=20_000.0), RoutingState(), NOW)
    assert d.rule == "Enterprise to top tier with enterprise team"
    assert d.partner_id == "001B"


def test_geography_picks_partner_covering_the_leads_state_not_another_state():
    partners = [partner("001NY", coverage=("US-NY",)), partner("001CA", coverage=("US-CA",))]
    router = router_for(None, partners)
    d = router.decide(lead(state="US-CA", source="Other"), RoutingState(), NOW)
    assert d.partner_id == "001CA"


def test_geography_postal_prefix_and_named_territory_cover_a_lead():
    partners = [partner("001ZIP", coverage=("US:941",)), partner("001BNL", coverage=("@Benelux",))]
    router = router_for(None, partners)
    assert router.decide(lead(source="Other", postal_code="94110"), RoutingState(), NOW).partner_id == "001ZIP"
    dutch = lead("00Q2", source="Other", country="NL", state="NL-NH", postal_code="1011AB")
    assert router.decide(dutch, RoutingState(), NOW).partner_id == "001BNL"


def test_industry_match_prefers_partner_that_knows_the_leads_industry():
    partners = [partner("001A", industries={"Banking"}), partner("001B", industries={"Healthcare"})]
    router = router_for(None, partners)
    d = router.decide(lead(source="Partner Referral", industry="Healthcare"), RoutingState(), NOW)
    assert d.rule == "Referral to covering partner"
    assert d.partner_id == "001B"


def test_product_specialist_rule_needs_a_partner_selling_the_product():
    partners = [
        partner("001A", products={"Networking"}, industries={"Retail"}),
        partner("001B", products={"ERP Connector"}, industries={"Retail"}),
    ]
    router = router_for(None, partners)
    d = router.decide(lead(industry="Retail", products={"ERP Connector"}, amount=30_000.0), RoutingState(), NOW)
    assert d.rule == "Product specialist"
    assert d.partner_id == "001B"


def test_uncovered_lead_goes_to_its_regions_pool_only_if_a_pool_member_is_eligible():
    pools = [Pool(id="00GPAP000000001AAA", name="APAC", developer_name="Partner_Pool_APAC",
                  member_partner_ids=frozenset({"001JP"}))]
    japan = lead(country="JP", state=None, postal_code=None, source="Other")
    with_member = router_for(None, [partner("001DE", coverage=("DE",)), partner("001JP", coverage=("JP-13",))],
                             pools=pools)
    d = with_member.decide(japan, RoutingState(), NOW)
    assert d.kind is DecisionKind.POOL and d.queue_id == QUEUES["Partner_Pool_APAC"]
    paused_member = router_for(None, [partner("001DE", coverage=("DE",)), partner("001JP", paused=True)], pools=pools)
    assert paused_member.decide(japan, RoutingState(), NOW).kind is DecisionKind.FALLBACK


def test_small_deal_is_pulled_into_the_regional_pool_while_large_deal_is_pushed():
    partners = [partner("001A", coverage=("US",)), partner("001B", coverage=("US",))]
    pools = [Pool(id="00GPNA000000001AAA", name="Partner Pool NA", developer_name="Partner_Pool_NA",
                  member_partner_ids=frozenset({"001A", "001B"}))]
    router = router_for(None, partners, pools=pools)
    small = router.decide(lead(amount=2_000.0, industry="Retail"), RoutingState(), NOW)
    assert small.kind is DecisionKind.POOL
    assert small.queue_id == QUEUES["Partner_Pool_NA"] and small.partner_id is None
    large = router.decide(lead("00Q2", amount=20_000.0, industry="Retail", lat=None), RoutingState(), NOW)
    assert large.kind is DecisionKind.OFFER and large.partner_id in {"001A", "001B"}


def test_trade_show_lead_follows_the_events_process_and_web_lead_the_website_process():
    partners = [partner("001A", coverage=("US",))]
    router = router_for(None, partners)
    show = router.decide(lead(source="Trade Show"), RoutingState(), NOW)
    web = router.decide(lead("00Q2", source="Web", amount=20_000.0), RoutingState(), NOW)
    assert show.ruleset == "Events and referrals"
    assert web.ruleset == "Website and inbound"


def test_approved_deal_registration_wins_ahead_of_every_rule():
    partners = [partner("001A", tier="Gold", programs={"Preferred"}), partner("001REG", tier="Registered")]
    regs = [DealRegistration(id="006R1", partner_id="001REG", status="Approved", expires=date(2027, 1, 31),
                             company="ACME Corporation")]
    router = router_for(None, partners, registrations=regs)
    d = router.decide(lead(company="Acme Corp.", rating="Hot", amount=90_000.0, close_date=date(2026, 12, 1)),
                      RoutingState(), NOW)
    assert d.kind is DecisionKind.OFFER
    assert d.partner_id == "001REG"
    assert d.rule == "Deal registration"


def test_expired_or_unapproved_deal_registration_does_not_protect():
    partners = [partner("001A"), partner("001REG")]
    regs = [
        DealRegistration(id="006R1", partner_id="001REG", status="Approved", expires=date(2026, 11, 1),
                         email_domain="acme.com"),
        DealRegistration(id="006R2", partner_id="001REG", status="Submitted", email_domain="acme.com"),
    ]
    router = router_for(None, partners, registrations=regs)
    d = router.decide(lead(email="cto@acme.com", source="Other"), RoutingState(), NOW)
    assert d.rule != "Deal registration"


def test_conflicting_deal_registrations_escalate_naming_both_partners():
    partners = [partner("001A", "Northwind Partners"), partner("001B", "Contoso Channel")]
    regs = [
        DealRegistration(id="006R1", partner_id="001A", status="Approved", email_domain="acme.com"),
        DealRegistration(id="006R2", partner_id="001B", status="Approved", company="Acme"),
    ]
    router = router_for(None, partners, registrations=regs)
    d = router.decide(lead(email="buyer@acme.com", company="ACME Inc"), RoutingState(), NOW)
    assert d.kind is DecisionKind.ESCALATE
    assert d.queue_id == QUEUES["Channel_Escalations"]
    assert "Northwind Partners" in d.reason and "Contoso Channel" in d.reason


def test_multi_tier_distributor_accepts_then_its_resellers_are_offered_the_lead():
    partners = [
        partner("001DIST", "Big Distributor", role="Distributor"),
        partner("001R1", "Reseller One", parent_id="001DIST", coverage=("US",)),
        partner("001R2", "Reseller Two", parent_id="001DIST", coverage=("US",)),
        partner("001OTHER", "Someone else's reseller", parent_id="001ELSE", coverage=("US",)),
    ]
    text = """
[settings]
business_hours = false
[[ruleset]]
name = "Distribution"
  [[ruleset.rule]]
  name = "To distributors"
  match = { geography = true, role = "Distributor" }
[hand_down]
match = { geography = true }
distribute = "round_robin"
"""
    router = router_for(text, partners)
    state = RoutingState()
    first = router.decide(lead(), state, NOW)
    assert first.partner_id == "001DIST"
    state.record_offer(first, NOW)
    state.record_outcome(first.lead_id, "001DIST", "accepted", NOW)
    handed = [router.hand_down(lead(), "001DIST", state, NOW, attempt=2)]
    state.record_offer(handed[0], NOW)
    handed.append(router.hand_down(lead("00Q2"), "001DIST", state, NOW, attempt=1))
    assert [d.partner_id for d in handed] == ["001R1", "001R2"]
    assert all(d.rule == "Hand-down to a reseller" and d.kind is DecisionKind.OFFER for d in handed)


def test_nobody_eligible_goes_to_the_fallback_queue_with_the_reason():
    partners = [partner("001DE", coverage=("DE",))]
    router = router_for(None, partners)
    # South Africa: no partner covers it and it lies in none of the pools' territories
    d = router.decide(lead(country="ZA", state=None, postal_code=None, source="Other"), RoutingState(), NOW)
    assert d.kind is DecisionKind.FALLBACK
    assert d.queue_id == QUEUES["Unassigned_Partner_Leads"]
    assert "Other sources" in d.reason


def test_lead_without_company_is_unroutable_with_the_field_named():
    router = router_for(None, [partner("001A")])
    d = router.decide(lead(company=None), RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE
    assert d.reason.startswith("Company:")


def test_do_not_route_keeps_the_connector_away():
    router = router_for(None, [partner("001A")])
    d = router.decide(lead(do_not_route=True), RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE and d.reason.startswith("Do Not Route: ticked by a person")


def test_nearest_partner_rule_offers_the_closest_partner_within_the_radius():
    partners = [
        partner("001FAR", coverage=(), lat=37.33, lon=-121.89),  # San José, ~70 km
        partner("001NEAR", coverage=(), lat=37.80, lon=-122.27),  # Oakland, ~13 km
    ]
    router = router_for(None, partners)
    d = router.decide(lead(amount=20_000.0, industry="Retail", lat=37.77, lon=-122.42), RoutingState(), NOW)
    assert d.rule == "Nearest partner"
    assert d.partner_id == "001NEAR"


def test_nearest_partner_rule_widens_the_radius_until_someone_qualifies():
    partners = [partner("001SJ", coverage=(), lat=37.33, lon=-121.89)]  # ~70 km away
    router = router_for(None, partners)
    d = router.decide(lead(amount=20_000.0, industry="Retail", lat=37.77, lon=-122.42), RoutingState(), NOW)
    assert d.partner_id == "001SJ"
    assert any("widened the radius to 150 km" in n for t in d.explanation["rules"] for n in t.get("notes", []))


def test_rejected_offer_goes_to_next_partner_not_back():
    partners = [partner("001A"), partner("001B")]
    router = router_for(None, partners)
    decisions, state = route_many(router, [lead(source="Other")])
    first = decisions[0].partner_id
    state.record_outcome("00Q1", first, "rejected", NOW)
    again = router.decide(lead(source="Other"), state, NOW, attempt=2)
    assert again.partner_id not in (None, first)
    state.record_offer(again, NOW)
    state.record_outcome("00Q1", again.partner_id, "lapsed", NOW)
    third = router.decide(lead(source="Other"), state, NOW, attempt=3)
    assert third.kind is DecisionKind.FALLBACK


def test_deal_registration_matches_company_despite_legal_form_order_and_one_typo():
    partners = [partner("001A"), partner("001REG")]
    regs = [DealRegistration(id="006R1", partner_id="001REG", status="Approved",
                             company="Blue Harbor Logistics GmbH")]
    router = router_for(None, partners, registrations=regs)
    for company in ("blue harbor logistics", "Logistics Blue Harbor, GmbH", "Blue Harbour Logistics Inc."):
        assert router.decide(lead(company=company), RoutingState(), NOW).partner_id == "001REG", company
    assert router.decide(lead(company="Red Harbor Shipping"), RoutingState(), NOW).rule != "Deal registration"


def test_hand_down_keeps_the_lead_with_a_distributor_that_has_no_qualifying_reseller():
    partners = [
        partner("001DIST", "Big Distributor", role="Distributor"),
        partner("001R1", "Paused Reseller", parent_id="001DIST", paused=True),
    ]
    router = router_for(None, partners)
    d = router.hand_down(lead(), "001DIST", RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE and d.partner_id == "001DIST"
    assert "no reseller of Big Distributor qualifies" in d.reason
    lonely = router_for(None, [partner("001SOLO", role="Distributor")])
    assert "has no reseller accounts" in lonely.hand_down(lead(), "001SOLO", RoutingState(), NOW).reason


def test_pool_members_can_be_given_as_reps_and_declined_partners_do_not_count():
    partners = [partner("001A"), partner("001B")]
    pools = [Pool(id="00GPNA000000001AAA", name="NA", developer_name="Partner_Pool_NA",
                  member_rep_ids=frozenset({"001A-rep0"}))]
    router = router_for(None, partners, pools=pools)
    small = lead(amount=500.0, industry="Retail")
    assert router.decide(small, RoutingState(), NOW).kind is DecisionKind.POOL
    state = RoutingState()
    state.record_outcome(small.id, "001A", "rejected", NOW)
    d = router.decide(small, state, NOW)
    assert not (d.kind is DecisionKind.POOL and d.rule == "Small deals to the regional pool")


def test_each_distributor_rule_hands_down_under_its_own_rules():
    text = """
[settings]
business_hours = false
[[ruleset]]
name = "Distribution"
  [[ruleset.rule]]
  name = "Enterprise via distributors"
  when = "employees >= 1000"
  match = { role = "Distributor" }
    [ruleset.rule.hand_down]
    partners = 'tier == "Gold"'
  [[ruleset.rule]]
  name = "Others via distributors"
  match = { role = "Distributor" }
[hand_down]
distribute = "round_robin"
"""
    partners = [
        partner("001DIST", "Big Distributor", role="Distributor"),
        partner("001R1", "Silver Reseller", parent_id="001DIST", tier="Silver"),
        partner("001R2", "Gold Reseller", parent_id="001DIST", tier="Gold"),
    ]
    router = router_for(text, partners)

    def distributor_accepts(lead_):
        state = RoutingState()
        offer = router.decide(lead_, state, NOW)
        assert offer.partner_id == "001DIST"
        state.record_offer(offer, NOW)
        state.record_outcome(lead_.id, "001DIST", "accepted", NOW)
        return state

    enterprise = lead("00QENT", employees=5000)
    state = distributor_accepts(enterprise)
    first = router.hand_down(enterprise, "001DIST", state, NOW, attempt=2)
    assert (first.partner_id, first.rule) == ("001R2", "Enterprise via distributors (hand-down)")
    state.record_offer(first, NOW)
    state.record_outcome(enterprise.id, "001R2", "rejected", NOW)
    again = router.hand_down(enterprise, "001DIST", state, NOW, attempt=3)
    assert again.kind is DecisionKind.UNROUTABLE and again.partner_id == "001DIST"  # no other Gold reseller

    small = lead("00QSMB", employees=10)
    state = distributor_accepts(small)
    first = router.hand_down(small, "001DIST", state, NOW, attempt=2)
    assert (first.partner_id, first.rule) == ("001R1", "Hand-down to a reseller")  # the file's [hand_down]: round robin


def test_hot_lead_whose_close_date_has_passed_is_not_treated_as_closing_this_quarter():
    """A close date left from an earlier quarter (a stale opportunity, an import) is not
    'closing this quarter': the shipped rule read only `close_date <= quarter_end`."""
    partners = [partner("001A", tier="Gold", programs={"Preferred"}, coverage=("US-CA",))]
    router = router_for(None, partners)
    stale = lead(rating="Hot", amount=75_000.0, close_date=date(2026, 5, 29))  # NOW is in Q4 2026
    assert router.decide(stale, RoutingState(), NOW).rule != "Hot this quarter to Gold preferred (web)"
    early_in_quarter = lead(rating="Hot", amount=75_000.0, close_date=date(2026, 10, 2))  # passed, but this quarter
    assert router.decide(early_in_quarter, RoutingState(), NOW).rule == "Hot this quarter to Gold preferred (web)"

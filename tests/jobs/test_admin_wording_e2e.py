"""What an admin reads on the Lead is plain language: a person by their name, a field by
its label, a match by what it means, no value left behind by an offer that is over.

Each test drives one action end to end against the sandbox org and reads the Lead as an
admin does (SOQL through simple-salesforce), as tests/jobs/test_admin_view_e2e.py does."""
from __future__ import annotations

import re

import pytest

from tests.conftest import salesforce_client

from .test_admin_view_e2e import _admin, _offered, admin_sees
from .test_portal_answer_e2e import ANSWERS, answer_as_rep

pytestmark = pytest.mark.e2e

API_NAME = re.compile(r"\b\w+__c\b")  # a custom field's API name: the admin sees its label
USER_ID = re.compile(r"\b005\w{12}(\w{3})?\b")
FIELDS = ("Id, OwnerId, PartnerAccountId, Routing_Status__c, Routing_Rule__c, Routing_Reason__c, Offered_At__c, "
          "Offer_Deadline__c, Offer_Calendar__c")
ROUTE_AGAIN = "; to have it routed again, set Routing Status to Pending: leadrouter routes it at its next run"


def as_admin(org, lead_id: str) -> dict:
    sf = salesforce_client(org)
    try:
        return sf.query(f"SELECT {FIELDS} FROM Lead WHERE Id = '{lead_id}'")["records"][0]
    finally:
        sf.session.close()


def plain(reason: str) -> None:
    assert not API_NAME.search(reason), f"an API name in {reason!r}"
    assert not USER_ID.search(reason), f"a user's Id in {reason!r}"
    assert "'" not in reason and "(100)" not in reason, f"a Python repr or a bare score in {reason!r}"


# ---------------------------------------------------------------- released: who, by name; what released it

def test_a_lead_a_person_takes_over_names_them_and_says_what_released_it(org, loop):
    """A person takes an offered lead: the Lead names them as the admin knows them (the
    user's name, not 005…), Routing_Rule__c says what released it (not the rule of the offer
    that is over), and the reason says how to route it again in the words on the page."""
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    admin = _admin(org, loop)
    name = org.org.get("User", admin)["Name"]
    org.org.update("Lead", lead_id, {"OwnerId": admin}, as_user=admin)
    loop.cycle(partners_act=False)
    lead = admin_sees(org, loop, lead_id, status="Released",
                      reason_starts=f"taken over by a person: owner set to {name} at ", since=since)
    plain(lead["Routing_Reason__c"])
    assert lead["Routing_Reason__c"].endswith(ROUTE_AGAIN), lead["Routing_Reason__c"]
    assert lead["Routing_Rule__c"] == "Taken over by a person", lead


def test_a_lead_given_to_another_partners_rep_names_the_rep_and_the_partner(org, loop):
    """A person of the org gives an offered lead to a rep of another partner: the Lead names
    the rep by name and their partner, no Id."""
    lead_id, offer = _offered(org, loop)
    admin = _admin(org, loop)
    rep = next(u for u in sorted(org.org.table("User").values(), key=lambda u: u["Id"])
               if u["IsActive"] and u.get("AccountId") and u["Id"] != offer["rep_id"]
               and loop.partner_of_rep(u["Id"]) not in (None, offer["partner_id"]))
    partner = org.org.get("Account", loop.partner_of_rep(rep["Id"]))["Name"]
    org.org.update("Lead", lead_id, {"OwnerId": rep["Id"]}, as_user=admin)
    loop.cycle(partners_act=False)
    lead = as_admin(org, lead_id)
    assert lead["Routing_Status__c"] == "Released", lead
    assert lead["Routing_Reason__c"].startswith(
        f"taken over by a person: owner set to {rep['Name']}, a rep of {partner}, at "), lead["Routing_Reason__c"]
    plain(lead["Routing_Reason__c"])


def test_a_new_owner_whose_name_cannot_be_read_is_named_by_their_id(org, loop):
    """Where the User cannot be read (Salesforce fails the query), the reason still says
    who: the Id, the one thing the connector has of them, and the run goes on."""
    from jobs.owner_names import called, names

    admin = _admin(org, loop)
    assert called(admin, names(loop.cx, [admin])) == org.org.get("User", admin)["Name"]
    org.faults.plan("500", count=20, endpoint="GET query")
    try:
        assert called(admin, names(loop.cx, [admin])) == admin
    finally:
        org.faults.clear()


def test_do_not_route_ticked_on_an_offered_lead_is_said_by_its_label(org, loop):
    """Do_Not_Route__c is what the org's API calls it; the admin ticked a box labelled Do Not
    Route. The reason and Routing_Rule__c say that."""
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    org.org.update("Lead", lead_id, {"Do_Not_Route__c": True}, as_user=_admin(org, loop))
    loop.cycle(partners_act=False)
    lead = admin_sees(org, loop, lead_id, status="Released", reason_starts="Do Not Route is ticked", since=since)
    plain(lead["Routing_Reason__c"])
    assert lead["Routing_Rule__c"] == "Do Not Route ticked", lead
    # Pending alone routes nothing while the box is ticked: the Lead says to untick it first
    assert lead["Routing_Reason__c"].endswith("untick Do Not Route and set Routing Status to Pending: leadrouter "
                                              "routes it at its next run"), lead["Routing_Reason__c"]


# ---------------------------------------------------------------- Pending: what it asks for, what happens

def test_a_lead_set_to_pending_says_in_the_pages_words_what_was_asked_and_done(org, loop):
    lead_id, offer = _offered(org, loop)
    since = org.clock.now()
    org.org.update("Lead", lead_id, {"Routing_Status__c": "Pending"}, as_user=_admin(org, loop))
    loop.cycle(partners_act=False)
    lead = admin_sees(org, loop, lead_id, status="Offered",
                      reason_starts="routed again because a person set Routing Status to Pending; ", since=since)
    plain(lead["Routing_Reason__c"])


def test_a_refused_write_says_how_to_route_again_in_the_pages_words(org, loop):
    """Salesforce refuses the next offer's write (a validation rule): the Lead's reason
    ends with what to do, naming the field by its label and what Pending then does."""
    lead_id, offer = _offered(org, loop)
    answer_as_rep(org, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    org.faults.plan("record_failures", code="FIELD_CUSTOM_VALIDATION_EXCEPTION")
    loop.cycle(partners_act=False)
    org.faults.clear()
    reason = as_admin(org, lead_id)["Routing_Reason__c"]
    assert reason.endswith("; once fixed, set Routing Status to Pending: leadrouter routes it again at its next run"), \
        reason
    assert not API_NAME.search(reason), reason


# ---------------------------------------------------------------- queues by the names the org gives them

def test_a_pool_offer_names_the_pool_by_its_label(org, make_loop):
    """The admin sees the pool queue as the Lead's owner by its label; the reason named its
    API name (Partner_Pool_NA). A label renamed in the org shows as renamed."""
    from .test_pool_answers_e2e import NEVER_ANSWER

    queue = next(g for g in org.org.records("Group") if g.get("DeveloperName") == "Partner_Pool_NA")
    org.org.update("Group", queue["Id"], {"Name": "North America Partner Pool"}, as_user=org.org.integration_user_id)
    loop = make_loop(org, pools=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id = next(lid for lid, o in sorted(loop.live().items()) if o["queue_id"] == queue["Id"])
    reason = as_admin(org, lead_id)["Routing_Reason__c"]
    assert reason.startswith("North America pool: pool North America Partner Pool, "), reason
    assert "Partner_Pool_NA" not in reason, reason


def test_a_lead_in_a_fallback_queue_names_the_queue_by_its_label(org, tmp_path):
    from .conftest import Loop, build_connector
    from .rules_for_tests import BASE, ROTATION

    rules = tmp_path / "fallback.toml"
    rules.write_text(BASE + ROTATION.replace('otherwise = "escalate"', 'otherwise = "Unassigned_Partner_Leads"'))
    for account in org.org.records("Account"):  # nobody can take a lead: every lead falls back
        if account.get("IsPartner"):
            org.org.update("Account", account["Id"], {"Routing_Paused__c": True})
    cx = build_connector(org, f"sqlite:///{tmp_path}/state.sqlite", rules=rules)
    try:
        loop = Loop(org, cx)
        loop.cycle()
        queue_id = loop.queue_id("Unassigned_Partner_Leads")
        lead = next(r for r in org.org.records("Lead") if r.get("OwnerId") == queue_id
                    and r.get("Routing_Status__c") == "Fallback")
        reason = lead["Routing_Reason__c"]
        assert reason.startswith("Fallback queue Unassigned Partner Leads: "), reason
        assert "Unassigned_Partner_Leads" not in reason, reason
    finally:
        cx.client.close()
        cx.store.dispose()


# ---------------------------------------------------------------- an offer over leaves no calendar behind

@pytest.fixture
def working_hours(sandbox_factory, tmp_path):
    """An org whose offers count New York's working hours: each carries Offer_Calendar__c."""
    from .conftest import Loop, build_connector
    from .rules_for_tests import write_rules
    from .test_business_hours_zones_e2e import org_on_friday
    from .test_offer_calendar_e2e import FRIDAY_10AM_NEW_YORK

    sb = org_on_friday(sandbox_factory, "America/New_York", FRIDAY_10AM_NEW_YORK)
    loop = Loop(sb, build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite",
                                    rules=write_rules(tmp_path, business_hours=True)))
    loop.cycle()
    yield sb, loop
    loop.cx.client.close()
    loop.cx.store.dispose()


def _calendared_offer(sb, loop, *, only: bool = False) -> tuple[str, dict]:
    from .test_offer_calendar_e2e import NEW_YORK_WEEK

    for lead_id, o in sorted(loop.live().items()):
        lead = sb.org.get("Lead", lead_id)
        if o["kind"] == "offer" and ("; 1 eligible" in (lead["Routing_Reason__c"] or "")) == only:
            assert lead["Offer_Calendar__c"] == NEW_YORK_WEEK, lead
            return lead_id, o
    raise AssertionError("no offer counted in working hours")


@pytest.mark.parametrize("ends", ["accepted", "taken over", "do not route", "escalated after a rejection"])
def test_an_offer_that_ends_takes_its_calendar_off_the_lead(working_hours, ends):
    """Offer_Calendar__c is the offer's window's calendar: once the offer is over (accepted,
    a person took the lead, Do Not Route ticked, escalated), a calendar left on the Lead reads
    as a window still counted."""
    sb, loop = working_hours
    lead_id, offer = _calendared_offer(sb, loop, only=ends.startswith("escalated"))
    admin = _admin(sb, loop)
    if ends == "accepted":
        answer_as_rep(sb, lead_id, offer["rep_id"], ANSWERS["accept"])
    elif ends == "taken over":
        sb.org.update("Lead", lead_id, {"OwnerId": admin}, as_user=admin)
    elif ends == "do not route":
        sb.org.update("Lead", lead_id, {"Do_Not_Route__c": True}, as_user=admin)
    else:
        answer_as_rep(sb, lead_id, offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(partners_act=False)
    lead = as_admin(sb, lead_id)
    assert lead["Routing_Status__c"] in ("Accepted", "Released", "Escalated"), lead
    assert lead["Offer_Calendar__c"] is None, f"the calendar of an offer that is over is still on the Lead: {lead}"


# ---------------------------------------------------------------- deal registrations: what a match means

@pytest.fixture
def kestrel(sandbox_factory, tmp_path):
    from .kestrel_org import kestrel_fixture

    yield from kestrel_fixture(sandbox_factory, tmp_path)


LONDON = {"Latitude": 51.5155, "Longitude": -0.0922, "City": "London"}


def test_a_registered_deal_says_how_the_company_matched_in_words(kestrel):
    """The lead's company matched a registration's by name: the reason says so, and how
    alike the names are as a percentage, not a bare "(100)", nor Python's quotes."""
    from .kestrel_org import register_deal

    k = kestrel
    register_deal(k, "mersey", "Canary Wharf Holdings")
    lead = k.new_lead("Canary Wharf Holdings plc", "GB", **LONDON)
    k.once(init=True)
    reason = k.view(lead)["Routing_Reason__c"]
    assert "company Canary Wharf Holdings plc matches the registered Canary Wharf Holdings (names 100% alike)" \
        in reason, reason
    plain(reason)


def test_conflicting_registrations_name_the_opportunities_not_their_ids(kestrel):
    from .kestrel_org import register_deal

    k = kestrel
    register_deal(k, "mersey", "Bishopsgate Textiles")
    register_deal(k, "pennine", "Bishopsgate Textiles Ltd")
    lead = k.new_lead("Bishopsgate Textiles", "GB", **LONDON)
    k.once(init=True)
    reason = k.view(lead)["Routing_Reason__c"]
    assert "Bishopsgate Textiles - registration" in reason and "Bishopsgate Textiles Ltd - registration" in reason, reason
    assert not re.search(r"\b006\w{12}", reason), f"an Opportunity's Id in {reason!r}"


def test_a_paused_registering_partner_names_the_opportunity_not_its_id(kestrel):
    from .kestrel_org import register_deal

    k = kestrel
    register_deal(k, "mersey", "Lambeth Lighting")
    k.org.update("Account", k.partners["mersey"], {"Routing_Paused__c": True}, as_user=k.admin)
    lead = k.new_lead("Lambeth Lighting", "GB", **LONDON)
    k.once(init=True)
    reason = k.view(lead)["Routing_Reason__c"]
    assert reason.startswith("Deal registration Lambeth Lighting - registration by Mersey"), reason
    assert not re.search(r"\b006\w{12}", reason), f"an Opportunity's Id in {reason!r}"


# ---------------------------------------------------------------- the shipped rules' own words

def test_the_shipped_gates_name_fields_by_their_labels():
    """A gate's reason is what an Unroutable lead says: the shipped rules name the box the
    admin ticks (Do Not Route), not its API name."""
    import tomllib
    from pathlib import Path

    shipped = tomllib.loads((Path(__file__).parents[2] / "rules" / "defaults" / "rules.toml").read_text())
    reasons = [g["reason"] for g in shipped["gate"]]
    assert "Do Not Route: ticked by a person; the connector stays away" in reasons, reasons
    for reason in reasons:
        assert not API_NAME.search(reason), reason


# ---------------------------------------------------------------- tiers: the org's spelling

def test_tiers_written_in_lower_case_in_the_rules_show_in_the_orgs_spelling(kestrel):
    """A rules file may write tiers in any case (Salesforce compares picklist values without
    case): the Lead, `explain` and the decision `once` logs name the tier as the org's
    picklist spells it (Silver), never the rules file's "silver"."""
    import contextlib
    import io

    from jobs.cli import main

    k = kestrel
    rules = k.work / "rules.toml"
    text = rules.read_text().replace('tiers = ["Silver"]', 'tiers = ["silver"]').replace(
        '  distribute = "weighted"\n  weight_by = "weight"',
        '  partners = \'tier in ["gold", "silver", "platinum", "registered"]\'\n  distribute = "weighted"\n'
        '  weight_by = "tier"').replace("fiscal_year_start_month = 7", "fiscal_year_start_month = 7\n"
                                        "tier_weights = { gold = 3, silver = 1 }")
    assert text.count("silver") == 3
    rules.write_text(text)
    lead = k.new_lead("Marina Bay Freight", "SG")
    k.once(init=True)
    reason = k.view(lead)["Routing_Reason__c"]
    assert "weighted by tier (Silver: weight 1)" in reason, reason
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["explain", lead, "--config", str(k.config)]) == 0
    said = out.getvalue()
    assert "Silver: 3 partner(s), weight 1" in said and "silver" not in said, said

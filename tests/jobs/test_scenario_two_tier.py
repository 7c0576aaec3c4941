"""Kestrel's two-tier ANZ channel (tests/jobs/kestrel_org.py), end to end through
`leadrouter once`, the org's clock moved on between runs.

A distributor is offered the lead for eight working hours in its own zone (Sydney, Auckland);
when it accepts, the lead is handed down to one of its resellers; a reseller that rejects
passes it to the distributor's next reseller, and once every reseller declined it goes back
to the distributor, accepted. A distributor that lets its offer lapse loses it to the next
distributor; when every distributor had its go, the lead escalates. The reminder comes one
working hour before the deadline, in the partner's working hours.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.jobs.kestrel_org import UTC, kestrel_fixture

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)

RESELLERS = {"southern": {"harbour", "outback"}, "pacific": {"kiwi"}}
ZONES = {"southern": "Australia/Sydney", "pacific": "Pacific/Auckland", "harbour": "Australia/Sydney",
         "outback": "Australia/Perth", "kiwi": "Pacific/Auckland"}


def deadline_of(v: dict) -> datetime:
    return datetime.strptime(v["Offer_Deadline__c"], "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def local(zone: str, y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def reminded(k, lead_id: str) -> int:
    return len([n for n in k.sb.notifications.all("customNotificationAction")
                if n.inputs.get("targetId") == lead_id and "expires" in n.inputs.get("title", "")])


def test_distributor_accepts_hands_down_reseller_rejects_next_reseller_then_back_to_distributor(kestrel):
    k = kestrel
    lead = k.new_lead("Bondi Surf Supplies", "AU", State="NSW")
    k.once(init=True)
    v = k.view(lead)
    dist = v["partner"]
    assert v["Routing_Status__c"] == "Offered" and dist in RESELLERS, v
    assert (v["Routing_Rule__c"], v["OwnerId"]) == ("ANZ distributor", k.reps[dist]), v

    k.accept(lead)
    k.once(hours=1)
    v = k.view(lead)
    first = v["partner"]
    assert v["Routing_Status__c"] == "Offered" and first in RESELLERS[dist], v
    assert v["OwnerId"] == k.reps[first], v

    tried = {first}
    while tried != RESELLERS[dist]:
        k.reject(lead, "Out of territory")
        k.once(hours=1)
        v = k.view(lead)
        assert v["Routing_Status__c"] == "Offered" and v["partner"] in RESELLERS[dist] - tried, (tried, v)
        assert v["OwnerId"] == k.reps[v["partner"]], v
        tried.add(v["partner"])
    k.reject(lead, "No capacity")
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Accepted", dist, k.reps[dist]), v
    assert v["Offer_Deadline__c"] is None, "no clock runs on an accepted lead"
    k.once(hours=24 * 5)
    assert k.view(lead)["Routing_Status__c"] == "Accepted"


def test_a_lapsed_distributor_offer_goes_to_the_next_distributor_then_escalates(kestrel):
    k = kestrel
    lead = k.new_lead("Wellington Wool Co", "NZ")
    k.once(init=True)
    v = k.view(lead)
    first = v["partner"]
    assert first in RESELLERS and v["Routing_Attempt__c"] == 1, v
    k.at(deadline_of(v) + timedelta(minutes=5))
    k.once()
    v = k.view(lead)
    second = v["partner"]
    assert v["Routing_Status__c"] == "Offered" and second in RESELLERS and second != first, v
    assert v["Routing_Attempt__c"] == 2 and v["Routing_Reason__c"].startswith("offer 1 lapsed"), v
    k.at(deadline_of(v) + timedelta(minutes=5))
    k.once()
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Escalated", k.queues["Channel_Escalations"]), v
    assert v["Routing_Reason__c"], v


def test_each_distributors_deadline_counts_its_own_working_hours(kestrel):
    """Monday 09:30 in Sydney is 11:30 in Auckland. Eight working hours (09–17) end on
    Tuesday 09:30 in Sydney and on Tuesday 11:30 in Auckland."""
    k = kestrel
    a, b = k.new_lead("Manly Ferries", "AU"), k.new_lead("Newcastle Steel", "AU")
    k.once(init=True)
    got = {k.view(x)["partner"]: deadline_of(k.view(x)) for x in (a, b)}
    assert set(got) == {"southern", "pacific"}, "a round robin across both distributors"
    sydney, auckland = got["southern"], got["pacific"]
    assert abs(sydney - local("Australia/Sydney", 2031, 3, 4, 9, 30)) < timedelta(minutes=2), sydney
    assert abs(auckland - local("Pacific/Auckland", 2031, 3, 4, 11, 30)) < timedelta(minutes=2), auckland


def test_the_reminder_comes_one_working_hour_before_the_deadline_in_the_partners_zone(kestrel):
    """Southern Cross's offer ends Tuesday 09:30 Sydney: one working hour before is Monday
    16:30 Sydney (half an hour on Tuesday morning, half an hour on Monday afternoon), not
    Tuesday 08:30, when nobody is at work."""
    k = kestrel
    leads = [k.new_lead("Parramatta Parts", "AU"), k.new_lead("Hobart Harbour", "AU")]
    k.once(init=True)
    lead = next(x for x in leads if k.view(x)["partner"] == "southern")
    k.at(local("Australia/Sydney", 2031, 3, 3, 16, 20))
    k.once()
    assert reminded(k, lead) == 0, "not before one working hour is left"
    k.at(local("Australia/Sydney", 2031, 3, 3, 16, 40))
    k.once()
    assert reminded(k, lead) == 1, "reminded at the end of Monday's working day"
    k.at(local("Australia/Sydney", 2031, 3, 4, 8, 40))
    k.once()
    assert reminded(k, lead) == 1, "once"


def test_a_lapse_overnight_waits_for_the_partners_working_day(kestrel):
    """An offer made on Friday 16:00 in Perth (a reseller handed the lead) runs on into
    Monday's working hours: nothing lapses over the weekend."""
    k = kestrel
    lead = k.new_lead("Fremantle Fisheries", "AU")
    k.once(init=True)
    v = k.view(lead)
    dist = v["partner"]
    k.accept(lead)
    # Friday afternoon in Perth (08:00 UTC)
    k.at(local("Australia/Perth", 2031, 3, 7, 16, 0))
    k.once()
    v = k.view(lead)
    assert v["Routing_Status__c"] == "Offered" and v["partner"] in RESELLERS[dist], v
    zone = ZONES[v["partner"]]
    handed_at = k.now()
    # eight working hours from Friday 16:00 local (or, Sydney, 19:00: after hours) run into Monday
    assert deadline_of(v).astimezone(ZoneInfo(zone)).weekday() == 0, (zone, deadline_of(v), handed_at)
    k.once(hours=60)  # Monday, early morning everywhere: still offered
    assert k.view(lead)["Routing_Status__c"] == "Offered"


def test_a_distributor_with_no_reseller_for_the_place_keeps_the_lead_it_accepted(kestrel):
    """Southern Cross's resellers cover Australia only: a New Zealand lead it accepts stays
    with it, Accepted, no clock running."""
    k = kestrel
    leads = [k.new_lead("Rotorua Rafting", "NZ"), k.new_lead("Taupo Trout", "NZ")]
    k.once(init=True)
    lead = next(x for x in leads if k.view(x)["partner"] == "southern")
    k.accept(lead)
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Accepted", "southern", k.reps["southern"]), v


def test_a_hand_down_reminder_comes_in_the_resellers_working_hours(kestrel):
    """Kiwi Cloud (Auckland) is handed a lead at Monday 12:30 there; eight working hours end
    Tuesday 12:30, and the reminder one working hour before, Tuesday 11:30 Auckland."""
    k = kestrel
    leads = [k.new_lead("Napier Wines", "NZ"), k.new_lead("Nelson Hops", "NZ")]
    k.once(init=True)
    lead = next(x for x in leads if k.view(x)["partner"] == "pacific")
    k.accept(lead)
    k.once(hours=1)  # Monday 10:30 Sydney, 12:30 Auckland
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"]) == ("Offered", "kiwi"), v
    assert abs(deadline_of(v) - local("Pacific/Auckland", 2031, 3, 4, 12, 30)) < timedelta(minutes=2), v
    k.at(local("Pacific/Auckland", 2031, 3, 4, 11, 20))
    k.once()
    assert reminded(k, lead) == 0
    k.at(local("Pacific/Auckland", 2031, 3, 4, 11, 40))
    k.once()
    assert reminded(k, lead) == 1


def test_the_hand_down_goes_to_the_reseller_covering_the_leads_state(kestrel):
    """Harbour IT covers New South Wales, Outback Systems Western Australia (Coverage__c by
    state code); Kiwi Cloud the whole of ANZ by territory name (@ANZ). A lead's state is
    read as people type it ("WA", "New South Wales")."""
    k = kestrel
    k.org.update("Account", k.partners["harbour"], {"Coverage__c": "AU-NSW"}, as_user=k.admin)
    k.org.update("Account", k.partners["outback"], {"Coverage__c": "AU-WA"}, as_user=k.admin)
    k.org.update("Account", k.partners["kiwi"], {"Coverage__c": "@ANZ"}, as_user=k.admin)
    perth = [k.new_lead(f"Perth Mint Supplies {i}", "Australia", State="WA") for i in range(2)]
    sydney = [k.new_lead(f"Sydney Opera Catering {i}", "AU", State="New South Wales") for i in range(2)]
    k.once(init=True)
    by = {lead: k.view(lead)["partner"] for lead in perth + sydney}
    for lead in by:
        k.accept(lead)
    k.once(hours=1)
    want = {("southern", True): "outback", ("southern", False): "harbour", ("pacific", True): "kiwi",
            ("pacific", False): "kiwi"}
    for lead, dist in by.items():
        v = k.view(lead)
        assert (v["Routing_Status__c"], v["partner"]) == ("Offered", want[(dist, lead in perth)]), (dist, v)


def test_resellers_that_let_the_hand_down_lapse_pass_it_on_and_then_back_to_the_distributor(kestrel):
    k = kestrel
    leads = [k.new_lead("Geelong Grain", "AU"), k.new_lead("Ballarat Bricks", "AU")]
    k.once(init=True)
    lead = next(x for x in leads if k.view(x)["partner"] == "southern")
    k.accept(lead)
    k.once(hours=1)
    tried = []
    for _ in RESELLERS["southern"]:
        v = k.view(lead)
        assert v["Routing_Status__c"] == "Offered" and v["partner"] in RESELLERS["southern"] - set(tried), (tried, v)
        tried.append(v["partner"])
        k.at(deadline_of(v) + timedelta(minutes=5))
        k.once()
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Accepted", "southern", k.reps["southern"]), v
    assert "lapsed" in v["Routing_Reason__c"] and v["Offer_Deadline__c"] is None, v


def test_a_lead_back_with_the_distributor_counts_the_offers_it_had_on_the_lead_in_the_state_and_in_explain(kestrel):
    """Routing_Attempt__c counts offers (docs/CONTRACTS.md): going back to the distributor
    offers the lead to nobody, so its attempt stays the last reseller's offer's — on the Lead,
    in the state and in explain's history alike."""
    from sqlalchemy import create_engine, text

    k = kestrel
    lead = k.new_lead("Bondi Surf Supplies", "AU", State="NSW")
    k.once(init=True)
    dist = k.view(lead)["partner"]
    k.accept(lead)
    k.once(hours=1)
    for _ in RESELLERS[dist]:
        k.reject(lead, "No capacity")
        k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"]) == ("Accepted", dist), v
    last_offer = max(o["attempt"] for o in k.explain(lead)["offers"])
    assert last_offer == 1 + len(RESELLERS[dist]), "the distributor's offer, then one per reseller"
    history = k.explain(lead)["history"]
    assert history[-1]["kind"] == "hand_back"
    engine = create_engine(f"sqlite:///{k.work / 'leadrouter.sqlite'}")
    try:
        with engine.connect() as conn:
            in_state = conn.execute(text("SELECT attempt FROM leads WHERE lead_id = :id"), {"id": lead}).scalar()
    finally:
        engine.dispose()
    assert (v["Routing_Attempt__c"], in_state, history[-1]["attempt"],
            history[-1]["decision"]["attempt"]) == (last_offer,) * 4

"""Kestrel's Japanese pull pool (tests/jobs/kestrel_org.py): a queue, Partner_Pool_JP,
whose members are Sakura Solutions' and Fuji Networks' reps.

A Japanese lead goes to the pool (the queue owns it, no partner yet); the first member's
rep to take it keeps it and the Lead says Accepted with that partner. When two reps race
for it, the one who took it first keeps it, and the other sees plainly on the Lead that
it went to someone else. A pool lead nobody takes before its window ends escalates.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.jobs.kestrel_org import kestrel_fixture

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)


def pooled(k, lead: str) -> dict:
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == (
        "Offered", k.queues["Partner_Pool_JP"], None), v
    assert v["Routing_Rule__c"] == "Japan pull pool" and "2 eligible" in v["Routing_Reason__c"], v
    return v


def test_a_pool_lead_taken_by_one_member_is_that_partners(kestrel):
    k = kestrel
    lead = k.new_lead("Osaka Robotics", "JP")
    k.once(init=True)
    pooled(k, lead)
    k.take_from_pool(lead, k.reps["fuji"])
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Accepted", "fuji", k.reps["fuji"]), v
    assert v["Offer_Deadline__c"] is None, "no clock runs on an accepted lead"


def test_two_members_race_the_first_keeps_it_and_the_loser_is_told(kestrel):
    k = kestrel
    lead = k.new_lead("Kyoto Ceramics", "JP")
    k.once(init=True)
    pooled(k, lead)
    assert k.take_from_pool(lead, k.reps["sakura"]).status_code == 204
    k.sb.clock.advance(timedelta(seconds=30))
    # Fuji's rep had the lead open from the pool list view and clicks Accept a moment later
    late = k.take_from_pool(lead, k.reps["fuji"])
    assert (late.status_code, late.json()[0]["errorCode"]) == (400, "INSUFFICIENT_ACCESS_OR_READONLY"), late.text
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Accepted", "sakura", k.reps["sakura"]), v
    k.once(hours=1)
    assert k.view(lead)["OwnerId"] == k.reps["sakura"], "and it stays so"


def test_in_an_org_open_to_every_partner_user_the_first_taker_keeps_a_lead_raced_for_between_two_runs(kestrel):
    """An org whose sharing lets every partner user save every lead: both saves succeed
    before the connector's next read. The first taker keeps it, and the Lead says why."""
    k = kestrel
    k.org.lead_sharing_external = "ReadWrite"
    lead = k.new_lead("Kobe Beef Exporters", "JP")
    k.once(init=True)
    pooled(k, lead)
    assert k.take_from_pool(lead, k.reps["sakura"]).status_code == 204
    k.sb.clock.advance(timedelta(seconds=30))
    assert k.take_from_pool(lead, k.reps["fuji"]).status_code == 204
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Accepted", "sakura", k.reps["sakura"]), v
    assert "taken" in v["Routing_Reason__c"].lower() and v["Offer_Deadline__c"] is None, v
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Accepted", "sakura", k.reps["sakura"]), v


def test_a_race_seen_across_two_runs_goes_back_to_the_first_taker(kestrel):
    k = kestrel
    lead = k.new_lead("Nagoya Motors", "JP")
    k.once(init=True)
    k.take_from_pool(lead, k.reps["fuji"])
    k.once(hours=1)
    assert k.view(lead)["partner"] == "fuji"
    k.take_from_pool(lead, k.reps["sakura"])
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Accepted", "fuji", k.reps["fuji"]), v
    assert v["Routing_Reason__c"], v


def test_a_pool_lead_nobody_takes_escalates_when_its_window_ends(kestrel):
    k = kestrel
    lead = k.new_lead("Sapporo Breweries Supply", "JP")
    k.once(init=True)
    pooled(k, lead)
    k.once(hours=23)
    pooled(k, lead)
    k.once(hours=1.5)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Escalated", k.queues["Channel_Escalations"]), v
    assert "pool" in v["Routing_Reason__c"].lower(), v


def test_every_member_is_reminded_before_a_pool_lead_lapses_and_a_decliner_is_not(kestrel):
    k = kestrel
    lead = k.new_lead("Hiroshima Harbour", "JP")
    k.once(init=True)
    k.reject(lead, "No capacity", as_user=k.reps["fuji"])  # Fuji's rep declines it in the pool
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Offered", k.queues["Partner_Pool_JP"]), v
    assert "can still take it" in v["Routing_Reason__c"], v
    k.once(hours=22.5)  # 23.5 h after the offer: half an hour left
    told = {r for n in k.sb.notifications.all("customNotificationAction")
            if n.inputs.get("targetId") == lead and "expires" in n.inputs.get("title", "")
            for r in n.inputs["recipientIds"]}
    assert told == {k.reps["sakura"]}, told


def test_a_member_that_put_the_lead_back_in_the_pool_before_another_took_it_is_not_first(kestrel):
    k = kestrel
    k.org.lead_sharing_external = "ReadWrite"
    lead = k.new_lead("Sendai Salmon", "JP")
    k.once(init=True)
    assert k.take_from_pool(lead, k.reps["sakura"]).status_code == 204
    k.sb.clock.advance(timedelta(seconds=10))
    back = k.save_as(k.reps["sakura"], lead, {"OwnerId": k.queues["Partner_Pool_JP"], "Partner_Response__c": None})
    assert back.status_code == 204, back.text
    k.sb.clock.advance(timedelta(seconds=10))
    assert k.take_from_pool(lead, k.reps["fuji"]).status_code == 204
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"], v["OwnerId"]) == ("Accepted", "fuji", k.reps["fuji"]), v

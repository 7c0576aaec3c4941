"""Weighted rotation with caps and load on Kestrel's Singapore resellers
(tests/jobs/kestrel_org.py): Lion City 3, Straits Digital 2, Merlion 1 (Routing_Weight__c).

Over a few hundred leads the shares follow the weights; no partner is offered more than its
Daily_Cap__c in a day or holds more open leads than its Capacity__c; a lead nobody has room
for escalates. A partner's day turns at midnight in its own zone (Time_Zone__c) or, without
one, at the org's midnight in the org's zone (Australia/Sydney): not UTC, not the host's.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.jobs.kestrel_org import UTC, kestrel_fixture

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)
SYDNEY = ZoneInfo("Australia/Sydney")


def sydney(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SYDNEY).astimezone(UTC)


def batch(k, n: int, tag: str) -> list[str]:
    return [k.new_lead(f"{tag} Trading {i}", "SG") for i in range(n)]


def shares(k, leads: list[str]) -> Counter:
    got: Counter = Counter()
    for lead in leads:
        v = k.org.get("Lead", lead)
        got[k.name_of(v.get("PartnerAccountId")) if v["Routing_Status__c"] == "Offered" else v["Routing_Status__c"]] += 1
    return got


def test_three_hundred_leads_are_shared_by_weight_3_2_1(kestrel):
    k = kestrel
    leads = batch(k, 300, "Orchard")
    k.once(init=True)
    got = shares(k, leads)
    assert sum(got[p] for p in ("lion", "straits", "merlion")) == 300, got
    for partner, weight in (("lion", 3), ("straits", 2), ("merlion", 1)):
        expected = 300 * weight / 6
        assert abs(got[partner] - expected) <= 0.1 * 300 / 3, (partner, got)


def test_no_partner_goes_over_its_daily_cap_or_its_capacity_and_the_rest_escalates(kestrel):
    k = kestrel
    k.org.update("Account", k.partners["lion"], {"Daily_Cap__c": 20.0}, as_user=k.admin)
    k.org.update("Account", k.partners["straits"], {"Capacity__c": 15.0}, as_user=k.admin)
    k.org.update("Account", k.partners["merlion"], {"Daily_Cap__c": 25.0}, as_user=k.admin)
    leads = batch(k, 80, "Raffles")
    k.once(init=True)
    got = shares(k, leads)
    assert (got["lion"], got["straits"], got["merlion"]) == (20, 15, 25), got
    assert got["Escalated"] == 20, got
    escalated = next(x for x in leads if k.org.get("Lead", x)["Routing_Status__c"] == "Escalated")
    reason = k.view(escalated)["Routing_Reason__c"].lower()
    assert "cap" in reason or "capacity" in reason, reason


def test_a_partners_daily_cap_resets_at_the_orgs_midnight_in_sydney_without_a_zone_of_its_own(kestrel):
    k = kestrel
    for short in ("lion", "straits", "merlion"):  # no Time_Zone__c: the org's day counts
        k.org.update("Account", k.partners[short], {"Time_Zone__c": None, "Daily_Cap__c": 10.0}, as_user=k.admin)
    first = batch(k, 30, "Monday")
    k.once(init=True)
    assert shares(k, first) == Counter(lion=10, straits=10, merlion=10)

    k.at(sydney(2031, 3, 3, 23, 50))  # Monday, ten to midnight in Sydney: 12:50 UTC
    late = batch(k, 3, "Late Monday")
    k.once()
    assert shares(k, late) == Counter(Escalated=3), "every cap is spent for Sydney's Monday"

    k.at(sydney(2031, 3, 4, 0, 10))  # Tuesday in Sydney; still Monday 13:10 in UTC
    tuesday = batch(k, 12, "Tuesday")
    k.once()
    got = shares(k, tuesday)
    assert got["Escalated"] == 0 and sum(got.values()) == 12, got


def test_a_partner_with_its_own_zone_gets_a_new_day_at_its_own_midnight(kestrel):
    k = kestrel
    for short in ("lion", "straits", "merlion"):  # Asia/Singapore: midnight there is 16:00 UTC
        k.org.update("Account", k.partners[short], {"Daily_Cap__c": 10.0}, as_user=k.admin)
    monday = batch(k, 30, "Monday")
    k.once(init=True)
    assert shares(k, monday) == Counter(lion=10, straits=10, merlion=10)
    k.at(sydney(2031, 3, 4, 0, 10))  # Tuesday in Sydney, still Monday 21:10 in Singapore
    early = batch(k, 3, "Not yet")
    k.once()
    assert shares(k, early) == Counter(Escalated=3), "Singapore's Monday is not over"
    k.at(datetime(2031, 3, 4, 0, 10, tzinfo=ZoneInfo("Asia/Singapore")).astimezone(UTC))
    tuesday = batch(k, 12, "Tuesday")
    k.once()
    got = shares(k, tuesday)
    assert got["Escalated"] == 0 and sum(got.values()) == 12, got


def test_when_the_heaviest_partner_is_capped_the_others_share_the_rest_by_their_weights(kestrel):
    """Lion City (weight 3) takes 20 a day; of the other 280 leads Straits (2) and Merlion (1)
    take two thirds and one third, not whatever the draws that fell on Lion happen to spill."""
    k = kestrel
    k.org.update("Account", k.partners["lion"], {"Daily_Cap__c": 20.0}, as_user=k.admin)
    leads = batch(k, 300, "Marina")
    k.once(init=True)
    got = shares(k, leads)
    assert got["lion"] == 20, got
    rest = got["straits"] + got["merlion"]
    assert rest == 280, got
    assert abs(got["straits"] - rest * 2 / 3) <= 0.1 * rest / 2, got


def test_a_lead_every_partner_rejected_escalates_and_the_lead_says_why(kestrel):
    k = kestrel
    lead = k.new_lead("Jurong Jetties", "SG")
    k.once(init=True)
    seen = []
    for _ in range(3):
        v = k.view(lead)
        assert v["Routing_Status__c"] == "Offered" and v["partner"] not in seen, (seen, v)
        seen.append(v["partner"])
        k.reject(lead, "Not our product/industry")
        k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == (
        "Escalated", k.queues["Channel_Escalations"], None), v
    assert "3 already rejected this lead" in v["Routing_Reason__c"], v


def test_capacity_counts_open_and_accepted_leads_and_a_rejection_frees_a_place(kestrel):
    k = kestrel
    k.org.update("Account", k.partners["straits"], {"Capacity__c": 5.0}, as_user=k.admin)
    first = batch(k, 30, "Bugis")
    k.once(init=True)
    held = [x for x in first if k.org.get("Lead", x)["PartnerAccountId"] == k.partners["straits"]]
    assert len(held) == 5, shares(k, first)
    k.accept(held[0])
    k.reject(held[1], "Bad data")  # not "No capacity": that one lowers the partner's capacity (feedback)
    k.reject(held[2], "Bad data")
    k.once(hours=1)
    assert k.view(held[0])["Routing_Status__c"] == "Accepted"
    assert {k.view(x)["partner"] for x in held[1:3]} <= {"lion", "merlion"}, "rejected: never back to Straits"
    more = batch(k, 30, "Clarke Quay")
    k.once(hours=1)
    assert shares(k, more)["straits"] == 2, shares(k, more)  # 5 places: 1 accepted + 2 open + 2 freed


def test_after_max_attempts_offers_the_lead_escalates_though_a_partner_is_left(kestrel):
    k = kestrel
    rules = k.work / "rules.toml"
    rules.write_text(rules.read_text().replace("max_attempts = 4", "max_attempts = 2"))
    lead = k.new_lead("Changi Cargo", "SG")
    k.once(init=True)
    k.reject(lead, "Bad data")
    k.once(hours=1)
    assert k.view(lead)["Routing_Attempt__c"] == 2
    k.reject(lead, "Bad data")
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Escalated", k.queues["Channel_Escalations"]), v
    assert "no partner took it after 2 offers" in v["Routing_Reason__c"], v


def test_a_daily_cap_spent_before_the_state_was_lost_stays_spent_for_the_rest_of_sydneys_day(kestrel):
    """Offers made at 09:30 Monday in Sydney (Sunday 22:30 UTC); the state file is lost; at
    noon Monday in Sydney (already Monday 01:00 UTC) the rebuilt counts are still Monday's."""
    k = kestrel
    for short in ("lion", "straits", "merlion"):
        k.org.update("Account", k.partners[short], {"Time_Zone__c": None, "Daily_Cap__c": 4.0}, as_user=k.admin)
    monday = batch(k, 12, "Sentosa Morning")
    k.once(init=True)
    assert shares(k, monday) == Counter(lion=4, straits=4, merlion=4)
    for suffix in ("", "-wal", "-shm"):
        (k.work / f"leadrouter.sqlite{suffix}").unlink(missing_ok=True)
    k.at(sydney(2031, 3, 3, 12, 0))
    noon = batch(k, 3, "Sentosa Noon")
    k.once()
    assert shares(k, noon) == Counter(Escalated=3), "the caps were spent this morning, Sydney's Monday"


def test_a_daily_cap_holds_across_the_days_runs(kestrel):
    k = kestrel
    k.org.update("Account", k.partners["lion"], {"Daily_Cap__c": 10.0}, as_user=k.admin)
    leads = []
    for run in range(4):
        leads += batch(k, 20, f"Tiong Bahru {run}")
        k.once(init=(run == 0), hours=0 if run == 0 else 1)
    got = shares(k, leads)
    assert got["lion"] == 10 and got["straits"] + got["merlion"] == 70, got

"""The partner simulator driven by a market: answers and conversions from hidden
propensities, so a connector run on the sandbox can be measured, not just exercised."""
from __future__ import annotations

from datetime import timedelta

from sandbox.market import Market, NO_CAPACITY
from sandbox.simulator import REJECTION_CODES, PartnerSimulator
from tests.sandbox.test_simulator import T0, offer, reps_of, world  # noqa: F401 — the fixture


def _market(summary, **kw):
    return Market(seed=11, partner_ids=tuple(sorted(summary.rep_ids)), leads=10, **kw)


def test_offers_are_answered_as_the_market_says_with_restricted_reasons(world):  # noqa: F811
    org, summary = world
    market = _market(summary)
    sim = PartnerSimulator(org, market=market)
    pairs = reps_of(summary)
    expected = {}
    for lead_id, (pid, rep) in zip(summary.lead_ids[:24], pairs * 3):
        offer(org, lead_id, rep, pid)
    for lead_id, (pid, rep) in zip(summary.lead_ids[:24], pairs * 3):
        record = org.get("Lead", lead_id)
        # three offers each, well under any true capacity (3 or more): the load does not change the answer
        expected[lead_id] = market.answer(pid, market.lead_from_record(record), T0, 0, 1)
    sim.step(T0 + timedelta(hours=500))
    answered = 0
    for lead_id, want in expected.items():
        record = org.get("Lead", lead_id)
        if want.outcome == "accepted":
            assert record["Partner_Response__c"] == "Accepted"
        elif want.outcome == "rejected":
            assert record["Partner_Response__c"] == "Rejected"
            assert record["Rejection_Reason_Code__c"] in REJECTION_CODES
        answered += want.outcome != "lapsed"
    assert answered > 0


def test_accepted_leads_convert_or_close_as_the_market_says(world):  # noqa: F811
    org, summary = world
    market = _market(summary)
    sim = PartnerSimulator(org, market=market)
    pid, rep = reps_of(summary)[0]
    leads = summary.lead_ids[30:40]
    for lead_id in leads:
        org.update("Lead", lead_id, {"OwnerId": rep, "Partner_Response__c": "Accepted",
                                     "Routing_Status__c": "Accepted", "Status": "Working - Contacted"})
    start = T0 + timedelta(days=1)
    sim.step(start)  # sees them accepted: each one's end is drawn now
    sim.step(start + timedelta(days=31))
    converted = 0
    for lead_id in leads:
        record = org.get("Lead", lead_id)
        close = market.close(pid, market.lead_from_record(record), start)
        if close.converted:
            converted += 1
            assert record["IsConverted"] and record["PartnerAccountId"] == pid
        else:
            assert not record["IsConverted"] and record["Status"] == "Closed - Not Converted"
    assert 0 <= converted <= len(leads)


def test_a_partner_past_its_true_capacity_says_no_capacity(world):  # noqa: F811
    org, summary = world
    market = _market(summary)
    pid, rep = reps_of(summary)[0]
    true_capacity = market._truth[pid].capacity
    busy = summary.lead_ids[:true_capacity + 3]
    for lead_id in busy:
        org.update("Lead", lead_id, {"OwnerId": rep, "Routing_Status__c": "Accepted", "Partner_Response__c": "Accepted"})
    fresh = summary.lead_ids[-5:]
    for lead_id in fresh:
        offer(org, lead_id, rep, pid)
    PartnerSimulator(org, market=market).step(T0 + timedelta(hours=500))
    answers = [org.get("Lead", lead_id) for lead_id in fresh]
    rejected = [a for a in answers if a["Partner_Response__c"] == "Rejected"]
    assert all(a["Rejection_Reason_Code__c"] == NO_CAPACITY for a in rejected)
    assert len([a for a in answers if a["Partner_Response__c"] == "Accepted"]) <= 2

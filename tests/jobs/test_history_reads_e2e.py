"""LeadHistory is asked once per read batch of the lead stream, for every field any of its
readers needs (who took a pool lead first, who set the answer, whether the assignment rule
set the owner, who set the owner), not once per reader and page of 200: a poll cycle over
hundreds of answers read in one query page asks LeadHistory once per 300 leads, and the
answers are taken as before. Counted by the sandbox org, over HTTPS."""
from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from sandbox.simulator import Profile

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ANSWERED = 650  # more than three pages of 200, in one read batch (a query page of 2,000)
CHUNK = 300  # lead ids per LeadHistory query (the SOQL IN-list and URL length limits)


def test_a_poll_cycle_asks_leadhistory_once_per_300_answered_leads_not_per_page_and_reader(
        sandbox_factory, make_loop):
    sb = sandbox_factory(seed="demo", partners=40, leads=1900, random_seed=5)
    org = sb.org
    for account in list(org.records("Account")):
        if account.get("IsPartner"):  # room for every lead: nearly all become offers
            org.update("Account", account["Id"], {"Capacity__c": 1000, "Daily_Cap__c": 1000})
    sb.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(sb, pools=True)
    loop.cycle(partners_act=False)
    # the stream's window moves past the burst's own echoes, as a live org's does
    sb.clock.advance(loop.cx.lookback + timedelta(minutes=1))
    loop.cycle(partners_act=False)
    live = sorted(loop.live().items())
    assert len(live) >= ANSWERED
    pools = loop.cx.routing().pools
    rng = random.Random(7)
    picked, answered = 0, []
    for i, (lead_id, offer) in enumerate(live[:ANSWERED]):
        if offer["kind"] == "pool":
            rep = rng.choice(sorted(pools[offer["queue_id"]].member_rep_ids))
            org.update("Lead", lead_id, {"OwnerId": rep}, as_user=rep)  # the portal's pick-up
            picked += 1
        elif i % 2:
            org.update("Lead", lead_id, {"Partner_Response__c": "Accepted"}, as_user=offer["rep_id"])
        else:
            org.update("Lead", lead_id, {"Partner_Response__c": "Rejected", "Rejection_Reason__c": "No capacity"},
                       as_user=offer["rep_id"])
        answered.append(lead_id)
    assert picked, "the demo org's pools hold some of the leads"
    sb.clock.advance(timedelta(seconds=30))
    sb.counters.reset()
    results = loop.cycle(partners_act=False)

    asked = [q.soql for q in sb.counters.queries("LeadHistory")]
    per_lead = [s for s in asked if "LeadId IN" in s]
    assert len(per_lead) == math.ceil(ANSWERED / CHUNK), asked  # 3, where each page of 200 asked 2 or 3 times
    assert len(asked) - len(per_lead) <= 1  # the start's one look at whether another state ran the org
    counts = results["leads"].counts
    outcomes = {k: v for k, v in counts.items() if k != "read" and not k.startswith("flush_")}
    assert counts["read"] == ANSWERED and sum(outcomes.values()) == ANSWERED, counts
    assert not {"unchanged", "unreadable"} & set(outcomes), "every answer was acted on"
    assert outcomes.get("accepted_from_pool", 0) + outcomes.get("pickup_refused_not_admitted", 0) == picked

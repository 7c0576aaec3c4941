"""A daily cap outlives a lost state: the offers it counts are the partners our
integration user set on the leads today, which LeadHistory keeps. A partner that reached
its Daily_Cap__c this morning gets no more leads today from a connector started on a new
state file, while the others go on getting theirs."""
from __future__ import annotations

import pytest

from jobs import lifecycle
from sandbox.seed import add_leads

pytestmark = pytest.mark.e2e


def test_a_partner_at_its_daily_cap_gets_no_more_leads_today_after_the_state_is_lost(org, make_loop):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    pid, offers = loop.busiest_partner()
    offered_today = len(offers)
    assert offered_today >= 2
    org.org.update("Account", pid, {"Daily_Cap__c": offered_today})  # reached this morning

    fresh = make_loop(org, name="fresh")  # the state file is gone: a new one
    new = add_leads(org.org, 80, random_seed=11)
    fresh.cycle(partners_act=False)

    with fresh.cx.store.connect() as conn:
        state = lifecycle.load_state(conn)
    fresh.cx.routing().router.caps.remember_day(state, org.clock.now())  # the partners' own days
    assert state.today_count(pid, org.clock.now()) == offered_today
    got = {lead_id for lead_id in new if org.org.get("Lead", lead_id).get("PartnerAccountId") == pid}
    assert not got, f"{len(got)} new leads offered to {pid}, at its daily cap of {offered_today}"
    others = {org.org.get("Lead", lead_id).get("PartnerAccountId") for lead_id in new} - {None}
    assert others, "the new leads went to other partners"

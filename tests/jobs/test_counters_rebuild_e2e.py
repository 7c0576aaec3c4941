"""The engine's counters outlive a lost state. A daily cap counts the partners our
integration user set on the leads today, which LeadHistory keeps: a partner that reached
its Daily_Cap__c this morning gets no more leads today from a connector started on a new
state file, while the others go on getting theirs. And each rule's fair rotation, and each
partner's rep rotation, go on after the latest offer on the Leads, not from the first
partner again."""
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


def test_fair_rotation_goes_on_where_it_stood_after_the_state_is_lost(org, make_loop):
    from jobs import recovery

    loop = make_loop(org)
    loop.cycle(partners_act=False)
    with loop.cx.store.connect() as conn:
        before = lifecycle.load_state(conn)
    assert before.rotation and before.rep_rotation

    fresh = make_loop(org, name="fresh")
    recovery.ensure(fresh.cx, org.clock.now())
    with fresh.cx.store.connect() as conn:
        after = lifecycle.load_state(conn)
    assert after.rotation == before.rotation  # each rule's next turn: the partner after its last offer
    assert after.rep_rotation == before.rep_rotation


def test_a_pool_pickup_is_no_offer_against_the_daily_cap_after_the_state_is_lost(org, make_loop):
    """A rep taking a lead from a pool was offered nothing: the live state counts the lead
    against the partner's capacity, not its Daily_Cap__c, and a state rebuilt from the org
    must count the same (it counted the partner our user set at the pick-up as an offer,
    so a partner one under its cap was held at it all day)."""
    from jobs import recovery

    from .conftest import pool_members_covering
    from .test_outsider_answer_e2e import save_as
    from .test_pool_answers_e2e import NEVER_ANSWER
    from .test_portal_answer_e2e import ANSWERS

    loop = make_loop(org, pools=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = next((i, o) for i, o in sorted(loop.live().items()) if o["kind"] == "pool")
    rep = next(iter(pool_members_covering(loop, offer["queue_id"], lead_id).values()))  # a member the rule admits
    assert save_as(org, rep, lead_id, {**ANSWERS["accept"], "OwnerId": rep}).status_code == 204
    loop.cycle(partners_act=False)
    partner = loop.partner_of_rep(rep)
    assert (loop.lead(lead_id)["PartnerAccountId"], loop.lead(lead_id)["Routing_Status__c"]) == (partner, "Accepted")
    now = org.clock.now()
    with loop.cx.store.connect() as conn:
        live = lifecycle.load_state(conn)
    loop.cx.routing().router.caps.remember_day(live, now)

    fresh = make_loop(org, pools=True, name="fresh")  # the state file is gone: a new one
    recovery.ensure(fresh.cx, now)
    with fresh.cx.store.connect() as conn:
        rebuilt = lifecycle.load_state(conn)
    fresh.cx.routing().router.caps.remember_day(rebuilt, now)
    assert rebuilt.today_count(partner, now) == live.today_count(partner, now)
    assert rebuilt.open_offers.get(partner) == live.open_offers.get(partner)  # the pick-up holds a place in both


def test_a_distributor_that_handed_leads_down_holds_as_many_after_the_state_is_lost(org, make_loop):
    """A lead handed down is held by the reseller, no longer by its distributor (whose
    acceptance stays on record): the live state counts it once, against the reseller's
    capacity, and a state rebuilt from the org must count the same (it counted it against
    both, so a distributor filled its Capacity__c with leads its resellers held)."""
    from jobs import recovery

    from .test_lifecycle_e2e import a_distributor_accepts

    loop = make_loop(org)
    _, by_distributor = a_distributor_accepts(org, loop)
    distributor = by_distributor["partner_id"]
    now = org.clock.now()
    with loop.cx.store.connect() as conn:
        live = lifecycle.load_state(conn)

    fresh = make_loop(org, name="fresh")
    recovery.ensure(fresh.cx, now)
    with fresh.cx.store.connect() as conn:
        rebuilt = lifecycle.load_state(conn)
    assert rebuilt.open_offers.get(distributor) == live.open_offers.get(distributor)
    assert rebuilt.open_offers == live.open_offers


def test_fair_rotation_goes_on_from_offers_that_have_since_ended_after_the_state_is_lost(org, make_loop):
    """A rotation's latest offer may have lapsed since, its lead escalated or offered to
    another partner: the live state's turn moved with that offer all the same. The rebuilt
    one reads it from LeadHistory, not only from the offers still on a Lead (else such a
    rotation, and the rep turn of a partner whose leads all lapsed, started again at the first).
    Each set's turn (the rule's rotation among the partners it admits for a lead) comes back
    as it stood; the rule-wide turn, read only for a set not seen yet, may come back at
    another offer of the same run (LeadHistory dates a run's writes alike)."""
    from jobs import recovery

    from .test_lifecycle_e2e import NEVER_ANSWER

    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org)
    loop.cycle()
    loop.cycle(hours=25)  # every offer lapses: the leads go to their next partners
    loop.cycle(hours=25)
    loop.cycle(hours=25)  # and after three offers to the escalation queue
    with loop.cx.store.connect() as conn:
        before = lifecycle.load_state(conn)

    fresh = make_loop(org, name="fresh")
    recovery.ensure(fresh.cx, org.clock.now())
    with fresh.cx.store.connect() as conn:
        after = lifecycle.load_state(conn)
    per_set = {k: v for k, v in before.rotation.items() if "|" in k}
    assert per_set and {k: v for k, v in after.rotation.items() if "|" in k} == per_set
    assert after.rotation.keys() == before.rotation.keys()
    assert after.rep_rotation == before.rep_rotation


def test_each_partners_track_record_comes_back_after_the_state_is_lost(org, make_loop):
    """Best fit weighs each partner's track record (acceptance, conversion, response time:
    RoutingState.performance) half and half with how it matches the lead. A rebuilt state
    started every partner at an even 50 %: the partners that had answered for weeks were
    scored as strangers. The offers LeadHistory dates, and who answered them how, come back
    as the same record."""
    from jobs import recovery

    loop = make_loop(org)
    for _ in range(3):
        loop.cycle(hours=6)
    with loop.cx.store.connect() as conn:
        before = lifecycle.load_state(conn).performance
    answered = {p: (r.accepted, r.rejected) for p, r in before.items() if r.accepted or r.rejected}
    assert sum(a for a, _ in answered.values()) >= 3 and sum(r for _, r in answered.values()) >= 1, answered

    fresh = make_loop(org, name="fresh")
    recovery.ensure(fresh.cx, org.clock.now())
    with fresh.cx.store.connect() as conn:
        after = lifecycle.load_state(conn).performance
    assert {p: (r.accepted, r.rejected) for p, r in after.items() if r.accepted or r.rejected} == answered
    for pid in answered:
        assert after[pid].offers >= sum(answered[pid]), (pid, vars(after[pid]))
        was, now = before[pid].mean_response_hours, after[pid].mean_response_hours
        assert now is not None and was is not None and abs(now - was) <= 0.05 * was + 0.01, (pid, was, now)

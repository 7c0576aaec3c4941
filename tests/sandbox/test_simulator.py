"""Partner reps answering offers on the simulated clock."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from sandbox.clock import Clock
from sandbox.seed import build_demo_org
from sandbox.simulator import PROFILES, REJECTION_CODES, REJECTION_REASONS, PartnerSimulator, Profile
from sandbox.store import Org

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ALWAYS_ACCEPT_IN_30_MIN = Profile("always", accept=1.0, reject=0.0, delay_hours=(0.5, 0.5))
ALWAYS_REJECT_IN_2H = Profile("never", accept=0.0, reject=1.0, delay_hours=(2, 2))
ALWAYS_IGNORE = Profile("ghost", accept=0.0, reject=0.0, delay_hours=(1, 1))


@pytest.fixture
def world():
    clock = Clock()
    clock.set(T0)
    org = Org(clock=clock)
    summary = build_demo_org(org, partners=12, leads=60, random_seed=3)
    return org, summary


def reps_of(summary, n=None):
    """(partner id, active rep id) for partners that have active reps."""
    pairs = [(pid, reps[0]) for pid, reps in summary.rep_ids.items() if reps]
    return pairs if n is None else pairs[:n]


def offer(org, lead_id, owner_id, partner_id=None, at=T0):
    fields = {"Routing_Status__c": "Offered", "Offered_At__c": at, "OwnerId": owner_id,
              "Offer_Deadline__c": at + timedelta(hours=48), "Routing_Attempt__c": 1}
    if partner_id:
        fields["PartnerAccountId"] = partner_id
    org.update("Lead", lead_id, fields)  # as the integration user, no auto-assign: what the connector does


def test_accepting_rep_answers_when_the_clock_reaches_the_response_time(world):
    org, summary = world
    partner, rep = reps_of(summary)[0]
    lead = summary.lead_ids[0]
    offer(org, lead, rep, partner)
    before = org.get("Lead", lead)["SystemModstamp"]
    sim = PartnerSimulator(org, profiles={partner: ALWAYS_ACCEPT_IN_30_MIN})

    assert sim.step(T0 + timedelta(minutes=10)).accepted == 0
    assert org.get("Lead", lead)["Partner_Response__c"] is None

    stats = sim.step(T0 + timedelta(minutes=31))
    record = org.get("Lead", lead)
    assert stats.accepted == 1 and stats.events == [(lead, "accepted", rep)]
    assert record["Partner_Response__c"] == "Accepted"
    assert record["LastModifiedById"] == rep
    assert record["SystemModstamp"] > before


def test_rejecting_rep_gives_one_of_the_portal_reasons(world):
    org, summary = world
    partner, rep = reps_of(summary)[0]
    lead = summary.lead_ids[1]
    offer(org, lead, rep, partner)
    sim = PartnerSimulator(org, profiles={partner: ALWAYS_REJECT_IN_2H})
    assert sim.step(T0 + timedelta(hours=3)).rejected == 1
    record = org.get("Lead", lead)
    assert record["Partner_Response__c"] == "Rejected"
    assert record["Rejection_Reason__c"] in REJECTION_REASONS
    assert record["LastModifiedById"] == rep


def test_ignored_offer_writes_nothing_and_is_counted_once(world):
    org, summary = world
    partner, rep = reps_of(summary)[0]
    lead = summary.lead_ids[2]
    offer(org, lead, rep, partner)
    stamp = org.get("Lead", lead)["SystemModstamp"]
    sim = PartnerSimulator(org, profiles={"*": ALWAYS_IGNORE})
    assert sim.step(T0 + timedelta(hours=5)).ignored == 1
    assert sim.step(T0 + timedelta(hours=6)).ignored == 0
    assert org.get("Lead", lead)["SystemModstamp"] == stamp
    assert org.get("Lead", lead)["Partner_Response__c"] is None


def test_step_defaults_to_the_org_clock(world):
    org, summary = world
    partner, rep = reps_of(summary)[0]
    lead = summary.lead_ids[3]
    offer(org, lead, rep, partner, at=org.clock.now())
    sim = PartnerSimulator(org, profiles={"*": ALWAYS_ACCEPT_IN_30_MIN})
    assert sim.step().accepted == 0
    org.clock.advance(timedelta(hours=1))
    assert sim.step().accepted == 1


def test_answers_do_not_depend_on_how_often_the_simulator_steps(world):
    org, summary = world
    pairs = reps_of(summary)
    for i, lead in enumerate(summary.lead_ids[:40]):
        partner, rep = pairs[i % len(pairs)]
        offer(org, lead, rep, partner, at=T0 + timedelta(minutes=i))
    outcome = {}
    for cadence in (timedelta(minutes=20), timedelta(hours=50)):
        # replay the same offers from scratch in a twin org
        twin = Org(clock=Clock())
        twin.clock.set(T0)
        build_demo_org(twin, partners=12, leads=60, random_seed=3)
        for i, lead in enumerate(summary.lead_ids[:40]):
            partner, rep = pairs[i % len(pairs)]
            offer(twin, lead, rep, partner, at=T0 + timedelta(minutes=i))
        sim = PartnerSimulator(twin, random_seed=11)
        t = T0
        while t < T0 + timedelta(hours=50):
            t += cadence
            sim.step(t)
        outcome[cadence] = [(twin.get("Lead", l)["Partner_Response__c"], twin.get("Lead", l)["Rejection_Reason__c"])
                            for l in summary.lead_ids[:40]]
    first, second = outcome.values()
    assert first == second
    answers = {a for a, _ in first}
    assert {"Accepted", "Rejected", None} <= answers  # the default mix of behaviours shows all three


def test_another_random_seed_plays_out_differently(world):
    org, summary = world
    pairs = reps_of(summary)

    def play(seed):
        twin = Org(clock=Clock())
        twin.clock.set(T0)
        build_demo_org(twin, partners=12, leads=60, random_seed=3)
        for i, lead in enumerate(summary.lead_ids[:40]):
            partner, rep = pairs[i % len(pairs)]
            offer(twin, lead, rep, partner)
        PartnerSimulator(twin, random_seed=seed).step(T0 + timedelta(hours=60))
        return [twin.get("Lead", l)["Partner_Response__c"] for l in summary.lead_ids[:40]]

    assert play(1) == play(1)
    assert play(1) != play(2)


def test_a_re_offer_is_a_new_decision(world):
    org, summary = world
    (p1, rep1), (p2, rep2) = reps_of(summary, 2)
    lead = summary.lead_ids[4]
    offer(org, lead, rep1, p1)
    sim = PartnerSimulator(org, profiles={p1: ALWAYS_REJECT_IN_2H, p2: ALWAYS_ACCEPT_IN_30_MIN})
    assert sim.step(T0 + timedelta(hours=3)).rejected == 1
    # the connector redistributes: next partner, fresh offer time, response cleared
    later = T0 + timedelta(hours=3, minutes=5)
    org.update("Lead", lead, {"Partner_Response__c": None, "Rejection_Reason__c": None})
    offer(org, lead, rep2, p2, at=later)
    stats = sim.step(later + timedelta(hours=1))
    assert stats.accepted == 1 and stats.events == [(lead, "accepted", rep2)]
    assert org.get("Lead", lead)["Partner_Response__c"] == "Accepted"


def test_an_answered_offer_is_not_answered_again(world):
    org, summary = world
    partner, rep = reps_of(summary)[0]
    lead = summary.lead_ids[5]
    offer(org, lead, rep, partner)
    org.update("Lead", lead, {"Partner_Response__c": "Rejected", "Rejection_Reason__c": "typed by hand"}, as_user=rep)
    sim = PartnerSimulator(org, profiles={"*": ALWAYS_ACCEPT_IN_30_MIN})
    stats = sim.step(T0 + timedelta(hours=2))
    assert stats.accepted == 0
    assert org.get("Lead", lead)["Rejection_Reason__c"] == "typed by hand"


def test_offer_moved_to_someone_else_before_the_answer_is_not_answered_by_the_old_rep(world):
    org, summary = world
    partner, rep = reps_of(summary)[0]
    lead = summary.lead_ids[6]
    offer(org, lead, rep, partner)
    sim = PartnerSimulator(org, profiles={"*": ALWAYS_ACCEPT_IN_30_MIN})
    sim.step(T0 + timedelta(minutes=5))  # decided, not yet due
    org.update("Lead", lead, {"OwnerId": org.admin_user_id}, as_user=org.admin_user_id)
    assert sim.step(T0 + timedelta(hours=1)).accepted == 0
    assert org.get("Lead", lead)["Partner_Response__c"] is None


def test_inactive_rep_never_answers(world):
    org, summary = world
    partner, rep = reps_of(summary)[0]
    lead = summary.lead_ids[7]
    offer(org, lead, rep, partner)
    org.update("User", rep, {"IsActive": False})
    sim = PartnerSimulator(org, profiles={"*": ALWAYS_ACCEPT_IN_30_MIN})
    stats = sim.step(T0 + timedelta(hours=1))
    assert stats.accepted == 0 and stats.ignored == 1


def test_lead_owned_by_an_internal_user_gets_no_portal_answer(world):
    org, summary = world
    lead = summary.lead_ids[8]
    offer(org, lead, org.admin_user_id)
    stats = PartnerSimulator(org, profiles={"*": ALWAYS_ACCEPT_IN_30_MIN}).step(T0 + timedelta(hours=5))
    assert (stats.accepted, stats.rejected, stats.ignored) == (0, 0, 0)


def make_pool(org, members):
    from sandbox.bootstrap import add_queue

    queue = add_queue(org, "Test_Pool", "Test Pool")
    for rep in members:
        org.create("GroupMember", {"GroupId": queue, "UserOrGroupId": rep})
    return queue


def test_in_a_pool_the_first_rep_to_accept_takes_ownership(world):
    org, summary = world
    (slow_p, slow_rep), (fast_p, fast_rep) = reps_of(summary, 2)
    queue = make_pool(org, [slow_rep, fast_rep])
    lead = summary.lead_ids[9]
    offer(org, lead, queue)
    sim = PartnerSimulator(org, profiles={
        slow_p: Profile("slow", accept=1.0, reject=0.0, delay_hours=(5, 5)),
        fast_p: Profile("fast", accept=1.0, reject=0.0, delay_hours=(1, 1)),
    })
    assert sim.step(T0 + timedelta(minutes=30)).pool_taken == 0
    stats = sim.step(T0 + timedelta(hours=2))
    record = org.get("Lead", lead)
    assert stats.pool_taken == 1 and stats.events == [(lead, "pool_taken", fast_rep)]
    assert record["OwnerId"] == fast_rep and record["LastModifiedById"] == fast_rep
    assert record["Partner_Response__c"] is None  # pools answer by taking, not by the response field
    assert sim.step(T0 + timedelta(hours=6)).pool_taken == 0  # the slow rep finds it gone


def test_a_pool_lead_the_connector_put_back_is_taken_by_another_member(world):
    """The connector undid the fast rep's pick-up (its partner is not one the pool's rule
    admits for the lead): the lead is back in the queue for the others, and the slow rep,
    who sees it there again, takes it; the fast rep does not try twice."""
    org, summary = world
    (slow_p, slow_rep), (fast_p, fast_rep) = reps_of(summary, 2)
    queue = make_pool(org, [slow_rep, fast_rep])
    lead = summary.lead_ids[9]
    offer(org, lead, queue)
    sim = PartnerSimulator(org, profiles={
        slow_p: Profile("slow", accept=1.0, reject=0.0, delay_hours=(5, 5)),
        fast_p: Profile("fast", accept=1.0, reject=0.0, delay_hours=(1, 1)),
    })
    assert sim.step(T0 + timedelta(hours=2)).events == [(lead, "pool_taken", fast_rep)]
    org.update("Lead", lead, {"OwnerId": queue})  # put back, the same offer (Offered_At__c) standing
    assert sim.step(T0 + timedelta(hours=3)).pool_taken == 0  # the others see it back now, and take their time
    stats = sim.step(T0 + timedelta(hours=9))
    assert stats.events == [(lead, "pool_taken", slow_rep)] and org.get("Lead", lead)["OwnerId"] == slow_rep


def test_in_a_pool_nobody_takes_a_lead_nobody_wants(world):
    org, summary = world
    (p1, rep1), (p2, rep2) = reps_of(summary, 2)
    queue = make_pool(org, [rep1, rep2])
    lead = summary.lead_ids[10]
    offer(org, lead, queue)
    stats = PartnerSimulator(org, profiles={"*": ALWAYS_REJECT_IN_2H}).step(T0 + timedelta(hours=10))
    assert stats.pool_taken == 0 and stats.ignored == 1
    assert org.get("Lead", lead)["OwnerId"] == queue


def test_seeded_pools_work_the_same_way(world):
    org, summary = world
    queue = summary.pool_ids["Partner_Pool_NA"]
    members = {m["UserOrGroupId"] for m in org.records("GroupMember") if m["GroupId"] == queue}
    if not members:
        pytest.skip("this small seed put nobody in the NA pool")
    lead = summary.lead_ids[11]
    offer(org, lead, queue)
    PartnerSimulator(org, profiles={"*": ALWAYS_ACCEPT_IN_30_MIN}).step(T0 + timedelta(hours=1))
    assert org.get("Lead", lead)["OwnerId"] in members


def test_profiles_are_assigned_per_partner_deterministically_and_can_be_overridden(world):
    org, summary = world
    a = PartnerSimulator(org, random_seed=5)
    b = PartnerSimulator(org, random_seed=5)
    names = [a.profile_for(p).name for p in summary.partner_ids]
    assert names == [b.profile_for(p).name for p in summary.partner_ids]
    many = {a.profile_for(f"0015g{n:010d}").name for n in range(300)}
    assert many == set(PROFILES)
    pid = summary.partner_ids[0]
    a.set_profile(pid[:15], "ghost")  # 15-char ids work too
    assert a.profile_for(pid).name == "ghost"


def test_bad_profiles_are_refused_with_what_to_use_instead(world):
    org, summary = world
    with pytest.raises(ValueError, match="unknown partner behaviour 'lazy'.*eager"):
        PartnerSimulator(org, profiles={summary.partner_ids[0]: "lazy"})
    with pytest.raises(ValueError, match="add up to at most 1"):
        Profile("greedy", accept=0.8, reject=0.5, delay_hours=(1, 2))
    with pytest.raises(ValueError, match="between 0 and 1"):
        PartnerSimulator(org, people=2)


def test_people_stay_out_unless_asked(world):
    org, summary = world
    stats = PartnerSimulator(org).step(T0 + timedelta(hours=1))
    assert (stats.owner_changed, stats.do_not_route, stats.converted) == (0, 0, 0)


def test_people_change_owners_tick_do_not_route_and_convert(world):
    org, summary = world
    sim = PartnerSimulator(org, random_seed=2, people=0.2)
    totals = {"owner_changed": 0, "do_not_route": 0, "converted": 0}
    for hour in range(1, 6):
        stats = sim.step(T0 + timedelta(hours=hour))
        for k in totals:
            totals[k] += getattr(stats, k)
    assert all(totals.values()), totals
    converted = [l for l in org.records("Lead") if l["IsConverted"]]
    assert len(converted) == totals["converted"]
    assert all(l["Status"] == "Closed - Converted" and l["ConvertedDate"] for l in converted)
    assert sum(1 for l in org.records("Lead") if l["Do_Not_Route__c"]) >= totals["do_not_route"] > 0


def test_a_refused_portal_edit_is_reported_not_raised(world):
    org, summary = world
    partner, rep = reps_of(summary)[0]
    lead = summary.lead_ids[12]
    offer(org, lead, rep, partner)
    sim = PartnerSimulator(org, profiles={"*": Profile("wordy", accept=0.0, reject=1.0, delay_hours=(1, 1))})
    sim.step(T0 + timedelta(minutes=5))  # decided; now the org starts refusing long reasons
    org.schema.object("Lead").field("Rejection_Reason__c").length = 5
    try:
        stats = sim.step(T0 + timedelta(hours=2))
    finally:
        org.schema.object("Lead").field("Rejection_Reason__c").length = 255
    assert stats.failed == 1 and stats.events[0][1] == "failed: STRING_TOO_LONG"
    assert org.get("Lead", lead)["Partner_Response__c"] is None


def test_start_answers_in_the_background_until_stopped(world):
    org, summary = world
    partner, rep = reps_of(summary)[0]
    lead = summary.lead_ids[13]
    offer(org, lead, rep, partner, at=org.clock.now() - timedelta(hours=1))
    sim = PartnerSimulator(org, profiles={"*": ALWAYS_ACCEPT_IN_30_MIN})
    sim.stop()  # stopping a simulator that never started is harmless
    sim.start(interval=0.01)
    try:
        for _ in range(300):
            if org.get("Lead", lead)["Partner_Response__c"]:
                break
            time.sleep(0.01)
    finally:
        thread = sim._thread
        sim.stop()
    assert not thread.is_alive()
    assert org.get("Lead", lead)["Partner_Response__c"] == "Accepted"


def test_rejections_use_the_restricted_reason_list_with_words_like_the_portal(world):
    org, summary = world
    codes_in_org = org.schema.object("Lead").field("Rejection_Reason_Code__c").picklist_values
    assert list(REJECTION_CODES) == codes_in_org  # the simulator and the shipped picklist agree
    pairs = reps_of(summary)
    picky = Profile("picky", accept=0.0, reject=1.0, delay_hours=(0.5, 3))
    sim = PartnerSimulator(org, profiles={"*": picky})
    for i, lead in enumerate(summary.lead_ids[:40]):
        partner, rep = pairs[i % len(pairs)]
        offer(org, lead, rep, partner)
    assert sim.step(T0 + timedelta(hours=4)).rejected == 40
    rows = [org.get("Lead", lead) for lead in summary.lead_ids[:40]]
    for r in rows:
        code, words = r["Rejection_Reason_Code__c"], r["Rejection_Reason__c"]
        assert code in codes_in_org and (words == code or words.startswith(code + ": ")), (code, words)
        assert code != "Other" or words != code  # Other always comes with words
    assert len({r["Rejection_Reason_Code__c"] for r in rows}) >= 4
    # a picky partner's most common reason is the fit
    by_code = {c: sum(r["Rejection_Reason_Code__c"] == c for r in rows) for c in codes_in_org}
    assert max(by_code, key=by_code.get) == "Not our product/industry"


def test_answer_times_spread_like_people_answer_within_the_profile_range():
    import random
    import statistics

    steady = PROFILES["steady"]  # 1 to 8 hours
    rng = random.Random(5)
    hours = [steady.delay(rng).total_seconds() / 3600 for _ in range(2000)]
    assert min(hours) >= 1 and max(hours) <= 8
    assert len({round(h, 3) for h in hours}) > 1500  # minutes and seconds, not whole hours
    median = statistics.median(hours)
    assert 2.4 < median < 3.3  # log-normal: the geometric middle of 1 and 8 h is 2.8 h
    assert statistics.mean(hours) > median  # a tail of late answers
    assert Profile("fixed", accept=1, reject=0, delay_hours=(2, 2)).delay(rng) == timedelta(hours=2)


def test_accepted_offers_are_answered_at_varied_times(world):
    org, summary = world
    pairs = reps_of(summary)
    sim = PartnerSimulator(org, profiles={"*": Profile("keen", accept=1.0, reject=0.0, delay_hours=(0.2, 6))})
    leads = summary.lead_ids[:30]
    for i, lead in enumerate(leads):
        partner, rep = pairs[i % len(pairs)]
        offer(org, lead, rep, partner)
    answered_after = {}
    t = T0
    while t < T0 + timedelta(hours=7):
        t += timedelta(minutes=5)
        for lead, action, _ in sim.step(t).events:
            assert action == "accepted"
            answered_after[lead] = t - T0
    assert len(answered_after) == 30
    assert len(set(answered_after.values())) >= 12  # answers in many different 5-minute steps
    assert min(answered_after.values()) < timedelta(hours=1) < timedelta(hours=2) < max(answered_after.values())

"""The offer lifecycle end to end: sandbox org over HTTPS, partner simulator, simulated clock.

Each test is one rule of the Bar, steered by the partners' behaviour profiles.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.simulator import Profile

from .conftest import is_reminder, pool_members_covering

pytestmark = pytest.mark.e2e

ALWAYS_REJECT = Profile("always reject", accept=0.0, reject=1.0, delay_hours=(0.1, 0.2))
NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ALWAYS_ACCEPT = Profile("always accept", accept=1.0, reject=0.0, delay_hours=(0.1, 0.2))


def offered(loop) -> dict[str, dict]:
    """Live single-partner offers by lead id."""
    return {lead_id: o for lead_id, o in loop.live().items() if o["kind"] == "offer"}


def to_resellers(loop) -> dict[str, dict]:
    """Live offers to partners that work leads themselves (a distributor hands them down)."""
    distributors = {a["Id"] for a in loop.sb.org.records("Account") if a.get("Partner_Role__c") == "Distributor"}
    return {lid: o for lid, o in offered(loop).items() if o["partner_id"] not in distributors}


def test_new_leads_are_offered_within_one_cycle(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    live = offered(loop)
    assert len(live) >= 10, "the seed has plenty of leads a covering partner can take"
    for lead_id, offer in live.items():
        lead = loop.lead(lead_id)
        assert lead["Routing_Status__c"] == "Offered"
        assert lead["OwnerId"] == offer["rep_id"] and lead["PartnerAccountId"] == offer["partner_id"]
        assert lead["Routing_Attempt__c"] == 1 and lead["Offer_Deadline__c"] is not None
    # every lead got an answer: offered, escalated or unroutable — none left untouched
    untouched = [r["Id"] for r in org.org.records("Lead") if r.get("Routing_Status__c") is None]
    assert untouched == []
    # and a lead created later is offered in the very next cycle
    some = loop.lead(next(iter(live)))
    new_id = org.org.create("Lead", {"LastName": "Later", "Company": "Later Ltd", "Country": some["Country"],
                                     "State": some["State"], "PostalCode": some["PostalCode"], "City": some["City"],
                                     "LeadSource": some["LeadSource"]})
    loop.cycle()
    assert loop.lead(new_id)["Routing_Status__c"] in ("Offered", "Escalated")
    assert len(loop.offers(new_id)) <= 1


def test_rejected_offer_goes_to_next_partner_not_back(org, loop):
    org.simulator.set_profile("*", ALWAYS_REJECT)
    loop.cycle()
    first = offered(loop)
    loop.cycle(hours=1)  # every partner rejects; the stream sees it and moves each lead on
    moved = 0
    for lead_id, offer in first.items():
        history = loop.offers(lead_id)
        assert history[0]["status"] == "rejected" and history[0]["close_reason"]
        if len(history) > 1 and history[1]["kind"] == "offer":
            assert history[1]["partner_id"] != history[0]["partner_id"]
            assert history[1]["attempt"] == 2 and history[1]["status"] == "live"
            lead = loop.lead(lead_id)
            assert lead["PartnerAccountId"] == history[1]["partner_id"]
            assert lead["Partner_Response__c"] is None, "the old answer is cleared for the new partner"
            moved += 1
    assert moved >= 5


def test_lead_nobody_takes_goes_to_escalation_queue_with_the_reason(org, loop):
    org.simulator.set_profile("*", ALWAYS_REJECT)
    loop.cycle()
    first = offered(loop)
    for _ in range(4):
        loop.cycle(hours=1)
    escalations = loop.queue_id("Channel_Escalations")
    escalated = 0
    for lead_id in first:
        history = loop.offers(lead_id)
        partners = [o["partner_id"] for o in history]
        assert len(partners) == len(set(partners)), f"{lead_id} went back to a partner: {partners}"
        assert len(history) <= 3, "never more offers than max_attempts"
        lead = loop.lead(lead_id)
        if len(history) == 3:
            assert lead["OwnerId"] == escalations and lead["Routing_Status__c"] == "Escalated"
            assert "after 3 offers" in lead["Routing_Reason__c"]
            escalated += 1
    assert escalated >= 3
    assert loop.live() == {} or all(o["kind"] != "offer" for o in loop.live().values())


def test_lapsed_offer_is_redistributed_to_another_partner(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    first = offered(loop)
    loop.cycle(hours=25)  # past the 24-hour window
    redistributed = 0
    for lead_id, offer in first.items():
        history = loop.offers(lead_id)
        assert history[0]["status"] == "lapsed"
        if len(history) > 1 and history[1]["kind"] == "offer":
            assert history[1]["partner_id"] != offer["partner_id"] and history[1]["attempt"] == 2
            assert loop.lead(lead_id)["Routing_Attempt__c"] == 2
            redistributed += 1
    assert redistributed >= 5


def test_each_offer_gets_exactly_one_reminder_before_its_deadline(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    live = offered(loop)
    assert org.notifications.all("customNotificationAction") == []
    loop.cycle(hours=21)  # 24-hour window, reminders 4 hours before: due now
    loop.cycle(hours=1)
    loop.cycle(hours=1)
    sent = org.notifications.all("customNotificationAction")
    per_lead: dict[str, int] = {}
    for n in sent:
        per_lead[n.inputs["targetId"]] = per_lead.get(n.inputs["targetId"], 0) + 1
    assert set(per_lead) == set(live) and set(per_lead.values()) == {1}
    assert {n.inputs["recipientIds"][0] for n in sent} == {o["rep_id"] for o in live.values()}


def test_pool_acceptance_is_seen_as_owner_moving_from_queue_to_a_rep(org, make_loop):
    loop = make_loop(org, pools=True)
    loop.cycle(partners_act=False)
    pool = loop.queue_id("Partner_Pool_NA")
    pooled = {lid: o for lid, o in loop.live().items() if o["kind"] == "pool"}
    assert pooled and all(loop.lead(lid)["OwnerId"] == pool for lid in pooled)
    # members the pool's rule admits for every one of its leads take them (the pick-up of a member
    # it does not admit for a lead is refused: tests/jobs/test_pool_unadmitted_e2e.py)
    takers = set.intersection(*(set(pool_members_covering(loop, pool, lead_id)) for lead_id in pooled))
    assert takers, "a member covers every pooled lead"
    org.simulator.set_profile("*", NEVER_ANSWER)
    for partner in takers:
        org.simulator.set_profile(partner, ALWAYS_ACCEPT)
    loop.cycle(hours=1)
    for lead_id in pooled:
        lead = loop.lead(lead_id)
        (offer,) = loop.offers(lead_id)
        assert offer["status"] == "accepted" and offer["accepted_by"] == lead["OwnerId"]
        assert lead["OwnerId"].startswith("005")
        assert lead["Routing_Status__c"] == "Accepted"
        assert lead["PartnerAccountId"] == loop.partner_of_rep(lead["OwnerId"])


def test_accepted_offer_confirms_the_owner(org, loop):
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop.cycle(partners_act=False)
    first = to_resellers(loop)
    loop.cycle(hours=1)
    for lead_id, offer in first.items():
        lead = loop.lead(lead_id)
        assert lead["Routing_Status__c"] == "Accepted" and lead["OwnerId"] == offer["rep_id"]
        assert loop.offers(lead_id)[-1]["status"] == "accepted"


def test_owner_changed_by_hand_ends_the_connectors_interest_and_the_lead_says_so(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id = next(iter(offered(loop)))
    admin = next(u["Id"] for u in org.org.records("User") if u["Name"] == "Sandbox Admin")
    org.org.update("Lead", lead_id, {"OwnerId": admin}, as_user=admin)
    loop.cycle()
    (offer,) = loop.offers(lead_id)
    assert offer["status"] == "closed" and "taken over by a person" in offer["close_reason"]
    lead = loop.lead(lead_id)
    assert lead["OwnerId"] == admin, "the person's owner stands"
    assert lead["Routing_Status__c"] == "Released" and "taken over by a person" in lead["Routing_Reason__c"]
    assert lead["Offer_Deadline__c"] is None and lead["Offered_At__c"] is None, "no deadline left ticking"
    assert lead["PartnerAccountId"] is None, "the partner we set does not fit an internal owner"
    stamp = lead["SystemModstamp"]
    loop.cycle(hours=30)  # long past the old deadline: still nobody touches it
    lead = loop.lead(lead_id)
    assert lead["OwnerId"] == admin and lead["SystemModstamp"] == stamp
    assert len(loop.offers(lead_id)) == 1


def test_do_not_route_is_respected_on_new_and_offered_leads(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    admin = next(u["Id"] for u in org.org.records("User") if u["Name"] == "Sandbox Admin")
    some = next(iter(org.org.records("Lead")))
    kept_away = org.org.create("Lead", {"LastName": "Private", "Company": "Keep Away", "Country": some["Country"],
                                        "Do_Not_Route__c": True}, as_user=admin)
    loop.cycle()
    assert loop.lead(kept_away)["Routing_Status__c"] is None and loop.offers(kept_away) == []
    lead_id = next(iter(offered(loop)))
    org.org.update("Lead", lead_id, {"Do_Not_Route__c": True}, as_user=admin)
    loop.cycle()
    (offer,) = loop.offers(lead_id)
    assert offer["status"] == "closed" and "Do Not Route" in offer["close_reason"]
    lead = loop.lead(lead_id)
    assert lead["Routing_Status__c"] == "Released" and lead["Offer_Deadline__c"] is None, "the Lead says hands off"
    stamp = lead["SystemModstamp"]
    loop.cycle(hours=30)
    assert loop.lead(lead_id)["SystemModstamp"] == stamp, "no write after that"


def test_converted_and_deleted_leads_close_their_offers(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    converted, deleted = list(offered(loop))[:2]
    org.org.update("Lead", converted, {"IsConverted": True, "Status": "Closed - Converted"}, system=True)
    org.org.delete("Lead", deleted)
    loop.cycle()
    for lead_id in (converted, deleted):
        (offer,) = loop.offers(lead_id)
        assert offer["status"] == "closed"
    assert "converted" in loop.offers(converted)[0]["close_reason"]
    assert "deleted" in loop.offers(deleted)[0]["close_reason"]
    loop.cycle(hours=30)
    assert len(loop.offers(converted)) == 1 and len(loop.offers(deleted)) == 1


def test_accepted_but_untouched_lead_gets_one_follow_up_then_is_reclaimed(org, make_loop):
    loop = make_loop(org, settings={"offers": {"followup_days": 3, "reclaim": True, "reclaim_after_days": 2}})
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop.cycle(partners_act=False)
    first = to_resellers(loop)
    loop.cycle(hours=1)
    untouched = {lid: o for lid, o in first.items() if loop.lead(lid)["Status"] == "Open - Not Contacted"}
    assert untouched, "the seed has accepted leads nobody has worked"
    worked = next(lid for lid in first if lid not in untouched) if len(untouched) < len(first) else None
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle(hours=3 * 24)
    loop.cycle(hours=1)
    follow_ups = [n for n in org.notifications.all("customNotificationAction")
                  if is_reminder(n.inputs["title"], "followup")]
    assert sorted(n.inputs["targetId"] for n in follow_ups) == sorted(untouched)
    # and each shows on its Lead, where an admin looks: a completed Task
    shown = [t for t in org.org.records("Task") if t.get("Subject") == "Follow-up reminder sent"]
    assert sorted(t["WhoId"] for t in shown) == sorted(untouched)
    assert all(t["Status"] == "Completed" and "Open - Not Contacted" in t["Description"] for t in shown)
    if worked:
        assert loop.offers(worked)[-1]["status"] == "accepted", "a worked lead is left alone"
    loop.cycle(hours=2 * 24)
    for lead_id, offer in untouched.items():
        history = loop.offers(lead_id)
        assert history[0]["status"] == "reclaimed"
        assert len(history) == 1 or history[1]["partner_id"] != offer["partner_id"]
        assert loop.lead(lead_id)["Routing_Attempt__c"] == 2


def test_offer_window_counts_business_hours_in_the_partners_time_zone(sandbox_factory, make_loop):
    from datetime import datetime, timezone

    # The org is seeded on Friday 27 November 2026 in its own time, whatever day the test
    # runs: the leads are an hour old when the connector first reads them.
    org = sandbox_factory(seed="demo", partners=40, leads=60, random_seed=3,
                          start_at=datetime(2026, 11, 27, 13, 0, tzinfo=timezone.utc))
    for account in org.org.records("Account"):
        if account.get("IsPartner"):
            org.org.update("Account", account["Id"], {"Time_Zone__c": "Europe/Berlin"})
    # Friday 27 November 2026, 15:00 in Berlin: two working hours left this week
    org.clock.set(datetime(2026, 11, 27, 14, 0, tzinfo=timezone.utc))
    loop = make_loop(org, business_hours=True)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    live = offered(loop)
    assert live
    monday_3pm_berlin = datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc)  # 2 h Friday + 6 h Monday
    # (the org's clock keeps running and each cycle steps two seconds: allow a minute)
    assert all(timedelta(0) <= o["deadline"] - monday_3pm_berlin < timedelta(minutes=1) for o in live.values())
    org.clock.set(datetime(2026, 11, 29, 20, 0, tzinfo=timezone.utc))  # Sunday night: 54 clock hours later
    loop.cycle()
    assert all(loop.offers(lid)[0]["status"] == "live" for lid in live), "the weekend does not count"
    org.clock.set(datetime(2026, 11, 30, 14, 5, tzinfo=timezone.utc))
    loop.cycle()
    assert all(loop.offers(lid)[0]["status"] == "lapsed" for lid in live)


def test_a_person_editing_a_lead_before_our_write_lands_is_not_overwritten(org, loop):
    from jobs.state import outbox as ob

    org.simulator.set_profile("*", NEVER_ANSWER)
    org.faults.plan("503", count=200, endpoint="composite/sobjects")  # Salesforce is down for writes
    results = loop.cycle(raise_errors=False)
    assert results["leads"].error, "the write-back failed"
    with loop.cx.store.connect() as conn:
        unsent = {e["lead_id"]: e for e in ob.open_entries(conn)}
    lead_id = next(lid for lid, e in unsent.items() if e["purpose"] == "offer")
    admin = next(u["Id"] for u in org.org.records("User") if u["Name"] == "Sandbox Admin")
    org.org.update("Lead", lead_id, {"OwnerId": admin}, as_user=admin)
    org.faults.clear()
    loop.cycle()
    lead = loop.lead(lead_id)
    assert lead["OwnerId"] == admin and lead["Routing_Status__c"] is None, "the person's edit stands"
    (offer,) = loop.offers(lead_id)
    assert offer["status"] == "closed"
    others = [lid for lid in unsent if lid != lead_id]
    assert all(loop.lead(lid)["Routing_Status__c"] for lid in others), "the other writes went through"
    with loop.cx.store.connect() as conn:
        assert not ob.open_entries(conn)


def test_a_released_lead_set_back_to_pending_by_a_person_is_routed_again(org, loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id = next(iter(offered(loop)))
    admin = next(u["Id"] for u in org.org.records("User") if u["Name"] == "Sandbox Admin")
    org.org.update("Lead", lead_id, {"OwnerId": admin}, as_user=admin)
    loop.cycle()
    assert loop.offers(lead_id)[-1]["status"] == "closed"
    org.org.update("Lead", lead_id, {"Routing_Status__c": "Pending"}, as_user=admin)
    loop.cycle()
    history = loop.offers(lead_id)
    assert len(history) == 2 and history[-1]["status"] == "live"
    assert loop.lead(lead_id)["Routing_Status__c"] == "Offered"


def a_distributor_accepts(org, loop) -> tuple[set[str], dict]:
    """Distributors accept, everyone else rejects: the distributors, and the first offer a
    distributor accepted (its resellers are offered the lead next)."""
    from jobs.state.schema import offers

    org.simulator.set_profile("*", ALWAYS_REJECT)
    distributors = {a["Id"] for a in org.org.records("Account") if a.get("Partner_Role__c") == "Distributor"}
    for d in distributors:
        org.simulator.set_profile(d, ALWAYS_ACCEPT)

    def distributor_accepts():
        with loop.cx.store.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(offers.select().where(
                offers.c.status == "accepted", offers.c.partner_id.in_(distributors)))]

    for _ in range(8):
        loop.cycle(hours=1)
        if distributor_accepts():
            break
    return distributors, distributor_accepts()[0]


def test_a_distributor_accepting_hands_the_lead_down_to_a_reseller_and_gets_it_back_if_none_takes_it(org, loop):
    distributors, accepted_by_distributor = a_distributor_accepts(org, loop)
    resellers = {a["Id"]: a["ParentId"] for a in org.org.records("Account") if a.get("ParentId") in distributors}
    lead_id = accepted_by_distributor["lead_id"]
    history = loop.offers(lead_id)
    after = history[history.index(next(o for o in history if o["id"] == accepted_by_distributor["id"])) + 1:]
    assert after and resellers[after[0]["partner_id"]] == accepted_by_distributor["partner_id"], \
        "the distributor's acceptance offers the lead to one of its resellers"
    assert after[0]["attempt"] == accepted_by_distributor["attempt"] + 1, "a hand-down is one more offer"
    for _ in range(6):  # every reseller rejects: the lead goes back to the distributor's rep
        loop.cycle(hours=1)
    lead = loop.lead(lead_id)
    assert lead["PartnerAccountId"] == accepted_by_distributor["partner_id"]
    assert lead["OwnerId"] == accepted_by_distributor["accepted_by"] and lead["Routing_Status__c"] == "Accepted"
    tried = [o["partner_id"] for o in loop.offers(lead_id) if o["partner_id"] in resellers]
    assert len(tried) == len(set(tried)), "no reseller is offered the lead twice"


def test_a_cron_run_with_only_due_jobs_skips_what_ran_recently(org, loop):
    loop.cycle()
    org.clock.advance(timedelta(seconds=90))
    results = loop.cx.run_cycle(only_due=True)
    assert "leads" in results and "outbox" in results, "due every minute or so"
    assert "sync_partners" not in results and "deleted" not in results, "due every 15 minutes"
    org.clock.advance(timedelta(minutes=15))
    assert "sync_partners" in loop.cx.run_cycle(only_due=True)


def test_the_first_run_does_not_route_leads_older_than_the_backfill_window(org, make_loop):
    old_enough = [r["Id"] for r in org.org.records("Lead")]
    org.clock.advance(timedelta(hours=30))  # the seeded leads are now 30 hours old
    fresh = org.org.create("Lead", {"LastName": "Fresh", "Company": "Fresh Ltd", "Country": "US"})
    loop = make_loop(org, settings={"routing": {"backfill_hours": 24}})
    loop.cycle()
    assert all(loop.lead(i)["Routing_Status__c"] is None for i in old_enough)
    assert loop.lead(fresh)["Routing_Status__c"] is not None

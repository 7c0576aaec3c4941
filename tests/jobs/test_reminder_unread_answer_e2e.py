"""A rep who answered in the portal is not reminded of the offer they answered, though the
connector has not read the answer yet: the remind job reads the due offers' Leads (one query)
and holds the reminder of one saved since the last read with an answer in it — a response, or
a pool lead picked up. Its next read of the lead settles the offer, with no reminder sent."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.simulator import Profile

from .test_offer_tasks_e2e import reminders
from .test_outsider_answer_e2e import save_as

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def due_offers(loop) -> list[dict]:
    """The live offers to partners whose reminders fall due first, in the same hour."""
    offers = sorted((o for o in loop.live().values() if o["kind"] == "offer"), key=lambda o: (o["deadline"], o["id"]))
    return [o for o in offers if o["deadline"] - offers[0]["deadline"] <= timedelta(hours=1)]


@pytest.mark.parametrize("answer", ["Accepted", "Rejected"])
def test_a_rep_who_answered_is_not_reminded_before_the_connector_reads_the_answer(org, make_loop, answer):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org, settings={"notifications": {"mode": "custom"}})
    loop.cycle()
    due = due_offers(loop)
    assert len(due) >= 3, "other offers are reminded in the same run (else this proves less)"
    answered, edited = due[0], due[1]
    loop.sb.clock.set(answered["deadline"] - timedelta(hours=3))
    fields = {"Partner_Response__c": answer}
    if answer == "Rejected":
        fields |= {"Rejection_Reason_Code__c": "No capacity", "Rejection_Reason__c": "No capacity: two reps on leave"}
    r = save_as(org, answered["rep_id"], answered["lead_id"], fields)
    assert r.status_code == 204, r.text
    # a save with no answer in it (a note) is no reason to hold the reminder
    r = save_as(org, edited["rep_id"], edited["lead_id"], {"Description": "called, left a voicemail"})
    assert r.status_code == 204, r.text
    loop.sb.clock.advance(timedelta(seconds=2))
    result = loop.cx.run_job("remind", org.clock.now())  # before any read of the leads sees the saves
    assert result.error is None
    assert reminders(org, answered["lead_id"], "customNotificationAction") == [], "the rep has answered"
    assert result.counts["reminder_held_for_answer"] == 1
    for o in due[1:]:
        assert len(reminders(org, o["lead_id"], "customNotificationAction")) == 1
    loop.cycle(partners_act=False)  # the answer is read: the offer ends
    loop.cycle(hours=1, partners_act=False)
    assert reminders(org, answered["lead_id"], "customNotificationAction") == []
    [offer] = [o for o in loop.offers(answered["lead_id"]) if o["id"] == answered["id"]]
    assert offer["status"] == ("accepted" if answer == "Accepted" else "rejected")


def test_a_pool_lead_a_member_picked_up_is_not_reminded_before_the_connector_reads_the_pick_up(org, make_loop):
    from tests.emails import lead_of

    from .conftest import is_reminder
    from .test_pool_alerts_e2e import admitted_member_reps

    loop = make_loop(org, pools=True, settings={"notifications": {"mode": "email", "pool_alert": "members"}})
    queue = loop.queue_id("Partner_Pool_NA")
    shared = [(lead["Id"], m) for lead in org.org.records("Lead") if lead.get("Country") in ("US", "CA", "MX")
              and (m := admitted_member_reps(loop, queue, lead["Id"]))]
    assert shared, "the seeded org has North American leads the pool's members cover"
    lead_id, members = shared[0]
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    offer = loop.live()[lead_id]
    assert offer["queue_id"] == queue
    loop.sb.clock.set(offer["deadline"] - timedelta(hours=3))
    rep = sorted(next(iter(members.values())))[0]
    r = save_as(org, rep, lead_id, {"OwnerId": rep})  # picked up from the queue's list view, no answer given
    assert r.status_code == 204, r.text
    loop.sb.clock.advance(timedelta(seconds=2))
    result = loop.cx.run_job("remind", org.clock.now())
    assert result.error is None and result.counts["reminder_held_for_answer"] >= 1
    pool_reminders = [n for n in org.notifications.all("emailSimple")
                      if lead_of(n) == lead_id and is_reminder(n.inputs["emailSubject"])]
    assert pool_reminders == [], "a member took it: the pool is not reminded of it"
    loop.cycle(partners_act=False)
    assert loop.offers(lead_id)[-1]["status"] == "accepted"

"""A state lost mid-lifecycle: what partner reps and admins see goes on as if it had been
kept. An offer's reminder, and an accepted lead's follow-up, go out once per offer —
whether the state that sent them survived or was rebuilt from the org."""
from __future__ import annotations

from collections import Counter

import pytest

from sandbox.simulator import Profile

from .conftest import is_reminder

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ALWAYS_ACCEPT = Profile("always accept", accept=1.0, reject=0.0, delay_hours=(0.1, 0.2))


def sent(org, kind: str) -> Counter:
    return Counter(n.inputs["targetId"] for n in org.notifications.all("customNotificationAction")
                   if is_reminder(n.inputs["title"], kind))


def test_a_reminder_sent_before_the_state_was_lost_is_not_sent_again(org, make_loop):
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org)
    loop.cycle()
    offered = {i for i, o in loop.live().items() if o["kind"] == "offer"}
    loop.cycle(hours=21)  # 3 hours before the 24-hour deadline: each offer's reminder goes out
    reminded = sent(org, "reminder")
    assert set(reminded) == offered and set(reminded.values()) == {1}

    fresh = make_loop(org, name="fresh")  # the state file is gone
    fresh.cycle(hours=1, partners_act=False)
    assert set(fresh.live()) >= offered, "the offers were rebuilt, not abandoned"
    assert sent(org, "reminder") == reminded, "no rep is reminded twice of one offer"


def test_a_follow_up_sent_before_the_state_was_lost_is_not_sent_again(org, make_loop):
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop = make_loop(org)
    loop.cycle()
    loop.cycle(hours=1)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle(hours=3 * 24)
    loop.cycle(hours=1)
    followed = sent(org, "followup")
    assert followed and set(followed.values()) == {1}

    fresh = make_loop(org, name="fresh")
    fresh.cycle(hours=1, partners_act=False)
    assert sent(org, "followup") == followed, "no rep is reminded twice to work one accepted lead"


def test_where_the_org_keeps_no_reminder_task_a_due_reminder_is_taken_as_sent_and_status_says_so(
        org, make_loop, tmp_path):
    """With reminder_tasks = "off" the org holds no trace of a reminder sent: the rebuild
    errs on the side of no second reminder, and says what it could not rebuild in the log
    and in `leadrouter status`."""
    import structlog

    from .conftest import leadrouter
    from .test_crash_e2e import write_config

    settings = {"notifications": {"mode": "custom", "reminder_tasks": "off"}}
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org, settings=settings, name="lost")
    loop.cycle()
    loop.cycle(hours=21)
    reminded = sent(org, "reminder")
    assert reminded and not list(org.org.records("Task"))

    fresh = make_loop(org, settings=settings, name="state")  # the file `leadrouter status` reads
    with structlog.testing.capture_logs() as logs:
        fresh.cycle(hours=1, partners_act=False)
    assert sent(org, "reminder") == reminded
    [said] = [e for e in logs if e["event"] == "state_not_rebuilt_exactly"]
    assert said["log_level"] == "warning" and "taken as sent" in said["reminders_assumed_sent"]

    fresh.cx.store.dispose()
    proc = leadrouter(write_config(tmp_path, org), "status")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    text = " ".join(out.split())
    assert "Rebuilt from the org" in text and f"{len(reminded)} offer reminder(s)" in text, out


def test_a_lead_a_reseller_accepted_from_its_distributor_stays_in_the_family_after_the_state_is_lost(org, make_loop):
    """A distributor accepted, handed the lead down, and its reseller accepted: the
    distributor's acceptance stands beside the reseller's (jobs/state/offers.py). Rebuilt
    from the org, it still does — so when the reseller hands the lead back, it goes to the
    distributor's next reseller or back to the distributor, as with the state kept, not
    out of the family as a new lead."""
    from .test_lifecycle_e2e import a_distributor_accepts
    from .test_outsider_answer_e2e import save_as

    loop = make_loop(org)
    distributors, by_distributor = a_distributor_accepts(org, loop)
    org.simulator.set_profile("*", NEVER_ANSWER)
    lead_id = by_distributor["lead_id"]
    family = {by_distributor["partner_id"]} | {a["Id"] for a in org.org.records("Account")
                                               if a.get("ParentId") == by_distributor["partner_id"]}
    lead = loop.lead(lead_id)
    reseller, rep = lead["PartnerAccountId"], lead["OwnerId"]
    assert lead["Routing_Status__c"] == "Offered" and reseller in family - {by_distributor["partner_id"]}
    assert save_as(org, rep, lead_id, {"Partner_Response__c": "Accepted"}).status_code == 204
    loop.cycle(partners_act=False)
    assert loop.lead(lead_id)["Routing_Status__c"] == "Accepted"

    fresh = make_loop(org, name="fresh")  # the state file is gone
    fresh.cycle(hours=1, partners_act=False)
    assert save_as(org, rep, lead_id, {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "No capacity",
                                       "Rejection_Reason__c": "No capacity: full"}).status_code == 204
    fresh.cycle(partners_act=False)
    lead = fresh.lead(lead_id)
    assert lead["PartnerAccountId"] in family - {reseller}, (lead["PartnerAccountId"], lead["Routing_Reason__c"])


def answer_some(sb, seed: str) -> None:
    """Reps answer some open offers, the same ones for the same seed whichever state runs:
    accepts, and rejections with each reason code (a "No capacity" throttles the partner)."""
    import hashlib

    from .test_outsider_answer_e2e import save_as

    codes = ["No capacity", "Out of territory", "Not our product/industry"]
    for r in sorted(sb.org.records("Lead"), key=lambda r: r["Id"]):
        if r.get("Routing_Status__c") != "Offered" or not r["OwnerId"].startswith("005"):
            continue
        h = int(hashlib.sha1(f"{r['Id']}{seed}".encode()).hexdigest(), 16) % 7
        if h == 0:
            save_as(sb, r["OwnerId"], r["Id"], {"Partner_Response__c": "Accepted"})
        elif h <= 3:
            save_as(sb, r["OwnerId"], r["Id"], {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c":
                                                codes[h - 1], "Rejection_Reason__c": f"{codes[h - 1]}: sorry"})


def test_answers_given_while_the_state_was_lost_move_the_leads_on_as_with_the_state_kept(sandbox_factory, make_loop):
    """Two identical orgs, the same answers: one connector keeps its state, the other's is
    lost just before the answers are read. The rebuilt state reads them in the lead
    stream's order (as given), so each rejected lead goes to the same next partner (the
    rotation and the capacity the earlier redistributions fill are the same); read in
    another order, the rotation handed the leads to other partners."""
    from datetime import datetime, timedelta, timezone

    start = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    seen = []
    for lose in (False, True):
        sb = sandbox_factory(seed="demo", partners=40, leads=60, random_seed=3, start_at=start)
        sb.simulator.set_profile("*", NEVER_ANSWER)
        loop = make_loop(sb, name=f"first-{lose}")
        loop.cycle(partners_act=False)
        sb.clock.advance(timedelta(hours=1))
        answer_some(sb, "1")
        if lose:
            loop = make_loop(sb, name="rebuilt")
        loop.cycle(partners_act=False)
        seen.append({r["Id"]: (r.get("Routing_Status__c"), r.get("PartnerAccountId"), r.get("OwnerId"))
                     for r in sb.org.records("Lead")})
    kept, rebuilt = seen
    assert any(v[0] == "Offered" for v in kept.values())
    moved = {k: (kept[k], rebuilt[k]) for k in kept if kept[k] != rebuilt[k]}
    assert not moved, f"{len(moved)} leads went elsewhere: {list(moved.items())[:3]}"


def test_a_lead_back_with_its_distributor_after_the_state_is_lost_goes_to_the_distributors_rep(org, make_loop):
    """The distributor accepted, its first reseller declined, the second has the offer when
    the state is lost. When the resellers are done, the lead goes back to the rep of the
    distributor who accepted it — as with the state kept — not to the first reseller's rep
    (the rebuilt acceptance named the last owner set before the current hand-down)."""
    from .test_lifecycle_e2e import a_distributor_accepts
    from .test_outsider_answer_e2e import save_as

    from datetime import timedelta

    loop = make_loop(org)
    _, by_distributor = a_distributor_accepts(org, loop)
    org.simulator.set_profile("*", NEVER_ANSWER)
    lead_id, distributor = by_distributor["lead_id"], by_distributor["partner_id"]
    reject = {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "No capacity",
              "Rejection_Reason__c": "No capacity: full"}
    first = dict(loop.lead(lead_id))
    assert first["PartnerAccountId"] != distributor
    org.clock.advance(timedelta(minutes=10))  # the rep reads the offer, then answers
    assert save_as(org, first["OwnerId"], lead_id, reject).status_code == 204
    loop.cycle(partners_act=False)
    second = loop.lead(lead_id)
    assert second["Routing_Status__c"] == "Offered" and second["PartnerAccountId"] not in (distributor,
                                                                                        first["PartnerAccountId"])

    fresh = make_loop(org, name="fresh")  # the state file is gone
    fresh.cycle(partners_act=False)
    for _ in range(6):  # each reseller left declines in turn
        lead = fresh.lead(lead_id)
        if lead["Routing_Status__c"] != "Offered":
            break
        org.clock.advance(timedelta(minutes=10))
        assert save_as(org, lead["OwnerId"], lead_id, reject).status_code == 204
        fresh.cycle(partners_act=False)
    lead = fresh.lead(lead_id)
    assert (lead["Routing_Status__c"], lead["PartnerAccountId"]) == ("Accepted", distributor), lead["Routing_Reason__c"]
    assert lead["OwnerId"] == by_distributor["accepted_by"], "back with the distributor's own rep"


def test_a_reminder_that_may_have_gone_out_is_not_sent_again_by_a_rebuilt_state(org, make_loop):
    """Salesforce's answer to the reminders' call was lost: each lead says its reminder may
    not have been sent (it went out). A state rebuilt from the org reads that Task as a
    reminder tried, as it reads "sent" and "not sent", and does not remind again."""
    org.simulator.set_profile("*", NEVER_ANSWER)
    settings = {"notifications": {"mode": "custom", "reminder_tasks": "all"}}
    loop = make_loop(org, settings=settings)
    loop.cycle()
    offered = {i for i, o in loop.live().items() if o["kind"] == "offer"}
    org.faults.plan("lost_answer", endpoint="customNotificationAction", count=20)
    loop.cycle(hours=21)
    org.faults.clear()
    reminded = sent(org, "reminder")
    assert set(reminded) == offered
    unsure = {t["WhoId"] for t in org.org.records("Task") if t["Subject"] == "Offer reminder may not have been sent"}
    assert unsure == offered

    fresh = make_loop(org, settings=settings, name="fresh")
    fresh.cycle(hours=1, partners_act=False)
    assert sent(org, "reminder") == reminded, "no rep is reminded twice of one offer"


def test_a_follow_up_that_may_have_gone_out_is_not_sent_again_by_a_rebuilt_state(org, make_loop):
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    settings = {"notifications": {"mode": "custom", "reminder_tasks": "all"}}
    loop = make_loop(org, settings=settings)
    loop.cycle()
    loop.cycle(hours=1)
    org.simulator.set_profile("*", NEVER_ANSWER)
    org.faults.plan("lost_answer", endpoint="customNotificationAction", count=20)
    loop.cycle(hours=3 * 24)
    org.faults.clear()
    followed = sent(org, "followup")
    assert followed and set(followed.values()) == {1}
    assert [t for t in org.org.records("Task") if t["Subject"] == "Follow-up reminder may not have been sent"]

    fresh = make_loop(org, settings=settings, name="fresh")
    fresh.cycle(hours=1, partners_act=False)
    assert sent(org, "followup") == followed, "no rep is reminded twice to work one accepted lead"


def test_a_reminder_whose_task_salesforce_refused_is_not_sent_again_by_a_rebuilt_state(org, make_loop):
    """reminder_tasks = "all": each reminder's Task on the Lead is what a rebuilt state knows
    it by. When Salesforce refused the Task (the integration user without Edit Tasks) the
    reminder still went out; a state lost after that reminded every rep a second time. The
    Lead holding no Task of a reminder already due now means what it means with "failed" or
    "off": taken as sent, counted and said (`state_not_rebuilt_exactly`)."""
    import structlog

    org.simulator.set_profile("*", NEVER_ANSWER)
    settings = {"notifications": {"mode": "custom", "reminder_tasks": "all"}}
    loop = make_loop(org, settings=settings)
    loop.cycle()
    offered = {i for i, o in loop.live().items() if o["kind"] == "offer"}
    org.faults.plan("record_failures", count=50, endpoint="POST composite/sobjects",
                    records=list(range(200)), code="INSUFFICIENT_ACCESS_OR_READONLY")
    loop.cycle(hours=21)  # 3 hours before the 24-hour deadline: each offer's reminder goes out
    org.faults.clear()
    reminded = sent(org, "reminder")
    assert set(reminded) == offered and set(reminded.values()) == {1}
    assert not [t for t in org.org.records("Task") if t["Subject"].startswith("Offer reminder")]

    fresh = make_loop(org, settings=settings, name="fresh")  # the state file is gone
    with structlog.testing.capture_logs() as logs:
        fresh.cycle(hours=1, partners_act=False)
    assert set(fresh.live()) >= offered, "the offers were rebuilt, not abandoned"
    assert sent(org, "reminder") == reminded, "no rep is reminded twice of one offer"
    [said] = [e for e in logs if e["event"] == "state_not_rebuilt_exactly"]
    assert "taken as sent" in said["reminders_assumed_sent"] and "Task" in said["reminders_assumed_sent"], said

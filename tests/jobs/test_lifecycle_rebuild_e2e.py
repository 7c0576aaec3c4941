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

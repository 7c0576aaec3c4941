"""The org's email allowance spent when the reminders are due: a reminder emailSimple refuses
with SINGLE_EMAIL_LIMIT_EXCEEDED is not lost silently, as an offer alert is not
(tests/jobs/test_alert_email_limit_e2e.py). Where the connector has a Custom Notification
Type those reps are reminded by the bell instead — each once: a refused email went to
nobody, and a rep of the same offer whose email went is not belled too. Either way each
lead's Task says its reminder was not emailed and why, whatever reminder_tasks says; the
run logs and counts them; neither a later run nor a state rebuilt from the org sends it
again. A reminder email refused for another reason (a rep deactivated since the partner
sync) says so on the Lead, without hiding the reps who were reminded."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from sandbox.simulator import Profile

from .conftest import is_reminder
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ALWAYS_ACCEPT = Profile("always accept", accept=1.0, reject=0.0, delay_hours=(0.1, 0.2))
ALLOWANCE = 7  # emails left today: fewer than the run's reminders
# the offer alerts by the bell, so the day's email allowance is the reminders' alone
SETTINGS = {"mode": "email", "offer_alert": "custom", "pool_alert": "members"}


def spent_midway(org) -> None:
    org.org.single_email_max = ALLOWANCE
    org.org.single_email_counts_all = True  # this org counts emails to its own users too


def emailed(org, kind: str = "reminder") -> Counter:
    return Counter((lead_of(n), n.inputs["recipientId"]) for n in org.notifications.all("emailSimple")
                   if is_reminder(n.inputs["emailSubject"], kind))


def belled(org, kind: str = "reminder") -> Counter:
    return Counter((n.inputs["targetId"], r) for n in org.notifications.all("customNotificationAction")
                   if is_reminder(n.inputs["title"], kind) for r in n.inputs["recipientIds"])


def reminder_tasks(org) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for t in org.org.records("Task"):
        if t["Subject"].startswith("Offer reminder"):
            out.setdefault(t["WhoId"], []).append(t)
    return out


def remind_past_the_limit(org, make_loop, **notifications):
    loop = make_loop(org, pools=True, settings={"notifications": {**SETTINGS, **notifications}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    due = set(loop.live())
    assert not emailed(org) and due
    spent_midway(org)
    org.clock.advance(timedelta(hours=21))  # 24-hour windows, reminders 4 hours before: all due
    with capture_logs() as logs:
        result = loop.cx.run_job("remind", org.clock.now())
    return loop, due, result, logs


def test_reminders_past_the_email_limit_go_by_the_bell_once_and_each_lead_says_so(org, make_loop):
    loop, due, result, logs = remind_past_the_limit(org, make_loop, reminder_tasks="off")
    assert result.error is None
    mail, bell = emailed(org), belled(org)
    assert sum(mail.values()) == ALLOWANCE and bell, "the allowance ran out midway; the rest went by the bell"
    assert not set(mail) & set(bell), "a rep was reminded of one offer both by email and by the bell"
    assert max((mail + bell).values()) == 1
    assert {lead for lead, _ in mail + bell} == due, "every offer's reminder reached its reps one way or the other"
    tasks = reminder_tasks(org)
    belled_leads = {lead for lead, _ in bell}
    assert set(tasks) == belled_leads, "reminder_tasks is off: only the leads the email limit touched say so"
    for lead, [task] in tasks.items():
        assert task["Subject"] == "Offer reminder not sent by email"
        assert "SINGLE_EMAIL_LIMIT_EXCEEDED" in task["Description"] and "Salesforce notification" in task["Description"]
    [said] = [e for e in logs if e["event"] == "reminders_email_limit"]
    assert said["log_level"] == "warning"
    assert said["refused"] == result.counts["reminders_email_limit"] == said["sent_by_notification"] > 0
    # later runs send nothing again, by email (the allowance back tomorrow) or by the bell
    org.org.single_email_max = 5000
    loop.cycle(hours=0.5, partners_act=False)
    assert (emailed(org), belled(org)) == (mail, bell)


def test_a_rebuilt_state_does_not_remind_again_of_a_reminder_that_went_by_the_bell(org, make_loop):
    loop, due, result, _ = remind_past_the_limit(org, make_loop, reminder_tasks="all")
    mail, bell = emailed(org), belled(org)
    assert bell and result.counts["reminder_tasks"] == len(due)
    org.org.single_email_max = 5000  # a new GMT day's allowance, as far as this org knows
    fresh = make_loop(org, pools=True, settings={"notifications": {**SETTINGS, "reminder_tasks": "all"}},
                      name="fresh")  # the state file is gone
    fresh.cycle(hours=0.5, partners_act=False)
    assert set(fresh.live()) >= due, "the offers were rebuilt, not abandoned"
    assert (emailed(org), belled(org)) == (mail, bell), "no rep is reminded twice of one offer"


def test_without_a_notification_type_each_lead_says_its_reminder_was_not_sent_and_why(org, make_loop):
    from connector.config import NotifyConfig

    loop = make_loop(org, pools=True, settings={"notifications": {**SETTINGS, "reminder_tasks": "off"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    due = set(loop.live())
    loop.cx.client.config = loop.cx.client.config.model_copy(update={"notify": NotifyConfig(kind="email")})
    spent_midway(org)
    org.clock.advance(timedelta(hours=21))
    with capture_logs() as logs:
        result = loop.cx.run_job("remind", org.clock.now())
    mail = emailed(org)
    assert sum(mail.values()) == ALLOWANCE and not belled(org)
    tasks = reminder_tasks(org)
    assert due - {lead for lead, _ in mail} <= set(tasks) <= due, "a lead nobody was reminded of shows nothing"
    for lead, [task] in tasks.items():
        assert "SINGLE_EMAIL_LIMIT_EXCEEDED" in task["Description"]
        assert task["Subject"] == ("Offer reminder partly sent" if lead in {x for x, _ in mail}
                                   else "Offer reminder not sent")
    [said] = [e for e in logs if e["event"] == "reminders_email_limit"]
    assert said["not_sent"] == said["refused"] == result.counts["reminders_email_limit"] > 0
    assert said["sent_by_notification"] == 0


def test_a_reminder_a_deactivated_rep_could_not_get_says_so_and_who_was_reminded(org, make_loop):
    """A member rep of a pool deactivated since the last partner sync: emailSimple refuses
    that rep's reminder; the colleagues' reminders went. The Lead says both."""
    loop = make_loop(org, pools=True, settings={"notifications": {**SETTINGS, "reminder_tasks": "failed"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    pool = next(o for o in loop.live().values() if o["kind"] == "pool")
    told = sorted({r for n in org.notifications.all("customNotificationAction")
                   if n.inputs["targetId"] == pool["lead_id"] for r in n.inputs["recipientIds"]})
    assert len(told) > 1, "the pool alert told several members' reps"
    gone = told[0]
    org.clock.advance(timedelta(hours=21))
    org.org.update("User", gone, {"IsActive": False})
    result = loop.cx.run_job("remind", org.clock.now())
    mail = emailed(org)
    assert (pool["lead_id"], gone) not in mail and any(lead == pool["lead_id"] for lead, _ in mail)
    [task] = reminder_tasks(org)[pool["lead_id"]]
    assert task["Subject"] == "Offer reminder partly sent"
    assert "INVALID_ID_FIELD" in task["Description"] and "1 user" in task["Description"]
    assert result.counts["failed"] >= 1


def test_follow_ups_past_the_email_limit_go_by_the_bell_and_each_lead_says_so(org, make_loop):
    """The follow-up of an accepted lead nobody worked is a reminder too, by the same channel."""
    loop = make_loop(org, settings={"notifications": {**SETTINGS, "reminder_tasks": "off"}})
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop.cycle()
    loop.cycle(hours=1)
    org.simulator.set_profile("*", NEVER_ANSWER)
    spent_midway(org)
    org.clock.advance(timedelta(days=3))
    with capture_logs() as logs:
        result = loop.cx.run_job("followup", org.clock.now())
    mail, bell = emailed(org, "followup"), belled(org, "followup")
    assert sum(mail.values()) == ALLOWANCE and bell
    assert not set(mail) & set(bell) and max((mail + bell).values()) == 1
    tasks = {t["WhoId"]: t for t in org.org.records("Task") if t["Subject"].startswith("Follow-up")}
    assert set(tasks) == {lead for lead, _ in bell}
    assert all(t["Subject"] == "Follow-up reminder not sent by email" and "SINGLE_EMAIL_LIMIT_EXCEEDED" in t["Description"]
               for t in tasks.values())
    [said] = [e for e in logs if e["event"] == "followup_reminders_email_limit"]
    assert said["refused"] == result.counts["followup_email_limit"] == said["sent_by_notification"] > 0

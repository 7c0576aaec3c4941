"""What the connector tells partner reps shows on the Lead, end to end against the sandbox:
the reminder before an offer's deadline (and an offer alert that did not go out) leaves a
completed Task in the lead's activity history — dated the org's day, the deadline in UTC
and the rep's zone, no partner named. A Task Salesforce refuses costs neither the
reminder nor a second one: one warning names the fix."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from structlog.testing import capture_logs

from sandbox.simulator import Profile

from .conftest import is_reminder
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
TASK_FIELDS = "Id, WhoId, Who.Name, Subject, Description, Status, Priority, ActivityDate, IsClosed, OwnerId, TaskSubtype"
BERLIN = "Europe/Berlin"
# an org whose clock is days off the host's: every date below must come from the org's
ORG_AHEAD = timedelta(days=3, hours=5)  # within the first read's backfill (7 days)


def tasks(sf, lead_id: str | None = None) -> list[dict]:
    """The org's Tasks read with SOQL as an admin's tool would (`sf`: a fresh client, as
    the org's clock moves past a session's lifetime)."""
    sf = sf()
    where = f" WHERE WhoId = '{lead_id}'" if lead_id else ""
    return sf.query_all(f"SELECT {TASK_FIELDS} FROM Task{where} ORDER BY CreatedDate")["records"]


def live_offers(loop) -> list[dict]:
    return sorted((o for o in loop.live().values() if o["kind"] == "offer"), key=lambda o: (o["deadline"], o["id"]))


def first_and_due_with_it(loop) -> tuple[dict, list[dict]]:
    """The first live offer, and every offer whose reminder falls due within the hour after it."""
    offers = live_offers(loop)
    return offers[0], [o for o in offers if o["deadline"] - offers[0]["deadline"] <= timedelta(hours=1)]

def reminders(org, lead_id: str, action: str = "emailSimple") -> list:
    return [n for n in org.notifications.all(action)
            if (n.inputs.get("targetId") or lead_of(n)) == lead_id
            and is_reminder(n.inputs.get("emailSubject") or n.inputs.get("title") or "")]


def counted(results: dict, key: str) -> int:
    """A count over a cycle's jobs, whichever job did it (the lead stream flushes as `flush_…`)."""
    return sum(v for r in results.values() for k, v in r.counts.items() if k == key or k == f"flush_{key}")


def remind_due(loop, deadline: datetime) -> dict:
    """Move the org's clock to three hours before `deadline` (the reminder comes four
    hours before) and run a cycle: the remind job's result."""
    loop.sb.clock.set(deadline - timedelta(hours=3))
    return loop.cycle(partners_act=False)["remind"]


@pytest.fixture
def berlin_org(org):
    """The demo org, its partner reps in Berlin, its clock days ahead of this host's."""
    for u in org.org.records("User"):
        if u.get("UserType") == "PowerPartner":
            org.org.update("User", u["Id"], {"TimeZoneSidKey": BERLIN})
    org.clock.advance(ORG_AHEAD)
    org.simulator.set_profile("*", NEVER_ANSWER)
    return org


def test_the_reminder_leaves_a_completed_task_on_the_lead_in_the_reps_time(berlin_org, make_loop, sf_for):
    org = berlin_org
    sf = lambda: sf_for(org)  # noqa: E731
    loop = make_loop(org, settings={"notifications": {"mode": "email"}})
    loop.cycle()
    offer = live_offers(loop)[0]
    lead, deadline = offer["lead_id"], offer["deadline"]
    assert tasks(sf, lead) == [], "an alert that went out leaves no Task by default"
    result = remind_due(loop, deadline)
    assert result.counts["reminded"] >= 1 and result.counts["reminder_tasks"] == result.counts["reminded"]
    org_now = org.clock.now()
    local = deadline.astimezone(__import__("zoneinfo").ZoneInfo(BERLIN))
    utc_text, local_text = f"{deadline:%Y-%m-%d %H:%M} UTC", f"{local:%Y-%m-%d %H:%M} {BERLIN}"
    [sent] = reminders(org, lead)
    assert local_text in sent.inputs["emailBody"] and utc_text in sent.inputs["emailBody"], \
        "the reminder gives the deadline in the rep's zone, UTC alongside, as the alert does"
    [task] = tasks(sf, lead)
    assert task["Subject"] == "Offer reminder sent"
    assert (task["Status"], task["IsClosed"], task["Priority"], task["TaskSubtype"]) == ("Completed", True, "Normal", "Task")
    assert task["Who"]["Name"] == org.org.get("Lead", lead)["Name"]
    assert task["ActivityDate"] == f"{org_now:%Y-%m-%d}", "the org's date (its clock, its zone: UTC here)"
    assert task["ActivityDate"] != f"{datetime.now(timezone.utc):%Y-%m-%d}", "never the host's"
    assert task["OwnerId"] == org.org.integration_user_id
    text = task["Description"]
    assert utc_text in text and local_text in text and f"Offer attempt: {offer['attempt']}" in text
    rep = org.org.get("User", offer["rep_id"])
    partner = org.org.get("Account", offer["partner_id"])
    for name in (partner["Name"], rep["Name"], rep["Email"], rep["Id"], partner["Id"]):
        assert name not in text, f"partner reps read the lead's activities: {name!r} must not be in it"
    # later cycles neither remind again nor write a second Task
    loop.cycle(hours=1, partners_act=False)
    assert len(reminders(org, lead)) == 1 and len(tasks(sf, lead)) == 1


# a whole call failing with a 500 is no refusal: the Tasks are written later
# (test_a_task_salesforce_could_not_take_for_a_while_is_written_later_and_once)
def test_a_refused_task_costs_neither_the_reminder_nor_a_second_one(berlin_org, make_loop, sf_for):
    org = berlin_org
    sf = lambda: sf_for(org)  # noqa: E731
    loop = make_loop(org)  # bell notifications
    loop.cycle()
    offer, due = first_and_due_with_it(loop)
    # as Salesforce answers for a user without Edit Tasks: per record
    org.faults.plan("record_failures", count=20, endpoint="POST composite/sobjects",
                    records=list(range(200)), code="INSUFFICIENT_ACCESS_OR_READONLY")
    with capture_logs() as logs:
        result = remind_due(loop, offer["deadline"])
    org.faults.clear()
    assert result.error is None, "the job goes on"
    assert result.counts["reminded"] == len(due) and result.counts["notified"] == len(due)
    assert result.counts["reminder_tasks_failed"] == len(due) and "reminder_tasks" not in result.counts
    for o in due:
        assert len(reminders(org, o["lead_id"], "customNotificationAction")) == 1
    assert tasks(sf) == []
    warned = [e for e in logs if e["event"] == "activity_tasks_not_written"]
    assert len(warned) == 1, "one warning per run"
    assert warned[0]["log_level"] == "warning" and warned[0]["failed"] == len(due)
    assert "EditTask" in warned[0]["fix"] and "reminder_tasks" in warned[0]["fix"]
    # the next runs do not remind again, and have nothing to warn about
    with capture_logs() as logs:
        loop.cycle(hours=0.5, partners_act=False)
    for o in due:
        assert len(reminders(org, o["lead_id"], "customNotificationAction")) == 1
    assert not [e for e in logs if e["event"] == "activity_tasks_not_written"]


def test_reminder_tasks_go_200_a_call(sandbox_factory, make_loop, sf_for):
    org = sandbox_factory(seed="demo", partners=120, leads=500, random_seed=5)
    org.simulator.set_profile("*", NEVER_ANSWER)
    sf = lambda: sf_for(org)  # noqa: E731
    loop = make_loop(org, settings={"notifications": {"mode": "custom", "alert_tasks": "all"}})
    org.counters.reset()
    first = loop.cycle()
    offered = live_offers(loop)
    assert len(offered) > 200, "more than one call's worth (else this proves less)"
    alerts = counted(first, "alert_tasks")
    assert alerts == len(offered) and len(tasks(sf)) == alerts
    assert org.counters.count("POST composite/sobjects") == math.ceil(alerts / 200)
    org.counters.reset()
    result = remind_due(loop, min(o["deadline"] for o in offered))
    assert result.counts["reminder_tasks"] == result.counts["reminded"] == len(offered)
    assert org.counters.count("POST composite/sobjects") == math.ceil(len(offered) / 200)
    subjects = [t["Subject"] for t in tasks(sf)]
    assert subjects.count("Offer reminder sent") == len(offered) and subjects.count("Offer alert sent") == alerts


def test_an_alert_that_did_not_go_out_shows_on_the_lead(org, make_loop, sf_for):
    sf = lambda: sf_for(org)  # noqa: E731
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org)
    org.faults.plan("500", count=50, endpoint="emailSimple")
    result = loop.cycle()
    org.faults.clear()
    offered = live_offers(loop)
    assert offered
    counts = {k: counted(result, k) for k in ("alert_tasks", "alert_tasks_failed")}
    assert counts == {"alert_tasks": len(offered), "alert_tasks_failed": 0}
    for o in offered:
        [task] = tasks(sf, o["lead_id"])
        # a 500 leaves it unknown whether the emails went: not sent again, and said so
        assert task["Subject"] == "Offer alert may not have been sent" and task["Status"] == "Completed"
        assert "HTTP_500" in task["Description"] or "UNKNOWN_EXCEPTION" in task["Description"]
        assert f"{o['deadline']:%Y-%m-%d %H:%M} UTC" in task["Description"]


def test_with_notifications_left_to_a_flow_nothing_is_sent_and_no_task_claims_it(org, make_loop, sf_for):
    sf = lambda: sf_for(org)  # noqa: E731
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org, settings={"notifications": {"mode": "none", "offer_alert": "off"}})
    loop.cycle()
    offer = live_offers(loop)[0]
    result = remind_due(loop, offer["deadline"])
    assert result.counts["reminded"] >= 1 and result.counts["notified"] == 0
    assert tasks(sf) == []


def test_reminder_tasks_can_be_turned_off(org, make_loop, sf_for):
    sf = lambda: sf_for(org)  # noqa: E731
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org, settings={"notifications": {"mode": "custom", "reminder_tasks": "off"}})
    loop.cycle()
    offer = live_offers(loop)[0]
    result = remind_due(loop, offer["deadline"])
    assert result.counts["notified"] >= 1 and "reminder_tasks" not in result.counts
    assert reminders(org, offer["lead_id"], "customNotificationAction") and tasks(sf) == []


def test_the_task_is_dated_the_orgs_day_in_the_orgs_time_zone(org, tmp_path, sf_for):
    """An org in Auckland: at 20:00 UTC it is already tomorrow there, and the reminder's
    Task is dated tomorrow (Salesforce shows ActivityDate as the org's date)."""
    from .conftest import Loop, build_connector
    from .rules_for_tests import BASE, ROTATION

    rules = tmp_path / "auckland.toml"
    rules.write_text(BASE.replace("[settings]\n", '[settings]\ntime_zone = "Pacific/Auckland"\n') + ROTATION)
    reminder_at = org.clock.now() + timedelta(hours=21)  # offers last 24 hours: reminded 3 hours before
    org.clock.advance(timedelta(hours=(20 - reminder_at.hour) % 24, minutes=-reminder_at.minute))
    org.simulator.set_profile("*", NEVER_ANSWER)
    cx = build_connector(org, f"sqlite:///{tmp_path}/state.sqlite", rules=rules,
                         settings={"notifications": {"mode": "custom"}})
    try:
        loop = Loop(org, cx)
        loop.cycle()
        offer = live_offers(loop)[0]
        remind_due(loop, offer["deadline"])
        at = org.clock.now()
        assert at.hour == 20, "the reminder ran at 20:00 UTC (else this proves less)"
        [task] = tasks(lambda: sf_for(org), offer["lead_id"])
        auckland = at.astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Auckland"))
        assert task["ActivityDate"] == f"{auckland:%Y-%m-%d}" != f"{at:%Y-%m-%d}"
    finally:
        cx.client.close()


def test_a_lead_deleted_before_its_reminder_is_not_taken_for_a_missing_permission(org, make_loop, sf_for):
    """The deletions read runs every 15 minutes: a lead deleted in between is reminded of
    (the rep may still have it open) but has no Lead to hold the Task. That is counted,
    and no warning sends an admin looking for a permission that is there."""
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org, settings={"notifications": {"mode": "custom"}})
    loop.cycle()
    offer, due = first_and_due_with_it(loop)
    assert len(due) > 1, "other leads are reminded in the same run (else this proves less)"
    org.org.delete("Lead", offer["lead_id"])
    loop.sb.clock.set(offer["deadline"] - timedelta(hours=3))
    with capture_logs() as logs:
        result = loop.cx.run_job("remind", org.clock.now())  # before the deletions read sees it
    assert result.counts["reminder_tasks_lead_gone"] == 1 and result.counts["reminder_tasks"] == len(due) - 1
    assert "reminder_tasks_failed" not in result.counts
    assert not [e for e in logs if e["event"] == "activity_tasks_not_written"]
    assert {t["WhoId"] for t in tasks(lambda: sf_for(org))} == {o["lead_id"] for o in due} - {offer["lead_id"]}


def test_a_reminder_salesforce_refuses_says_so_on_the_lead_with_its_reason(org, make_loop, sf_for):
    """The org's Custom Notification Type was deleted: every bell reminder is refused per
    input. Each lead says its rep was not reminded, and why; nothing is sent again."""
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(org)  # bell notifications, the type id as the org had it
    loop.cycle()
    offer = live_offers(loop)[0]
    for t in org.org.records("CustomNotificationType"):
        org.org.delete("CustomNotificationType", t["Id"])
    result = remind_due(loop, offer["deadline"])
    assert result.counts["notified"] == 0 and result.counts["failed"] == result.counts["reminded"]
    [task] = tasks(lambda: sf_for(org), offer["lead_id"])
    assert task["Subject"] == "Offer reminder not sent" and task["Status"] == "Completed"
    assert "INVALID_ID_FIELD: Invalid customNotifTypeId" in task["Description"]
    assert f"{offer['deadline']:%Y-%m-%d %H:%M} UTC" in task["Description"]
    loop.cycle(hours=0.5, partners_act=False)
    assert len(tasks(lambda: sf_for(org), offer["lead_id"])) == 1


def test_a_refusal_shown_on_the_lead_names_no_address_or_phone():
    from jobs.activity import reason

    shown = reason("INVALID_EMAIL_ADDRESS", "bad recipient rep@partner-a.example (+49 30 1234 5678)")
    assert shown.startswith("INVALID_EMAIL_ADDRESS: bad recipient ")
    assert "partner-a" not in shown and "1234" not in shown


def test_a_refusal_shown_on_the_lead_names_no_user():
    """Salesforce names the recipient it refused by id ("Invalid recipientId: 005…"): on a
    Lead another partner's reps may read later, that is a person named."""
    from jobs.activity import reason

    shown = reason("INVALID_ID_FIELD", "Invalid recipientId: 0055g0000000007AAA is an inactive user; 0055g0000000007 too")
    assert shown == "INVALID_ID_FIELD: Invalid recipientId: [user] is an inactive user; [user] too"


@pytest.mark.parametrize("fault", ["503", "500", "lost_answer", "limit"])
def test_a_task_salesforce_could_not_take_for_a_while_is_written_later_and_once(berlin_org, make_loop, sf_for, fault):
    """A 503 (however often tried), a 500, an answer lost on the way back or the day's API
    allowance refused (403 REQUEST_LIMIT_EXCEEDED) leaves the reminder's Task unwritten (or written, unknown to us): it is not lost — a later run
    writes it — and never written twice (a retry reads back what landed before it writes)."""
    org = berlin_org
    sf = lambda: sf_for(org)  # noqa: E731
    loop = make_loop(org)  # bell notifications
    loop.cycle()
    offer, due = first_and_due_with_it(loop)
    org.faults.plan(fault, count=1 if fault in ("lost_answer", "limit") else 50, endpoint="POST composite/sobjects")
    with capture_logs() as logs:
        result = remind_due(loop, offer["deadline"])
        org.faults.clear()
        assert result.error is None and result.counts["reminded"] == len(due)
        assert result.counts["reminder_tasks_retrying"] == len(due) and "reminder_tasks_failed" not in result.counts
        loop.cycle(hours=0.5, partners_act=False)  # the outbox job's next turn writes what waited
        loop.cycle(hours=2, partners_act=False)
    for o in due:
        assert len(reminders(org, o["lead_id"], "customNotificationAction")) == 1, "the reminder went once"
        assert [t["Subject"] for t in tasks(sf, o["lead_id"])] == ["Offer reminder sent"], \
            "its Task is on the Lead, once"
    assert not [e for e in logs if e["event"] == "activity_tasks_not_written"], "nothing for an admin to fix"


def _status(tmp_path, capsys) -> tuple[str, dict]:
    """`leadrouter status`, its text (unwrapped) and its --json, on the loop's state."""
    import json

    from jobs.cli import main

    cfg = tmp_path / "status.toml"
    cfg.write_text(f'[state]\nurl = "sqlite:///{tmp_path}/state.sqlite"\n[log]\nformat = "json"\n')
    capsys.readouterr()
    assert main(["status", "--json", "--config", str(cfg)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main(["status", "--config", str(cfg)]) == 0
    return " ".join(capsys.readouterr().out.split()), data


def test_status_shows_the_tasks_waiting_to_be_written_again_and_nothing_once_written(
        berlin_org, make_loop, tmp_path, capsys):
    """Salesforce could not take the reminders' Tasks (a 503 however often tried): they wait
    in the state for the outbox job's next try. `leadrouter status` says how many wait, since
    when and the last error, in words and in --json, as it does the outbox's backlog; once
    written, it says nothing of them."""
    org = berlin_org
    loop = make_loop(org)
    loop.cycle()
    offer, due = first_and_due_with_it(loop)
    org.faults.plan("503", count=50, endpoint="POST composite/sobjects")
    result = remind_due(loop, offer["deadline"])
    org.faults.clear()
    assert result.counts["reminder_tasks_retrying"] == len(due)
    text, data = _status(tmp_path, capsys)
    waiting = data["activity_tasks"]
    assert waiting["waiting"] == len(due) and waiting["by_kind"] == {"reminder": len(due)}, waiting
    assert waiting["oldest"] and waiting["last_error"].startswith("SERVER_UNAVAILABLE"), waiting
    n = len(due)
    assert f"Tasks {n} activity Task{'' if n == 1 else 's'} (reminder {n}) waiting to be written again" in text, text
    assert "last error SERVER_UNAVAILABLE" in text, text
    loop.cycle(hours=0.5, partners_act=False)  # the outbox job's next turn writes what waited
    text, data = _status(tmp_path, capsys)
    assert data["activity_tasks"] == {"waiting": 0}, data["activity_tasks"]
    assert "waiting to be written again" not in text and "Tasks " not in text, text

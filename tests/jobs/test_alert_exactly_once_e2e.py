"""An offer alert reaches its rep once, whatever the network does to the call that sends it.

An action call that Salesforce carried out but whose answer was lost (a read timeout, a
connection closed on the way back) cannot be told from one that never arrived: sending
it again emails up to 200 reps a second time. The alert is sent at most once; the lead
says on its Task that it may not have gone out, and the reminder still comes."""
from __future__ import annotations

from collections import Counter

import pytest
from structlog.testing import capture_logs

from sandbox.simulator import Profile
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def alerts(org) -> list:
    return [n for n in org.notifications.all("emailSimple") if lead_of(n)]


def test_an_alert_call_whose_answer_is_lost_is_not_sent_again(org, make_loop):
    loop = make_loop(org, settings={"notifications": {"mode": "email", "alert_tasks": "failed"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    org.faults.plan("lost_answer", endpoint="emailSimple")  # the first alert call: done, answer lost
    with capture_logs() as logs:
        loop.cycle()
    [said] = [e for e in logs if e["event"] == "notifications_unanswered"]
    assert said["outcome"] == "unknown" and said["code"] == "ConnectionError"
    offered = {o["lead_id"] for o in loop.live().values() if o["kind"] == "offer"}
    sent = Counter((lead_of(n), n.inputs["recipientId"]) for n in alerts(org))
    assert offered and set(sent) and {lead for lead, _ in sent} == offered
    assert max(sent.values()) == 1, f"{sum(v - 1 for v in sent.values())} reps were emailed the same alert twice"
    # the lead says what is known: the call went out, its answer did not come back
    unsure = [t for t in org.org.records("Task") if t["Subject"] == "Offer alert may not have been sent"]
    assert {t["WhoId"] for t in unsure} == offered
    assert all("not sent again" in t["Description"] for t in unsure)


def test_an_offer_whose_write_landed_unconfirmed_is_alerted_once_when_the_next_run_finds_it(org, make_loop):
    """The offers' write reached Salesforce but no answer came back (every retry too): they
    stay `sent`, not alerted. The outbox's next look finds them landed and confirms them;
    that is when their reps hear of them, once (they never heard of them before)."""
    loop = make_loop(org, settings={"notifications": {"mode": "email"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    org.faults.plan("lost_answer", endpoint="PATCH composite/sobjects", count=50)
    loop.cycle(raise_errors=False)  # its outbox job finds the writes landed, as a restart would
    org.faults.clear()
    loop.cycle()
    loop.cycle(hours=1)
    offered = {o["lead_id"]: o for o in loop.live().values() if o["kind"] == "offer"}
    sent = Counter((lead_of(n), n.inputs["recipientId"]) for n in alerts(org))
    assert offered and {lead for lead, _ in sent} == set(offered)
    assert sent == Counter((lead, o["rep_id"]) for lead, o in offered.items())


def test_a_deposed_leader_whose_write_answer_comes_late_does_not_alert_again(org, make_loop):
    """Active/standby on one state: the standby, now leader, found the old leader's writes
    landed and alerted their reps. The old leader, paused mid-write, then gets its answer:
    it settles the batch and announces what it confirmed, as its flush does. The reps
    were told already: the alert is claimed once per offer in the state, whoever sends it."""
    from connector.writes import WriteResult
    from jobs import alerts as al
    from jobs import outbox
    from jobs.state.schema import outbox as table

    standby = make_loop(org, settings={"notifications": {"mode": "email"}})
    old = make_loop(org, settings={"notifications": {"mode": "email"}}, name="state")  # the same state database
    assert str(old.cx.store.engine.url) == str(standby.cx.store.engine.url)
    org.simulator.set_profile("*", NEVER_ANSWER)
    org.faults.plan("lost_answer", endpoint="PATCH composite/sobjects", count=50)
    standby.cycle(raise_errors=False)  # writes landed unanswered; its outbox job confirmed and alerted them
    org.faults.clear()
    told = len(alerts(org))
    with old.cx.store.connect() as conn:
        batch = [dict(r) for r in conn.execute(table.select().where(table.c.purpose == "offer")).mappings()]
    assert told and batch
    now = org.clock.now()
    outbox.settle(old.cx, batch, [WriteResult(e["lead_id"], True, "ok") for e in batch], now, {})
    al.send_offer_alerts(old.cx, now, batch)
    assert len(alerts(org)) == told, "the reps were emailed the same alert a second time"

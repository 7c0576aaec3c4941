"""The org's email allowance spent in the middle of a run: the offer and pool alerts left
are not lost silently. emailSimple refuses each with SINGLE_EMAIL_LIMIT_EXCEEDED; where the
connector has a Custom Notification Type, those reps are told by the bell instead (once: a
refused email went to nobody). Either way each lead's Task says its alert was not emailed
and why — whatever alert_tasks says — and the run counts them."""
from __future__ import annotations

from collections import Counter

import pytest
from structlog.testing import capture_logs

from sandbox.simulator import Profile
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ALLOWANCE = 12  # emails left today: far fewer than the run's alerts


def spent_midway(org) -> None:
    org.org.single_email_max = ALLOWANCE
    org.org.single_email_counts_all = True  # this org counts emails to its own users too


def emailed(org) -> Counter:
    return Counter((lead_of(n), n.inputs["recipientId"]) for n in org.notifications.all("emailSimple")
                   if lead_of(n))


def belled(org) -> Counter:
    return Counter((n.inputs["targetId"], r) for n in org.notifications.all("customNotificationAction")
                   for r in n.inputs["recipientIds"])


def test_alerts_past_the_email_limit_go_by_the_bell_and_each_lead_says_so(org, make_loop):
    spent_midway(org)
    loop = make_loop(org, pools=True, settings={"notifications": {"mode": "email", "pool_alert": "members"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    with capture_logs() as logs:
        counts = loop.cycle()["leads"].counts
    mail, bell = emailed(org), belled(org)
    assert sum(mail.values()) == ALLOWANCE and bell, "the allowance ran out midway; the rest went by the bell"
    assert not set(mail) & set(bell), "a rep was told of one offer both by email and by the bell"
    assert max((mail + bell).values()) == 1
    not_emailed = {t["WhoId"]: t for t in org.org.records("Task") if t["Subject"] == "Offer alert not sent by email"}
    assert set(not_emailed) == {lead for lead, _ in bell}
    assert all("SINGLE_EMAIL_LIMIT_EXCEEDED" in t["Description"] for t in not_emailed.values())
    [said] = [e for e in logs if e["event"] == "offer_alerts_email_limit"]
    assert said["refused"] == counts["flush_alerts_email_limit"] == said["sent_by_notification"] > 0


def test_without_a_notification_type_the_lead_says_its_alert_was_not_sent_and_why(org, make_loop):
    from connector.config import NotifyConfig

    spent_midway(org)
    loop = make_loop(org, pools=True, settings={"notifications": {"mode": "email", "pool_alert": "members",
                                                                  "alert_tasks": "off"}})
    loop.cx.client.config = loop.cx.client.config.model_copy(update={"notify": NotifyConfig(kind="email")})
    org.simulator.set_profile("*", NEVER_ANSWER)
    with capture_logs() as logs:
        loop.cycle()
    assert not belled(org)
    told = {lead for lead, _ in emailed(org)}
    offered = set(loop.live())
    unsent = {t["WhoId"]: t for t in org.org.records("Task") if t["Subject"] == "Offer alert not sent"}
    assert unsent and set(unsent) <= offered
    assert all("SINGLE_EMAIL_LIMIT_EXCEEDED" in t["Description"] for t in unsent.values())
    assert offered - told <= set(unsent), "an offer nobody was emailed of shows nothing on its lead"
    [said] = [e for e in logs if e["event"] == "offer_alerts_email_limit"]
    assert said["not_sent"] == said["refused"] > 0 and said["sent_by_notification"] == 0

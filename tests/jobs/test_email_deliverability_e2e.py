"""An org whose email deliverability is 'System email only' refuses every emailSimple
input. The offers stand; each alert and reminder is tried once, each lead says on a
Task that it was not sent and why, and the log names the setting to change."""
from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from sandbox.simulator import Profile

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def tasks(org, subject: str) -> list[dict]:
    return [t for t in org.org.records("Task") if t["Subject"] == subject]


def test_system_email_only_costs_the_emails_not_the_offers_and_says_what_to_change(org, make_loop):
    loop = make_loop(org, settings={"notifications": {"mode": "email"}})
    org.org.email_deliverability = "system"
    org.simulator.set_profile("*", NEVER_ANSWER)
    with capture_logs() as logs:
        loop.cycle()
    offered = [o for o in loop.live().values() if o["kind"] == "offer"]
    assert offered and org.notifications.all("emailSimple") == []
    [warned] = [e for e in logs if e["event"] == "offer_alerts_failed"]
    assert warned["code"] == "NO_MASS_MAIL_PERMISSION"
    assert "Deliverability" in warned["fix"] and 'offer_alert = "custom"' in warned["fix"]
    not_sent = tasks(org, "Offer alert not sent")
    assert {t["WhoId"] for t in not_sent} == {o["lead_id"] for o in offered}
    assert all("NO_MASS_MAIL_PERMISSION" in t["Description"] for t in not_sent)

    with capture_logs() as logs:
        loop.cycle(hours=21)  # the reminders are due: refused alike, and said so once
    [warned] = [e for e in logs if e["event"] == "reminders_failed"]
    assert warned["code"] == "NO_MASS_MAIL_PERMISSION" and "Deliverability" in warned["fix"]
    assert {t["WhoId"] for t in tasks(org, "Offer reminder not sent")} >= {o["lead_id"] for o in offered}
    # nothing is tried again: one alert Task per offer, and the offers stand
    loop.cycle(hours=1)
    assert len(tasks(org, "Offer alert not sent")) == len(not_sent)
    assert all(loop.live()[o["lead_id"]]["id"] == o["id"] for o in offered)

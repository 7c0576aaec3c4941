"""Offer alerts as a bell notification ([notifications] offer_alert = "custom") for leads
whose Company is as long as the field holds and full of what web forms bring (line
breaks, right-to-left overrides, markup): Salesforce takes a notification title of 250
characters and a body of 750 at most, so each alert is cut to fit and goes out, one
plain line of title, rather than being refused."""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def test_an_alert_for_a_company_as_long_as_the_field_is_cut_to_fit_and_sent(org, make_loop):
    for i, lead in enumerate(sorted(org.org.records("Lead"), key=lambda r: r["Id"])):
        name = f"<b>Acme {i}</b>\r\nBcc: x@evil.test \u202egnp.exe " + "Ünïcode Wörks GmbH " * 20
        org.org.update("Lead", lead["Id"], {"Company": name[:255]})
    loop = make_loop(org, settings={"notifications": {"mode": "custom", "offer_alert": "custom"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    offered = {o["lead_id"] for o in loop.live().values() if o["kind"] == "offer"}
    alerts = [n for n in org.notifications.all("customNotificationAction") if n.inputs.get("targetId") in offered]
    assert offered and {n.inputs["targetId"] for n in alerts} == offered
    for n in alerts:
        title, body = n.inputs["title"], n.inputs["body"]
        assert len(title) <= 250 and len(body) <= 750 and title.endswith("…")
        assert not any(c in title for c in "\r\n\u202e")
    assert not [t for t in org.org.records("Task") if t["Subject"] == "Offer alert not sent"]

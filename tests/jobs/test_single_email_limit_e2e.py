"""The org's daily single-email allowance (SingleEmail in /limits: 5,000 external addresses
a day by GMT, far fewer in a Developer Edition) is shared with everything else in the org
that emails outside it. The offer alert and the reminder email each rep by their user id and
do not log the email, which Salesforce does not count against it (an unlogged emailSimple
counts against the daily workflow email limit): an allowance spent by something else stops
neither, and they spend none of it."""
from __future__ import annotations

import pytest

from sandbox.simulator import Profile
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


def test_alerts_and_reminders_reach_reps_when_the_orgs_external_email_allowance_is_spent(org, make_loop):
    org.org.single_email_max = 0  # spent today, by something else
    loop = make_loop(org, settings={"notifications": {"mode": "email"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    offered = {o["lead_id"] for o in loop.live().values() if o["kind"] == "offer"}
    alerted = {lead_of(n) for n in org.notifications.all("emailSimple")}
    assert offered and alerted == offered
    loop.cycle(hours=21)  # the reminders are due
    assert not [t for t in org.org.records("Task") if t["Subject"].endswith("not sent")]
    assert all("recipientId" in n.inputs and "emailAddresses" not in n.inputs and not n.inputs.get("logEmailOnSend")
               for n in org.notifications.all("emailSimple"))

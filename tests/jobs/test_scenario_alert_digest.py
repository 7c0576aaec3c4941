"""A backlog's offer alerts as bell notifications (`offer_alert = "custom"`), on Kestrel's
org (tests/jobs/kestrel_org.py): a run that offers more than one action call's worth folds
each rep's offers into one message. Salesforce's custom notification action needs a target
(targetId or targetPageRef): the folded message opens the rep's most urgent lead, and no
lead gets an "Offer alert not sent" Task."""
from __future__ import annotations

import pytest

from tests.jobs.kestrel_org import kestrel_fixture
from tests.jobs.test_scenario_weighted_caps import batch

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)


def test_a_backlogs_folded_bell_alerts_reach_every_rep_and_open_one_of_their_leads(kestrel):
    k = kestrel
    leads = batch(k, 300, "Tanjong")
    k.once(init=True)
    sent = [n for n in k.sb.notifications.all("customNotificationAction") if "new leads for you" in n.inputs["title"]]
    reps = {k.reps[s] for s in ("lion", "straits", "merlion")}
    assert {r for n in sent for r in n.inputs["recipientIds"]} == reps, [n.inputs["title"] for n in sent]
    for n in sent:
        target = n.inputs.get("targetId")
        assert target in leads and k.org.get("Lead", target)["OwnerId"] in n.inputs["recipientIds"], n.inputs
    not_sent = [t for t in k.org.records("Task") if t.get("Subject") == "Offer alert not sent"]
    assert not_sent == [], not_sent[:1]

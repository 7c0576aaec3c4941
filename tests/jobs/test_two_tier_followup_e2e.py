"""Two tiers: a distributor accepted a lead and handed it down; its reseller accepted it
and holds it now (OwnerId its rep). Before, the follow-up job took every accepted offer
of the lead, so the distributor's rep was reminded to work a lead it no longer held — and
with reclaim on, the distributor's acceptance was reclaimed and the lead taken from the
reseller working it. Follow-ups go to whoever holds the lead now."""
from __future__ import annotations

import pytest

from tests.jobs.kestrel_org import kestrel_fixture
from tests.jobs.test_scenario_two_tier import RESELLERS

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)


def _followups(k, lead_id: str) -> list[str]:
    return [r for n in k.sb.notifications.all("customNotificationAction")
            if n.inputs.get("targetId") == lead_id and "not worked yet" in n.inputs.get("title", "")
            for r in n.inputs["recipientIds"]]


def test_only_the_reseller_holding_a_handed_down_lead_is_followed_up(kestrel):
    k = kestrel
    text = k.config.read_text()
    assert "followup_days = 1.0\n" in text
    k.config.write_text(text.replace("followup_days = 1.0\n", "followup_days = 1.0\nreclaim = true\nreclaim_after_days = 2.0\n"))
    lead = k.new_lead("Bondi Surf Supplies", "AU", State="NSW")
    k.once(init=True)
    dist = k.view(lead)["partner"]
    k.accept(lead)
    k.once(hours=1)
    v = k.view(lead)
    reseller = v["partner"]
    assert v["Routing_Status__c"] == "Offered" and reseller in RESELLERS[dist], v
    k.accept(lead)
    k.once(hours=1)
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Accepted", k.reps[reseller]), v
    k.once(hours=24 * 2)  # untouched past followup_days
    assert _followups(k, lead) == [k.reps[reseller]], "the distributor's rep was followed up for its reseller's lead"
    k.once(hours=24 * 3)  # past reclaim_after_days: the reseller's is the acceptance reclaimed, nobody else's
    v = k.view(lead)
    assert (v["Routing_Status__c"], v["partner"]) == ("Offered", next(iter(RESELLERS[dist] - {reseller}))), v
    assert _followups(k, lead) == [k.reps[reseller]], "reminded twice"

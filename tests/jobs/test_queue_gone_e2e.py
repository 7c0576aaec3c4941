"""A pool queue deleted in the org while the connector runs. Before, the next partner sync
made building the routing fail (`queue 'Partner_Pool_NA' is not in the org`) and every lead
waited until the queue was back. Now a pool rule naming it passes its leads on (here its
rule set ends them Unroutable, saying why, where a person sees them), every other lead
routes on, and the log names the queue and the fix."""
from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from .test_escalation_queue_gone_e2e import _admin
from .test_feedback_territory_e2e import _new_lead_like

pytestmark = pytest.mark.e2e

POOL = "Partner_Pool_NA"


def _new_lead(org, company: str, country: str, state: str | None = None) -> str:
    return org.org.create("Lead", {"LastName": "Buyer", "Company": company, "Country": country, "State": state,
                                   "LeadSource": "Web", "Status": "Open - Not Contacted"})


def test_a_pool_gone_from_the_org_passes_its_leads_on_and_the_rest_route_on(org, make_loop):
    loop = make_loop(org, pools=True)
    loop.cycle(partners_act=False)
    org.org.delete("Group", loop.queue_id(POOL), as_user=_admin(org, loop))
    us = _new_lead(org, "Ohio Oils", "US", "OH")
    offered = next(r["Id"] for r in sorted(org.org.records("Lead"), key=lambda r: r["Id"])
                   if r.get("Routing_Status__c") == "Offered" and r.get("PartnerAccountId"))
    elsewhere = _new_lead_like(loop, offered, 1)
    with capture_logs() as logs:
        loop.cycle(hours=1, partners_act=False)
    assert loop.lead(elsewhere)["Routing_Status__c"] == "Offered", "routing stopped for every lead"
    pooled = loop.lead(us)
    assert pooled["Routing_Status__c"] == "Unroutable", pooled
    # named as the admin knew it: its label, read before it went
    assert "pool Partner Pool NA is not in the org" in pooled["Routing_Reason__c"], pooled["Routing_Reason__c"]
    [said] = [e for e in logs if e["event"] == "queues_missing"]
    assert said["queues"] == [POOL] and POOL in said["problem"] and "Setup > Queues" in said["fix"]

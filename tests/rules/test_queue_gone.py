"""A queue the rule file names went from the org while the connector runs (jobs/partners.py
hands the router such a queue without an id): a pool rule passes the lead to the next
rule, saying why; a fallback escalates it, so a person still sees the lead."""
from __future__ import annotations

from rules import RoutingState
from rules.model import DecisionKind

from tests.rules.conftest import NOW, QUEUES, lead, partner, router_for

RULES = """
[settings]
escalation_queue = "Channel_Escalations"

[[ruleset]]
name = "Everyone"
otherwise = "Unassigned_Partner_Leads"

  [[ruleset.rule]]
  name = "Pool"
  pool = "Partner_Pool_NA"

  [[ruleset.rule]]
  name = "Covering"
  match = { geography = true }
"""


def test_a_pool_gone_from_the_org_passes_the_lead_to_the_next_rule():
    router = router_for(RULES, [partner("001A", coverage=("US",))], queue_ids={**QUEUES, "Partner_Pool_NA": None})
    d = router.decide(lead(), RoutingState(), NOW)
    assert d.kind is DecisionKind.OFFER and d.rule == "Covering", d
    [pool] = [t for t in d.explanation["rules"] if t["rule"] == "Pool"]
    assert pool["outcome"] == "pool Partner_Pool_NA is not in the org (deleted or renamed)"


def test_a_fallback_queue_gone_from_the_org_escalates_instead():
    router = router_for(RULES, [partner("001A", coverage=("DE",))],
                        queue_ids={**QUEUES, "Partner_Pool_NA": None, "Unassigned_Partner_Leads": None})
    d = router.decide(lead(), RoutingState(), NOW)
    assert d.kind is DecisionKind.ESCALATE and d.queue_id == QUEUES["Channel_Escalations"], d
    assert d.reason.startswith("Escalated: fallback queue Unassigned_Partner_Leads is not in the org"), d.reason

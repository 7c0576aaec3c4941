"""Leads added to a kept org with `leadrouter sandbox add-leads` are routed by the next
cycle like any new lead: they are people's leads, not the connector's own writes."""
from __future__ import annotations

import json

import pytest

from jobs.cli import main

pytestmark = pytest.mark.e2e


def test_leads_added_to_a_running_org_are_routed_by_the_next_cycle(org, loop, capsys):
    loop.cycle()
    loop.cycle(hours=1)
    assert main(["sandbox", "add-leads", "6", "--data", str(org.data_dir), "--json"]) == 0
    # the connector's log lines share stdout: the command's answer is the last line
    added = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ids"]
    assert all(loop.lead(i)["Routing_Status__c"] is None for i in added)
    loop.cycle(partners_act=False)
    statuses = {i: loop.lead(i)["Routing_Status__c"] for i in added}
    assert all(s is not None for s in statuses.values()), statuses
    assert any(s == "Offered" for s in statuses.values()), statuses

"""A lead a person ticked Do_Not_Route__c on is left alone by `once` whatever the rule
file says; this org's rule file, written from the README's example, has no gate for it.
dry-run and explain showed it offered to a partner all the same; they now say what
`once` does (end to end on the org)."""
from __future__ import annotations

import json

import pytest

from jobs.cli import main
from tests.conftest import salesforce_client

pytestmark = pytest.mark.e2e


def test_dry_run_and_explain_show_a_do_not_route_lead_left_alone_as_once_leaves_it(other_org, capsys):
    sb, ids, config = other_org
    assert "do_not_route" not in (config.parent / "rules.toml").read_text()  # no gate: the connector's own rule
    lead_id = ids.leads["do_not_route"]
    assert main(["dry-run", "--config", str(config), "--format", "json"]) == 0
    rows = {r["lead_id"]: r for r in json.loads(capsys.readouterr().out)}
    row = rows[lead_id]
    assert (row["outcome"], row["to"]) == ("left alone", ""), row
    assert "Do_Not_Route__c" in row["reason"]
    assert main(["explain", lead_id, "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "Left alone: the connector does not route this lead (Do_Not_Route__c is ticked)" in text, text

    assert main(["once", "--init", "--config", str(config)]) == 0
    capsys.readouterr()
    sf = salesforce_client(sb)
    lead = sf.query(f"SELECT OwnerId, PartnerAccountId, Routing_Status__c FROM Lead WHERE Id = '{lead_id}'")["records"][0]
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (ids.queues["Web_Leads"], None, None)

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
    assert "Do Not Route is ticked" in row["reason"]
    assert main(["explain", lead_id, "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "Left alone: the connector does not route this lead (Do Not Route is ticked)" in text, text

    assert main(["once", "--init", "--config", str(config)]) == 0
    capsys.readouterr()
    sf = salesforce_client(sb)
    lead = sf.query(f"SELECT OwnerId, PartnerAccountId, Routing_Status__c FROM Lead WHERE Id = '{lead_id}'")["records"][0]
    assert (lead["OwnerId"], lead["PartnerAccountId"], lead["Routing_Status__c"]) == (ids.queues["Web_Leads"], None, None)


def test_dry_run_shows_the_country_from_the_field_the_mappings_read(other_org, capsys):
    """An org that keeps the country in Country_Code__c maps it so; dry-run's country
    column read Lead.Country all the same, showing a country routing never used."""
    sb, ids, config = other_org
    lead_toml = config.parent / "mappings" / "lead.toml"
    lead_toml.write_text(lead_toml.read_text().replace('country = { field = "Country", transforms = ["country"] }',
                                                       'country = { field = "Country_Code__c", transforms = ["country"] }'))
    assert main(["dry-run", "--config", str(config), "--format", "json"]) == 0
    rows = {r["lead_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[ids.leads["canada_code_on"]]["country"] == "CAN"
    assert rows[ids.leads["ottawa"]]["country"] == ""  # Country says Canada; the mapped field is empty

"""Another org's leads carry picklist values as people and imports typed them: "hot",
"web", "technology", "smb". The rule file writes Hot, Web, Technology and SMB, and the
partners' Industries__c says Technology: such a lead is routed by the rule that names
those values, and the Lead says which (end to end, the connector's `once` on the org)."""
from __future__ import annotations

import pytest

from jobs.cli import main
from tests.conftest import salesforce_client

pytestmark = pytest.mark.e2e


def lead_row(sf, lead_id):
    return sf.query(f"SELECT OwnerId, PartnerAccountId, Routing_Status__c, Routing_Rule__c, Routing_Reason__c "
                    f"FROM Lead WHERE Id = '{lead_id}'")["records"][0]


def test_values_in_another_case_meet_the_rules_and_partners_that_spell_them_otherwise(other_org, capsys):
    sb, ids, config = other_org
    assert main(["once", "--init", "--config", str(config)]) == 0
    capsys.readouterr()
    sf = salesforce_client(sb)
    # LeadSource "web", Rating "hot", Industry "technology"; Lone Star's Industries__c "Technology"
    austin = lead_row(sf, ids.leads["usa_lower_tx"])
    assert austin["Routing_Rule__c"] == "Hot tech to an industry specialist", austin
    assert (austin["Routing_Status__c"], austin["PartnerAccountId"]) == ("Offered", ids.partners["lonestar"])
    assert austin["OwnerId"] == ids.reps["lonestar"]
    # Country "U.S.A.", as many a form has it: a country, not "missing or not a recognised country"
    dotted = lead_row(sf, ids.leads["usa_dotted"])
    assert (dotted["Routing_Status__c"], dotted["PartnerAccountId"]) == ("Offered", ids.partners["lonestar"]), dotted
    # Segment__c "smb", an attribute of the org's own ([lead.extra] segment)
    plano = lead_row(sf, ids.leads["null_budget"])
    assert plano["Routing_Rule__c"] == "Small business", plano


def test_explain_and_dry_run_read_the_values_as_once_does(other_org, capsys):
    sb, ids, config = other_org
    assert main(["explain", ids.leads["usa_lower_tx"], "--config", str(config), "--json"]) == 0
    import json

    now = json.loads(capsys.readouterr().out)["now"]
    assert now["explanation"]["ruleset"] == "Inbound"
    assert "Hot tech to an industry specialist" in now["summary"], now["summary"]
    assert main(["dry-run", "--config", str(config), "--format", "json"]) == 0
    rows = {r["lead_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[ids.leads["usa_lower_tx"]]["rule"] == "Hot tech to an industry specialist"
    assert rows[ids.leads["null_budget"]]["rule"] == "Small business"

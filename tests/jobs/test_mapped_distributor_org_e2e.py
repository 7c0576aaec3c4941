"""An org that keeps its two-tier channel in fields of its own (tests/jobs/alpen_org.py):
a reseller names its distributor in the lookup `Distributor__c` (not ParentId), and the
role is `Partnertyp__c` "Großhändler" / "Händler", both mapped in partner.toml as
mappings/README.md says. What the connector says about that hierarchy names the org's
fields, and the hand-down runs on them."""
from __future__ import annotations

import json

import pytest

from jobs.cli import main

from .alpen_org import _rep, alpen_fixture

pytestmark = pytest.mark.e2e

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
max_attempts = 4
offer_hours = 24
business_hours = false
time_zone = "Europe/Berlin"

[[ruleset]]
name = "Zwei Stufen"

  [[ruleset.rule]]
  name = "Distributor"
  match = { geography = true, role = "Distributor" }
  distribute = "round_robin"
  otherwise = "escalate"

    [ruleset.rule.hand_down]
    match = { geography = true }
    distribute = "round_robin"
"""


@pytest.fixture
def alpen(sandbox_factory, tmp_path, monkeypatch):
    a = alpen_fixture(sandbox_factory, tmp_path, monkeypatch)
    org, integration = a.org, a.org.integration_user_id
    for short in ("isar", "donau", "rhein"):  # the one-tier partners stay out of these leads' way
        org.update("Account", a.partners[short], {"Vertriebsgebiet__c": "CH"}, system=True)

    def partner(short: str, kind: str, distributor: str | None = None) -> None:
        a.partners[short] = org.create("Account", {
            "Name": f"{short.title()} GmbH", "IsPartner": True, "OwnerId": integration, "Partnertyp__c": kind,
            "Distributor__c": a.partners.get(distributor) if distributor else None, "Vertriebsgebiet__c": "DE",
            "BillingCountry": "Deutschland", "Partner_Stufe__c": "Stufe 2", "Time_Zone__c": "Europe/Berlin"},
            as_user=integration)
        a.reps[short] = _rep(org, integration, short, a.partners[short], "Europe/Berlin")

    partner("nord", "Großhändler")
    partner("hamburg", "Händler", "nord")
    partner("bremen", "Händler", "nord")
    partner("kiel", "Händler", "hamburg")  # a third level: Hamburg's own reseller
    (a.work / "rules.toml").write_text(RULES)
    return a


def test_a_distributor_lead_is_handed_down_to_the_resellers_its_lookup_names(alpen):
    a = alpen
    lead = a.new_lead("Zweistufig AG", "DE")
    a.once(init=True)
    assert a.lead(lead)["partner"] == "nord"
    a.accept(lead)
    a.once(hours=1)
    first = a.lead(lead)["partner"]
    assert first in ("hamburg", "bremen"), a.lead(lead)  # Nord's resellers; Kiel is Hamburg's
    a.reject(lead)
    a.once(hours=1)
    assert a.lead(lead)["partner"] == ({"hamburg", "bremen"} - {first}).pop()
    a.reject(lead)
    a.once(hours=1)
    back = a.lead(lead)
    assert (back["partner"], back["Zuweisung__c"]) == ("nord", "Angenommen"), back


def test_a_distributor_cycle_names_the_field_the_org_keeps_it_in(alpen, capsys):
    """Nord → Kiel → Hamburg → Nord: validate warned 'ParentId makes a cycle' and told the
    admin to 'set Parent Account', a field this org does not use for its hierarchy."""
    a = alpen
    a.org.update("Account", a.partners["nord"], {"Distributor__c": a.partners["kiel"]}, system=True)
    capsys.readouterr()
    assert main(["validate", "--config", str(a.config), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    cycles = [f for f in findings if "makes a cycle" in f["message"]]
    assert {f["file"] for f in cycles} == {f"Account {a.partners[s]}" for s in ("nord", "hamburg", "kiel")}, cycles
    for f in cycles:
        assert "Distributor__c makes a cycle" in f["message"] and "ParentId" not in f["message"], f
        assert "Distributor__c" in f["fix"] and "Parent Account" not in f["fix"], f

    a.new_lead("Zyklus KG", "DE")
    a.once(init=True)
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    problems = next(e for e in logged if e["event"] == "partner_snapshot_problems")
    assert all("Distributor__c makes a cycle" in p for p in problems["first"]), problems


def test_a_partner_type_the_mapping_does_not_know_is_named_with_the_fix(alpen, capsys):
    """'Grosshaendler' typed without the ß: the map knows 'Großhändler' only, so Nord was no
    distributor and every lead of the distributor rule escalated ('no partner meets the
    rule's partner conditions'), validate naming nothing about Nord."""
    a = alpen
    a.org.update("Account", a.partners["nord"], {"Partnertyp__c": "Grosshaendler"}, system=True)
    capsys.readouterr()
    assert main(["validate", "--config", str(a.config), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    role = [f for f in findings if f["file"] == f"Account {a.partners['nord']}" and "Grosshaendler" in f["message"]]
    assert role, [f["message"] for f in findings]
    assert "Partnertyp__c 'Grosshaendler' is none of the roles" in role[0]["message"], role[0]
    assert "partner.toml" in role[0]["fix"] and "Partnertyp__c" in role[0]["fix"], role[0]

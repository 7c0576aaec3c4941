"""An org that keeps the routing status on its own picklist, in its own words
(tests/jobs/alpen_org.py: `Zuweisung__c`, "Ausstehend" for Pending, mapped both ways as
mappings/README.md says). `once` routes what the org calls Pending; the ops tools must
see the same leads and their words must name what works in this org."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from jobs.cli import main

from .alpen_org import alpen_fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def alpen(sandbox_factory, tmp_path, monkeypatch):
    return alpen_fixture(sandbox_factory, tmp_path, monkeypatch)


def _dry_run(a) -> dict[str, dict]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["dry-run", "--config", str(a.config), "--format", "json"])
    assert code == 0, buf.getvalue()[-2000:]
    return {r["lead_id"]: r for r in json.loads(buf.getvalue())}


def test_dry_run_lists_a_lead_set_to_the_orgs_word_for_pending_as_once_routes_it(alpen):
    a = alpen
    fresh = a.new_lead("Neu vom Webformular", "DE")
    asked = a.new_lead("Bitte routen", "DE", Zuweisung__c="Ausstehend")  # a person's Pending, in the org's word
    rows = _dry_run(a)
    assert fresh in rows
    assert asked in rows, f"dry-run left out the lead set to Ausstehend (the org's Pending): {sorted(rows)}"
    assert rows[asked]["outcome"] == "offer", rows[asked]

    a.once(init=True)
    assert a.lead(asked)["Zuweisung__c"] == "Angeboten"  # once routed it: dry-run showed what once does


def test_a_released_leads_reason_names_the_orgs_field_and_word_and_following_it_routes_again(alpen):
    """A person takes an offered lead over: the Lead says Released and how to have it
    routed again. In this org that is Zuweisung__c set to Ausstehend: the shipped
    Routing_Status__c (still deployed, unread) set to Pending would change nothing."""
    a = alpen
    lead = a.new_lead("Übernommen GmbH", "DE")
    a.once(init=True)
    assert a.lead(lead)["Zuweisung__c"] == "Angeboten"
    a.org.update("Lead", lead, {"OwnerId": a.admin}, as_user=a.admin)  # a person takes it
    a.once(hours=1)
    seen = a.lead(lead)
    assert seen["Zuweisung__c"] == "Freigegeben", seen
    reason = seen["Routing_Reason__c"]
    assert reason.endswith("set Zuweisungsstatus to Ausstehend: leadrouter routes it at its next run"), reason
    assert "Routing_Status" not in reason and "Routing Status" not in reason and "Pending" not in reason, reason

    a.org.update("Lead", lead, {"Zuweisung__c": "Ausstehend"}, as_user=a.admin)  # as the reason says
    a.once(hours=1)
    seen = a.lead(lead)
    assert seen["Zuweisung__c"] == "Angeboten", seen
    assert seen["Routing_Reason__c"].startswith("routed again because a person set Zuweisungsstatus to Ausstehend"), seen


def test_a_lead_a_person_keeps_in_house_says_so_in_the_orgs_field(alpen):
    """This org ticks Nicht_Routen__c (mapped as do_not_route) to keep a lead: the released
    Lead said 'Do_Not_Route__c ticked by a person', a box the admin finds unticked."""
    a = alpen
    lead = a.new_lead("Hausintern GmbH", "DE")
    a.once(init=True)
    assert a.lead(lead)["Zuweisung__c"] == "Angeboten"
    a.org.update("Lead", lead, {"Nicht_Routen__c": True}, as_user=a.admin)
    a.once(hours=1)
    seen = a.lead(lead)
    assert seen["Zuweisung__c"] == "Freigegeben", seen
    assert "Nicht routen is ticked" in seen["Routing_Reason__c"], seen
    assert "untick Nicht routen and set Zuweisungsstatus to Ausstehend" in seen["Routing_Reason__c"], seen
    assert "Do_Not_Route__c" not in seen["Routing_Reason__c"] and "Do Not Route" not in seen["Routing_Reason__c"], seen


def test_dry_run_and_explain_name_the_orgs_box_for_a_lead_kept_in_house(alpen, capsys):
    """dry-run and explain said 'Do_Not_Route__c is ticked' of a lead whose Nicht_Routen__c
    (this org's box, mapped as do_not_route) a person ticked."""
    a = alpen
    kept = a.new_lead("Bleibt im Haus GmbH", "DE", Nicht_Routen__c=True)
    row = _dry_run(a)[kept]
    assert (row["outcome"], row["reason"]) == ("left alone", "Nicht routen is ticked"), row
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["explain", kept, "--config", str(a.config), "--json"]) == 0
    assert json.loads(buf.getvalue())["now"]["left_alone"] == "Nicht routen is ticked"


def test_a_mistyped_status_word_is_fixed_in_the_orgs_picklist_not_by_deploying_the_package(alpen, capsys):
    """'Angebotten' in writeback.toml's map: validate's fix said to deploy salesforce/, 'whose
    Zuweisung__c has it' — the package brings no Zuweisung__c; the org's own picklist or the
    map is where the fix is."""
    a = alpen
    wb = a.work / "mappings" / "writeback.toml"
    wb.write_text(wb.read_text().replace('"Offered" = "Angeboten"', '"Offered" = "Angebotten"'))
    capsys.readouterr()
    assert main(["validate", "--config", str(a.config), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    typo = next(f for f in findings if "Angebotten" in f["message"])
    assert "'Angeboten'" in typo["fix"] and "Zuweisung__c's picklist" in typo["fix"], typo
    assert "salesforce/" not in typo["fix"], typo

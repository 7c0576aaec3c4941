"""`validate` asks the org whether the Lead fields a lost state is rebuilt from, and the
owner-change checks read, are history-tracked (FieldDefinition): without their LeadHistory
a rebuild loses who had each lead, and an assignment rule's owner change reads as a
person's takeover. An org that will not say is a warning that it could not check."""
from __future__ import annotations

import json
import shutil

import pytest

from jobs.cli import main
from jobs.ops.demo import DEFAULT_RULES, write_config

pytestmark = pytest.mark.e2e


def validated(sb, tmp_path, capsys) -> tuple[int, list[dict]]:
    rules = tmp_path / "rules.toml"
    shutil.copy(DEFAULT_RULES, rules)
    config = write_config(tmp_path, sb.connection, rules)
    code = main(["validate", "--config", str(config), "--json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def history(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["key"] == "field history"]


def test_an_org_that_does_not_track_owner_or_partner_history_is_warned_naming_the_fields_and_the_fix(
        sandbox_factory, tmp_path, capsys):
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3,
                         history_untracked=("OwnerId", "PartnerAccountId"))
    code, findings = validated(sb, tmp_path, capsys)
    [warning] = history(findings)
    assert code == 0 and warning["severity"] == "warning" and warning["file"] == "org: Lead"
    assert "OwnerId" in warning["message"] and "PartnerAccountId" in warning["message"]
    assert "Routing_Status__c" not in warning["message"]  # tracked, as the shipped metadata says
    assert "assignment rule" in warning["message"] and "rebuilt state" in warning["message"]
    assert warning["fix"].startswith("Setup → Object Manager → Lead → Fields & Relationships → Set History Tracking")
    assert "Lead Owner (OwnerId), Partner Account (PartnerAccountId)" in warning["fix"]


def test_an_org_tracking_every_field_read_from_history_says_nothing_of_it(sandbox_factory, tmp_path, capsys):
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3)
    _, findings = validated(sb, tmp_path, capsys)
    assert history(findings) == []


def test_the_routing_status_untracked_is_named_as_losing_the_whole_rebuild(sandbox_factory, tmp_path, capsys):
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3, history_untracked=("Routing_Status__c",))
    _, findings = validated(sb, tmp_path, capsys)
    [warning] = history(findings)
    assert "Routing_Status__c" in warning["message"] and "not rebuilt at all" in warning["message"]


def test_an_org_refusing_field_definitions_is_a_warning_that_it_could_not_check_not_an_error(
        sandbox_factory, tmp_path, capsys):
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3)
    sb.org.field_definitions_refused = True
    code, findings = validated(sb, tmp_path, capsys)
    [warning] = history(findings)
    assert code == 0 and warning["severity"] == "warning"
    assert "could not check" in warning["message"] and "OwnerId" in warning["message"]
    assert "Set History Tracking" in warning["fix"]

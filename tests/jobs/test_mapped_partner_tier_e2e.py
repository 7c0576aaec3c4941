"""Alpen Systeme's partner levels are `Partner_Stufe__c` "Stufe 1…3", mapped to the router's
tiers in partner.toml (tests/jobs/alpen_org.py). The picklist is not restricted: a channel
manager types "Stufe 4" for a new top level. That partner then meets no rule's min_tier —
Isar, "Stufe 4", was passed over by "Gold first" lead after lead — and validate said nothing.
It names the account, the value, the field and the fix (the map in partner.toml)."""
from __future__ import annotations

import json

import pytest

from jobs.cli import main

from .alpen_org import alpen_fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def alpen(sandbox_factory, tmp_path, monkeypatch):
    return alpen_fixture(sandbox_factory, tmp_path, monkeypatch)


def test_a_partner_level_the_mapping_does_not_know_is_named_with_the_fix(alpen, capsys):
    a = alpen
    a.org.update("Account", a.partners["isar"], {"Partner_Stufe__c": "Stufe 4"}, system=True)
    capsys.readouterr()
    assert main(["validate", "--config", str(a.config), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    tier = [f for f in findings if f["file"] == f"Account {a.partners['isar']}" and "Stufe 4" in f["message"]]
    assert tier, [f["message"] for f in findings]
    assert "Partner_Stufe__c" in tier[0]["message"] and "min_tier" in tier[0]["message"], tier[0]
    assert "partner.toml" in tier[0]["fix"] and "Partner_Tier__c" not in tier[0]["fix"], tier[0]
    # the partners whose level the map knows are not named
    assert not [f for f in findings if f["file"] in (f"Account {a.partners['donau']}", f"Account {a.partners['rhein']}")]

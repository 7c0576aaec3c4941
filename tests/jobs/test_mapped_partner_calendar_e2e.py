"""An org that keeps its partners' time zone and working days in fields of its own
(`Zeitzone__c`, `Arbeitstage__c`, mapped in partner.toml): when a value there is not one
the connector reads, validate's fix names that field, not the shipped Time_Zone__c /
Working_Days__c, which this org's admin would fill in vain."""
from __future__ import annotations

import json

import pytest

from jobs.cli import main

from .alpen_org import alpen_fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def alpen(sandbox_factory, tmp_path, monkeypatch):
    a = alpen_fixture(sandbox_factory, tmp_path, monkeypatch)
    partner = a.work / "mappings" / "partner.toml"
    text = partner.read_text()
    for old, new in (('time_zone = { field = "Time_Zone__c", transforms = ["trim"] }',
                      'time_zone = { field = "Zeitzone__c", transforms = ["trim"] }'),
                     ('working_days = "Working_Days__c"', 'working_days = "Arbeitstage__c"')):
        assert old in text, old
        text = text.replace(old, new)
    partner.write_text(text)
    return a


def test_a_partner_zone_or_week_the_connector_cannot_read_is_fixed_in_the_orgs_field(alpen, capsys):
    a = alpen
    a.org.update("Account", a.partners["isar"], {"Zeitzone__c": "Berlin"}, system=True)
    a.org.update("Account", a.partners["donau"], {"Arbeitstage__c": "Montag; Dienstag"}, system=True)
    capsys.readouterr()
    assert main(["validate", "--config", str(a.config), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    zone = next(f for f in findings if f["file"] == f"Account {a.partners['isar']}" and "time zone" in f["message"])
    assert zone["fix"] == "set Zeitzone__c to 'Europe/Berlin'", zone
    week = next(f for f in findings if f["file"] == f"Account {a.partners['donau']}" and "working days" in f["message"])
    assert week["fix"].startswith("set Arbeitstage__c to English day names"), week

"""`leadrouter validate` on another org checks what rules name against THAT org's
picklists, read through its mappings (its products in Solutions__c, its own Segment__c),
not against the demo schema's values."""
from __future__ import annotations

import json

import pytest

from jobs.cli import main

pytestmark = pytest.mark.e2e


def findings(config, capsys):
    code = main(["validate", "--config", str(config), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["findings"]
    return report["findings"]


def about(found, text):
    return [f for f in found if text in f["key"] + " " + f["message"]]


def test_values_of_the_orgs_own_picklists_are_not_called_unknown(other_org, capsys):
    sb, ids, config = other_org
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace("when = 'segment == \"SMB\"'",
                                               "when = 'segment == \"SMB\" and \"Data\" in products and rating == \"hot\"'"))
    found = findings(config, capsys)
    # Cloud is a value of Solutions__c, the org's product field; "hot" is read as Hot (rules/spelling.py)
    assert not about(found, "not a value of"), found
    assert not about(found, "is never"), found


def test_a_value_the_orgs_picklist_lacks_is_named_with_the_orgs_nearest_value(other_org, capsys):
    sb, ids, config = other_org
    rules = config.parent / "rules.toml"
    text = rules.read_text()
    text = text.replace('"Cloud" = ["AWS Migration"]', '"Cloud Migration" = ["AWS Migration"]')  # the demo's product
    text = text.replace("when = 'segment == \"SMB\"'", "when = 'segment == \"Enterprize\"'")
    rules.write_text(text)
    found = findings(config, capsys)
    [product] = about(found, "product 'Cloud Migration'")
    assert "not a value of the org's picklist" in product["message"] and "Cloud" in product["fix"], product
    [segment] = about(found, "segment is never 'Enterprize'")
    assert "Enterprise" in segment["fix"], segment

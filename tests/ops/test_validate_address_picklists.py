"""`leadrouter validate` and the address fields of an org with or without State and
Country/Territory Picklists: mappings written for the other kind of org name a field that is
not there. The finding says which kind this org is and which field to map instead, not only
"did you mean 'Country'?"."""
from __future__ import annotations

import json
import shutil

import pytest

from jobs.cli import main
from jobs.ops.demo import DEFAULT_RULES, write_config

from .conftest import MAPPINGS


def _workdir(tmp_path, sb, edits: dict[str, tuple[str, str]]):
    rules = tmp_path / "rules.toml"
    shutil.copy(DEFAULT_RULES, rules)
    shutil.copytree(MAPPINGS, tmp_path / "mappings")
    for file, (old, new) in edits.items():
        path = tmp_path / "mappings" / file
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new, 1))
    config = write_config(tmp_path, sb.connection, rules)
    config.write_text(config.read_text() + '\n[mappings]\ndir = "mappings"\n')
    return config


def _findings(config, capsys, field):
    main(["validate", "--config", str(config), "--json"])
    out = json.loads(capsys.readouterr().out)
    return [f for f in out["findings"] if field in f["message"] and f["severity"] == "error"]


@pytest.fixture
def plain_org(sandbox_factory):
    return sandbox_factory(seed="demo", partners=10, leads=20, random_seed=3)


@pytest.fixture
def picklist_org(sandbox_factory):
    sb = sandbox_factory(seed="demo", partners=10, leads=20, random_seed=3)
    sb.org.with_state_country_picklists()
    return sb


def test_codes_mapped_in_an_org_without_picklists_get_the_text_field_as_the_fix(plain_org, tmp_path, capsys):
    config = _workdir(tmp_path, plain_org, {
        "lead.toml": ('country = { field = "Country",', 'country = { field = "CountryCode",'),
        "partner.toml": ('field = "BillingState",', 'field = "BillingStateCode",'),
    })
    [country] = _findings(config, capsys, "'CountryCode'")
    assert "has no State and Country/Territory Picklists" in country["message"], country
    assert "'Country'" in country["fix"] and "transforms" in country["fix"], country
    [state] = _findings(config, capsys, "'BillingStateCode'")
    assert "'BillingState'" in state["fix"], state


def test_a_country_field_not_there_in_an_org_with_picklists_gets_the_code_field_as_the_fix(
        picklist_org, tmp_path, capsys):
    config = _workdir(tmp_path, picklist_org, {
        "lead.toml": ('country = { field = "Country",', 'country = { field = "Country_ISO__c",'),
        "partner.toml": ('city = { field = "BillingCity",', 'city = { field = "Statement__c",'),
    })
    [country] = _findings(config, capsys, "'Country_ISO__c'")
    assert "has State and Country/Territory Picklists" in country["message"], country
    assert "map country to CountryCode" in country["fix"] and "'Country'" in country["fix"], country
    [other] = _findings(config, capsys, "'Statement__c'")  # no address field: no word of picklists
    assert "Picklists" not in other["message"] + other["fix"], other


def test_the_code_fields_pass_in_an_org_with_picklists(picklist_org, tmp_path, capsys):
    config = _workdir(tmp_path, picklist_org, {
        "lead.toml": ('country = { field = "Country",', 'country = { field = "CountryCode",'),
        "partner.toml": ('field = "BillingState",', 'field = "BillingStateCode",'),
    })
    assert not _findings(config, capsys, "Code'")

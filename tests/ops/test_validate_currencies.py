"""`leadrouter validate` in a multi-currency org: the start's log said the org converts lead
amounts (org_currencies), validate said nothing. A channel manager reading validate learns
that the org is multi-currency, its corporate currency, that each condition on an amount
compares in it at the org's static rates, and which leads are in a currency the org no
longer lists (their amounts cannot be compared)."""
from __future__ import annotations

import json
import shutil

import pytest

from jobs.cli import main
from jobs.ops.demo import DEFAULT_RULES, write_config

from .conftest import MAPPINGS


@pytest.fixture
def org_in_three_currencies(tmp_path, sandbox_factory):
    sb = sandbox_factory(seed="demo", partners=20, leads=40, random_seed=3)
    sb.org.with_multi_currency("USD", {"EUR": 0.92, "JPY": 150.0})
    lead = {"LastName": "Buyer", "Country": "US", "State": "TX", "LeadSource": "Web", "Status": "Open - Not Contacted"}
    for company in ("Osaka Ironworks", "Kobe Cranes"):
        sb.org.create("Lead", {**lead, "Company": company, "Deal_Amount__c": 9_000_000, "CurrencyIsoCode": "JPY"})
    [yen] = [r for r in sb.org.records("CurrencyType") if r["IsoCode"] == "JPY"]
    sb.org.update("CurrencyType", yen["Id"], {"IsActive": False}, system=True)  # an admin deactivated yen since
    rules = tmp_path / "rules.toml"
    shutil.copy(DEFAULT_RULES, rules)
    shutil.copytree(MAPPINGS, tmp_path / "mappings")
    config = write_config(tmp_path, sb.connection, rules)
    config.write_text(config.read_text() + '\n[mappings]\ndir = "mappings"\n')
    return config


def test_validate_says_the_org_is_multi_currency_and_what_each_amount_condition_compares_in(
        org_in_three_currencies, capsys):
    config = org_in_three_currencies
    main(["validate", "--config", str(config), "--json"])
    out = json.loads(capsys.readouterr().out)
    findings = out["findings"]

    org = [f for f in findings if "multi-currency" in f["message"]]
    assert len(org) == 1 and "USD" in org[0]["message"] and "corporate" in org[0]["message"], findings
    assert org[0]["severity"] == "note" and "Deal_Amount__c" in org[0]["message"], org

    product = [f for f in findings if f["key"] == "rule 'Product specialist'" and "USD" in f["message"]]
    assert product and product[0]["file"].endswith("rules.toml") and product[0]["line"], findings
    assert "amount" in product[0]["message"] and "static" in product[0]["message"], product
    assert not [f for f in findings if "Cloud migration" in f["key"] and "USD" in f["message"]], findings

    # the connector converts them: the mappings' "map amount to a formula field" no longer applies
    assert not [f for f in findings if "holds each record's amount in its own currency" in f["message"]], findings

    yen = [f for f in findings if "'JPY'" in f["message"] and f["severity"] == "warning"]
    assert len(yen) == 1 and "2 " in yen[0]["message"] and "Manage Currencies" in yen[0]["fix"], findings
    assert out["warnings"] == sum(f["severity"] == "warning" for f in findings), out

    main(["validate", "--config", str(config)])
    text = capsys.readouterr().out
    assert "NOTE" in text and "multi-currency" in text and "note(s)" in text.splitlines()[-1], text


def test_a_single_currency_org_gets_no_currency_note(workdir, capsys):
    main(["validate", "--config", str(workdir / "leadrouter.toml"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert not [f for f in out["findings"] if "multi-currency" in f["message"] or "corporate currency" in f["message"]]

"""Messages that help: the name meant (by meaning as well as spelling), never the name
itself, each fix once, and a date shown as it must be written."""
from __future__ import annotations

import pytest

from jobs.cli import main
from rules.errors import did_you_mean, nearest

RULE = """
[[ruleset]]
name = "x"
  [[ruleset.rule]]
  name = "r"
  when = '{when}'
  match = {{ geography = true }}
  distribute = "round_robin"
"""


def rule_error(when: str) -> str:
    from mappings import load_mappings
    from rules.book import load_rules
    from rules.errors import RulesError

    ms = load_mappings(None)
    with pytest.raises(RulesError) as err:
        load_rules(text=RULE.format(when=when), lead_attributes=ms.lead_attribute_types(),
                   partner_attributes=ms.partner_attribute_types())
    return str(err.value)


@pytest.mark.parametrize("written, meant", [
    ("lead_source", "source"), ("LeadSource", "source"), ("zip", "postal_code"), ("PostalCode", "postal_code"),
    ("Expected_Close_Date__c", "close_date"), ("headcount", "employees"), ("ratng", "rating"),
])
def test_an_unknown_attribute_suggests_the_one_meant(written, meant):
    assert f"unknown attribute {written!r}" in rule_error(f'{written} == "x"')
    assert f"did you mean {meant!r}?" in rule_error(f'{written} == "x"')


def test_a_suggestion_is_never_the_word_itself():
    assert nearest("tier", ["tier", "tiers"]) == "tiers"
    assert did_you_mean("source", ["source"]) == "known: source"


def test_a_date_compared_with_text_says_how_to_write_a_date():
    text = rule_error('close_date <= "2026-12-31"')
    assert 'write a date as d"2026-12-31"' in text and "quarter_end" in text
    assert "amount is a number: write it without quotes" in rule_error('amount > "100"')


def test_a_key_of_another_auth_method_names_the_method_not_itself(tmp_path):
    from jobs.config import ConfigFileError, load

    cfg = tmp_path / "leadrouter.toml"
    cfg.write_text('[salesforce]\nlogin_url = "https://acme.my.salesforce.com"\n[salesforce.auth]\n'
                   'method = "client_credentials"\nclient_id = "x"\nclient_secret_env = "S"\nusername = "me@acme.com"\n')
    with pytest.raises(ConfigFileError) as err:
        load(cfg)
    text = str(err.value)
    assert "unknown key 'salesforce.auth.username'" in text
    assert "did you mean 'salesforce.auth.username'" not in text
    assert "belongs to method 'jwt_bearer' / 'password'" in text


def test_a_mapping_key_suggests_the_attribute_meant(tmp_path):
    import shutil
    from pathlib import Path

    from mappings import MappingError, load_mappings

    shutil.copytree(Path(__file__).resolve().parents[2] / "mappings" / "defaults", tmp_path / "m")
    lead = tmp_path / "m" / "lead.toml"
    lead.write_text(lead.read_text().replace('zip_code_is_not_here', '').replace('\npostal_code = ', '\nzip = ', 1))
    with pytest.raises(MappingError) as err:
        load_mappings(tmp_path / "m")
    assert "did you mean 'postal_code'?" in str(err.value)


def test_an_unreachable_org_prints_its_fix_once(workdir, capsys):
    config = workdir / "leadrouter.toml"
    text = config.read_text()
    config.write_text(text.replace('login_url = "https://127.0.0.1:', 'login_url = "https://127.0.0.1:1', 1))
    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "could not connect" in x)
    fix = out.split("could not connect", 1)[1].split("fix: ", 1)[1].splitlines()[0]
    assert fix and out.count(fix) == 1, out
    assert "— fix:" not in line


@pytest.mark.parametrize("when, fix", [
    ('rating == Hot', 'text goes in quotes: rating == "Hot"'),
    ('source in [Web, "Partner"]', 'text goes in quotes: "Web"'),
    ('rating = "Hot"', "compare with ==, not ="),
    ('rating == "Hot" && amount > 5', "write and, not &&"),
    ('rating == "Hot" || amount > 5', "write or, not ||"),
])
def test_a_condition_written_as_in_another_language_gets_the_fix_for_it(when, fix):
    """A value without quotes is no misspelt attribute (Hot was 'did you mean country?'),
    and `=`, `&&`, `||` are named, not answered with the whole syntax."""
    text = rule_error(when)
    assert fix in text, text
    assert "did you mean" not in text, text

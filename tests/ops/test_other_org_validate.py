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


def test_partners_the_router_can_never_offer_a_lead_are_named_with_the_orgs_own_fields(other_org, capsys):
    """Empty Desk Partners has no rep, Retired Rep Co's only rep is inactive, Café Ünïcode
    SARL has no Sales_Territory__c while every rule matches on geography: each is passed by
    lead after lead, and validate says so, naming the field this org keeps coverage in."""
    sb, ids, config = other_org
    found = findings(config, capsys)
    [reps] = about(found, "never offered a lead")
    assert "Empty Desk Partners (no rep)" in reps["message"], reps
    assert "Retired Rep Co (its reps are inactive)" in reps["message"], reps
    assert "Maple Leaf" not in reps["message"] and reps["fix"]
    [bare] = about(found, "with no coverage")
    assert "Café Ünïcode SARL" in bare["message"] and "Sales_Territory__c" in bare["fix"], bare
    assert bare["file"] == "org: Account.Sales_Territory__c"
    # partners that cannot be offered anything share no coverage with anyone, and no
    # finding names a field this org does not read
    assert not about(found, "shared by several"), found
    assert not [f for f in found if "Coverage__c" in json.dumps(f)], found


def test_coverage_written_as_names_is_named_with_the_codes_meant(other_org, capsys):
    """Prairie Partners' Sales_Territory__c reads 'Texas; Ontario; US-OK': the mapping drops
    the two names (only US-OK is a code) and routing went on with a log line the ops
    person never sees; validate names the account, the items and the codes meant."""
    sb, ids, config = other_org
    found = findings(config, capsys)
    [prairie] = [f for f in found if f["file"] == f"Account {ids.partners['prairie']}"]
    assert "Prairie Partners" in prairie["message"], prairie
    assert '"Texas" (US-TX?)' in prairie["message"] and '"Ontario" (CA-ON?)' in prairie["message"], prairie
    assert "US-TX" in prairie["fix"] and "US:750" in prairie["fix"], prairie


def test_leads_the_gate_or_the_mappings_would_mark_unroutable_are_counted_with_why(other_org, capsys):
    """Houston Widgets came from a form with no Country: `once` marks it Unroutable at the
    Country gate. validate spoke of coverage holes and dead rules, never of the leads its
    data stops before any rule; it now counts them by reason."""
    sb, ids, config = other_org
    found = findings(config, capsys)
    [gate] = [f for f in found if f["key"] == "gate"]
    assert "would be marked Unroutable before any rule: Country: missing or not a recognised country (1)" \
        in gate["message"], gate
    assert "dry-run" in gate["fix"]


def test_a_pool_queue_named_otherwise_than_the_pool_mapping_reads_is_named(other_org, capsys):
    """Northwind's pool queue is West_Partners; the shipped [pool] filter reads only queues
    named Partner_Pool_…, so the queue's members were never known (a lead sent there went to
    every covering partner, a partner that let it lapse could pull it again) and validate,
    which only checks that the queue exists, said nothing."""
    sb, ids, config = other_org
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace('''  name = "Anyone covering"
  match = { geography = true }''', '''  name = "Anyone covering"
  match = { geography = true }
  pool = "West_Partners"''', 1))
    found = findings(config, capsys)
    [pool] = [f for f in found if "is a queue the [pool] mapping does not read" in f["message"]]
    assert pool["key"] == "rule 'Anyone covering'" and pool["line"], pool
    assert "Partner_Pool_%" in pool["message"] and "West_Partners" in pool["fix"], pool
    partner_toml = config.parent / "mappings" / "partner.toml"
    partner_toml.write_text(partner_toml.read_text().replace("DeveloperName LIKE 'Partner_Pool_%'",
                                                             "DeveloperName IN ('West_Partners')"))
    assert not [f for f in findings(config, capsys) if "mapping does not read" in f["message"]]


def test_a_tier_the_orgs_levels_lack_is_named_and_one_in_another_case_is_the_orgs(other_org, capsys):
    """Northwind's partners have three levels (Registered, Silver, Gold): a rule keeping leads
    for Platinum partners finds none, and validate said nothing. `gold` in lower case is the
    org's Gold, as Salesforce compares picklist values: no finding."""
    sb, ids, config = other_org
    rules = config.parent / "rules.toml"
    text = rules.read_text()
    old = 'name = "Small business"\n  when = \'segment == "SMB"\'\n  match = { geography = true }'
    assert old in text
    rules.write_text(text.replace(old, 'name = "Small business"\n  when = \'segment == "SMB"\'\n'
                                       '  match = { geography = true, tiers = ["gold", "Platinum"] }'))
    found = findings(config, capsys)
    [platinum] = about(found, "'Platinum'")
    assert platinum["severity"] == "warning" and "match.tiers" in platinum["key"] and platinum["line"], platinum
    assert "org's picklist" in platinum["message"] and "no partner" in platinum["message"], platinum
    assert "Gold" in platinum["fix"] or "known" in platinum["fix"], platinum
    assert not about(found, "'gold'"), found

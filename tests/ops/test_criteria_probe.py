"""Routing criteria as another org's channel manager writes them from the docs, on that
org's own data (tests/ops/other_org.py, "Northwind"), driven through `leadrouter once`
and read back from the Lead through simple-salesforce."""
from __future__ import annotations

import pytest

from jobs.cli import main
from tests.conftest import salesforce_client

from .other_org import _rep

pytestmark = pytest.mark.e2e


def lead_row(sf, lead_id):
    return sf.query(f"SELECT OwnerId, PartnerAccountId, Routing_Status__c, Routing_Rule__c, Routing_Reason__c "
                    f"FROM Lead WHERE Id = '{lead_id}'")["records"][0]


def _partner(org, ids, key, name, territory):
    ids.partners[key] = org.create("Account", {
        "IsPartner": True, "Name": name, "BillingCountry": "United Kingdom", "Partner_Level__c": "Level 2",
        "Sales_Territory__c": territory,
    })
    _rep(org, ids, key, ids.partners[key], name.split()[0], "Rep", tz="Europe/London")


def _lead(org, ids, key, company, postcode):
    ids.leads[key] = org.create("Lead", {
        "LastName": "Buyer", "OwnerId": ids.queues["Web_Leads"], "LeadSource": "Web", "Company": company,
        "Country": "United Kingdom", "PostalCode": postcode,
    })


def test_uk_postcode_areas_and_districts_cover_their_own_postcodes_only(other_org, capsys):
    """A UK channel team splits the country by postcode area ("B" Birmingham) and district
    ("E1" Whitechapel). "B" is not the start of Bristol's "BS1", nor "E1" of Canary Wharf's
    "E14": those leads belong to nobody here, not to the partner whose code they begin with."""
    sb, ids, config = other_org
    _partner(sb.org, ids, "brum", "Brum Partners", "GB:B")
    _partner(sb.org, ids, "whitechapel", "Whitechapel Partners", "GB:E1")
    _partner(sb.org, ids, "westminster", "Westminster Partners", "GB:SW1")
    _lead(sb.org, ids, "edgbaston", "Edgbaston Ltd", "B15 2TT")
    _lead(sb.org, ids, "bristol", "Bristol Ltd", "BS1 4DJ")
    _lead(sb.org, ids, "aldgate", "Aldgate Ltd", "e1 7aa")
    _lead(sb.org, ids, "canary", "Canary Wharf Ltd", "E14 5AB")
    _lead(sb.org, ids, "whitehall", "Whitehall Ltd", "SW1A 2AA")
    _lead(sb.org, ids, "putney", "Putney Ltd", "SW15 2AA")
    assert main(["once", "--init", "--config", str(config)]) == 0
    capsys.readouterr()
    sf = salesforce_client(sb)
    partner_of = {key: lead_row(sf, ids.leads[key])["PartnerAccountId"] for key in
                  ("edgbaston", "bristol", "aldgate", "canary", "whitehall", "putney")}
    assert partner_of == {
        "edgbaston": ids.partners["brum"], "bristol": None,
        "aldgate": ids.partners["whitechapel"], "canary": None,
        "whitehall": ids.partners["westminster"], "putney": None,
    }
    bristol = lead_row(sf, ids.leads["bristol"])
    assert bristol["Routing_Status__c"] == "Fallback", bristol
    assert "no partner covers GB" in bristol["Routing_Reason__c"], bristol
    # explain names the coverage that let the partner in: its district, not all of GB
    assert main(["explain", ids.leads["whitehall"], "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "1 cover GB:SW1" in text and "cover GB\n" not in text and "cover GB " not in text, text


@pytest.fixture
def northwind_with(tmp_path, sandbox_factory, monkeypatch):
    """Northwind's org with fields of its own added to the Lead: (sandbox, ids, config)."""
    from sandbox import schema as schema_module

    from . import other_org

    def make(*lead_fields, user_fields=()):
        fields = {k: list(v) for k, v in other_org.OTHER_FIELDS.items()}
        fields["Lead"] += lead_fields
        fields["User"] = list(user_fields)
        monkeypatch.setattr(other_org, "OTHER_FIELDS", fields)
        schema = schema_module.load_schema(other_org.other_sfdx(tmp_path / "sfdx"))
        monkeypatch.setattr(schema_module, "_default_schema", schema)
        sb = sandbox_factory()
        ids = other_org.build(sb.org)
        work = tmp_path / "ops"
        work.mkdir()
        return sb, ids, other_org.write_workdir(work, sb.connection)

    return make


def validate_findings(config, capsys):
    import json

    code = main(["validate", "--config", str(config), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["findings"]
    return report["findings"]


def test_validate_says_amounts_of_a_multi_currency_org_are_each_leads_own_currency(northwind_with, capsys):
    """In an org with several currencies, Budget__c comes back in each lead's CurrencyIsoCode:
    `amount >= 100000` would hold for 100,000 JPY and fail for 90,000 GBP. validate says so,
    naming the field and a fix an admin can make (a formula in the corporate currency)."""
    from .other_org import _picklist

    sb, ids, config = northwind_with(("CurrencyIsoCode", "Picklist", _picklist(["USD", "EUR", "JPY"])))
    sb.org.update("Lead", ids.leads["munich"], {"CurrencyIsoCode": "EUR"})
    found = [f for f in validate_findings(config, capsys) if "CurrencyIsoCode" in f["message"]]
    by_field = {f["message"].split(" holds ")[0].rsplit(" ", 1)[-1]: f for f in found}
    assert set(by_field) == {"Budget__c", "AnnualRevenue"}, found
    budget = by_field["Budget__c"]
    assert budget["severity"] == "warning" and "amount" in budget["key"], budget
    assert "CURRENCYRATE(TEXT(CurrencyIsoCode))" in budget["fix"], budget


def test_validate_is_quiet_about_currency_in_a_single_currency_org(other_org, capsys):
    sb, ids, config = other_org
    found = validate_findings(config, capsys)
    assert not [f for f in found if "currenc" in f["message"].lower()], found


def test_a_lead_attribute_in_a_partner_condition_is_explained_with_the_matcher_that_pairs_them(other_org, capsys):
    """The channel manager wants "the lead's industry among the partner's industries" and
    writes `partners = 'industry in industries'`. Offering "did you mean 'industries'?"
    leads to `industries in industries`; the fix is the matcher that reads both sides."""
    import json

    sb, ids, config = other_org
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace(
        '  name = "Small business"\n',
        '  name = "Small business"\n  partners = \'industry in industries and tier == "Gold"\'\n', 1).replace(
        '  name = "Anyone covering"\n',
        '  name = "Anyone covering"\n  when = \'tier == "Gold"\'\n', 1))
    assert main(["validate", "--config", str(config), "--json"]) == 1
    errors = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["severity"] == "error"]
    import re

    by_attr = {re.search(r"attribute '(\w+)'", f["message"]).group(1): f for f in errors if "attribute" in f["message"]}
    assert set(by_attr) == {"industry", "tier"}, errors
    industry = by_attr["industry"]
    assert "the lead's" in industry["message"] and "partners" in industry["message"], industry
    assert "match = { industry = true }" in industry["fix"], industry
    assert "did you mean" not in industry["fix"], industry
    tier = by_attr["tier"]
    assert "the partner's" in tier["message"], tier
    assert "tiers" in tier["fix"] and "partners" in tier["fix"], tier


def test_a_nearest_partner_reason_does_not_count_far_partners_as_eligible(other_org, capsys):
    """A proximity rule ("within 50 km, nearest") found one partner 21 km away; other
    partners with reps cover the world but are thousands of km off. The Lead's reason said
    "6 eligible", which an admin reads as eight partners able to take it."""
    sb, ids, config = other_org
    ids.partners["fiji"] = sb.org.create("Account", {
        "IsPartner": True, "Name": "Suva Systems", "BillingCountry": "Fiji", "Partner_Level__c": "Level 2",
        "BillingLatitude": -17.0, "BillingLongitude": 179.9, "Sales_Territory__c": "FJ"})
    _rep(sb.org, ids, "fiji", ids.partners["fiji"], "Sefa", "Rep", tz="Pacific/Fiji")
    ids.leads["taveuni"] = sb.org.create("Lead", {  # across the antimeridian from Suva Systems
        "LastName": "Buyer", "OwnerId": ids.queues["Web_Leads"], "LeadSource": "Web", "Company": "Taveuni Traders",
        "Country": "Fiji", "Latitude": -17.0, "Longitude": -179.9})
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace('[[ruleset]]\nname = "Inbound"', '''[[ruleset]]
name = "Islands"
when = 'country == "FJ"'

  [[ruleset.rule]]
  name = "Nearest partner"
  match = { within_km = 50 }
  distribute = "nearest"

[[ruleset]]
name = "Inbound"''', 1))
    assert main(["once", "--init", "--config", str(config)]) == 0
    capsys.readouterr()
    row = lead_row(salesforce_client(sb), ids.leads["taveuni"])
    assert (row["PartnerAccountId"], row["Routing_Rule__c"]) == (ids.partners["fiji"], "Nearest partner"), row
    assert "nearest (21 km)" in row["Routing_Reason__c"], row
    import re

    assert not re.search(r"; \d+ eligible,", row["Routing_Reason__c"]), row
    assert "eligible at any distance" in row["Routing_Reason__c"], row


def test_a_rep_who_leaves_the_rep_filter_gets_no_new_offers_before_the_daily_full_sync(northwind_with, capsys):
    """Only Sales reps get leads: the channel manager writes the [rep] mapping's filter as
    mappings/README.md says (a SOQL condition). Lone Star's Sally moves to a Technical role
    and Travis to Sales; the next run must offer Texas leads to Travis. The partners' sync
    read reps by SystemModstamp within the filter, so it never saw Sally leave it and kept
    offering her leads until the whole re-read a day later."""
    from datetime import timedelta

    from .other_org import _picklist

    sb, ids, config = northwind_with(user_fields=[("Lead_Role__c", "Picklist", _picklist(["Sales", "Technical"]))])
    org = sb.org
    org.update("User", ids.reps["lonestar"], {"Lead_Role__c": "Technical"})
    sally = _rep(org, ids, "sally", ids.partners["lonestar"], "Sally", "Sales", tz="America/Chicago")
    org.update("User", sally, {"Lead_Role__c": "Sales"})
    mapping = config.parent / "mappings" / "partner.toml"
    mapping.write_text(mapping.read_text().replace(
        "filter = \"UserType = 'PowerPartner'\"", "filter = \"UserType = 'PowerPartner' AND Lead_Role__c = 'Sales'\""))
    assert main(["once", "--init", "--config", str(config)]) == 0
    sf = salesforce_client(sb)
    assert lead_row(sf, ids.leads["texas_zip4"])["OwnerId"] == sally
    sb.clock.advance(timedelta(minutes=20))
    org.update("User", sally, {"Lead_Role__c": "Technical"})
    org.update("User", ids.reps["lonestar"], {"Lead_Role__c": "Sales"})
    sb.clock.advance(timedelta(minutes=20))
    for key in ("after_a", "after_b"):
        ids.leads[key] = org.create("Lead", {"LastName": "Buyer", "OwnerId": ids.queues["Web_Leads"],
                                             "LeadSource": "Web", "Company": f"Amarillo {key}", "Country": "US",
                                             "State": "TX"})
    assert main(["once", "--config", str(config)]) == 0
    capsys.readouterr()
    owners = {key: lead_row(sf, ids.leads[key])["OwnerId"] for key in ("after_a", "after_b")}
    assert owners == {"after_a": ids.reps["lonestar"], "after_b": ids.reps["lonestar"]}, (owners, sally)


def test_validate_says_a_date_time_field_mapped_to_the_close_date_is_read_as_its_utc_day(northwind_with, capsys):
    """The org keeps the expected close as a date-time (Decision_At__c). 02:30 UTC on the
    1st of January is the 31st of December in the org's New York: `close_date <= year_end`
    reads it as next year. validate names the field and the zone it is read in."""
    sb, ids, config = northwind_with(("Decision_At__c", "DateTime", ""))
    lead = config.parent / "mappings" / "lead.toml"
    lead.write_text(lead.read_text().replace('close_date = "Purchase_By__c"', 'close_date = "Decision_At__c"'))
    found = [f for f in validate_findings(config, capsys) if "Decision_At__c" in f["message"]]
    assert len(found) == 1, found
    assert found[0]["severity"] == "warning" and "close_date" in found[0]["key"], found
    assert "UTC" in found[0]["message"] and "Date field" in found[0]["fix"], found


def test_validate_is_quiet_about_a_date_field_mapped_to_the_close_date(other_org, capsys):
    sb, ids, config = other_org
    assert not [f for f in validate_findings(config, capsys) if "Purchase_By__c" in f["message"]]


def test_a_product_and_certification_written_in_another_case_are_not_called_unmatchable(other_org, capsys):
    """The rule file writes `"cloud" = ["aws migration"]`; the org's picklists say Cloud and
    AWS Migration. The router reads both in the rule file's spelling (rules/spelling.py) and
    routes a Cloud lead to the AWS-certified partner, so validate must not warn that "no
    partner can match it"."""
    import json

    sb, ids, config = other_org
    ids.partners["okc"] = sb.org.create("Account", {
        "IsPartner": True, "Name": "Sooner Cloud", "BillingCountry": "US", "Partner_Level__c": "Level 2",
        "Sales_Territory__c": "US-OK", "Certifications__c": "AWS Migration"})
    _rep(sb.org, ids, "okc", ids.partners["okc"], "Sue", "Rep", tz="America/Chicago")
    ids.leads["norman"] = sb.org.create("Lead", {
        "LastName": "Buyer", "OwnerId": ids.queues["Web_Leads"], "LeadSource": "Web", "Company": "Norman Co",
        "Country": "US", "State": "OK", "Solutions__c": "Cloud"})
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace('"Cloud" = ["AWS Migration"]', '"cloud" = ["aws migration"]').replace(
        '[[ruleset]]\nname = "Inbound"', '''[[ruleset]]
name = "Certified"
when = 'company == "Norman Co"'

  [[ruleset.rule]]
  name = "Certified for cloud"
  match = { geography = true, certified_for_products = true }

[[ruleset]]
name = "Inbound"''', 1))
    found = validate_findings(config, capsys)
    assert not [f for f in found if "no partner can match" in f["message"]], found
    assert main(["dry-run", "--config", str(config), "--format", "json"]) == 0
    rows = {r["lead_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[ids.leads["norman"]]["rule"] == "Certified for cloud", rows[ids.leads["norman"]]


def test_validate_says_a_partner_whose_reps_the_rep_filter_leaves_out_has_none_it_reads(northwind_with, capsys):
    """Maple Leaf's only rep is Technical; the [rep] filter reads Sales reps. "(no rep)" sent
    the channel manager to invite a user the account already has."""
    from .other_org import _picklist

    sb, ids, config = northwind_with(user_fields=[("Lead_Role__c", "Picklist", _picklist(["Sales", "Technical"]))])
    sb.org.update("User", ids.reps["maple"], {"Lead_Role__c": "Technical"})
    for key in ("lonestar", "prairie", "bayern", "nocoverage"):
        sb.org.update("User", ids.reps[key], {"Lead_Role__c": "Sales"})
    mapping = config.parent / "mappings" / "partner.toml"
    mapping.write_text(mapping.read_text().replace(
        "filter = \"UserType = 'PowerPartner'\"", "filter = \"UserType = 'PowerPartner' AND Lead_Role__c = 'Sales'\""))
    found = [f for f in validate_findings(config, capsys) if f["key"] == "partner reps"]
    assert len(found) == 1, found
    assert "Maple Leaf Integrators (no rep the [rep] filter reads)" in found[0]["message"], found
    assert "[rep] filter" in found[0]["fix"], found


def test_partners_of_routing_weight_0_are_not_said_to_be_at_a_cap(other_org, capsys):
    """Kansas's two partners both have Routing_Weight__c 0 (validate warns: never drawn by
    weight). The lead falls through to the next rule; its reason said "every eligible partner
    is at a cap", and an admin went looking at capacities that were fine."""
    import json

    sb, ids, config = other_org
    for key, name in (("okc1", "Sunflower One"), ("okc2", "Sunflower Two")):
        ids.partners[key] = sb.org.create("Account", {
            "IsPartner": True, "Name": name, "BillingCountry": "US", "Partner_Level__c": "Level 2",
            "Sales_Territory__c": "US-KS", "Routing_Weight__c": 0})
        _rep(sb.org, ids, key, ids.partners[key], name.split()[1], "Rep", tz="America/Chicago")
    lead_id = sb.org.create("Lead", {"LastName": "Buyer", "OwnerId": ids.queues["Web_Leads"], "LeadSource": "Other",
                                     "Company": "Wichita Co", "Country": "US", "State": "KS"})
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace('name = "Everything else"\n', '''name = "Everything else"

  [[ruleset.rule]]
  name = "By weight"
  match = { geography = true }
  distribute = "weighted"
  weight_by = "weight"
  otherwise = "escalate"
''', 1))
    assert main(["once", "--init", "--config", str(config)]) == 0
    capsys.readouterr()
    row = lead_row(salesforce_client(sb), lead_id)
    assert (row["Routing_Status__c"], row["Routing_Rule__c"]) == ("Escalated", "By weight"), row
    assert "cap" not in row["Routing_Reason__c"], row
    assert "routing weight of 0" in row["Routing_Reason__c"], row
    assert main(["explain", lead_id, "--config", str(config), "--json"]) == 0
    assert "routing weight of 0" in json.loads(capsys.readouterr().out)["now"]["summary"]


def test_validate_says_when_a_lead_product_is_no_partners_product_value(northwind_with, capsys):
    """The Lead's Solutions__c offers "Cloud-Migration", a value the partners' Solutions__c
    lacks. A `match.products` rule can never place a lead that names only it: each such lead
    went silently to the next rule. validate names the value and the rule."""
    from . import other_org

    lead_values = [*other_org.SOLUTIONS, "Cloud-Migration"]
    sb, ids, config = northwind_with(("Solutions__c", "MultiselectPicklist", "\n    <visibleLines>4</visibleLines>"
                                      + other_org._picklist(lead_values)))
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace('  name = "Small business"\n  when = \'segment == "SMB"\'\n  match = { geography = true }',
                                               '  name = "Small business"\n  when = \'segment == "SMB"\'\n  match = { geography = true, products = "any" }', 1))
    found = [f for f in validate_findings(config, capsys) if "Cloud-Migration" in f["message"]]
    assert len(found) == 1, found
    assert found[0]["severity"] == "warning" and "products" in found[0]["key"], found
    assert "Small business" in found[0]["message"], found


def test_amounts_typed_the_european_way_are_read_as_written(northwind_with, capsys):
    """The org's web form stores the budget as text (Budget_Text__c), typed by buyers in
    Munich and Lyon: "120.000,00 €", "1.250.000", "9.999,50". The `number` transform read
    the first as 120 (the comma dropped as a thousands mark, the point kept as a decimal
    one), refused the second, read the third as 9.99950: `amount >= 100000` sent the large
    deals to the small-deal rule."""
    import json

    sb, ids, config = northwind_with(("Budget_Text__c", "Text", "\n    <length>40</length>"))
    lead = config.parent / "mappings" / "lead.toml"
    lead.write_text(lead.read_text().replace('amount = "Budget__c"',
                                             'amount = { field = "Budget_Text__c", type = "float", transforms = ["number"] }'))
    keyed = {}
    for key, text in (("munich", "120.000,00 €"), ("lyon", "1.250.000"), ("bonn", "9.999,50"), ("austin", "1,234.50")):
        keyed[key] = sb.org.create("Lead", {"LastName": "Buyer", "OwnerId": ids.queues["Web_Leads"],
                                            "LeadSource": "Web", "Company": f"{key} GmbH", "Country": "DE",
                                            "Budget_Text__c": text})
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace('[[ruleset]]\nname = "Inbound"', '''[[ruleset]]
name = "Budgets"
when = 'amount != null'

  [[ruleset.rule]]
  name = "Large"
  when = "amount >= 100000"
  match = { geography = true }

  [[ruleset.rule]]
  name = "Mid"
  when = "amount >= 5000"
  match = { geography = true }

  [[ruleset.rule]]
  name = "Small"
  match = { geography = true }

[[ruleset]]
name = "Inbound"''', 1))
    assert main(["dry-run", "--config", str(config), "--format", "json"]) == 0
    rows = {r["lead_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert {k: rows[v]["rule"] for k, v in keyed.items()} == {
        "munich": "Large", "lyon": "Large", "bonn": "Mid", "austin": "Small"}, {k: rows[v] for k, v in keyed.items()}


def test_a_fallback_where_no_rule_applied_names_no_rule_that_did_not(other_org, capsys):
    """A rule set for big deals whose one rule asks amount >= 100000; a lead of the set with
    a negative Budget__c meets no rule. The Lead said Routing_Rule__c = "Big deals" (a rule
    whose condition it fails), and validate, counting that, never warned the rule matched nothing."""
    import json

    sb, ids, config = other_org
    lead_id = sb.org.create("Lead", {"LastName": "Buyer", "OwnerId": ids.queues["Web_Leads"], "LeadSource": "Web",
                                     "Company": "Credit Note Co", "Country": "US", "State": "TX", "Budget__c": -5000})
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace('[[ruleset]]\nname = "Inbound"', '''[[ruleset]]
name = "Budgeted"
when = 'amount != null and company == "Credit Note Co"'

  [[ruleset.rule]]
  name = "Big deals"
  when = "amount >= 100000"
  match = { geography = true }

[[ruleset]]
name = "Inbound"''', 1))
    code = main(["validate", "--config", str(config), "--json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 0, found
    assert [f for f in found if f["key"] == "rule 'Big deals'" and "matched none" in f["message"]], found
    assert main(["once", "--init", "--config", str(config)]) == 0
    capsys.readouterr()
    row = lead_row(salesforce_client(sb), lead_id)
    assert row["Routing_Status__c"] == "Fallback", row
    assert row["Routing_Rule__c"] != "Big deals" and "Budgeted" in row["Routing_Rule__c"], row
    assert 'no rule of "Budgeted" applies' in row["Routing_Reason__c"], row


def test_validate_names_pool_members_the_pool_rule_never_admits(other_org, capsys):
    """Gold partners pull the NA pool's leads; the queue also holds Lone Star's rep (Silver).
    Salesforce lets every member take a queue's lead, so Lone Star can take what the rule
    keeps for Gold partners: validate names it, before a lead goes astray."""
    from sandbox.bootstrap import add_queue

    sb, ids, config = other_org
    pool = add_queue(sb.org, "Partner_Pool_NA", "Partner Pool NA")
    for key in ("lonestar", "maple"):
        sb.org.create("GroupMember", {"GroupId": pool, "UserOrGroupId": ids.reps[key]})
    rules = config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace('[[ruleset]]\nname = "Inbound"', '''[[ruleset]]
name = "Gold pool"
when = 'rating == "Hot"'

  [[ruleset.rule]]
  name = "Gold partners pull"
  match = { geography = true, tiers = ["Gold"] }
  pool = "Partner_Pool_NA"

[[ruleset]]
name = "Inbound"''', 1))
    found = [f for f in validate_findings(config, capsys) if "Partner_Pool_NA" in f["message"]]
    assert len(found) == 1, found
    assert found[0]["key"] == "rule 'Gold partners pull'" and "Lone Star Solutions" in found[0]["message"], found
    assert "Maple" not in found[0]["message"], found

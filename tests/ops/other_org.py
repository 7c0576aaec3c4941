"""An org that is not the demo seed: another company's Salesforce, as an ops person who
only read the docs would meet it.

Its own custom fields next to the product's (`Budget__c` for the amount, `Purchase_By__c`
for the close date, `Solutions__c` for the products, `Partner_Level__c` "Level 1…3" for
the tier, `Sales_Territory__c` for coverage), North American data typed as people type
it (ZIP+4, "K1A 0B1", "United States", "USA", "tx", no country at all), values in odd
case and values the demo never has, partners with no rep or only an inactive one, a
partner account with no coverage, amounts of 0 and none, close dates gone by, long and
non-Latin company names, leads owned by a queue and by a person.

`other_schema(tmp)` is the schema of that org (the shipped metadata plus its fields);
`build(org)` fills an empty sandbox org and answers the ids by name.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.bootstrap import add_queue
from sandbox.schema import default_sfdx_dir

_FIELD = """<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>{name}</fullName>
    <label>{label}</label>
    <required>false</required>
    <trackHistory>false</trackHistory>
    <type>{type}</type>{extra}
</CustomField>
"""


def _picklist(values: list[str]) -> str:
    items = "".join(
        f"\n            <value><fullName>{v}</fullName><default>false</default><label>{v}</label></value>"
        for v in values
    )
    return (
        "\n    <valueSet>\n        <restricted>false</restricted>\n        <valueSetDefinition>"
        f"\n            <sorted>false</sorted>{items}\n        </valueSetDefinition>\n    </valueSet>"
    )


SOLUTIONS = ["Cloud", "Security", "Data", "Networking"]
LEVELS = ["Level 1", "Level 2", "Level 3"]

# object -> (API name, metadata type, extra XML)
OTHER_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "Lead": [
        ("Budget__c", "Currency", "\n    <precision>16</precision>\n    <scale>2</scale>"),
        ("Purchase_By__c", "Date", ""),
        ("Solutions__c", "MultiselectPicklist", "\n    <visibleLines>4</visibleLines>" + _picklist(SOLUTIONS)),
        ("Segment__c", "Picklist", _picklist(["SMB", "Mid-Market", "Enterprise"])),
        ("Country_Code__c", "Text", "\n    <length>3</length>"),  # ISO code a form integration fills
    ],
    "Account": [
        ("Partner_Level__c", "Picklist", _picklist(LEVELS)),
        ("Sales_Territory__c", "LongTextArea", "\n    <length>32768</length>\n    <visibleLines>3</visibleLines>"),
        ("Solutions__c", "MultiselectPicklist", "\n    <visibleLines>4</visibleLines>" + _picklist(SOLUTIONS)),
    ],
}


def other_sfdx(directory: Path) -> Path:
    """The shipped metadata (an admin deploys salesforce/) plus the org's own fields."""
    objects = directory / "force-app/main/default/objects"
    shutil.copytree(default_sfdx_dir() / "force-app/main/default/objects", objects)
    for sobject, fields in OTHER_FIELDS.items():
        for name, type_, extra in fields:
            label = name.removesuffix("__c").replace("_", " ")
            (objects / sobject / "fields").mkdir(parents=True, exist_ok=True)  # an object the package leaves alone
            (objects / sobject / "fields" / f"{name}.field-meta.xml").write_text(
                _FIELD.format(name=name, label=label, type=type_, extra=extra)
            )
    return directory


@dataclass
class OtherOrg:
    partners: dict[str, str] = field(default_factory=dict)  # short name -> Account id
    reps: dict[str, str] = field(default_factory=dict)  # short name -> User id
    queues: dict[str, str] = field(default_factory=dict)  # DeveloperName -> Group id
    leads: dict[str, str] = field(default_factory=dict)  # short name -> Lead id
    person: str = ""  # an internal sales user who owns a lead himself


def _rep(org: Any, out: OtherOrg, key: str, account: str, first: str, last: str, *, active: bool = True,
         tz: str = "America/New_York") -> str:
    email = f"{first.lower()}.{last.lower()}@{key}.example.com"
    contact = org.create("Contact", {"AccountId": account, "FirstName": first, "LastName": last, "Email": email})
    user = org.create("User", {
        "Username": f"{first.lower()}.{last.lower()}@{key}.partner", "FirstName": first, "LastName": last,
        "Email": email, "Alias": (first[:1] + last[:4]).lower(), "IsActive": active, "UserType": "PowerPartner",
        "AccountId": account, "ContactId": contact, "TimeZoneSidKey": tz, "LanguageLocaleKey": "en_US",
    })
    out.reps[key] = user
    return user


def build(org: Any) -> OtherOrg:
    """Fill an empty (bootstrapped) sandbox org with Northwind's partners and leads."""
    out = OtherOrg()

    def partner(key: str, fields: dict) -> str:
        out.partners[key] = org.create("Account", {"IsPartner": True, **fields})
        return out.partners[key]

    partner("maple", {
        "Name": "Maple Leaf Integrators", "BillingCountry": "Canada", "BillingState": "Ontario",
        "BillingPostalCode": "K1A 0B1", "BillingCity": "Ottawa", "Partner_Level__c": "Level 3",
        "Sales_Territory__c": "CA-ON; CA-QC", "Solutions__c": "Cloud;Security",
        "Industries__c": "Technology;Government", "Time_Zone__c": "America/Toronto",
    })
    partner("lonestar", {
        "Name": "Lone Star Solutions", "BillingCountry": "USA", "BillingState": "TX",
        "BillingPostalCode": "75201-1234", "BillingCity": "Dallas", "Partner_Level__c": "level 2",
        "Sales_Territory__c": "US-TX; US:750", "Solutions__c": "Cloud;Data",
        "Industries__c": "Technology", "Time_Zone__c": "America/Chicago",
    })
    partner("bayern", {
        "Name": "Bayern IT GmbH", "BillingCountry": "Deutschland", "BillingState": "Bayern",
        "BillingPostalCode": "80331", "Partner_Level__c": "Level 1", "Sales_Territory__c": "DE",
        "Solutions__c": "Security", "Time_Zone__c": "Europe/Berlin",
    })
    partner("norep", {  # signed up, nobody invited yet
        "Name": "Empty Desk Partners", "BillingCountry": "United States", "Partner_Level__c": "Level 3",
        "Sales_Territory__c": "US-TX; CA-ON",
    })
    partner("retired", {  # its only rep left the company
        "Name": "Retired Rep Co", "BillingCountry": "United States", "Partner_Level__c": "Level 3",
        "Sales_Territory__c": "US-TX; CA-ON",
    })
    partner("nocoverage", {  # ticked IsPartner, never filled in a territory
        "Name": "Café Ünïcode SARL", "BillingCountry": "France", "Partner_Level__c": "Level 2",
    })

    partner("prairie", {  # territories typed as names, as a channel team would
        "Name": "Prairie Partners", "BillingCountry": "US", "Partner_Level__c": "Level 1",
        "Sales_Territory__c": "Texas; Ontario; US-OK",
    })

    _rep(org, out, "prairie", out.partners["prairie"], "Pat", "Plains", tz="America/Chicago")
    _rep(org, out, "maple", out.partners["maple"], "Chloe", "Tremblay", tz="America/Toronto")
    _rep(org, out, "lonestar", out.partners["lonestar"], "Travis", "Walker", tz="America/Chicago")
    _rep(org, out, "bayern", out.partners["bayern"], "Lena", "Huber", tz="Europe/Berlin")
    _rep(org, out, "retired", out.partners["retired"], "Gone", "Away", active=False)
    _rep(org, out, "nocoverage", out.partners["nocoverage"], "Amelie", "Durand", tz="Europe/Paris")

    for dev in ("Channel_Escalations", "Unassigned_Partner_Leads", "Inside_Sales"):
        out.queues[dev] = org.queue_ids[dev]
    out.queues["Web_Leads"] = add_queue(org, "Web_Leads", "Web Leads")
    out.person = org.create("User", {
        "Username": "sam.seller@northwind.example", "FirstName": "Sam", "LastName": "Seller",
        "Email": "sam.seller@northwind.example", "Alias": "sselle", "IsActive": True, "UserType": "Standard",
        "TimeZoneSidKey": "America/New_York", "LanguageLocaleKey": "en_US",
    })

    out.queues["West_Partners"] = add_queue(org, "West_Partners", "West Partners")  # a pool, by this org's name
    org.create("GroupMember", {"GroupId": out.queues["West_Partners"], "UserOrGroupId": out.reps["lonestar"]})

    web = out.queues["Web_Leads"]

    def lead(key: str, fields: dict) -> None:
        base = {"LastName": "Buyer", "OwnerId": web, "LeadSource": "Web"}
        out.leads[key] = org.create("Lead", {**base, **fields})

    lead("texas_zip4", {"Company": "Dallas Freight LLC", "Country": "United States", "State": "Texas",
                        "PostalCode": "75201-4321", "Industry": "Technology", "Budget__c": 25000,
                        "Solutions__c": "Cloud"})
    lead("usa_lower_tx", {"Company": "Austin Bakery", "Country": "USA", "State": "tx", "PostalCode": "73301",
                          "Industry": "technology", "Rating": "hot", "LeadSource": "web"})
    lead("ottawa", {"Company": "Ottawa Civic Services", "Country": "Canada", "State": "Ontario",
                    "PostalCode": "K1A 0B1", "Industry": "Government", "Budget__c": 0})
    lead("canada_code_on", {"Company": "Toronto Tools Inc", "Country": "CA", "Country_Code__c": "CAN", "State": "ON",
                            "PostalCode": "M5V 3L9", "Industry": "Software"})
    lead("no_country", {"Company": "Houston Widgets", "State": "TX", "PostalCode": "77002",
                        "Industry": "Manufacturing"})
    lead("munich", {"Company": "Münchner Rückversicherungs-Gesellschaft Aktiengesellschaft in München",
                    "Country": "Deutschland", "State": "Bayern", "PostalCode": "80331",
                    "Solutions__c": "Security", "Budget__c": 120000, "Rating": "Hot",
                    "Purchase_By__c": "2020-01-31"})
    lead("long_name", {"Company": "Ω" * 40 + " " + "Very Long Company Name Holdings " * 6,
                       "Country": "United States", "State": "TX", "PostalCode": "75001"})
    lead("usa_dotted", {"Company": "Fort Worth Feed & Seed", "Country": "U.S.A.", "State": "Texas",
                        "PostalCode": "76102"})
    lead("do_not_route", {"Company": "Keep Away Ltd", "Country": "US", "State": "TX", "Do_Not_Route__c": True})
    lead("japanese", {"Company": "株式会社テスト", "Country": "日本", "Industry": "Technology"})
    lead("null_budget", {"Company": "Plano Dental", "Country": "US", "State": "Texas", "PostalCode": "75024",
                         "Segment__c": "smb"})
    lead("person_owned", {"Company": "Owned By Sam", "Country": "US", "State": "TX", "OwnerId": out.person})
    lead("inside_sales", {"Company": "Inside Sales Queue Lead", "Country": "US", "State": "TX",
                          "OwnerId": out.queues["Inside_Sales"]})
    return out


# ---------------------------------------------------------------- the outsider's files

def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}: the shipped file changed, update this edit"
    path.write_text(text.replace(old, new, 1))


def write_mappings(directory: Path) -> Path:
    """The shipped mappings copied and edited as mappings/README.md says, for this org's fields."""
    from mappings import loader  # noqa: F401 — the shipped folder sits beside it

    shipped = Path(loader.__file__).parent / "defaults"
    shutil.copytree(shipped, directory)
    lead, partner = directory / "lead.toml", directory / "partner.toml"
    _edit(lead, 'products = { field = "Products__c", type = "set" }', 'products = { field = "Solutions__c", type = "set" }')
    _edit(lead, 'amount = "Deal_Amount__c"', 'amount = "Budget__c"')
    _edit(lead, 'close_date = "Expected_Close_Date__c"', 'close_date = "Purchase_By__c"')
    _edit(lead, "\n[lead.extra]\n", '\n[lead.extra]\nsegment = { field = "Segment__c", type = "string" }\n')
    _edit(partner, 'tier = "Partner_Tier__c"', 'tier = { field = "Partner_Level__c", map = { "Level 1" = "Registered", '
                                               '"Level 2" = "Silver", "Level 3" = "Gold" } }')
    _edit(partner, 'coverage = { field = "Coverage__c", transforms = ["coverage"] }',
          'coverage = { field = "Sales_Territory__c", transforms = ["coverage"] }')
    _edit(partner, 'products = "Products__c"', 'products = "Solutions__c"')
    return directory


RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
business_hours = false
time_zone = "GMT"

[settings.certifications_for_products]
"Cloud" = ["AWS Migration"]

[[gate]]
when = 'country != null and country != ""'
reason = "Country: missing or not a recognised country"

[[ruleset]]
name = "Inbound"
when = 'source in ["Web", "Phone Inquiry"]'

  [[ruleset.rule]]
  name = "Hot tech to an industry specialist"
  when = 'rating == "Hot" and industry == "Technology"'
  match = { geography = true, industry = true }
  distribute = "round_robin"

  [[ruleset.rule]]
  name = "Small business"
  when = 'segment == "SMB"'
  match = { geography = true }
  distribute = "round_robin"

  [[ruleset.rule]]
  name = "Anyone covering"
  match = { geography = true }
  distribute = "weighted"
  weight_by = "tier"

[[ruleset]]
name = "Everything else"

  [[ruleset.rule]]
  name = "Covering partner"
  match = { geography = true }
  distribute = "round_robin"
"""


def write_workdir(directory: Path, connection: dict) -> Path:
    """config + mappings + rules as an ops person writes them from the docs; returns the config."""
    from jobs.ops.demo import write_config

    rules = directory / "rules.toml"
    rules.write_text(RULES)
    write_mappings(directory / "mappings")
    config = write_config(directory, connection, rules)
    config.write_text(config.read_text() + '\n[mappings]\ndir = "mappings"\n')
    return config

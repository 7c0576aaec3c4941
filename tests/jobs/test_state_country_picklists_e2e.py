"""Routing by geography in an org with State and Country/Territory Picklists: the same leads
and partners give the same decisions as in an org without them, whether the mappings read
the codes (CountryCode, StateCode; partners' BillingCountryCode) or the labels the org keeps
beside them (Country = "Germany", State = "Bavaria").

Partners cover what Coverage__c says, else their billing country; the connector runs as
`leadrouter once` over HTTPS against the sandbox, on the sandbox's clock.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

START = datetime(2031, 3, 4, 8, 0, tzinfo=timezone.utc)

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
max_attempts = 3
offer_hours = 24
business_hours = false

[[ruleset]]
name = "Everywhere"

  [[ruleset.rule]]
  name = "Whoever covers the place"
  match = { geography = true }
  distribute = "round_robin"
  otherwise = "escalate"
"""

# (short name, account name, billing address, Coverage__c)
PARTNERS = [
    ("texas", "Lone Star Systems", {"BillingCountry": "United States", "BillingState": "Texas"}, "US-TX"),
    ("bavaria", "Isar Informatik", {"BillingCountry": "Germany", "BillingState": "Bavaria"}, "DE-BY"),
    ("germany", "Spree Software", {"BillingCountry": "Germany", "BillingState": "Berlin"}, None),  # its country
    ("canada", "Maple Networks", {"BillingCountry": "Canada", "BillingState": "Ontario"}, None),
]

# company → the address a web form brought in (labels every org with picklists takes)
LEADS = {
    "Austin Widgets": {"Country": "United States", "State": "Texas"},
    "Dallas Data": {"Country": "United States", "State": "Texas"},
    "Munich Motors": {"Country": "Germany", "State": "Bavaria"},
    "Berlin Bytes": {"Country": "Germany", "State": "Berlin"},
    "Toronto Tools": {"Country": "Canada", "State": "Ontario"},
    "Ohio Optics": {"Country": "United States", "State": "Ohio"},  # nobody covers Ohio
    "Paris Parts": {"Country": "France"},  # nobody covers France
}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}: the shipped file changed, update this edit"
    path.write_text(text.replace(old, new, 1))


def _mappings(directory: Path, read: str) -> None:
    """The shipped mappings, partners covering their billing country where Coverage__c is
    empty; `read` "codes" maps country and state to the picklists' code fields."""
    from mappings import loader

    shutil.copytree(Path(loader.__file__).parent / "defaults", directory)
    lead, partner = directory / "lead.toml", directory / "partner.toml"
    billing_country = "BillingCountryCode" if read == "codes" else "BillingCountry"
    _edit(partner, 'coverage = { field = "Coverage__c", transforms = ["coverage"] }',
          f'coverage = {{ field = ["Coverage__c", "{billing_country}"], transforms = ["coverage"] }}')
    if read == "codes":
        _edit(lead, 'country = { field = "Country", transforms = ["country"] }',
              'country = { field = "CountryCode", transforms = ["country"] }')
        _edit(lead, 'state = { field = "State", transforms = [{ subdivision = "country" }] }',
              'state = { field = "StateCode", transforms = [{ subdivision = "country" }] }')
        _edit(partner, 'country = { field = "BillingCountry", transforms = ["country"] }',
              'country = { field = "BillingCountryCode", transforms = ["country"] }')
        _edit(partner, 'state = { field = "BillingState", transforms = [{ subdivision = "country" }] }',
              'state = { field = "BillingStateCode", transforms = [{ subdivision = "country" }] }')


def _rep(org, account: str, short: str) -> None:
    email = f"rep@{short}.example"
    contact = org.create("Contact", {"AccountId": account, "LastName": short.title(), "Email": email})
    org.create("User", {"Username": email + ".partner", "LastName": short.title(), "Email": email, "Alias": short[:8],
                        "IsActive": True, "UserType": "PowerPartner", "AccountId": account, "ContactId": contact},
               as_user=org.integration_user_id)


def _route(sandbox_factory, tmp_path: Path, *, picklists: bool, read: str) -> dict[str, str]:
    """company → the partner its lead was offered to, or the Lead's routing status."""
    from jobs.cli import main
    from jobs.ops.demo import write_config

    sb = sandbox_factory(start_at=START)
    org = sb.org
    if picklists:
        org.with_state_country_picklists(states={"DE": {"BY": "Bavaria", "BE": "Berlin"}})
    names = {}
    for short, name, billing, coverage in PARTNERS:
        account = org.create("Account", {"Name": name, "IsPartner": True, "OwnerId": org.integration_user_id,
                                         "Partner_Role__c": "Reseller", "Coverage__c": coverage, **billing},
                             as_user=org.integration_user_id)
        _rep(org, account, short)
        names[account] = short
    leads = {company: org.create("Lead", {"LastName": "Buyer", "Company": company, "LeadSource": "Web",
                                          "Status": "Open - Not Contacted",
                                          "OwnerId": org.queue_ids["Inside_Sales"], **address},
                                 as_user=org.admin_user_id)
             for company, address in LEADS.items()}
    work = tmp_path / f"{'picklists' if picklists else 'plain'}-{read}"
    work.mkdir()
    (work / "rules.toml").write_text(RULES)
    _mappings(work / "mappings", read)
    config = write_config(work, sb.connection, work / "rules.toml")
    config.write_text(config.read_text() + '\n[mappings]\ndir = "mappings"\n\n[notifications]\nmode = "none"\n'
                      'offer_alert = "off"\n')
    sb.clock.advance(timedelta(seconds=2))
    assert main(["once", "--config", str(config), "--init"]) == 0
    out = {}
    for company, lead_id in leads.items():
        row = org.get("Lead", lead_id)
        out[company] = names.get(row["PartnerAccountId"]) or row["Routing_Status__c"]
    return out


EXPECTED = {
    "Austin Widgets": "texas", "Dallas Data": "texas", "Berlin Bytes": "germany", "Toronto Tools": "canada",
    "Ohio Optics": "Escalated", "Paris Parts": "Escalated",
}


def test_an_org_with_state_and_country_picklists_routes_the_same_leads_to_the_same_partners(
        sandbox_factory, tmp_path):
    plain = _route(sandbox_factory, tmp_path, picklists=False, read="labels")
    assert {k: v for k, v in plain.items() if k != "Munich Motors"} == EXPECTED
    assert plain["Munich Motors"] in ("bavaria", "germany")  # both cover Bavaria: the rotation's turn
    by_code = _route(sandbox_factory, tmp_path, picklists=True, read="codes")
    by_label = _route(sandbox_factory, tmp_path, picklists=True, read="labels")
    assert by_code == plain
    assert by_label == plain

"""An org with State and Country/Territory Picklists turned on (Setup → State and
Country/Territory Picklists), as Salesforce Help documents it:

* Lead gains CountryCode / StateCode, Account BillingCountryCode / BillingStateCode: picklists
  of ISO codes, StateCode dependent on CountryCode (describe: controllerName, validFor);
  Country and State stay text and hold the integration value (the ISO name by default).
* "State and Country/Territory Picklist Field-Syncing Logic": a valid code fills the
  integration value, a valid integration value fills the code, codes and values that do not
  agree on an update are refused, a create with both keeps the code's value, a state not in
  its country is refused, removing the country code removes the state too.
* A Country no integration value matches is refused (FIELD_INTEGRITY_EXCEPTION, as real
  orgs answer REST clients: "There's a problem with this country, even though it may
  appear correct…").

Everything through simple-salesforce over HTTPS.
"""
from __future__ import annotations

import base64

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


@pytest.fixture
def picklist_org(sandbox):
    sandbox.org.with_state_country_picklists(states={"DE": {"BY": "Bavaria", "BE": "Berlin"}})
    return sandbox


def _lead(**fields):
    return {"LastName": "Buyer", "Company": "Acme", **fields}


def _field(describe, name):
    return next(f for f in describe["fields"] if f["name"] == name)


def _controlling_values(entry, controller):
    bits = base64.b64decode(entry["validFor"])
    values = [v["value"] for v in controller["picklistValues"]]
    return [v for i, v in enumerate(values) if bits[i >> 3] & (0x80 >> (i % 8))]


def test_describe_shows_code_picklists_with_the_state_dependent_on_the_country(picklist_org, sf):
    lead = sf.Lead.describe()
    country, state = _field(lead, "CountryCode"), _field(lead, "StateCode")
    assert country["type"] == state["type"] == "picklist"
    assert {"value": "DE", "label": "Germany"}.items() <= next(
        v for v in country["picklistValues"] if v["value"] == "DE").items()
    assert state["dependentPicklist"] is True and state["controllerName"] == "CountryCode"
    assert country["dependentPicklist"] is False and country["controllerName"] is None
    bavaria = next(v for v in state["picklistValues"] if v["value"] == "BY")
    assert bavaria["label"] == "Bavaria" and _controlling_values(bavaria, country) == ["DE"]
    texas = next(v for v in state["picklistValues"] if v["value"] == "TX")
    assert _controlling_values(texas, country) == ["US"]
    assert _field(lead, "Country")["type"] == "string"  # the integration value stays text
    account = sf.Account.describe()
    assert _field(account, "BillingStateCode")["controllerName"] == "BillingCountryCode"


def test_a_plain_org_has_no_code_fields(sf):
    names = {f["name"] for f in sf.Lead.describe()["fields"]}
    assert "Country" in names and "CountryCode" not in names and "StateCode" not in names


def test_setting_only_the_codes_fills_the_labels(picklist_org, sf):
    lead_id = sf.Lead.create(_lead(CountryCode="DE", StateCode="BY"))["id"]
    got = sf.Lead.get(lead_id)
    assert (got["Country"], got["CountryCode"], got["State"], got["StateCode"]) == ("Germany", "DE", "Bavaria", "BY")


def test_setting_only_the_labels_fills_the_codes(picklist_org, sf):
    lead_id = sf.Lead.create(_lead(Country="United States", State="Texas"))["id"]
    got = sf.Lead.get(lead_id)
    assert (got["CountryCode"], got["StateCode"]) == ("US", "TX")
    sf.Lead.update(lead_id, {"Country": "Germany", "State": "Berlin"})
    got = sf.Lead.get(lead_id)
    assert (got["CountryCode"], got["StateCode"]) == ("DE", "BE")


def test_a_country_that_is_no_label_is_refused(picklist_org, sf):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.create(_lead(Country="Deutschland"))
    [error] = refused.value.content
    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION" and error["fields"] == ["Country"]
    assert "problem with this country" in error["message"]


def test_a_code_and_label_that_disagree_are_refused_on_update_and_the_code_wins_on_create(picklist_org, sf):
    lead_id = sf.Lead.create(_lead(CountryCode="DE", Country="France"))["id"]
    assert sf.Lead.get(lead_id)["Country"] == "Germany"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.update(lead_id, {"CountryCode": "FR", "Country": "Germany"})
    assert refused.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert sf.Lead.get(lead_id)["CountryCode"] == "DE"  # nothing saved


def test_a_state_not_in_its_country_is_refused(picklist_org, sf):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.create(_lead(CountryCode="US", StateCode="BY"))
    [error] = refused.value.content
    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION" and error["fields"] == ["StateCode"]
    lead_id = sf.Lead.create(_lead(CountryCode="DE", StateCode="BY"))["id"]
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.update(lead_id, {"CountryCode": "US"})  # Bavaria is not in the United States


def test_removing_the_country_code_removes_the_state(picklist_org, sf):
    lead_id = sf.Lead.create(_lead(CountryCode="US", StateCode="TX"))["id"]
    sf.Lead.update(lead_id, {"CountryCode": None})
    got = sf.Lead.get(lead_id)
    assert (got["Country"], got["CountryCode"], got["State"], got["StateCode"]) == (None, None, None, None)


def test_soql_filters_on_the_codes(picklist_org, sf):
    sf.Lead.create(_lead(CountryCode="DE"))
    sf.Lead.create(_lead(Country="United States", State="Texas"))
    rows = sf.query("SELECT Company, Country FROM Lead WHERE CountryCode = 'US' AND StateCode IN ('TX', 'CA')")
    assert [r["Country"] for r in rows["records"]] == ["United States"]


def test_billing_codes_sync_on_accounts(picklist_org, sf):
    account_id = sf.Account.create({"Name": "Isar Informatik", "BillingCountryCode": "DE",
                                    "ShippingCountry": "Austria"})["id"]
    got = sf.Account.get(account_id)
    assert (got["BillingCountry"], got["ShippingCountryCode"]) == ("Germany", "AT")

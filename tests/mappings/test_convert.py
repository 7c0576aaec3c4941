"""Records → Lead / Partner / Rep / DealRegistration with the shipped mappings, and
what bad data does: the lead becomes Unroutable with `<field>: <why>`, nothing raises."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import Unroutable, load_mappings
from rules.model import DealRegistration, Lead, Partner, Rep

from .helpers import LEAD_ID


@pytest.fixture(scope="module")
def ms():
    return load_mappings()


@pytest.fixture(scope="module")
def to_lead(ms):
    return ms.lead_converter()


def lead(**fields):
    return {"Id": LEAD_ID, **fields}


def test_a_typical_salesforce_lead_fills_the_model(to_lead):
    got = to_lead(lead(Company=" Acme GmbH ", Email="Anna@Acme.DE", Country="Deutschland", State="Bayern",
                       PostalCode="80331 ", Products__c="Analytics;Data Platform", NumberOfEmployees=250,
                       AnnualRevenue=1.5e6, Deal_Amount__c=12000.5, Expected_Close_Date__c="2025-03-31",
                       OwnerId="00G5g000000001A", CreatedDate="2024-05-01T10:00:00.000+0000",
                       SystemModstamp="2024-05-01T12:00:00.000+0200", Do_Not_Route__c=False,
                       Partner_Response__c="Rejected", Rejection_Reason__c=" not our region ", Routing_Attempt__c=2.0))
    assert isinstance(got, Lead)
    assert (got.company, got.email, got.email_domain) == ("Acme GmbH", "anna@acme.de", "acme.de")
    assert (got.country, got.state, got.postal_code) == ("DE", "DE-BY", "80331")
    assert got.products == frozenset({"Analytics", "Data Platform"})
    assert (got.employees, got.annual_revenue, got.amount) == (250, 1.5e6, 12000.5)
    assert got.close_date == date(2025, 3, 31)
    assert got.owner_id == "00G5g000000001AEAQ"  # 15 → 18 chars
    assert got.created == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert got.modstamp == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)  # +0200 → UTC
    assert (got.response, got.rejection_reason, got.attempt) == ("Rejected", "not our region", 2)


def test_nulls_everywhere_give_the_model_defaults(ms, to_lead):
    record = {f: None for f in ms.soql_fields("lead")} | {"Id": LEAD_ID}
    got = to_lead(record)
    assert got == Lead(id=LEAD_ID)


def test_a_lead_without_an_id_is_unroutable_not_a_crash(to_lead):
    got = to_lead({"Company": "Acme"})
    assert isinstance(got, Unroutable)
    assert got.lead_id is None and got.reason == "Id: required, but empty"


def test_fifteen_char_ids_are_compared_in_their_eighteen_char_form(to_lead):
    got = to_lead(lead(Id="00Q5g0000000001", OwnerId="0055g0000000ABC", PartnerAccountId="0015g0000000001AAA"))
    assert got.id == LEAD_ID
    assert got.owner_id == "0055g0000000ABCAA2"
    assert got.partner_id == "0015g0000000001AAA"


def test_an_id_with_a_wrong_checksum_is_reported(to_lead):
    got = to_lead(lead(OwnerId="0055g0000000001ZZZ"))
    assert isinstance(got, Unroutable)
    assert got.reason == 'OwnerId: not a Salesforce id (15 or 18 letters and digits): "0055g0000000001ZZZ"'


@pytest.mark.parametrize("field, value, why", [
    ("NumberOfEmployees", "lots", 'NumberOfEmployees: expected a whole number, got "lots"'),
    ("NumberOfEmployees", 12.5, "NumberOfEmployees: expected a whole number, got 12.5"),
    ("AnnualRevenue", "a million", 'AnnualRevenue: expected a number, got "a million"'),
    ("Do_Not_Route__c", "yes", 'Do_Not_Route__c: expected a checkbox value true or false, got "yes"'),
    ("Expected_Close_Date__c", "2024-02-30", 'Expected_Close_Date__c: expected a date like 2024-05-01, got "2024-02-30"'),
    ("CreatedDate", "yesterday", 'CreatedDate: expected a date-time like 2024-05-01T10:00:00.000+0000, got "yesterday"'),
    ("Latitude", float("inf"), "Latitude: expected a finite number, got inf"),
    ("Company", {"nested": 1}, "Company: expected text, got dict {'nested': 1}"),
    ("Products__c", 42, "Products__c: expected a list of values, got int 42"),
])
def test_a_value_that_cannot_be_converted_makes_the_lead_unroutable(to_lead, field, value, why):
    got = to_lead(lead(**{field: value}))
    assert isinstance(got, Unroutable)
    assert got.lead_id == LEAD_ID
    assert got.reason == why


def test_every_problem_of_a_record_is_listed_and_the_first_is_the_reason(to_lead):
    got = to_lead(lead(NumberOfEmployees="many", Do_Not_Route__c="maybe"))
    assert got.problems == ['NumberOfEmployees: expected a whole number, got "many"',
                            'Do_Not_Route__c: expected a checkbox value true or false, got "maybe"']
    assert got.reason == got.problems[0]


def test_numbers_sent_as_text_and_whole_floats_are_accepted(to_lead):
    got = to_lead(lead(NumberOfEmployees="1200", AnnualRevenue="2500000.50", Routing_Attempt__c=3.0,
                       Do_Not_Route__c="TRUE"))
    assert (got.employees, got.annual_revenue, got.attempt, got.do_not_route) == (1200, 2500000.5, 3, True)


def test_long_unicode_and_right_to_left_text_pass_through_unchanged(to_lead):
    big = "Ω" * 100_000
    got = to_lead(lead(Company=big, FirstName="محمد", LastName="الفارسي", City="תל אביב", Email="x@例え.jp"))
    assert got.company == big
    assert (got.first_name, got.last_name, got.city) == ("محمد", "الفارسي", "תל אביב")
    assert got.email_domain == "例え.jp"


def test_a_very_long_bad_value_is_quoted_short_in_the_reason(to_lead):
    got = to_lead(lead(NumberOfEmployees="9" * 50 + "x" * 100_000))
    assert isinstance(got, Unroutable)
    assert len(got.reason) < 120


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None)
@given(values=st.dictionaries(st.sampled_from(["Company", "Email", "Country", "State", "PostalCode", "Products__c",
                                               "NumberOfEmployees", "AnnualRevenue", "Latitude", "CreatedDate",
                                               "Expected_Close_Date__c", "OwnerId", "Do_Not_Route__c",
                                               "Routing_Attempt__c", "Website", "Partner_Response__c"]),
                              _JSONISH, max_size=8))
def test_whatever_the_org_sends_the_converter_answers_and_never_raises(to_lead, values):
    got = to_lead(lead(**values))
    assert isinstance(got, (Lead, Unroutable))
    if isinstance(got, Unroutable):
        field = got.reason.split(":", 1)[0]
        assert field in values or field == "Id"


def test_a_partner_account_with_coverage_and_programs(ms):
    heard = []
    to_partner = ms.partner_converter(lambda rid, msg: heard.append(msg))
    got = to_partner({"Id": "0015g0000000001AAA", "Name": "Northwind", "Partner_Tier__c": "gold",
                      "Partner_Programs__c": "Cloud;MSP", "Certifications__c": "AWS Migration;Security",
                      "Coverage__c": "US-CA; US:941 ; @Benelux; Atlantis", "BillingCountry": "United States",
                      "BillingState": "CA", "Capacity__c": 25.0, "Routing_Weight__c": None, "Languages__c": "en;DE"})
    assert isinstance(got, Partner)
    assert got.tier == "Gold"
    assert got.programs == frozenset({"Cloud", "MSP"})
    assert got.coverage == ("US-CA", "US:941", "@Benelux")
    assert (got.country, got.state, got.capacity) == ("US", "US-CA", 25)
    assert (got.weight, got.role, got.paused) == (1.0, "Reseller", False)  # defaults when empty
    assert got.languages == frozenset({"en", "de"})
    assert heard == ['Coverage__c: coverage items not understood: "Atlantis"']


@pytest.mark.parametrize("capacity, read_as", [(2.5, 2), ("7.9", 7), (0.5, 0)])
def test_a_partner_whose_capacity_field_holds_a_fraction_is_read_at_the_whole_number_below(ms, capacity, read_as):
    """Another org's Capacity__c may be Number(5,1): a decimal is not a reason to drop the
    partner from routing. It is read as the whole number of leads below it, and said."""
    heard = []
    got = ms.partner_converter(lambda rid, msg: heard.append(msg))(
        {"Id": "0015g0000000001AAA", "Name": "Northwind", "Coverage__c": "US", "Capacity__c": capacity,
         "Daily_Cap__c": 4.5})
    assert isinstance(got, Partner)
    assert (got.capacity, got.daily_cap) == (read_as, 4)
    assert f"partner 'Northwind': Capacity__c is {float(capacity):g}, not a whole number; read as {read_as}" in heard
    assert "partner 'Northwind': Daily_Cap__c is 4.5, not a whole number; read as 4" in heard


def test_a_partner_without_a_name_is_rejected_with_the_reason(ms):
    got = ms.partner_converter()({"Id": "0015g0000000001AAA", "Name": "  "})
    assert isinstance(got, Unroutable)
    assert got.sobject == "Account" and got.reason == "Name: required, but empty"


def test_a_partner_user_becomes_a_rep_of_its_account(ms):
    got = ms.rep_converter()({"Id": "0055g0000000001AAA", "AccountId": "0015g0000000001", "Name": "Rita Rep",
                              "Email": " Rita@Northwind.example ", "IsActive": False, "TimeZoneSidKey": "Europe/Berlin"})
    assert got == Rep(id="0055g0000000001AAA", partner_id="0015g0000000001AAA", name="Rita Rep",
                      email="rita@northwind.example", active=False, time_zone="Europe/Berlin")


def test_an_internal_user_without_an_account_is_not_a_rep(ms):
    got = ms.rep_converter()({"Id": "0055g0000000001AAA", "AccountId": None, "IsActive": True})
    assert isinstance(got, Unroutable) and got.reason == "AccountId: required, but empty"


def test_a_deal_registration_from_an_opportunity(ms):
    got = ms.dealreg_converter()({"Id": "0065g0000000001AAA", "PartnerAccountId": "0015g0000000001AAA",
                                  "Name": "Acme - Analytics", "Deal_Registration_Status__c": "Approved",
                                  "Registration_Expires__c": "2025-01-31", "Registered_Company__c": " Acme ",
                                  "Registered_Email_Domain__c": "@ACME.com"})
    assert got == DealRegistration(id="0065g0000000001AAA", partner_id="0015g0000000001AAA", status="Approved",
                                   expires=date(2025, 1, 31), company="Acme", email_domain="acme.com",
                                   name="Acme - Analytics")


def test_a_bulk_api_csv_row_where_everything_is_text_converts_the_same(to_lead):
    got = to_lead({"Id": LEAD_ID, "NumberOfEmployees": "250", "AnnualRevenue": "1500000.0", "Latitude": "48.1",
                   "Do_Not_Route__c": "false", "IsConverted": "true", "CreatedDate": "2024-05-01T10:00:00.000Z",
                   "Expected_Close_Date__c": "2025-03-31", "Routing_Attempt__c": "2", "Company": "",
                   "Products__c": ""})
    assert (got.employees, got.annual_revenue, got.lat) == (250, 1.5e6, 48.1)
    assert (got.do_not_route, got.converted, got.attempt) == (False, True, 2)
    assert got.created == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert (got.company, got.products) == (None, frozenset())

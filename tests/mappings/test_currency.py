"""In a multi-currency org a lead's amounts are compared in the corporate currency: each
attribute read from currency fields is divided by the org's rate for the lead's currency;
counts and scores are never converted; an amount in a currency the org does not list is
dropped with the reason, never compared as if it were dollars."""
from __future__ import annotations

from rules.model import Lead

from mappings.converter import DROPPED
from mappings.currency import CONVERTED_FROM, OrgCurrencies, currency_attributes, in_corporate_currency

RATES = {"USD": 1.0, "EUR": 0.8, "JPY": 160.0}
ORG = OrgCurrencies("USD", RATES, frozenset({"amount", "annual_revenue", "list_price"}),
                    {"amount": "Deal_Amount__c", "annual_revenue": "AnnualRevenue", "list_price": "List_Price__c"})


def lead_of(record: dict) -> Lead:
    return Lead(record["Id"], amount=record.get("Deal_Amount__c"), annual_revenue=record.get("AnnualRevenue"),
                employees=record.get("NumberOfEmployees"), extra={"list_price": record.get("List_Price__c")})


convert = in_corporate_currency(lead_of, ORG)


def test_amounts_in_another_currency_are_compared_in_the_corporate_one():
    lead = convert({"Id": "00Q1", "CurrencyIsoCode": "EUR", "Deal_Amount__c": 80_000.0, "AnnualRevenue": 8e6,
                    "NumberOfEmployees": 400, "List_Price__c": 40.0})
    assert (lead.amount, lead.annual_revenue, lead.extra["list_price"]) == (100_000.0, 1e7, 50.0)
    assert lead.employees == 400 and lead.extra[CONVERTED_FROM] == ("EUR", 0.8)


def test_a_lead_in_the_corporate_currency_is_left_as_it_is():
    record = {"Id": "00Q2", "CurrencyIsoCode": "USD", "Deal_Amount__c": 5.0}
    assert convert(record) == lead_of(record)


def test_an_amount_in_a_currency_the_org_does_not_list_is_dropped_with_the_reason():
    lead = convert({"Id": "00Q3", "CurrencyIsoCode": "CHF", "Deal_Amount__c": 1_000_000.0, "NumberOfEmployees": 9})
    assert lead.amount is None and lead.employees == 9
    assert lead.extra[DROPPED]["amount"].startswith("Deal_Amount__c: the lead's currency 'CHF' is not an active")
    assert "Manage Currencies" in lead.extra[DROPPED]["amount"]


def test_a_lead_without_a_currency_keeps_no_amount_to_compare():
    lead = convert({"Id": "00Q4", "Deal_Amount__c": 10.0})
    assert lead.amount is None and "has no currency" in lead.extra[DROPPED]["amount"]


def test_only_attributes_read_from_currency_fields_are_converted():
    sources = {"amount": ("Deal_Amount__c",), "employees": ("NumberOfEmployees",),
               "best": ("Deal_Amount__c", "Score__c"), "company": ("Company",)}
    types = {"Deal_Amount__c": "currency", "NumberOfEmployees": "int", "Score__c": "double", "Company": "string"}
    assert currency_attributes(sources, types) == frozenset({"amount"})


def test_a_single_currency_org_keeps_the_converter_as_it_is():
    assert in_corporate_currency(lead_of, None) is lead_of


def test_a_dated_rate_holds_from_its_start_date_up_to_the_next_ranges_start():
    from datetime import date

    from mappings.currency import DatedRates

    rates = DatedRates([
        {"IsoCode": "EUR", "ConversionRate": 0.9, "StartDate": "0001-01-01", "NextStartDate": "2027-01-01"},
        {"IsoCode": "EUR", "ConversionRate": 0.5, "StartDate": "2027-01-01", "NextStartDate": "2027-03-01"},
        {"IsoCode": "EUR", "ConversionRate": 0.8, "StartDate": "2027-03-01", "NextStartDate": None},
    ])
    assert rates.rate("EUR", date(2026, 12, 31)) == 0.9
    assert rates.rate("EUR", date(2027, 1, 1)) == 0.5
    assert rates.rate("EUR", date(2027, 2, 28)) == 0.5
    assert rates.rate("EUR", date(2027, 3, 1)) == 0.8  # the day the next range starts is the next range's
    assert rates.rate("EUR", date(2031, 1, 1)) == 0.8
    assert rates.rate("GBP", date(2027, 1, 1)) is None
    # only the ranges that reach into a window were read: a day before them has no dated rate
    assert DatedRates([{"IsoCode": "EUR", "ConversionRate": 0.5, "StartDate": "2027-01-01",
                        "NextStartDate": "2027-03-01"}]).rate("EUR", date(2027, 3, 2)) is None

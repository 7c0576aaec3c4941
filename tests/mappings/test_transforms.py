"""Every transform, each through a small mapping file and one record."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from mappings import Unroutable

from .helpers import LEAD_ID, lead_with


def convert_extra(tmp_path, attribute_toml: str, record: dict, warn=None):
    ms = lead_with(tmp_path, "[lead.extra]\n" + attribute_toml)
    result = ms.lead_converter(warn)({"Id": LEAD_ID, **record})
    return result


def extra_value(tmp_path, attribute_toml: str, record: dict):
    result = convert_extra(tmp_path, attribute_toml, record)
    assert not isinstance(result, Unroutable), result
    return result.extra["x"]


def test_trim_lower_upper_apply_in_order(tmp_path):
    assert extra_value(tmp_path, 'x = { field = "A__c", transforms = ["trim", "upper"] }', {"A__c": "  acme  "}) == "ACME"
    assert extra_value(tmp_path, 'x = { field = "A__c", transforms = ["lower"] }', {"A__c": "AcMe"}) == "acme"


def test_postal_is_upper_case_without_spaces(tmp_path):
    assert extra_value(tmp_path, 'x = { field = "P__c", transforms = ["postal"] }', {"P__c": " sw1a 1aa "}) == "SW1A1AA"


@pytest.mark.parametrize("raw, domain", [("Bob@Acme.COM", "acme.com"), ("acme.com", "acme.com"),
                                         ("@acme.com", "acme.com"), (" x@mail.acme.co.uk ", "mail.acme.co.uk")])
def test_email_domain_from_an_address_or_a_bare_domain(tmp_path, raw, domain):
    assert extra_value(tmp_path, 'x = { field = "E__c", transforms = ["email_domain"] }', {"E__c": raw}) == domain


def test_email_without_a_domain_is_dropped_with_a_warning_not_a_crash(tmp_path):
    heard = []
    result = convert_extra(tmp_path, 'x = { field = "E__c", transforms = ["email_domain"] }', {"E__c": "bob"},
                           warn=lambda rid, msg: heard.append((rid, msg)))
    assert result.extra["x"] is None
    assert heard == [(LEAD_ID, 'E__c: no e-mail domain in "bob"')]


@pytest.mark.parametrize("raw", ["https://www.Acme.com/contact?x=1", "www.acme.com", "acme.com:8080/x", "http://acme.com"])
def test_domain_from_a_website(tmp_path, raw):
    assert extra_value(tmp_path, 'x = { field = "W__c", transforms = ["domain"] }', {"W__c": raw}) == "acme.com"


@pytest.mark.parametrize("raw, code", [("USA", "US"), ("united states", "US"), ("Deutschland", "DE"), ("DEU", "DE"),
                                       ("de", "DE"), ("  us ", "US"), ("U.S.", "US"), ("Côte d'Ivoire", "CI"),
                                       ("South Korea", "KR"), ("UK", "GB"), ("België", "BE"), ("日本", "JP"),
                                       ("U.S.A.", "US"), ("U.K.", "GB"), ("U.A.E.", "AE"), ("Republic of Ireland", "IE")])
def test_country_names_and_codes_become_iso_alpha2(tmp_path, raw, code):
    assert extra_value(tmp_path, 'x = { field = "C__c", transforms = ["country"] }', {"C__c": raw}) == code


def test_unknown_country_stays_unknown_unless_required(tmp_path):
    assert extra_value(tmp_path, 'x = { field = "C__c", transforms = ["country"] }', {"C__c": "Narnia"}) is None
    result = convert_extra(tmp_path, 'x = { field = "C__c", transforms = ["country"], required = true }', {"C__c": "Narnia"})
    assert isinstance(result, Unroutable)
    assert result.reason == 'C__c: "Narnia" is not a recognised country'


@pytest.mark.parametrize("country, state, code", [("US", "CA", "US-CA"), ("USA", "California", "US-CA"),
                                                  ("Germany", "Bayern", "DE-BY"), ("DE", "Bavaria", "DE-BY"),
                                                  ("Canada", "on", "CA-ON"), (None, "US-NY", "US-NY"),
                                                  ("Australia", "New South Wales", "AU-NSW"),
                                                  ("U.S.A.", "N.Y.", "US-NY"), ("US", "Washington, D.C.", "US-DC"),
                                                  ("Canada", "Newfoundland", "CA-NL"),
                                                  # abbreviations of newspapers and old address books
                                                  ("US", "Calif.", "US-CA"), ("USA", "Mass.", "US-MA"),
                                                  ("US", "W. Va.", "US-WV"), ("US", "Tex.", "US-TX"),
                                                  ("Canada", "Ont.", "CA-ON"), ("Canada", "NF", "CA-NL"),
                                                  ("Canada", "Que.", "CA-QC"), ("Mexico", "CDMX", "MX-CMX"),
                                                  ("MX", "D.F.", "MX-CMX")])
def test_subdivision_uses_the_records_country(tmp_path, country, state, code):
    toml = ('country = { field = "Country", transforms = ["country"] }\n'
            'state = { field = "State", transforms = [{ subdivision = "country" }] }\n')
    ms = lead_with(tmp_path, toml)
    lead = ms.lead_converter()({"Id": LEAD_ID, "Country": country, "State": state})
    assert lead.state == code


def test_state_that_is_not_in_the_country_is_dropped_with_a_reason(tmp_path):
    heard = []
    ms = lead_with(tmp_path, 'country = { field = "Country", transforms = ["country"] }\n'
                             'state = { field = "State", transforms = ["subdivision"] }\n')
    lead = ms.lead_converter(lambda rid, msg: heard.append(msg))({"Id": LEAD_ID, "Country": "France", "State": "Texas"})
    assert lead.state is None and lead.country == "FR"
    assert heard == ['State: unknown state or province "Texas" in FR']


def test_coverage_items_are_normalised_and_bad_ones_reported(tmp_path):
    heard = []
    result = convert_extra(tmp_path, 'x = { field = "Cov__c", type = "list", transforms = ["coverage"] }',
                           {"Cov__c": " us ; US-ca;us:941 ; @Benelux; Narnia;DE; de ; Germany:10"},
                           warn=lambda rid, msg: heard.append(msg))
    assert result.extra["x"] == ("US", "US-CA", "US:941", "@Benelux", "DE", "DE:10")
    assert heard == ['Cov__c: coverage items not understood: "Narnia"']


@pytest.mark.parametrize("raw, number", [("1,234.50", 1234.5), ("$ 90 000", 90000.0), ("€12", 12.0), ("-3.5", -3.5)])
def test_number_parses_text_with_thousands_and_currency(tmp_path, raw, number):
    assert extra_value(tmp_path, 'x = { field = "N__c", type = "float", transforms = ["number"] }', {"N__c": raw}) == number


def test_split_on_a_chosen_separator_then_trim_each_item(tmp_path):
    toml = 'x = { field = "L__c", type = "set", transforms = [{ split = "," }, "trim", "lower"] }'
    assert extra_value(tmp_path, toml, {"L__c": "AWS , gcp,,Azure"}) == frozenset({"aws", "gcp", "azure"})


def test_set_splits_multi_select_on_semicolons_by_default(tmp_path):
    assert extra_value(tmp_path, 'x = { field = "M__c", type = "set" }', {"M__c": "Analytics;Data Platform"}) == \
        frozenset({"Analytics", "Data Platform"})


def test_value_map_ignores_case_and_falls_back_to_its_default(tmp_path):
    toml = 'x = { field = "Rating", map = { hot = "A", Warm = "B" }, map_default = "C" }'
    assert extra_value(tmp_path, toml, {"Rating": "HOT"}) == "A"
    assert extra_value(tmp_path, toml, {"Rating": " warm "}) == "B"
    assert extra_value(tmp_path, toml, {"Rating": "Cold"}) == "C"


def test_value_map_without_default_passes_other_values_through(tmp_path):
    assert extra_value(tmp_path, 'x = { field = "Rating", map = { Hot = "A" } }', {"Rating": "Cold"}) == "Cold"


def test_value_map_as_a_transform_applies_to_each_item_of_a_set(tmp_path):
    toml = 'x = { field = "P__c", type = "set", transforms = [{ map = { "Cloud Migration" = "cloud" }, default = "other" }] }'
    assert extra_value(tmp_path, toml, {"P__c": "Cloud Migration;Analytics"}) == frozenset({"cloud", "other"})


def test_value_map_turns_a_checkbox_into_a_picklist_value(tmp_path):
    toml = 'x = { field = "Accepted__c", map = { true = "Accepted", false = "Rejected" } }'
    assert extra_value(tmp_path, toml, {"Accepted__c": True}) == "Accepted"
    assert extra_value(tmp_path, toml, {"Accepted__c": False}) == "Rejected"


def test_date_and_datetime_in_a_custom_format(tmp_path):
    assert extra_value(tmp_path, 'x = { field = "D__c", type = "date", transforms = [{ date = "%d/%m/%Y" }] }',
                       {"D__c": "31/12/2024"}) == date(2024, 12, 31)
    got = extra_value(tmp_path, 'x = { field = "T__c", type = "datetime", transforms = [{ datetime = "%d.%m.%Y %H:%M" }] }',
                      {"T__c": "01.05.2024 10:30"})
    assert got == datetime(2024, 5, 1, 10, 30, tzinfo=timezone.utc)


def test_date_not_in_the_custom_format_makes_the_lead_unroutable(tmp_path):
    result = convert_extra(tmp_path, 'x = { field = "D__c", type = "date", transforms = [{ date = "%d/%m/%Y" }] }',
                           {"D__c": "2024-12-31"})
    assert isinstance(result, Unroutable)
    assert result.reason == 'D__c: expected a date in the form %d/%m/%Y, got "2024-12-31"'


def test_first_non_empty_of_several_fields(tmp_path):
    toml = 'x = ["MobilePhone", "Phone", "Other_Phone__c"]'
    assert extra_value(tmp_path, toml, {"MobilePhone": "  ", "Phone": None, "Other_Phone__c": "+49 30 1"}) == "+49 30 1"
    assert extra_value(tmp_path, toml, {"MobilePhone": "+1 555", "Phone": "+1 666"}) == "+1 555"


def test_constant_fills_every_record_alike(tmp_path):
    assert extra_value(tmp_path, 'x = { constant = "EMEA" }', {}) == "EMEA"
    assert extra_value(tmp_path, 'x = { constant = 3, type = "int" }', {}) == 3


def test_checkboxes_become_a_set_of_products(tmp_path):
    toml = 'x = { type = "set", flags = { "Cloud Migration" = "Wants_Cloud__c", Analytics = "Wants_BI__c", Networking = "Wants_Net__c" } }'
    record = {"Wants_Cloud__c": True, "Wants_BI__c": False, "Wants_Net__c": True}
    assert extra_value(tmp_path, toml, record) == frozenset({"Cloud Migration", "Networking"})
    assert extra_value(tmp_path, toml, {}) == frozenset()


def test_relationship_paths_read_nested_records(tmp_path):
    toml = 'x = { field = "Owner.Profile.Name" }'
    assert extra_value(tmp_path, toml, {"Owner": {"Profile": {"Name": "Partner User"}}}) == "Partner User"
    assert extra_value(tmp_path, toml, {"Owner": None}) is None


def test_default_fills_an_empty_value_and_required_rejects_it(tmp_path):
    assert extra_value(tmp_path, 'x = { field = "S__c", default = "SMB" }', {"S__c": ""}) == "SMB"
    result = convert_extra(tmp_path, 'x = { field = "S__c", required = true }', {"S__c": None})
    assert isinstance(result, Unroutable) and result.reason == "S__c: required, but empty"

"""The small pieces: id checksums, countries, did-you-mean, TOML line numbers."""
from __future__ import annotations

import pytest

from mappings.filters import filter_fields
from mappings.geo import country_code, subdivision_code
from mappings.sfid import to18
from rules.errors import nearest as suggest
from rules.tomllines import TomlLines as LineIndex


@pytest.mark.parametrize("id15, id18", [("001000000000001", "001000000000001AAA"),
                                        ("00Q5g0000000001", "00Q5g0000000001EAA"),
                                        ("0055g0000000ABC", "0055g0000000ABCAA2"),
                                        ("ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO555")])
def test_fifteen_char_ids_get_their_case_checksum(id15, id18):
    assert to18(id15) == id18
    assert to18(id18) == id18


@pytest.mark.parametrize("bad", ["", "00Q5g00000000", "00Q5g0000000001EAB", "00Q5g0000000001-AA", "00Q 5g000000001"])
def test_anything_else_is_not_an_id(bad):
    assert to18(bad) is None


def test_country_lookups_cover_what_web_forms_collect():
    spellings = {"US": ["United States", "USA", "U.S.", "United States of America", "us"],
                 "GB": ["United Kingdom", "UK", "Great Britain", "England"], "DE": ["Germany", "Deutschland"],
                 "NL": ["Netherlands", "Nederland", "The Netherlands", "Holland"], "BE": ["Belgium", "België", "Belgique"],
                 "ES": ["Spain", "España", "Espana"], "IT": ["Italia"], "SE": ["Sverige"], "JP": ["Japan", "日本"],
                 "BR": ["Brasil"], "IN": ["India", "Bharat"], "MX": ["México"], "CH": ["Schweiz", "Suisse"],
                 "AT": ["Österreich"]}
    for code, names in spellings.items():
        assert {n: country_code(n) for n in names} == {n: code for n in names}
    assert country_code("Atlantis") is None


def test_subdivision_needs_the_country_for_ambiguous_abbreviations():
    assert subdivision_code("WA", "US") == "US-WA"
    assert subdivision_code("WA", "AU") == "AU-WA"
    assert subdivision_code("WA", None) is None
    assert subdivision_code("US-WA", "AU") is None


def test_suggest_finds_typos_case_and_underscores():
    fields = ["Partner_Tier__c", "Partner_Role__c", "Name", "IsPartner"]
    assert suggest("Partner_Teir__c", fields) == "Partner_Tier__c"
    assert suggest("ispartner", fields) == "IsPartner"
    assert suggest("partner tier", fields) == "Partner_Tier__c"
    assert suggest("Zebra", fields) is None


def test_line_numbers_for_tables_keys_and_inline_tables():
    index = LineIndex('# c\n[lead]\nsobject = "Lead"\n\n[lead.fields]\nid = "Id"\nemail = { field = "Email",'
                      ' transforms = ["trim"] }\nlist = [\n  "a",\n  { x = 1 },\n]\n"quoted key" = 2\n')
    assert index.line(("lead",)) == 2
    assert index.line(("lead", "sobject")) == 3
    assert index.line(("lead", "fields", "email", "transforms", 0)) == 7
    assert index.line(("lead", "fields", "list", 1, "x")) == 8
    assert index.line(("lead", "fields", "quoted key")) == 12
    assert index.line(("lead", "fields", "nothing")) == 5
    assert index.line(("LEAD", "Sobject")) == 3


def test_filter_fields_skip_keywords_literals_and_functions():
    text = "Owner.IsActive = true AND CALENDAR_YEAR(CreatedDate) = 2024 AND Name LIKE 'A%' AND x__c IN ('a', 'b') " \
           "AND CreatedDate = LAST_N_DAYS:30 AND Products__c INCLUDES ('a;b') AND Amount != null"
    assert filter_fields(text) == ["Owner.IsActive", "CreatedDate", "Name", "x__c", "Products__c", "Amount"]


def test_subdivision_names_with_local_variants_in_brackets():
    # pycountry writes 'Wales [Cymru GB-CYM]', 'Stockholms län [SE-01]', 'Catalunya [Cataluña]'
    assert subdivision_code("Wales", "GB") == subdivision_code("Cymru", "GB") == "GB-WLS"
    assert subdivision_code("Stockholms län", "SE") == "SE-AB"
    assert subdivision_code("Catalunya", "ES") == subdivision_code("Cataluña", "ES") == "ES-CT"

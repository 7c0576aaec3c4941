"""Coverage grammar, distances, the proximity grid and the partner indexes."""
from __future__ import annotations

import random

import pytest

from rules import PartnerIndex, load_rules
from rules.geo import CoverageError, Grid, haversine_km, parse_coverage, parse_item

from tests.rules.conftest import partner


def test_coverage_items_are_normalised_and_bad_ones_set_aside():
    good, bad = parse_coverage(["us; us-ca ;US:941", "@Benelux", "California", ""])
    assert good == ("US", "US-CA", "US:941", "@Benelux")
    assert bad == ["California"]


def test_bad_coverage_item_says_what_is_allowed():
    with pytest.raises(CoverageError) as err:
        parse_item("U.S.")
    assert "US-CA" in err.value.fix


def test_haversine_matches_a_known_distance():
    assert haversine_km(52.52, 13.405, 48.137, 11.575) == pytest.approx(504, abs=3)  # Berlin–Munich


@pytest.mark.parametrize("seed", range(30))
def test_grid_yields_exactly_the_points_in_range_nearest_first(seed):
    rng = random.Random(seed)
    grid = Grid() if seed % 2 else Grid(0.5, group=4)
    clat, clon = rng.uniform(-60, 60), rng.choice([rng.uniform(-180, 180), 179.5, -179.8])
    points = [(clat + rng.gauss(0, 1.5), ((clon + rng.gauss(0, 1.5) + 180) % 360) - 180) for _ in range(400)]
    for i, (a, b) in enumerate(points):
        grid.add(i, a, b)
    qlat, qlon = clat + rng.gauss(0, 0.5), clon
    km = rng.choice([5, 50, 150, 400])
    brute = sorted((haversine_km(qlat, qlon, a, b), i) for i, (a, b) in enumerate(points)
                   if haversine_km(qlat, qlon, a, b) <= km)
    assert list(grid.nearest(qlat, qlon, km)) == brute


@pytest.mark.parametrize("seed", range(40))
def test_near_the_poles_and_across_half_the_globe_each_partner_is_yielded_once(seed):
    """A search wider than half the globe walks rings that meet themselves across the
    antimeridian; near a pole a few hundred km is such a search. Every point in range,
    once, nearest first."""
    rng = random.Random(seed)
    grid = Grid() if seed % 2 else Grid(0.5, group=4)
    polar = lambda: rng.choice([rng.uniform(-90, 90), rng.uniform(84, 90), rng.uniform(-90, -84)])  # noqa: E731
    points = [(polar(), rng.uniform(-180, 180)) for _ in range(rng.randint(1, 30))]
    for i, (a, b) in enumerate(points):
        grid.add(i, a, b)
    for _ in range(10):
        qlat, qlon = polar(), rng.uniform(-180, 180)
        km = rng.choice([rng.uniform(50, 800), rng.uniform(5000, 20100)])
        brute = sorted((haversine_km(qlat, qlon, a, b), i) for i, (a, b) in enumerate(points)
                       if haversine_km(qlat, qlon, a, b) <= km)
        assert list(grid.nearest(qlat, qlon, km)) == brute


@pytest.mark.parametrize("seed", range(20))
def test_a_sparse_grid_yields_the_same_as_measuring_every_point(seed):
    """Partners spread thinly over the world: most rings around a lead are empty, and
    the search opens only those holding a cell (rings worked out once per coarse cell)."""
    rng = random.Random(seed)
    grid = Grid()
    points = [(rng.uniform(-75, 75), rng.uniform(-180, 180)) for _ in range(rng.choice([20, 200, 1000]))]
    for i, (a, b) in enumerate(points):
        grid.add(i, a, b)
    for _ in range(10):  # several queries per grid: later ones reuse the rings of earlier ones
        qlat, qlon = rng.uniform(-70, 70), rng.choice([rng.uniform(-180, 180), 179.9, -179.9])
        km = rng.choice([50, 150, 400])
        brute = sorted((haversine_km(qlat, qlon, a, b), i) for i, (a, b) in enumerate(points)
                       if haversine_km(qlat, qlon, a, b) <= km)
        assert list(grid.nearest(qlat, qlon, km)) == brute
        assert list(grid.nearest(qlat, qlon, km)) == brute
    grid.add(len(points), qlat, qlon)  # a partner added later is found: the kept rings are dropped
    assert (0.0, len(points)) in grid.nearest(qlat, qlon, 50)


def test_index_reports_partners_with_unusable_coverage():
    book = load_rules()
    idx = PartnerIndex.build([partner("001A", coverage=("US", "Bavaria", "@Nowhere"))], book)
    messages = [str(p) for p in idx.problems]
    assert any("Bavaria" in m for m in messages) and any("@Nowhere" in m for m in messages)
    assert idx.coverage_mask("US", None, None)[0] == 1


def test_territory_in_coverage_expands_to_its_countries():
    book = load_rules()
    idx = PartnerIndex.build([partner("001A", coverage=("@DACH",))], book)
    assert idx.coverage_mask("AT", None, None)[0] == 1
    assert idx.coverage_mask("FR", None, None)[0] == 0


def test_partner_condition_is_evaluated_once_at_build_not_per_lead():
    book = load_rules()
    idx = PartnerIndex.build([partner("001A", tier="Platinum", enterprise_team=True),
                              partner("001B", tier="Platinum")], book)
    assert idx.rule_mask["Enterprise to top tier with enterprise team"] == 0b01


def test_tier_and_role_given_as_enums_index_like_their_text():
    from rules.model import Role, Tier
    book = load_rules()
    idx = PartnerIndex.build([partner("001A", tier=Tier.PLATINUM, role=Role.DISTRIBUTOR, enterprise_team=True)], book)
    assert idx.tier == {"Platinum": 1} and idx.role == {"Distributor": 1}
    assert idx.rule_mask["Enterprise to top tier with enterprise team"] == 1


@pytest.mark.parametrize("country, state", [("PR", None), ("US", "US-PR"), ("PR", "US-PR")])
def test_puerto_rico_is_one_place_whether_the_lead_spells_it_a_country_or_a_us_state(country, state):
    """ISO 3166 and Salesforce's picklists name Puerto Rico both ways (country PR, and the US
    state US-PR): a partner covering it either way gets its leads, more specifically than a
    partner covering the US, and its ZIP codes are US ZIP codes."""
    book = load_rules()
    idx = PartnerIndex.build([partner("001A", coverage=("US-PR",)), partner("001B", coverage=("PR",)),
                              partner("001C", coverage=("US",)), partner("001D", coverage=("US:009",)),
                              partner("001E", coverage=("MX",))], book)
    mask, hit = idx.coverage_mask(country, state, "00907")
    assert [(mask >> i) & 1 for i in range(5)] == [1, 1, 1, 1, 0]
    assert hit["US-PR"] == hit["PR"] == 2 and hit["US"] == 1 and hit["US:009"] > 2


def test_a_us_state_lead_does_not_reach_a_partner_covering_a_territory():
    book = load_rules()
    idx = PartnerIndex.build([partner("001A", coverage=("PR", "GU"))], book)
    assert idx.coverage_mask("US", "US-CA", "94105")[0] == 0
    assert idx.coverage_mask("GU", None, None)[0] == 1

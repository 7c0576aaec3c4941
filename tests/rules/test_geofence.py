"""Territories drawn as polygons: in the rule file or a GeoJSON file, usable as @Name in
coverage and in rules, checked at load with the file, key and fix."""
from __future__ import annotations

import json
import random

import pytest
import shapely

from rules import PartnerIndex, Router, RoutingState, RulesError, load_rules
from rules.geofence import Fences
from rules.model import DecisionKind

from tests.rules.conftest import NOW, QUEUES, lead, partner

BAY_AREA = "[[-122.6, 37.2], [-121.7, 37.2], [-121.7, 38.0], [-122.6, 38.0]]"
SAN_FRANCISCO = dict(lat=37.77, lon=-122.42)
LOS_ANGELES = dict(lat=34.05, lon=-118.24)

RULES = """
[settings]
business_hours = false
deal_registration = false

[territories]
Bay_Area = {{ polygon = {bay} }}
{extra}

[[ruleset]]
name = "All"
otherwise = "unroutable"

  [[ruleset.rule]]
  name = "Covers the lead"
  match = {{ geography = true }}
"""


def _router(text, partners):
    book = load_rules(text=text)
    return Router(book, PartnerIndex.build(partners, book), queue_ids=QUEUES)


def test_a_partner_covering_a_drawn_area_gets_the_leads_inside_it_and_only_those():
    router = _router(RULES.format(bay=BAY_AREA, extra=""),
                     [partner("001BAY", coverage=("@Bay_Area",)), partner("001CAL", coverage=("US-NY",))])
    inside = router.decide(lead("00Q1", **SAN_FRANCISCO), RoutingState(), NOW)
    assert inside.kind is DecisionKind.OFFER and inside.partner_id == "001BAY"
    outside = router.decide(lead("00Q2", **LOS_ANGELES), RoutingState(), NOW)
    assert outside.kind is DecisionKind.UNROUTABLE
    no_point = router.decide(lead("00Q3"), RoutingState(), NOW)  # no coordinates: no shape holds it
    assert no_point.kind is DecisionKind.UNROUTABLE


def test_a_rule_limited_to_a_drawn_territory_applies_inside_it_only():
    text = RULES.format(bay=BAY_AREA, extra="").replace(
        "match = { geography = true }", 'match = { territories = ["@Bay_Area"] }')
    router = _router(text, [partner("001ANY", coverage=("US",))])
    assert router.decide(lead("00Q1", **SAN_FRANCISCO), RoutingState(), NOW).kind is DecisionKind.OFFER
    d = router.decide(lead("00Q2", **LOS_ANGELES), RoutingState(), NOW)
    assert d.kind is DecisionKind.UNROUTABLE and "Bay_Area" in d.reason


def test_a_point_on_the_edge_is_inside():
    router = _router(RULES.format(bay=BAY_AREA, extra=""), [partner("001BAY", coverage=("@Bay_Area",))])
    assert router.decide(lead("00Q1", lat=37.5, lon=-121.7), RoutingState(), NOW).partner_id == "001BAY"


def test_shapes_from_a_geojson_file_next_to_the_rule_file(tmp_path):
    (tmp_path / "fences").mkdir()
    la = {"type": "Feature", "properties": {"name": "LA"},
          "geometry": {"type": "Polygon", "coordinates": [[[-118.7, 33.7], [-117.6, 33.7], [-117.6, 34.4],
                                                           [-118.7, 34.4], [-118.7, 33.7]]]}}
    sd = {"type": "Feature", "properties": {"name": "SD"},
          "geometry": {"type": "Polygon", "coordinates": [[[-117.4, 32.5], [-116.8, 32.5], [-116.8, 33.1],
                                                           [-117.4, 33.1], [-117.4, 32.5]]]}}
    (tmp_path / "fences" / "socal.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [la, sd]}))
    path = tmp_path / "rules.toml"
    path.write_text(RULES.format(bay=BAY_AREA, extra='SoCal = { geojson_file = "fences/socal.geojson" }'))
    book = load_rules(path)
    router = Router(book, PartnerIndex.build([partner("001SOC", coverage=("@SoCal",))], book), queue_ids=QUEUES)
    assert router.decide(lead("00Q1", **LOS_ANGELES), RoutingState(), NOW).partner_id == "001SOC"
    assert router.decide(lead("00Q2", lat=32.72, lon=-117.16), RoutingState(), NOW).partner_id == "001SOC"
    assert router.decide(lead("00Q3", **SAN_FRANCISCO), RoutingState(), NOW).kind is DecisionKind.UNROUTABLE


@pytest.mark.parametrize("shape, message, fix", [
    ("{ polygon = [[0, 0], [2, 2], [2, 0], [0, 2]] }", "invalid polygon: Self-intersection", "must not cross itself"),
    ("{ polygon = [[37.2, -122.6], [37.2, -121.7], [38.0, -121.7]] }", "outside longitude", "swapped"),
    ("{ polygon = [[0, 0], [1, 1]] }", "at least 3 distinct points", "corners"),
    ("{ polygon = [[0, 0], [1, 1], [2, 2]] }", "no area", "three corners"),
    ('{ geojson_file = "nowhere.geojson" }', "cannot read", "relative to the rule file"),
    ('{ geojson = { type = "Point", coordinates = [0, 0] } }', "must be an area", "closed ring"),
    ("{ polygon = [[0, 0], [1, 1], [2, 0]], radius = 5 }", "unknown key 'radius'", "longitude, latitude"),
    # Fiji drawn across the 180th meridian: read as the rest of the globe, not the islands
    ("{ polygon = [[177, -16], [-179, -16], [-179, -19], [177, -19]] }", "crosses the 180th meridian", "MultiPolygon"),
    ('{ geojson = { type = "Polygon", coordinates = [[[177, -16], [-179, -16], [-179, -19], [177, -19], [177, -16]]] } }',
     "crosses the 180th meridian", "MultiPolygon"),
])
def test_a_bad_shape_is_named_with_file_key_and_fix(shape, message, fix, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES.format(bay=BAY_AREA, extra=f"Broken = {shape}"))
    with pytest.raises(RulesError) as err:
        load_rules(path)
    (problem,) = [p for p in err.value.problems if p.key == "territories.Broken"]
    assert message in problem.message and fix in (problem.fix or "")
    assert problem.file == str(path) and problem.line is not None


def test_the_index_finds_the_same_shapes_as_testing_every_one():
    rng = random.Random(5)
    shapes = {}
    for i in range(400):
        x, y = rng.uniform(-170, 160), rng.uniform(-80, 70)
        w, h = rng.uniform(0.5, 8), rng.uniform(0.5, 8)
        shapes[f"T{i:03d}"] = shapely.box(x, y, x + w, y + h)
    fences = Fences(shapes)
    for _ in range(300):
        lat, lon = rng.uniform(-80, 78), rng.uniform(-170, 168)
        brute = tuple(sorted(n for n, g in shapes.items() if g.intersects(shapely.Point(lon, lat))))
        assert fences.containing(lat, lon) == brute


def test_an_area_across_the_180th_meridian_drawn_as_two_parts_holds_the_islands_on_both_sides(tmp_path):
    fiji = ('{ geojson = { type = "MultiPolygon", coordinates = ['
            '[[[177, -16], [180, -16], [180, -19], [177, -19], [177, -16]]], '
            '[[[-180, -16], [-179, -16], [-179, -19], [-180, -19], [-180, -16]]]] } }')
    world = "{ polygon = [[-180, -90], [180, -90], [180, 90], [-180, 90]] }"
    path = tmp_path / "rules.toml"
    path.write_text(RULES.format(bay=BAY_AREA, extra=f"Fiji = {fiji}\nWorld = {world}"))
    book = load_rules(path)
    router = Router(book, PartnerIndex.build([partner("001FJI", coverage=("@Fiji",))], book), queue_ids=QUEUES)
    assert router.decide(lead("00Q1", lat=-18.1, lon=178.4), RoutingState(), NOW).partner_id == "001FJI"  # Suva
    assert router.decide(lead("00Q2", lat=-16.8, lon=-179.9), RoutingState(), NOW).partner_id == "001FJI"  # Taveuni's east
    assert router.decide(lead("00Q3", **SAN_FRANCISCO), RoutingState(), NOW).kind is DecisionKind.UNROUTABLE

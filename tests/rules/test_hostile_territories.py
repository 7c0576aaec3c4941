"""Drawn territories with coordinates no map has (nan, inf) or no points at all: a load
error naming the territory and the fix, never a GEOS exception out of load_rules."""
from __future__ import annotations

import json

import pytest

from rules import load_rules
from rules.errors import RulesError

RULES = '''
[settings]
escalation_queue = "Channel_Escalations"

[territories]
{territory}

[[ruleset]]
name = "All"

  [[ruleset.rule]]
  name = "Everyone"
  match = {{ territories = ["@Bay"] }}
'''


def refused(territory: str, tmp_path) -> str:
    (tmp_path / "rules.toml").write_text(RULES.format(territory=territory), encoding="utf-8")
    with pytest.raises(RulesError) as err:
        load_rules(tmp_path / "rules.toml")
    [problem] = [p for p in err.value.problems if p.key == "territories.Bay"]
    assert problem.line and problem.fix, problem
    return problem.message


@pytest.mark.parametrize("corner", ["nan", "inf", "-inf"])
def test_a_polygon_corner_that_is_not_a_number_is_named(corner, tmp_path):
    said = refused(f"Bay = {{ polygon = [[{corner}, 37.2], [-121.7, 37.2], [-121.7, 38.0], [{corner}, 37.2]] }}",
                   tmp_path)
    assert corner.lstrip("-") in said


@pytest.mark.parametrize("corner", ["NaN", "Infinity"])
def test_a_geojson_file_with_a_corner_that_is_not_a_number_is_named(corner, tmp_path):
    (tmp_path / "bay.geojson").write_text(
        '{"type": "Polygon", "coordinates": [[[%s, 37.2], [-121.7, 37.2], [-121.7, 38.0], [%s, 37.2]]]}'
        % (corner, corner), encoding="utf-8")
    said = refused('Bay = { geojson_file = "bay.geojson" }', tmp_path)
    assert corner in said


@pytest.mark.parametrize("geometry", [{"type": "MultiPolygon", "coordinates": []},
                                      {"type": "Polygon", "coordinates": []},
                                      {"type": "GeometryCollection", "geometries": []}])
def test_an_empty_shape_says_it_has_no_points(geometry, tmp_path):
    (tmp_path / "bay.geojson").write_text(json.dumps(geometry), encoding="utf-8")
    assert "no points" in refused('Bay = { geojson_file = "bay.geojson" }', tmp_path)

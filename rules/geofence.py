"""Territories drawn as shapes: polygons in the rule file or a GeoJSON file it names.

    [territories]
    Benelux = ["BE", "NL", "LU"]                                    # places, as before
    Bay_Area = { polygon = [[-122.6, 37.2], [-121.7, 37.2], [-121.7, 38.0], [-122.6, 38.0]] }
    Metro_NY = { geojson_file = "fences/metro_ny.geojson" }           # relative to the rule file
    Downtown = { geojson = { type = "Polygon", coordinates = [[[…]]] } }

Points are [longitude, latitude], as GeoJSON writes them. A shape territory is used like
any other: `@Bay_Area` in a partner's coverage or in a rule's `match.territories`; a
lead is in it when its coordinates (Latitude/Longitude) fall inside or on the edge.
Shapes are indexed in a shapely STRtree, so a lead is tested against the few shapes
whose bounding boxes hold its point, however many territories there are.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import shapely
from shapely.geometry import GeometryCollection, Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree
from shapely.validation import explain_validity

KEYS = ("polygon", "geojson", "geojson_file")


class FenceError(ValueError):
    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.fix = fix


def parse_fence(spec: Mapping[str, Any], base_dir: Path) -> BaseGeometry:
    """One territory's shape from its table in the rule file; FenceError says what and how to fix."""
    given = [k for k in KEYS if k in spec]
    unknown = [k for k in spec if k not in KEYS]
    if unknown or len(given) != 1:
        raise FenceError(f"a shape territory takes exactly one of {', '.join(KEYS)}"
                         + (f"; unknown key {unknown[0]!r}" if unknown else ""),
                         'e.g. { polygon = [[-122.6, 37.2], [-121.7, 37.2], [-121.7, 38.0]] } ([longitude, latitude] points)')
    key = given[0]
    if key == "polygon":
        geometry = _polygon(spec["polygon"])
    elif key == "geojson":
        geometry = _geojson(spec["geojson"], "geojson")
    else:
        path = Path(str(spec["geojson_file"]))
        path = path if path.is_absolute() else base_dir / path
        try:
            data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_not_a_coordinate)
        except OSError as exc:
            raise FenceError(f"cannot read {path}: {exc.strerror}", "check the path; it is relative to the rule file")
        except json.JSONDecodeError as exc:
            raise FenceError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}",
                             "export the shape as GeoJSON (a Polygon, MultiPolygon, Feature or FeatureCollection)")
        geometry = _geojson(data, str(path))
    _check(geometry)
    return geometry


def _polygon(points: Any) -> BaseGeometry:
    if not isinstance(points, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p)
            for p in points):
        raise FenceError(f"polygon must be a list of [longitude, latitude] points, got {str(points)[:80]}",
                         "e.g. [[-122.6, 37.2], [-121.7, 37.2], [-121.7, 38.0]]")
    for p in points:
        if not all(math.isfinite(x) for x in p):  # GEOS fails on these with an exception of its own
            raise FenceError(f"polygon point {p} is not a place: a coordinate is {_not_finite(p)}",
                             "points are [longitude, latitude] numbers, e.g. [-122.6, 37.2]")
    distinct = {tuple(p) for p in points}
    if len(distinct) < 3:
        raise FenceError(f"a polygon needs at least 3 distinct points, got {len(distinct)}",
                         "list the corners in order around the area")
    return shapely.Polygon([tuple(map(float, p)) for p in points])


def _geojson(data: Any, where: str) -> BaseGeometry:
    if not isinstance(data, dict) or "type" not in data:
        raise FenceError(f"{where}: not a GeoJSON object (no \"type\")", "use a Polygon, MultiPolygon, Feature or FeatureCollection")
    kind = data["type"]
    try:
        if kind == "FeatureCollection":
            parts = [shape(f["geometry"]) for f in data.get("features", []) if f.get("geometry")]
            if not parts:
                raise FenceError(f"{where}: the FeatureCollection has no geometries", "add at least one Polygon feature")
            geometry = shapely.union_all(parts) if all(p.is_valid for p in parts) else shapely.GeometryCollection(parts)
        elif kind == "Feature":
            geometry = shape(data.get("geometry") or {})
        else:
            geometry = shape(data)
    except FenceError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
        raise FenceError(f"{where}: unreadable GeoJSON {kind}: {exc}",
                         "coordinates of a Polygon are [[[lon, lat], …]] — a list of rings, each a list of points")
    return geometry


def _not_finite(point: list[float]) -> str:
    return next(str(x) for x in point if not math.isfinite(x))


def _not_a_coordinate(constant: str) -> Any:
    """json reads NaN and Infinity, which are not JSON and no place on a map."""
    raise FenceError(f"the GeoJSON holds {constant}, which is not a coordinate",
                     "points are [longitude, latitude] numbers; re-export the shape from the tool that drew it")


def _check(geometry: BaseGeometry) -> None:
    if geometry.is_empty:
        raise FenceError(f"the {geometry.geom_type} has no points", "draw the area's outline as a closed ring of "
                                                                    "[longitude, latitude] points")
    if geometry.geom_type not in ("Polygon", "MultiPolygon") and not (
            isinstance(geometry, GeometryCollection) and all(g.geom_type in ("Polygon", "MultiPolygon")
                                                             for g in geometry.geoms)):
        raise FenceError(f"a territory must be an area (Polygon or MultiPolygon), got a {geometry.geom_type}",
                         "draw the area's outline as a closed ring of [longitude, latitude] points")
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise FenceError(f"points outside longitude -180…180 / latitude -90…90 (bounds {geometry.bounds})",
                         "points are [longitude, latitude]; check for swapped pairs")
    if jump := _across_the_antimeridian(geometry):
        raise FenceError(f"the outline crosses the 180th meridian (from longitude {jump[0]:g} to {jump[1]:g}): it would "
                         "be read as the area the long way round the globe, not the one drawn",
                         "split the area at 180° into a MultiPolygon, one part up to 180 and one from -180 "
                         "(RFC 7946, 3.1.9)")
    if geometry.convex_hull.area == 0:
        raise FenceError("the polygon has no area (its points lie on one line)", "list at least three corners around the area")
    if not geometry.is_valid:
        raise FenceError(f"invalid polygon: {explain_validity(geometry)}",
                         "the outline must not cross itself: list the corners in order around the area")


def _across_the_antimeridian(geometry: BaseGeometry) -> tuple[float, float] | None:
    """Two points in a row more than half the globe apart in longitude: an outline drawn
    across the 180th meridian, which a plane reads as the rest of the globe. An edge along
    the meridian itself (both ends at ±180, a world's or a split part's) is no crossing."""
    for polygon in _polygons(geometry):
        for ring in [polygon.exterior, *polygon.interiors]:
            points = list(ring.coords)
            for (a, _), (b, _) in zip(points, points[1:]):
                if abs(a - b) > 180 and not (abs(a) == 180 and abs(b) == 180):
                    return a, b
    return None


def _polygons(geometry: BaseGeometry) -> Iterable[Any]:
    if geometry.geom_type == "Polygon":
        yield geometry
    for part in getattr(geometry, "geoms", ()):
        yield from _polygons(part)


class Fences:
    """The rule book's shape territories, indexed: which hold a point, and partner postings."""

    def __init__(self, shapes: Mapping[str, BaseGeometry]):
        self.names = sorted(shapes)
        self.geoms = [shapes[n] for n in self.names]
        self.tree = STRtree(self.geoms) if self.geoms else None
        self._last: tuple[Any, tuple[str, ...]] = (None, ())

    def __bool__(self) -> bool:
        return bool(self.names)

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def containing(self, lat: float | None, lon: float | None) -> tuple[str, ...]:
        """Names of the shapes holding the point (inside or on the edge), sorted."""
        if self.tree is None or lat is None or lon is None:
            return ()
        key = (lat, lon)
        last = self._last  # read once: another thread may memo its own lead meanwhile
        if last[0] == key:  # several rules of one decision ask about the same lead
            return last[1]
        hits = self.tree.query(Point(float(lon), float(lat)), predicate="intersects")
        found = tuple(self.names[i] for i in sorted(hits))
        self._last = (key, found)
        return found

    def holds(self, name: str, lat: float | None, lon: float | None) -> bool:
        return name in self.containing(lat, lon)


def fence_names(items: Iterable[str]) -> list[str]:
    return [i[1:] for i in items if i.startswith("@")]

"""Geography: the coverage grammar, distances, and a grid for "partners within N km".

Coverage items (docs/CONTRACTS.md §2): `US` country, `US-CA` subdivision, `US:941`
postal prefix, `@Benelux` named territory. A lead is keyed the same way, so matching
is a lookup of the lead's keys rather than a test per partner.
"""
from __future__ import annotations

import heapq
import math
import re
from typing import Iterable, Iterator

EARTH_KM = 6371.0088
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_STATE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
_POSTAL = re.compile(r"^([A-Z]{2}):([A-Z0-9]+)$")
_TERRITORY = re.compile(r"^@[A-Za-z0-9_][A-Za-z0-9_ .&-]*$")


class CoverageError(ValueError):
    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.fix = fix


def parse_item(raw: str) -> str:
    """One coverage item, normalised: upper case except territory names, no spaces."""
    item = raw.strip()
    if item.startswith("@"):
        if not _TERRITORY.match(item):
            raise CoverageError(f"bad territory reference {raw!r}", "write @Name, e.g. @Benelux")
        return item
    item = re.sub(r"\s+", "", item).upper()
    if _COUNTRY.match(item) or _STATE.match(item) or _POSTAL.match(item):
        return item
    raise CoverageError(f"bad coverage item {raw!r}",
                        "use a country (US), a subdivision (US-CA), a postal prefix (US:941) or @Territory")


def parse_coverage(items: Iterable[str]) -> tuple[tuple[str, ...], list[str]]:
    """(good items, bad items) — a partner's bad coverage must not stop routing for everyone."""
    good, bad = [], []
    for raw in items:
        for part in raw.split(";"):
            if not part.strip():
                continue
            try:
                good.append(parse_item(part))
            except CoverageError:
                bad.append(part.strip())
    return tuple(good), bad


def postal_key(country: str, prefix: str) -> str:
    return f"{country}:{prefix}"


def lead_keys(country: str | None, state: str | None, postal: str | None,
              prefix_lengths: Iterable[int]) -> Iterator[tuple[str, int]]:
    """Coverage keys a lead falls under, with a specificity (1 country … 3+ postal)."""
    if not country:
        return
    yield country, 1
    if state:
        yield state, 2
    if postal:
        for n in prefix_lengths:
            if n <= len(postal):
                yield postal_key(country, postal[:n]), 2 + n


def in_territory(items: Iterable[str], country: str | None, state: str | None, postal: str | None) -> bool:
    for item in items:
        m = _POSTAL.match(item)
        if m:
            if country == m.group(1) and postal and postal.startswith(m.group(2)):
                return True
        elif item == country or item == state:
            return True
    return False


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


class Grid:
    """Points bucketed in cells of `cell_deg` degrees.

    `nearest` yields points nearest first, lazily: it opens cells ring by ring around
    the query and only measures a cell's points once no closer point can remain
    unopened, so finding the nearest eligible partner costs about the same among
    1,000 or 50,000 partners.
    """

    def __init__(self, cell_deg: float = 0.25):
        self.cell = cell_deg
        self.ncols = int(round(360 / cell_deg))
        self.cells: dict[tuple[int, int], list[tuple[int, float, float]]] = {}

    def add(self, pos: int, lat: float, lon: float) -> None:
        self.cells.setdefault(self._key(lat, lon), []).append((pos, lat, lon))

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return int(math.floor(lat / self.cell)), self._wrap(int(math.floor(lon / self.cell)))

    def _wrap(self, col: int) -> int:
        half = self.ncols // 2
        return (col + half) % self.ncols - half

    def _cell_bound(self, lat: float, lon: float, row: int, col: int) -> float:
        """A lower bound (km) on the distance from (lat, lon) to any point of the cell.
        The east-west gap is measured at the cell's most poleward latitude and shaved 5 %,
        which keeps it below the true distance for the radii rules use (≤ a few hundred km)."""
        lat0, lat1 = row * self.cell, (row + 1) * self.cell
        dlat = lat0 - lat if lat < lat0 else (lat - lat1 if lat > lat1 else 0.0)
        lon0 = col * self.cell
        dlon = abs(((lon - lon0 - self.cell / 2) + 180) % 360 - 180) - self.cell / 2
        dlon = max(dlon, 0.0)
        if dlon > 20:
            dlon = 0.0  # far apart in longitude: fall back to the latitude gap alone
        poleward = min(max(abs(lat0), abs(lat1), abs(lat)), 89.9)
        return 0.95 * math.hypot(111.2 * dlat, 111.32 * math.cos(math.radians(poleward)) * dlon)

    def nearest(self, lat: float, lon: float, km: float) -> Iterator[tuple[float, int]]:
        """(distance km, pos) of points within `km`, nearest first, ties by position."""
        r0, c0 = self._key(lat, lon)
        cos_edge = math.cos(math.radians(min(abs(lat) + km / 111.2 + self.cell, 89.9)))
        ring_km = 0.95 * self.cell * 111.32 * cos_edge  # a ring further out is at least this much further
        max_ring = min(int(km / ring_km) + 2 if ring_km > 0 else self.ncols, self.ncols // 2)
        cells, points = [], []
        ring = 0
        push, pop = heapq.heappush, heapq.heappop
        while True:
            # open rings until the next one cannot hold anything closer than what we have
            while ring <= max_ring:
                best = min(points[0][0] if points else math.inf, cells[0][0] if cells else math.inf)
                if (ring - 1) * ring_km > best:
                    break
                for row, col in _ring(r0, c0, ring):
                    col = self._wrap(col)
                    if (row, col) in self.cells:
                        bound = self._cell_bound(lat, lon, row, col)
                        if bound <= km:
                            push(cells, (bound, row, col))
                ring += 1
            if cells and (not points or cells[0][0] < points[0][0]):
                _, row, col = pop(cells)
                for pos, plat, plon in self.cells[(row, col)]:
                    d = haversine_km(lat, lon, plat, plon)
                    if d <= km:
                        push(points, (d, pos))
            elif points:
                yield pop(points)
            else:
                return

    def within(self, lat: float, lon: float, km: float) -> list[tuple[float, int]]:
        return list(self.nearest(lat, lon, km))


def _ring(r0: int, c0: int, k: int) -> Iterator[tuple[int, int]]:
    if k == 0:
        yield r0, c0
        return
    for c in range(c0 - k, c0 + k + 1):
        yield r0 - k, c
        yield r0 + k, c
    for r in range(r0 - k + 1, r0 + k):
        yield r, c0 - k
        yield r, c0 + k

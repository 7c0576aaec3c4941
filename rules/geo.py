"""Geography: the coverage grammar, distances, and a grid for "partners within N km".

Coverage items (docs/CONTRACTS.md §2): `US` country, `US-CA` subdivision, `US:941`
postal prefix, `@Benelux` named territory. A lead is keyed the same way, so matching
is a lookup of the lead's keys rather than a test per partner.
"""
from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
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


# Postcodes of the British kind: an outward code (area letters, district digits, maybe a
# sub-district letter) then an inward code of a digit and two letters. A prefix that cuts
# the outward code inside its letters or inside its digits names another place: area "B"
# (Birmingham) is not the start of "BS" (Bristol), district "E1" not of "E14".
_OUTWARD_STYLE = frozenset({"GB", "GG", "JE", "IM"})
_OUTWARD = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)(?:[0-9][A-Z]{2})?$")


def postal_cuts(country: str | None, postal: str) -> frozenset[int] | None:
    """Prefix lengths of a lead's postal code that name no place of its own (None: every
    prefix is a place, as in US ZIP codes or Canadian ones)."""
    if country not in _OUTWARD_STYLE:
        return None
    m = _OUTWARD.match(postal)
    if m is None:
        return None
    outward = m.group(1)
    return frozenset(n for n in range(1, len(outward)) if outward[n - 1].isdigit() == outward[n].isdigit())


def postal_under(country: str | None, postal: str, prefix: str) -> bool:
    """Whether a postal-code prefix of coverage or a territory holds the lead's postal code."""
    if not postal.startswith(prefix):
        return False
    cuts = postal_cuts(country, postal)
    return cuts is None or len(prefix) not in cuts


# The United States' inhabited territories are countries in ISO 3166-1 and US subdivisions
# in ISO 3166-2 — and in Salesforce's state picklist, which lists Puerto Rico under United
# States while its country picklist lists it too. One place, two spellings: a lead either way
# reaches coverage written either way, and its ZIP code is a US ZIP code.
US_TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP", "UM"})


def place_keys(country: str, state: str | None) -> tuple[str, tuple[tuple[str, int], ...]]:
    """The country a lead's postal code is read in, and the country and subdivision coverage
    keys it falls under with their specificity (1 country, 2 subdivision)."""
    if country in US_TERRITORIES and (not state or state == f"US-{country}"):
        return "US", (("US", 1), (f"US-{country}", 2), (country, 2))
    if country == "US" and state and state.startswith("US-") and state[3:] in US_TERRITORIES:
        return "US", (("US", 1), (state, 2), (state[3:], 2))
    return country, ((country, 1), (state, 2)) if state else ((country, 1),)


def lead_keys(country: str | None, state: str | None, postal: str | None,
              prefix_lengths: Iterable[int]) -> Iterator[tuple[str, int]]:
    """Coverage keys a lead falls under, with a specificity (1 country … 3+ postal)."""
    if not country:
        return
    country, keys = place_keys(country, state)
    yield from keys
    if postal:
        cuts = postal_cuts(country, postal) or ()
        for n in prefix_lengths:
            if n <= len(postal) and n not in cuts:
                yield postal_key(country, postal[:n]), 2 + n


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


class Grid:
    """Points bucketed in fine cells of `cell_deg` degrees, fine cells grouped in coarse
    cells `group` times wider.

    `nearest` yields points nearest first, lazily: it opens coarse cells ring by ring
    around the query, a coarse cell's non-empty fine cells next, and measures a fine
    cell's points only once no closer point can remain unopened. Finding the nearest
    eligible partner then costs about the same among 1,000 or 50,000 partners, and a
    400 km radius visits a few dozen coarse cells rather than thousands of fine ones.
    """

    def __init__(self, cell_deg: float = 0.25, group: int = 4):
        self.cell = cell_deg
        self.group = group
        self.coarse_cell = cell_deg * group
        self.ncols = int(round(360 / cell_deg))
        self.coarse_cols = self.ncols // group
        # fine cell → (pos, lat, lon, lat in radians, its cosine): the per-point half of the
        # haversine formula, worked out once at build instead of once per query
        self.cells: dict[tuple[int, int], list[tuple[int, float, float, float, float]]] = {}
        self.coarse: dict[tuple[int, int], list[tuple[int, int]]] = {}
        # The non-empty coarse cells around a query's coarse cell, by ring, worked out once per
        # coarse cell (for the most rings asked) and kept: a sparse grid's rings are mostly empty, and walking them
        # cell by cell cost more than the rest of a search. Leads cluster where people live,
        # so a few thousand coarse cells serve a whole run.
        self._rings: dict[tuple[int, int], tuple[int, tuple[tuple[int, tuple[tuple[int, int], ...]], ...]]] = {}
        # occupied coarse columns per row (sorted), and the occupied rows (sorted): one tuple,
        # so a reader on another thread never sees the rows of one build with the other's columns
        self._occupied: tuple[dict[int, list[int]], list[int]] | None = None

    def add(self, pos: int, lat: float, lon: float) -> None:
        key = self._key(lat, lon)
        bucket = self.cells.get(key)
        if bucket is None:
            bucket = self.cells[key] = []
            self.coarse.setdefault((key[0] // self.group, key[1] // self.group), []).append(key)
            self._rings.clear()
            self._occupied = None
        p = math.radians(lat)
        bucket.append((pos, lat, lon, p, math.cos(p)))

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return int(math.floor(lat / self.cell)), self._wrap(int(math.floor(lon / self.cell)))

    def _wrap(self, col: int) -> int:
        half = self.ncols // 2
        return (col + half) % self.ncols - half

    @staticmethod
    def _bound(lat: float, lon: float, row: int, col: int, size: float, km_per_deg_lon: float) -> float:
        """A lower bound (km) on the distance from (lat, lon) to any point of the cell:
        the degree gaps scaled by the shortest a degree gets within the search (east-west
        at the search's most poleward latitude), shaved 5 % for the curvature the flat
        formula ignores at the radii rules use (≤ a few hundred km)."""
        lat0 = row * size
        dlat = lat0 - lat if lat < lat0 else (lat - lat0 - size if lat > lat0 + size else 0.0)
        dlon = abs(((lon - col * size - size / 2) + 180) % 360 - 180) - size / 2
        if dlon <= 0 or dlon > 20:
            dlon = 0.0  # inside the column, or far apart in longitude: the latitude gap alone
        return 0.95 * math.sqrt((111.2 * dlat) ** 2 + (km_per_deg_lon * dlon) ** 2)

    def nearest(self, lat: float, lon: float, km: float) -> Iterator[tuple[float, int]]:
        """(distance km, pos) of points within `km`, nearest first, ties by position."""
        size = self.coarse_cell
        r0 = int(math.floor(lat / size))
        c0 = int(math.floor(lon / size))
        cos_edge = math.cos(math.radians(min(abs(lat) + km / 111.2 + size, 89.9)))
        km_lon = 111.32 * cos_edge
        ring_km = 0.95 * size * km_lon  # a coarse ring further out is at least this much further
        max_ring = min(int(km / ring_km) + 2 if ring_km > 0 else self.coarse_cols, self.coarse_cols // 2)
        half = self.coarse_cols // 2
        cells: list[tuple[float, int, int, int]] = []  # (bound, is_fine, row, col)
        points: list[tuple[float, int]] = []
        ring = 0
        push, pop = heapq.heappush, heapq.heappop
        coarse, fine, bound = self.coarse, self.cells, self._bound
        # haversine_km(lat, lon, plat, plon) inlined, with the point's terms precomputed and the
        # query's worked out once: the same operations in the same order, so the same floats
        p1 = math.radians(lat)
        cos_p1 = math.cos(p1)
        sin, asin, sqrt, radians, diameter = math.sin, math.asin, math.sqrt, math.radians, 2 * EARTH_KM
        cell = self.cell
        half_cell = cell / 2
        half_size = size / 2
        # Only the rings holding a coarse cell are opened: an empty ring pushes nothing, and
        # the test that stops the opening only gets stricter further out, so skipping them
        # changes nothing but the cost. Past half the globe a ring can meet itself across the
        # antimeridian (the same cell twice): there, every ring is walked as it always was.
        rings = self.rings(r0, c0, max_ring) if 2 * max_ring < self.coarse_cols else None
        walked: set[tuple[int, int]] = set()  # coarse cells the ring walk has pushed (rings is None)
        n_rings = 0
        if rings is not None:  # those within max_ring (the cells kept may reach further out)
            n_rings = len(rings)
            while n_rings and rings[n_rings - 1][0] > max_ring:
                n_rings -= 1
        while True:
            # open coarse rings until the next one cannot hold anything closer than what we have
            if ring < n_rings:
                best = points[0][0] if points else math.inf
                if cells and cells[0][0] < best:
                    best = cells[0][0]
                while ring < n_rings:
                    k, ring_cells = rings[ring]  # type: ignore[index]
                    if (k - 1) * ring_km > best:
                        break
                    for row, col in ring_cells:
                        # _bound(lat, lon, row, col, size, km_lon), inlined
                        lat0 = row * size
                        dlat = lat0 - lat if lat < lat0 else (lat - lat0 - size if lat > lat0 + size else 0.0)
                        dlon = abs(((lon - col * size - half_size) + 180) % 360 - 180) - half_size
                        if dlon <= 0 or dlon > 20:
                            dlon = 0.0
                        b = 0.95 * sqrt((111.2 * dlat) ** 2 + (km_lon * dlon) ** 2)
                        if b <= km:
                            push(cells, (b, 0, row, col))
                            if b < best:  # nothing is popped while rings open: the best only falls
                                best = b
                    ring += 1
            while rings is None and ring <= max_ring:
                best = min(points[0][0] if points else math.inf, cells[0][0] if cells else math.inf)
                if (ring - 1) * ring_km > best:
                    break
                for row, col in _ring(r0, c0, ring):
                    col = (col + half) % self.coarse_cols - half
                    # past half the globe a ring meets itself across the antimeridian: a cell
                    # pushed twice would yield its partners twice
                    if (row, col) in coarse and (row, col) not in walked:
                        walked.add((row, col))
                        b = bound(lat, lon, row, col, size, km_lon)
                        if b <= km:
                            push(cells, (b, 0, row, col))
                ring += 1
            if cells and (not points or cells[0][0] < points[0][0]):
                _, is_fine, row, col = pop(cells)
                if is_fine:
                    for pos, _, plon, p2, cos_p2 in fine[(row, col)]:
                        a = sin((p2 - p1) / 2) ** 2 + cos_p1 * cos_p2 * sin(radians(plon - lon) / 2) ** 2
                        d = diameter * asin(min(1.0, sqrt(a)))
                        if d <= km:
                            push(points, (d, pos))
                else:
                    for frow, fcol in coarse[(row, col)]:
                        # _bound(lat, lon, frow, fcol, cell, km_lon), inlined: a coarse cell opens
                        # up to 16 fine ones, and the call would cost more than the arithmetic
                        lat0 = frow * cell
                        dlat = lat0 - lat if lat < lat0 else (lat - lat0 - cell if lat > lat0 + cell else 0.0)
                        dlon = abs(((lon - fcol * cell - half_cell) + 180) % 360 - 180) - half_cell
                        if dlon <= 0 or dlon > 20:
                            dlon = 0.0
                        b = 0.95 * sqrt((111.2 * dlat) ** 2 + (km_lon * dlon) ** 2)
                        if b <= km:
                            push(cells, (b, 1, frow, fcol))
            elif points:
                yield pop(points)
            else:
                return

    def within(self, lat: float, lon: float, km: float) -> list[tuple[float, int]]:
        return list(self.nearest(lat, lon, km))

    def rings(self, r0: int, c0: int, max_ring: int) -> tuple[tuple[int, tuple[tuple[int, int], ...]], ...]:
        """The occupied coarse cells within at least `max_ring` rings of (r0, c0) (perhaps
        more: those within fewer rings are the first of them), grouped by ring, nearest ring
        first (within a ring in any order: the search's heap orders them by bound, then
        cell). Only for 2 * max_ring < coarse_cols, where no ring reaches the same column
        twice. Kept per coarse cell, for the widest search asked so far: the narrower
        searches of a widening radius read the first rings of it."""
        key = (r0, c0)
        kept = self._rings.get(key)
        if kept is not None and kept[0] >= max_ring:
            return kept[1]
        occupied = self._occupied
        if occupied is None:
            by_row: dict[int, list[int]] = {}
            for row, col in self.coarse:
                by_row.setdefault(row, []).append(col)
            for cols in by_row.values():
                cols.sort()
            occupied = self._occupied = (by_row, sorted(by_row))
        by_row, rows = occupied
        ncols, half = self.coarse_cols, self.coarse_cols // 2
        grouped: dict[int, list[tuple[int, int]]] = {}
        for row in rows[bisect_left(rows, r0 - max_ring):bisect_right(rows, r0 + max_ring)]:
            dr = abs(row - r0)
            for col in by_row[row]:
                if (col + half) % ncols - half != col:
                    continue  # a column the ring walk's wrapping never names
                # the column's offset from c0 the short way round: the one ring position
                # that wraps to it, as 2 * max_ring < ncols
                dc = abs((col - c0 + half) % ncols - half)
                if dc <= max_ring:
                    grouped.setdefault(dr if dr > dc else dc, []).append((row, col))
        found = tuple((k, tuple(grouped[k])) for k in sorted(grouped))
        if len(self._rings) >= 8192:  # a bound on memory for an org whose leads are everywhere
            self._rings.clear()
        self._rings[key] = (max_ring, found)
        return found


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

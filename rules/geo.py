"""Geography: the coverage grammar, distances, and a grid for "partners within N km".

Coverage items (docs/CONTRACTS.md §2): `US` country, `US-CA` subdivision, `US:941`
postal prefix, `@Benelux` named territory. A lead is keyed the same way, so matching
is a lookup of the lead's keys rather than a test per partner.
"""
from __future__ import annotations

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
    """Points bucketed in cells of `cell_deg` degrees; a radius query visits the cells of
    its bounding box only, then measures true (haversine) distance."""

    def __init__(self, cell_deg: float = 0.5):
        self.cell = cell_deg
        self.cells: dict[tuple[int, int], list[tuple[int, float, float]]] = {}

    def add(self, pos: int, lat: float, lon: float) -> None:
        self.cells.setdefault(self._key(lat, lon), []).append((pos, lat, lon))

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return int(math.floor(lat / self.cell)), int(math.floor(lon / self.cell))

    def within(self, lat: float, lon: float, km: float) -> list[tuple[float, int]]:
        """(distance km, pos) of every point within `km`, nearest first, ties by position."""
        dlat = km / 111.2
        coslat = max(math.cos(math.radians(lat)), 0.01)
        dlon = min(km / (111.32 * coslat), 180.0)
        r0, c0 = self._key(lat - dlat, lon - dlon)
        r1, c1 = self._key(lat + dlat, lon + dlon)
        ncols = int(round(360 / self.cell))
        out = []
        cells = self.cells
        cols = range(c0, c1 + 1) if c1 - c0 < ncols else range(-ncols // 2, ncols // 2 + 1)
        for r in range(r0, r1 + 1):
            for c in cols:
                # longitudes wrap at the antimeridian
                cc = (c + ncols // 2) % ncols - ncols // 2 if ncols else c
                bucket = cells.get((r, cc))
                if bucket:
                    for pos, plat, plon in bucket:
                        d = haversine_km(lat, lon, plat, plon)
                        if d <= km:
                            out.append((d, pos))
        out.sort()
        return out

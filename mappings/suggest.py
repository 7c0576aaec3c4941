"""Did-you-mean: the nearest name among candidates, for every error that names a typo."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


def _fold(name: str) -> str:
    # `Partner_Teir__c` and `partner tier` should both find `Partner_Tier__c`
    return name.lower().replace("_", "").replace(" ", "").removesuffix("c") if name else ""


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate `name` most likely meant, or None when nothing is close."""
    pool = [c for c in candidates if c and c != name]  # never suggest the name itself
    if not name or not pool:
        return None
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return lowered[name.lower()]
    from rules.errors import by_meaning  # lead_source, LeadSource, zip: the name meant, not the nearest spelling

    meant = by_meaning(name, pool)
    if meant is not None and meant != name:
        return meant
    folded: dict[str, str] = {}
    for c in pool:
        folded.setdefault(_fold(c), c)
    hit = difflib.get_close_matches(_fold(name), list(folded), n=1, cutoff=0.72)
    if hit:
        return folded[hit[0]]
    hit = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hit[0]] if hit else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean X?)' or '' — ready to append to a message."""
    hit = suggest(name, candidates)
    return f" (did you mean {hit!r}?)" if hit else ""

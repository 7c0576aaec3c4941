"""A deliberately naive router: same rules, same strategies, but candidates found by
testing every partner for every lead (partner conditions included) instead of through
the indexes. It is the yardstick the benchmark measures the indexes against, and the
oracle the property tests hold the indexed router to."""
from __future__ import annotations

from enum import Enum
from typing import Any, Mapping

from rules import vocabulary as vocab
from rules.book import Rule, RuleBook
from rules.explain import RuleTrial, no_country
from rules.geo import haversine_km, lead_keys, parse_coverage
from rules.index import PartnerIndex
from rules.model import Lead, Partner
from rules.eligibility import Eligibility
from rules.router import Router


_ORDER = [t.casefold() for t in vocab.TIERS]


def _folded(tier: str | None) -> str | None:
    return tier.casefold() if isinstance(tier, str) else tier


class ScanEligibility(Eligibility):
    """Candidates and distances by testing every partner; the rest as the indexed router."""

    def __init__(self, book: RuleBook, index: PartnerIndex) -> None:
        super().__init__(book, index)
        self._coverage: list[frozenset[str]] = []
        for p in self.index.partners:
            items, _ = parse_coverage(p.coverage)
            keys: set[str] = set()
            for item in items:
                if item.startswith("@"):
                    keys.update(self.book.territories.get(item[1:], ()))
                else:
                    keys.add(item)
            self._coverage.append(frozenset(keys))

    def _admits(self, rule: Rule, lead: Lead, p: Partner, pos: int, lead_geo: frozenset[str], certs: list[str]) -> bool:
        m = rule.match
        tier = _folded(p.tier.value if isinstance(p.tier, Enum) else p.tier)  # tiers match in any case
        if m.tiers and tier not in {t.casefold() for t in m.tiers}:
            return False
        if m.min_tier and (tier not in _ORDER or _ORDER.index(tier) < _ORDER.index(m.min_tier.casefold())):
            return False
        if any(prog not in p.programs for prog in m.programs):
            return False
        if m.certifications and not any(c in p.certifications for c in m.certifications):
            return False
        if any(c not in p.certifications for c in m.certifications_all):
            return False
        if m.role and (p.role or "Reseller") != m.role:  # a str Enum equals its text
            return False
        if not rule.partners.always and not rule.partners.matches(p, {}):
            return False
        if m.geography and not (lead_geo & self._coverage[pos]):
            return False
        if m.industry and lead.industry not in p.industries:
            return False
        if m.products == "all" and not lead.products <= p.products:
            return False
        if m.products == "any" and not lead.products & p.products:
            return False
        if certs and not any(c in p.certifications for c in certs):
            return False
        if m.language and lead.language and lead.language not in p.languages:
            return False
        return True

    def candidates(self, rule: Rule, lead: Lead, trial: RuleTrial, restrict: int | None,
                   steps: list[tuple[str, int]] | None = None) -> tuple[int, dict[str, int]] | None:
        m = rule.match
        if m.geography and not lead.country:
            trial.outcome = no_country(lead.extra)
            return None
        if m.industry and not lead.industry:
            trial.outcome = "lead has no industry"
            return None
        if m.products and not lead.products:
            trial.outcome = "lead names no products"
            return None
        if m.proximity and (lead.lat is None or lead.lon is None):
            trial.outcome = "lead has no coordinates"
            return None
        keys = dict(lead_keys(lead.country, lead.state, lead.postal_code, self.index.prefix_lengths))
        lead_geo = frozenset(keys)
        certs = sorted({c for prod in lead.products or () for c in self.settings.certifications_for_products.get(prod, ())}) \
            if m.certified_for_products else []
        cand = 0
        for pos, p in enumerate(self.index.partners):
            if restrict is not None and not (restrict >> pos) & 1:
                continue
            if self._admits(rule, lead, p, pos, lead_geo, certs):
                cand |= 1 << pos
        hits = {k: s for k, s in keys.items() if k in self.index.coverage} if m.geography else {}
        trial.candidates = cand.bit_count()
        if not cand:
            trial.outcome = "no partner matches"
            return None
        return cand, hits

    def nearby(self, rule: Rule, lead: Lead, eligible: int, trial: RuleTrial, *,
               lazy: bool = False) -> list[tuple[float, int]] | None:
        m = rule.match
        lat, lon = lead.lat, lead.lon
        if lat is None or lon is None:
            return None
        for radius in m.radii:
            found = []
            for pos, p in enumerate(self.index.partners):
                if not (eligible >> pos) & 1 or p.lat is None or p.lon is None:
                    continue
                d = haversine_km(lat, lon, p.lat, p.lon)
                if d > radius:
                    continue
                if m.partner_radius and p.radius_km is not None and d > p.radius_km:
                    trial.exclude(p.id, "outside its service radius")
                    continue
                found.append((d, pos))
            if found:
                if radius != m.within_km:
                    trial.notes.append(f"widened the radius to {radius:g} km")
                return sorted(found)
        return None


class FairScanEligibility(ScanEligibility):
    """The scan a competent engineer writes without indexes: the rule's partner-only
    filters (tiers, programs, certifications, role, `partners` condition) run once per
    rule, not once per lead; then each lead scans that short list testing geography first
    (the filter that removes most), and the candidate set is built once from the list of
    hits, never by shifting a partner-sized integer per partner. It must agree with the
    indexed router decision for decision; the benchmark's honest baseline."""

    def __init__(self, book: RuleBook, index: PartnerIndex) -> None:
        super().__init__(book, index)
        self._partner_ok: dict[int, list[int]] = {}
        self._size = (len(self.index.partners) + 7) // 8

    def _static(self, rule: Rule) -> list[int]:
        ok = self._partner_ok.get(id(rule))
        if ok is None:
            m = rule.match
            ok = []
            for pos, p in enumerate(self.index.partners):
                tier = _folded(p.tier.value if isinstance(p.tier, Enum) else p.tier)  # tiers match in any case
                if m.tiers and tier not in {t.casefold() for t in m.tiers}:
                    continue
                if m.min_tier and (tier not in _ORDER or _ORDER.index(tier) < _ORDER.index(m.min_tier.casefold())):
                    continue
                if any(prog not in p.programs for prog in m.programs):
                    continue
                if m.certifications and not any(c in p.certifications for c in m.certifications):
                    continue
                if any(c not in p.certifications for c in m.certifications_all):
                    continue
                if m.role and (p.role or "Reseller") != m.role:
                    continue
                if not rule.partners.always and not rule.partners.matches(p, {}):
                    continue
                ok.append(pos)
            self._partner_ok[id(rule)] = ok
        return ok

    def _mask(self, found: list[int]) -> int:
        flags = bytearray(self._size)
        for pos in found:
            flags[pos >> 3] |= 1 << (pos & 7)
        return int.from_bytes(flags, "little")

    @staticmethod
    def _members(mask: int) -> set[int]:
        text = bin(mask)[:1:-1]  # lowest bit first
        return {i for i, c in enumerate(text) if c == "1"}

    def candidates(self, rule: Rule, lead: Lead, trial: RuleTrial, restrict: int | None,
                   steps: list[tuple[str, int]] | None = None) -> tuple[int, dict[str, int]] | None:
        m = rule.match
        if m.geography and not lead.country:
            trial.outcome = no_country(lead.extra)
            return None
        if m.industry and not lead.industry:
            trial.outcome = "lead has no industry"
            return None
        if m.products and not lead.products:
            trial.outcome = "lead names no products"
            return None
        if m.proximity and (lead.lat is None or lead.lon is None):
            trial.outcome = "lead has no coordinates"
            return None
        keys = dict(lead_keys(lead.country, lead.state, lead.postal_code, self.index.prefix_lengths))
        lead_geo = frozenset(keys)
        certs = sorted({c for prod in lead.products or () for c in self.settings.certifications_for_products.get(prod, ())}) \
            if m.certified_for_products else []
        coverage, partners = self._coverage, self.index.partners
        industry, products, language = lead.industry, lead.products, lead.language
        found = []
        for pos in self._static(rule):
            if m.geography and not (lead_geo & coverage[pos]):
                continue
            p = partners[pos]
            if m.industry and industry not in p.industries:
                continue
            if m.products == "all" and not products <= p.products:
                continue
            if m.products == "any" and not products & p.products:
                continue
            if certs and not any(c in p.certifications for c in certs):
                continue
            if m.language and language and language not in p.languages:
                continue
            found.append(pos)
        cand = self._mask(found) if found else 0
        if restrict is not None and cand:
            cand &= restrict
        hits = {k: s for k, s in keys.items() if k in self.index.coverage} if m.geography else {}
        trial.candidates = cand.bit_count()
        if not cand:
            trial.outcome = "no partner matches"
            return None
        return cand, hits

    def nearby(self, rule: Rule, lead: Lead, eligible: int, trial: RuleTrial, *,
               lazy: bool = False) -> list[tuple[float, int]] | None:
        m = rule.match
        lat, lon = lead.lat, lead.lon
        if lat is None or lon is None:
            return None
        partners = self.index.partners
        members = sorted(self._members(eligible))
        for radius in m.radii:
            found = []
            for pos in members:
                p = partners[pos]
                if p.lat is None or p.lon is None:
                    continue
                d = haversine_km(lat, lon, p.lat, p.lon)
                if d > radius:
                    continue
                if m.partner_radius and p.radius_km is not None and d > p.radius_km:
                    trial.exclude(p.id, "outside its service radius")
                    continue
                found.append((d, pos))
            if found:
                if radius != m.within_km:
                    trial.notes.append(f"widened the radius to {radius:g} km")
                return sorted(found)
        return None


class ScanRouter(Router):
    """The naive twin: the Router with ScanEligibility (every partner tested for every lead)."""

    def __init__(self, book: RuleBook, index: PartnerIndex, *, queue_ids: Mapping[str, str] | None = None,
                 learner: Any = None):
        super().__init__(book, index, queue_ids=queue_ids, learner=learner)
        self.eligibility = ScanEligibility(book, index)


class FairScanRouter(Router):
    """The Router with FairScanEligibility: the benchmark's honest baseline."""

    def __init__(self, book: RuleBook, index: PartnerIndex, *, queue_ids: Mapping[str, str] | None = None,
                 learner: Any = None):
        super().__init__(book, index, queue_ids=queue_ids, learner=learner)
        self.eligibility = FairScanEligibility(book, index)

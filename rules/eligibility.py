"""Which partners may take a lead under a rule: eligibility and candidates.

In order: the lead lies in the rule's territories (and picks its pool by region); the
rule's matchers admit partners (`candidates`: postings lookups and bit arithmetic, each
criterion narrowing the set, and when nobody is left, which criterion and why); partners
who can never take it (paused, no active rep) and those that already declined this lead
drop out; a proximity rule keeps those within its radius, widening it while nobody is
found (`nearby`). What is left is handed to the distribution (rules/distribution.py).
"""
from __future__ import annotations

import itertools
from typing import Callable, Iterator, Mapping

from rules.bits import lowest, positions
from rules.book import Match, Rule, RuleBook
from rules.explain import EXCLUSIONS_LISTED, RuleTrial, no_country, nobody_eligible, nobody_left, quoted
from rules.geo import postal_under
from rules.index import PartnerIndex
from rules.model import Lead
from rules.state import RoutingState

_NAMED_IN_DECISIONS = 3  # unavailable partners named per rule in a decision (explain() names more)
_KEPT_SETS_BITS = 2048  # partner sets up to this many positions are kept by value (hashing one is cheap)

Place = tuple[str | None, str | None, str | None]  # a lead's (country, state, postal code)
Near = list[tuple[float, int]] | Iterator[tuple[float, int]]  # (km, position), nearest first


class Eligibility:
    # Partners kept from a lead by their own feedback (jobs/feedback.py sets it): lead →
    # {partner id: why}. They drop out like partners that declined this very lead, so every
    # decision honours them: a new lead, a redistribution, explain, dry-run, a pool pick-up
    # (Router.admits). A why's parenthesis, and what follows " — ", are for ops: a pool
    # pick-up's refusal, which every member reads, leaves them out.
    barred: Callable[[Lead], Mapping[str, str]] | None = None

    def __init__(self, book: RuleBook, index: PartnerIndex) -> None:
        self.book = book
        self.index = index
        self.settings = book.settings
        # territories as sets: countries/subdivisions, and (country, postal prefix) pairs
        self._territories = {
            name: (frozenset(i for i in items if ":" not in i),
                   tuple(tuple(i.split(":", 1)) for i in items if ":" in i))
            for name, items in book.territories.items()
        }
        self._coverage_for: tuple[Place | None, tuple[int, dict[str, int]]] = (None, (0, {}))
        # territory_pool's answers by (rule, country, state, postal code or None): the postal
        # code only matters when some territory names postal prefixes
        self._placed: dict[tuple[str, str | None, str | None, str | None], tuple[bool, str | None, str]] = {}
        self._postal_territories = any(postal for _, postal in self._territories.values())
        # proximity rules whose candidates depend on nothing but the partner: their eligible
        # set as an int and as one byte per partner (see nearby)
        self._static_ok: dict[str, tuple[int, bytearray]] = {}
        # (unavailable partners, full) → (named (id, why), their ids, how many, how many paused)
        self._unavailable: dict[tuple[int, bool], tuple[tuple[tuple[str, str], ...], frozenset[str], int, int]] = {}
        # rules none of whose criteria depends on the lead (a pool for everyone, say): by id,
        # (the rule, its partners, how many) — candidates() has nothing to work out for them
        self._plain: dict[int, tuple[Rule, int, int]] = {}
        for rule in book.rules:
            mt = rule.match
            if not (mt.geography or mt.industry or mt.products or mt.certified_for_products or mt.language
                    or mt.proximity):
                mask = index.rule_mask.get(rule.name, index.all)
                self._plain[id(rule)] = (rule, mask, mask.bit_count())
            if mt.proximity and not (mt.geography or mt.industry or mt.products or mt.certified_for_products
                                     or mt.language):
                ok = index.rule_mask.get(rule.name, index.all) & index.available
                flags = bytearray(len(index.ids))
                for pos in positions(ok):
                    flags[pos] = 1
                self._static_ok[rule.name] = (ok, flags)

    def territory_pool(self, rule: Rule, lead: Lead, trial: RuleTrial) -> tuple[bool, str | None]:
        """(whether the lead lies in the rule's territories, the pool it goes to): a rule
        with pools by territory sends the lead to its region's pool, outside them nowhere."""
        if self.index.fences:  # a drawn shape may hold the lead's point: no two leads alike
            inside, pool, outcome = self._territory_pool(rule, lead)
        else:
            # the answer depends on the lead's country and state (and postal code, when a
            # territory names postal prefixes): kept per place, as leads share places
            key = (rule.name, lead.country, lead.state, lead.postal_code if self._postal_territories else None)
            found = self._placed.get(key)
            if found is None:
                if len(self._placed) >= 50_000:
                    self._placed.clear()
                found = self._placed[key] = self._territory_pool(rule, lead)
            inside, pool, outcome = found
        if not inside:
            trial.outcome = outcome
        return inside, pool

    def _territory_pool(self, rule: Rule, lead: Lead) -> tuple[bool, str | None, str]:
        m = rule.match
        if m.territories and not self.in_territories(m.territories, lead):
            return False, None, f"lead outside {', '.join(m.territories)}"
        pool = rule.pool
        if rule.pools_by_territory:
            pool = None
            for t, q in rule.pools_by_territory:
                if self.in_territories((t,), lead):
                    pool = q
                    break
            if pool is None:
                return False, None, f"lead outside {', '.join(t for t, _ in rule.pools_by_territory)}"
        return True, pool, ""

    def in_territories(self, names: tuple[str, ...], lead: Lead) -> bool:
        territories = self._territories
        for name in names:
            places, postal = territories[name.lstrip("@")]
            if lead.country in places or lead.state in places:
                return True
            if postal and lead.postal_code:
                for c, prefix in postal:
                    if lead.country == c and postal_under(c, lead.postal_code, prefix):
                        return True
            if self.index.fences and self.index.fences.holds(name.lstrip("@"), lead.lat, lead.lon):
                return True  # a drawn shape holding the lead's point (rules/geofence.py)
        return False

    def candidates(self, rule: Rule, lead: Lead, trial: RuleTrial, restrict: int | None,
                    steps: list[tuple[str, int]] | None = None) -> tuple[int, dict[str, int]] | None:
        """(partners the rule's matchers admit for this lead, coverage keys hit) — or None with
        trial.outcome saying why not. Postings lookups and bit arithmetic only. `steps`,
        when given, receives (criterion, partners left) after each criterion (`funnel`)."""
        plain = self._plain.get(id(rule))
        if plain is not None and plain[0] is rule and restrict is None and steps is None:
            # no criterion depends on the lead: the rule's partners as folded at build
            trial.candidates = plain[2]
            if not plain[1]:
                trial.outcome = self.nobody_left(rule.match, lead, 0, 0, 0, None)
                return None
            return plain[1], {}
        m = rule.match
        idx = self.index
        cand = idx.rule_mask.get(rule.name, idx.all)  # only the built-in hand-down rule is absent
        if restrict is not None:
            cand &= restrict
        # Why nobody: which criterion ran last, and what it was given; worded only when it
        # left nobody (the words cost more than the bit arithmetic, and are rarely needed).
        last, before, pstart, needed = 0, cand, 0, None
        if steps is not None:
            steps.append(("admitted by the rule's partner conditions", cand.bit_count()))
        coverage_hits: dict[str, int] = {}
        if m.geography and cand:
            if not lead.country:
                trial.outcome = no_country(lead.extra)
                return None
            place = (lead.country, lead.state, lead.postal_code)
            # several rules of one decision ask for the same place; read once, as another
            # thread (the stream's pool alerts, jobs/alerts.py) may memo its own place meanwhile
            memo = self._coverage_for
            if memo[0] != place:
                memo = self._coverage_for = (place, idx.coverage_mask(*place))
            cov, coverage_hits = memo[1]
            if idx.fences:  # shapes partners cover: the lead's point decides (rules/geofence.py)
                fmask, fhits = idx.fence_mask(lead.lat, lead.lon)
                if fmask:
                    cov, coverage_hits = cov | fmask, {**coverage_hits, **fhits}
            before, last = cand, 1
            cand &= cov
            if steps is not None:
                steps.append((f"cover {_covered(m, lead, coverage_hits)}", cand.bit_count()))
        if m.industry and cand:
            if not lead.industry:
                trial.outcome = "lead has no industry"
                return None
            before, last = cand, 2
            cand &= idx.industry.get(lead.industry, 0)
            if steps is not None:
                steps.append((f"in industry {quoted(lead.industry)}", cand.bit_count()))
        if m.products and cand:
            if not lead.products:
                trial.outcome = "lead names no products"
                return None
            if m.products == "all":
                before, pstart, last = cand, cand, 3
                for prod in (sorted(lead.products) if steps is not None else lead.products):
                    cand &= idx.product.get(prod, 0)
                    if steps is not None:
                        steps.append((f"sell {quoted(prod)}", cand.bit_count()))
                    if not cand:
                        break
            else:
                before, last = cand, 4
                cand &= idx.any_of(idx.product, lead.products)
                if steps is not None:
                    steps.append((f"sell any of {', '.join(quoted(p) for p in sorted(lead.products))}",
                                  cand.bit_count()))
        if m.certified_for_products and cand:
            needed = sorted({c for prod in lead.products or () for c in self.settings.certifications_for_products.get(prod, ())})
            if needed:
                before, last = cand, 5
                cand &= idx.any_of(idx.certification, needed)
                if steps is not None:
                    steps.append((f"certified for {', '.join(quoted(c) for c in needed)}", cand.bit_count()))
            else:
                trial.notes.append("no product of the lead needs a certification")
        if m.language and cand and lead.language:
            before, last = cand, 6
            cand &= idx.language.get(lead.language, 0)
            if steps is not None:
                steps.append((f"speak {quoted(lead.language)}", cand.bit_count()))
        if m.proximity and cand:
            if lead.lat is None or lead.lon is None:
                trial.outcome = "lead has no coordinates"
                return None
        trial.candidates = cand.bit_count()
        if not cand:
            trial.outcome = self.nobody_left(m, lead, last, before, pstart, needed)
            return None
        return cand, coverage_hits

    def nobody_left(self, m: Match, lead: Lead, last: int, before: int, pstart: int, needed: list[str] | None) -> str:
        """The outcome of a rule whose criteria left nobody, in words: the criterion that
        removed the last partners, the lead's value, and how many the others had left."""
        if last == 0:
            return "no partner meets the rule's partner conditions"
        if last == 1:
            return f"no partner covers {_where(m, lead)}"
        if last == 3:  # name the first product, in a stable order, that no partner left sells
            for prod in sorted(lead.products):
                left = pstart & self.index.product.get(prod, 0)
                if not left:
                    what, before = f"not {quoted(prod)}", pstart
                    break
                pstart = left
        else:
            what = {2: lambda: f"not industry {quoted(lead.industry)}",
                    4: lambda: f"none of {', '.join(quoted(p) for p in sorted(lead.products))}",
                    5: lambda: f"not certified for {', '.join(quoted(c) for c in needed or ())}",
                    6: lambda: f"not speaking {quoted(lead.language)}"}[last]()
        return nobody_left(what, before.bit_count(), f"cover {_where(m, lead)}" if m.geography else "match")

    def eligible(self, rule: Rule, lead: Lead, cand: int, state: RoutingState, trial: RuleTrial, *,
                 full: bool) -> tuple[int, Near | None] | None:
        """Of the candidates, those who may take this lead (and, for a proximity rule, how far
        they are) — or None with trial.outcome saying why nobody."""
        idx = self.index
        m = rule.match
        near: Near | None = None
        # partners who can never take it: paused or without an active rep
        unavailable = cand & idx.unavailable
        if unavailable:
            # What a set of unavailable partners writes in the trial, kept by the set when it
            # is small enough that looking it up (hashing it) costs less than working it out:
            # the same few sets come back lead after lead (one per rule and place).
            if unavailable.bit_length() <= _KEPT_SETS_BITS:
                said = self._unavailable.get((unavailable, full))
                if said is None:
                    named = tuple((idx.ids[pos], idx.unavailable_why[pos])
                                  for pos in lowest(unavailable, EXCLUSIONS_LISTED if full else _NAMED_IN_DECISIONS))
                    said = (named, frozenset(pid for pid, _ in named), unavailable.bit_count(),
                            (unavailable & idx.paused).bit_count() if idx.paused else 0)
                    if len(self._unavailable) >= 10_000:
                        self._unavailable.clear()
                    self._unavailable[(unavailable, full)] = said
                trial.list_named(said[0], said[1])
                n_unavailable, paused = said[2], said[3]
            else:
                trial.list_excluded(lowest(unavailable, EXCLUSIONS_LISTED if full else _NAMED_IN_DECISIONS),
                                    idx.ids, idx.unavailable_why)
                # counted by bit arithmetic, so thousands of paused partners cost nothing per lead
                # (popcount of a 10,000-partner set costs ~1 µs: counts are derived where they can be)
                n_unavailable = unavailable.bit_count()
                paused = (unavailable & idx.paused).bit_count() if idx.paused else 0
            if paused:
                trial.excluded_counts["paused"] = paused
            if n_unavailable > paused:
                trial.excluded_counts["no active rep"] = n_unavailable - paused
            eligible = cand ^ unavailable
            n_eligible = trial.candidates - n_unavailable
        else:
            eligible, n_eligible = cand, trial.candidates
        declined: Mapping[str, str] | None = state.excluded.get(lead.id)
        if self.barred is not None:
            kept = self.barred(lead)
            if kept:
                declined = {**kept, **declined} if declined else kept
        for pid, outcome in sorted(declined.items()) if declined else ():
            at = idx.pos.get(pid)
            if at is not None and (eligible >> at) & 1:
                eligible ^= 1 << at
                n_eligible -= 1
                trial.exclude(pid, f"already {outcome} this lead")
        trial.eligible = n_eligible
        if m.proximity and eligible:
            # "nearest" reads the partners lazily, nearest first; other strategies need them all
            near = self.nearby(rule, lead, eligible, trial, lazy=rule.distribute == "nearest" and not full)
            if near is None:
                trial.eligible = 0
                trial.outcome = f"nobody within {max(m.radii):g} km"
                return None
            if isinstance(near, list):
                eligible = 0
                for _, pos in near:
                    eligible |= 1 << pos
                trial.eligible = len(near)
            else:
                trial.notes.append("eligible counts partners before the distance limit")
                trial.any_distance = True
        if not eligible:
            trial.outcome = nobody_eligible(trial)
            return None
        return eligible, near

    def nearby(self, rule: Rule, lead: Lead, eligible: int, trial: RuleTrial, *, lazy: bool) -> Near | None:
        """Eligible partners within the rule's radius (widening it while nobody is found),
        nearest first: a list, or with `lazy` an iterator that measures only as far as read."""
        m = rule.match
        partners = self.index.partners
        ids = self.index.ids
        lat, lon = lead.lat, lead.lon
        if lat is None or lon is None:  # candidates() has said so in the trial
            return None
        # Testing one bit of a big int costs a shift of the whole set; a byte per partner does
        # not. Usable when `eligible` is the rule's static set less a few partners (declined).
        static = self._static_ok.get(rule.name)
        flags: bytearray | None = None
        removed: set[int] = set()
        if static is not None:
            diff = static[0] ^ eligible
            if not diff & eligible and diff.bit_count() <= 64:
                removed = set(positions(diff))
                flags = static[1]

        def admitted(radius: float) -> Iterator[tuple[float, int]]:
            for d, pos in self.index.grid.nearest(float(lat), float(lon), radius):
                if flags is not None:
                    if not flags[pos] or pos in removed:
                        continue
                elif not (eligible >> pos) & 1:
                    continue
                if m.partner_radius:
                    own = partners[pos].radius_km
                    if own is not None and d > own:
                        trial.exclude(ids[pos], "outside its service radius",
                                      f"outside its {own:g} km service radius ({d:.0f} km)")
                        continue
                yield d, pos

        for radius in m.radii:
            found = admitted(radius)
            first = next(found, None)
            if first is None:
                continue
            if radius != m.within_km:
                trial.notes.append(f"widened the radius to {radius:g} km")
            if lazy:
                return itertools.chain((first,), found)
            return [first, *found]
        return None


def _covered(m: Match, lead: Lead, hits: Mapping[str, int]) -> str:
    """The coverage that let partners in, most specific last ("US-TX, US:750"); a partner
    covering a postal district is not said to cover the whole country."""
    if m.territories or not hits:
        return _where(m, lead)
    return ", ".join(sorted(hits, key=hits.__getitem__))


def _where(m: Match, lead: Lead) -> str:
    """The place a rule's coverage is asked about: its territories, else the lead's state or country."""
    return ", ".join(m.territories) if m.territories else (lead.state or lead.country or "?")

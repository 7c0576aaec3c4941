"""Who of the eligible partners gets the offer: the distribution strategies.

`pick` applies the rule's `prefer_incumbent`, then its `distribute`: nearest, predictive
(the learner, rules/predictive.py), weighted (by tier or Routing_Weight__c: a weight class
by a seeded draw, then rotation inside it), best fit and least loaded (the next
`settings.window` candidates in rotation order, scored), round robin ("next set bit after
the last partner chosen"). Every strategy passes over partners at a cap (rules/caps.py),
and says in the trial whom and why.

A rotation turns per rule AND per set of partners the rule admits for the lead (`Segment`):
one pointer per rule, shared by the Dutch and the German leads of a "covering partner"
rule, sent every Dutch lead that followed a German one to the Dutch partner after the
German partner's id, and starved the others (3 Dutch partners, leads alternating: 59, 1
and 0 of 60). The rule's own pointer is still kept, and a set seen for the first time
(a partner joined or left the org's partners) starts after it rather than at the first
partner.
"""
from __future__ import annotations

import zlib
from datetime import datetime, timezone
from itertools import repeat
from operator import eq
from typing import Any, Callable

from rules.bits import rotation
from rules.book import Rule, Settings
from rules.caps import Caps
from rules.eligibility import Near
from rules.explain import RuleTrial, of_partner
from rules.index import PartnerIndex
from rules.model import Lead
from rules.outcomes import Pick
from rules.state import INCUMBENT_HOW, RoutingState, day_key, lead_domain

_PERF_DEFAULT_RESPONSE = 0.5
TIE_KM = 0.1  # partners this much nearer or farther than the nearest are as near as it


def incumbent_words(found: tuple[str, int, str], time_zone: str | None = None) -> str:
    """Why the incumbent has the lead, as the Lead's reason says it after the partner's name:
    how and since when, the org's date (the latest partner on the company: one that worked
    it before is not the incumbent)."""
    _, since, how = found
    words = INCUMBENT_HOW.get(how, how)
    if since:
        words += f" as of {day_key(datetime.fromtimestamp(since, timezone.utc), time_zone)}"  # the org's date
    return f"incumbent: already works this company (of the partners on it, the latest: {words})"


class _Walk:
    """A walk that found every partner capped: whom it passed, with what counts, and what it
    wrote in the trial (`RuleTrial.exclude_walk`; the last three once it is first replayed)."""

    __slots__ = ("ids", "open", "today", "passed", "members", "kinds", "named")

    def __init__(self, ids: tuple[str, ...], open_offers: tuple[int, ...], today: tuple[int, ...],
                 passed: tuple[tuple[str, str, str], ...]) -> None:
        self.ids = ids
        self.open = open_offers  # open offers of each, as walked
        self.today = today  # offers today of each, as walked
        self.passed = passed  # (partner id, kind, words), in walk order
        self.members: frozenset[str] = frozenset()
        self.kinds: tuple[tuple[str, int], ...] | None = None  # partners per kind, in the order first met
        self.named: tuple[tuple[str, str], ...] = ()  # (partner id, words), in walk order


def unit(*parts: Any) -> float:
    """A deterministic draw in [0, 1) from the parts: same lead, rule, attempt → same draw,
    in every process (CRC-32, not Python's per-process salted hash)."""
    return zlib.crc32("|".join(map(str, parts)).encode()) / 2**32


class Segment:
    """The rotation keys of one rule for one set of candidates: `key` for the set (a CRC-32
    of its bits and the partner list), `rule` for the rule as a whole (where a set seen for
    the first time starts)."""

    __slots__ = ("key", "rule")

    def __init__(self, key: str, rule: str) -> None:
        self.key = key
        self.rule = rule

    def sub(self, suffix: str) -> "Segment":
        return Segment(f"{self.key}|{suffix}", f"{self.rule}|{suffix}")


class Distribution:
    def __init__(self, index: PartnerIndex, settings: Settings, caps: Caps, name: Callable[[str], str],
                 learner: Any = None) -> None:
        self.index = index
        self.settings = settings
        self.caps = caps
        self.name = name  # a partner's name for notes, by id
        self.learner = learner  # distribute = "predictive": rules.predictive.Predictor
        # Walks that found every partner capped, by (eligible, start): once the partners are
        # full (a backfill's first few thousand offers) each lead walks the same ones again
        # under several rules before it is pooled. A walk is replayed when every partner in
        # it still has the counts it was passed over with: the same exclusions, same words.
        self._capped: dict[tuple[int, int], _Walk] = {}
        self._capped_size = 0  # partners held in those walks, all told
        self._class_words: dict[tuple[str, str, float], tuple[str, str]] = {}
        # Rotation keys name a set by its bits, and bits are positions in the partner list: the
        # list's ids are hashed in, so a partner joining or leaving (positions shift) makes every
        # set start once after its rule's pointer rather than take another set's place.
        self._partners_crc = zlib.crc32("\n".join(index.ids).encode())

    def segment(self, rule_name: str, candidates: int) -> Segment:
        """The rotation keys for `rule_name` over these candidates (see the module's docstring)."""
        crc = zlib.crc32(candidates.to_bytes((candidates.bit_length() + 7) // 8, "little"), self._partners_crc)
        return Segment(f"{rule_name}|set {crc:08x}", rule_name)

    def pick(self, rule: Rule, lead: Lead, eligible: int, near: Near | None, coverage_hits: dict[str, int],
             state: RoutingState, now: datetime, trial: RuleTrial, attempt: int,
             segment: Segment | None = None) -> Pick | None:
        """The partner to offer the lead to, or None when every eligible one is at a cap.
        `segment`: the rule's rotation keys for the lead's candidates (default: the rule's own)."""
        idx = self.index
        seg = segment or Segment(rule.name, rule.name)
        if rule.prefer_incumbent:
            found = state.incumbent_of(lead.company, lead_domain(lead))
            if found is not None:
                pid = found[0]
                pos = idx.pos.get(pid)
                if pos is None or not (eligible >> pos) & 1:
                    # paused, not covering the lead, or no longer a partner: the rule decides
                    out = trial.excluded.get(pid) or "not eligible for this rule"
                    trial.notes.append(f"incumbent {self.name(pid)} works this company but {of_partner(out)}: the rule decides")
                else:
                    capped = self.caps.blocked(pos, state, now)
                    if capped:
                        trial.notes.append(f"incumbent {self.name(pid)} works this company but {of_partner(capped)}: the rule "
                                           "decides")
                    else:
                        return Pick(pos, incumbent_words(found, state.day_zone), {})
        strategy = rule.distribute
        if strategy == "nearest":
            return self.nearest(near, seg, state, now, trial)
        if strategy == "predictive":
            # the learner tests the caps as rotate does, through this distribution's index and caps
            found = self.learner.pick(self, rule, lead, eligible, state, now, trial, attempt)
            return Pick(found[0], found[1], {}) if found else None
        if strategy == "weighted":
            return self.weighted(rule, lead, eligible, state, now, trial, attempt, seg)
        if strategy == "best_fit" and unit(lead.id, rule.name, attempt, "floor") >= self.settings.best_fit_floor:
            return self.scored(rule, lead, eligible, coverage_hits, near, state, now, trial, best_fit=True,
                               segment=seg)
        if strategy == "least_loaded":
            return self.scored(rule, lead, eligible, coverage_hits, near, state, now, trial, best_fit=False,
                               segment=seg)
        if strategy == "round_robin":
            return self.rotate(seg, eligible, state, now, trial, "round robin")
        # best fit's floor share: a rotation of its own, so every eligible partner gets a turn
        return self.rotate(seg.sub("floor"), eligible, state, now, trial, "best fit floor: round robin")

    def nearest(self, near: Near | None, seg: Segment, state: RoutingState, now: datetime,
                trial: RuleTrial) -> Pick | None:
        """The nearest partner not at a cap. Partners equally near (within TIE_KM: two
        partners at one address, or geocoded to the same city centre) take turns in a
        rotation of their own: always the first by id starved the other for good."""
        first: float | None = None
        tied = 0
        for d, pos in near or ():
            if first is not None and d - first > TIE_KM:
                if len(trial.scores) >= 3:
                    break
            else:
                why = self.caps.blocked(pos, state, now)
                if why:
                    self.caps.exclude(trial, pos, why)
                    continue
                first = d if first is None else first
                tied |= 1 << pos
            if len(trial.scores) < 3:
                trial.scores.append({"partner_id": self.index.ids[pos], "km": round(d, 1)})
        if first is None:
            return None
        if tied & (tied - 1) == 0:
            return Pick(tied.bit_length() - 1, f"nearest ({first:.0f} km)", {})
        how = f"nearest ({first:.0f} km, {tied.bit_count()} partners as near: round robin)"
        return self.rotate(self.segment(f"{seg.rule}|nearest", tied), tied, state, now, trial, how)

    @staticmethod
    def resume(seg: Segment, state: RoutingState) -> str | None:
        """The last partner this set's rotation chose; for a set not seen yet, the rule's."""
        rotation = state.rotation
        last = rotation.get(seg.key)
        return last if last is not None else rotation.get(seg.rule)

    def rotate(self, seg: Segment, eligible: int, state: RoutingState, now: datetime, trial: RuleTrial,
               how: str) -> Pick | None:
        keys = (seg.key, seg.rule)
        start = self.index.position_before(self.resume(seg, state))
        caps = self.caps
        table, open_get, day_get = caps.table, state.open_offers.get, caps.day_counts.get
        fast = now is caps.day_for  # today's counts are at hand: test the caps inline
        if fast and self.replay_capped(eligible, start, state, trial):
            return None
        passed: list[tuple[str, int, int, str]] | None = [] if fast else None
        for pos in rotation(eligible, start):
            pid, cap, daily = table[pos]
            if fast and (cap is None or open_get(pid, 0) < cap) and (daily is None or day_get(pid, 0) < daily):
                return Pick(pos, how, dict.fromkeys(keys, pid))
            why = caps.blocked(pos, state, now)  # capped (or no fast path): it says why
            if why:
                caps.exclude(trial, pos, why)
                if passed is not None:
                    passed.append((pid, open_get(pid, 0), day_get(pid, 0), why))
                continue
            return Pick(pos, how, dict.fromkeys(keys, pid))
        if passed is not None:
            self._remember_capped(eligible, start, passed)
        return None

    def replay_capped(self, eligible: int, start: int, state: RoutingState, trial: RuleTrial) -> bool:
        """True when the walk from `start` over `eligible` is known to find everyone capped
        with today's counts as they are now: its exclusions are then in `trial`."""
        walk = self._capped.get((eligible, start))
        if walk is None:
            return False
        # every partner's counts as they were, compared in one go (map runs the look-ups in C)
        # every partner's counts as they were, compared in C (map, eq, all), stopping at the first change
        if not (all(map(eq, map(state.open_offers.get, walk.ids, repeat(0)), walk.open))
                and all(map(eq, map(self.caps.day_counts.get, walk.ids, repeat(0)), walk.today))):
            return False
        if walk.kinds is None:  # the first replay: what the walk wrote, summed up for exclude_walk
            kinds: dict[str, int] = {}  # in the order the walk first met each: nobody_eligible's ties keep it
            for _, kind, _ in walk.passed:
                kinds[kind] = kinds.get(kind, 0) + 1
            walk.members, walk.kinds = frozenset(walk.ids), tuple(kinds.items())
            walk.named = tuple((pid, why) for pid, _, why in walk.passed)
        trial.exclude_walk(walk.passed, walk.members, walk.kinds, walk.named)
        return True

    def _remember_capped(self, eligible: int, start: int, passed: list[tuple[str, int, int, str]]) -> None:
        if self._capped_size + len(passed) > 200_000:
            self._capped.clear()
            self._capped_size = 0
        # most walks kept are never replayed (a partner's counts move first): only what checks
        # them is worked out now, what a replay writes at its first use
        self._capped[(eligible, start)] = _Walk(
            tuple([pid for pid, _, _, _ in passed]), tuple([n for _, n, _, _ in passed]),
            tuple([d for _, _, d, _ in passed]),
            tuple([(pid, "at capacity" if why.startswith("at capacity") else "at daily cap", why)
                   for pid, _, _, why in passed]))
        self._capped_size += len(passed)

    def weighted(self, rule: Rule, lead: Lead, eligible: int, state: RoutingState, now: datetime,
                 trial: RuleTrial, attempt: int, segment: Segment | None = None) -> Pick | None:
        idx = self.index
        classes: list[tuple[str, float, int, int]] = []  # (class, weight, partners, how many)
        if rule.weight_by == "tier":
            rest = eligible
            for tier in idx.tier_order:
                m = eligible & idx.tier[tier]
                if m:
                    rest ^= m
                    classes.append((tier, _tier_weight(self.settings.tier_weights, tier), m, m.bit_count()))
            if rest:
                classes.append(("(no tier)", 1.0, rest, trial.eligible - sum([n for *_, n in classes])))
        else:
            for w in idx.weight_order:
                m = eligible & idx.weight[w]
                if m:
                    classes.append((f"{w:g}", w, m, m.bit_count()))
        draw = unit(lead.id, rule.name, attempt)
        trial.scores = [{"class": c, "weight": w, "partners": n} for c, w, _, n in classes]
        tried = False
        while classes:
            total = sum([w * n for _, w, _, n in classes if w > 0])  # a list: sum() of it as of a generator
            if total <= 0:
                # nobody left with a weight to draw by: not a cap, whatever else held the others
                zero = "every eligible partner has a routing weight of 0" if rule.weight_by == "weight" else \
                    "every eligible partner's tier has a weight of 0"
                trial.outcome = zero if not tried else "the partners not at a cap have a weight of 0"
                return None
            tried = True
            x = draw * total
            i = -1  # total > 0: some class has weight, so the loop sets it
            for j, (_, w, _, n) in enumerate(classes):
                if w > 0:
                    i = j  # the last class with weight, should rounding leave x just above 0
                    x -= w * n
                    if x < 0:
                        break
            c, w, m, n = classes[i]
            # Where the draw fell inside the class, as a fresh draw in [0, 1): should the class
            # be capped, the draw picks among the others by their weights. Reused as it stood,
            # a capped class's whole share went to the class next to it in weight order.
            draw = min(max((x + w * n) / (w * n), 0.0), 0.999999) if x < 0 else draw
            words = self._class_words.get((rule.name, c, w))
            if words is None:  # (class, how): the same few per rule, worded once
                if len(self._class_words) >= 10_000:
                    self._class_words.clear()
                words = self._class_words[(rule.name, c, w)] = (
                    c, f"weighted by tier ({c}: weight {w:g})" if rule.weight_by == "tier"
                    else f"weighted by routing weight ({w:g})")
            pick = self.rotate((segment or Segment(rule.name, rule.name)).sub(words[0]), m, state, now, trial,
                               words[1])
            if pick:
                return pick
            del classes[i]
        return None

    def scored(self, rule: Rule, lead: Lead, eligible: int, coverage_hits: dict[str, int], near: Near | None,
               state: RoutingState, now: datetime, trial: RuleTrial, *, best_fit: bool,
               segment: Segment | None = None) -> Pick | None:
        idx = self.index
        seg = segment or Segment(rule.name, rule.name)
        start = idx.position_before(self.resume(seg, state))
        window = self.settings.window if self.settings.window > 0 else None
        distance = {pos: d for d, pos in near} if near else {}
        scored: list[tuple[float, int, int, Any]] = []
        open_get, day_get = state.open_offers.get, self.caps.day_counts.get
        nominal = self.settings.max_open_offers or 10  # capacity assumed for a partner without one
        caps = self.caps.table
        fast = now is self.caps.day_for  # today's counts are at hand: test the caps inline
        if fast and self.replay_capped(eligible, start, state, trial):
            return None
        passed: list[tuple[str, int, int, str]] = []
        for order, pos in enumerate(rotation(eligible, start)):
            pid, cap, daily = caps[pos]
            n = open_get(pid, 0)
            if not (fast and (cap is None or n < cap) and (daily is None or day_get(pid, 0) < daily)):
                why = self.caps.blocked(pos, state, now)
                if why:
                    self.caps.exclude(trial, pos, why)
                    passed.append((pid, n, day_get(pid, 0), why))
                    continue
            if best_fit:
                detail = self.fit(rule, lead, pos, coverage_hits, distance.get(pos), state)
                scored.append((detail[0], -order, pos, detail))
            else:
                if cap is None:
                    cap = nominal
                load = n / cap if cap else 1.0
                scored.append((-load, -order, pos, (n, cap, load)))
            if window and len(scored) >= window:
                break
        if not scored:
            if fast:
                self._remember_capped(eligible, start, passed)
            return None
        # best first; -order is unique, so the tuples never compare beyond it (ties: rotation order)
        scored.sort(reverse=True)
        ids, partners = idx.ids, idx.partners
        if best_fit:
            trial.scores = [{"partner_id": ids[pos], "name": partners[pos].name, **self.fit_detail(d)}
                            for _, _, pos, d in scored[:3]]
        else:
            trial.scores = [{"partner_id": ids[pos], "name": partners[pos].name, "open": d[0], "capacity": d[1],
                             "load": round(d[2], 3)} for _, _, pos, d in scored[:3]]
        score, _, pos, detail = scored[0]
        how = f"best fit (score {score:.2f})" if best_fit else f"least loaded ({detail[0]}/{detail[1]} open)"
        return Pick(pos, how, dict.fromkeys((seg.key, seg.rule), idx.ids[pos]))

    def fit(self, rule: Rule, lead: Lead, pos: int, coverage_hits: dict[str, int], km: float | None,
            state: RoutingState) -> tuple[float, float, float, float, float]:
        """(score, match, acceptance, conversion, response): how specifically the partner fits this lead,
        blended half and half with its track record (acceptance, conversion, response time)."""
        p = self.index.partners[pos]
        total = 0.0
        n = 0
        if coverage_hits:
            keys = self.index.coverage_keys[pos]
            spec = 0  # the most specific key of the lead's place this partner covers
            for k, s in coverage_hits.items():
                if s > spec and k in keys:
                    spec = s
            total += min(spec, 4) / 4
            n += 1
        if lead.industry:
            total += lead.industry in p.industries
            n += 1
        if lead.products:
            total += len(lead.products & p.products) / len(lead.products)
            n += 1
        if lead.language:
            total += lead.language in p.languages
            n += 1
        if km is not None:
            radius = max((rule.match.within_km or 0,) + rule.match.widen_km) or 1
            total += max(0.0, 1 - km / radius)
            n += 1
        match = total / n if n else 0.5
        perf = state.performance.get(p.id)
        if perf is None:
            return (0.5 * match + 0.5 * (0.4 * 0.5 + 0.4 * 0.5 + 0.2 * _PERF_DEFAULT_RESPONSE), match, 0.5, 0.5,
                    _PERF_DEFAULT_RESPONSE)
        hours = perf.mean_response_hours
        response = 1 / (1 + hours / 24) if hours is not None else _PERF_DEFAULT_RESPONSE
        acceptance, conversion = perf.acceptance_rate, perf.conversion_rate
        track = 0.4 * acceptance + 0.4 * conversion + 0.2 * response
        return 0.5 * match + 0.5 * track, match, acceptance, conversion, response

    @staticmethod
    def fit_detail(fit: tuple[float, float, float, float, float]) -> dict[str, Any]:
        score, match, acceptance, conversion, response = fit
        return {"score": round(score, 4), "match": round(match, 3), "acceptance": round(acceptance, 3),
                "conversion": round(conversion, 3), "response": round(response, 3)}


def _tier_weight(weights: Any, tier: str) -> float:
    """A tier's weight, whatever the case [settings.tier_weights] and the org write it in."""
    w = weights.get(tier)
    if w is None:
        folded = tier.casefold()
        w = next((v for k, v in weights.items() if k.casefold() == folded), 1.0)
    return float(w)

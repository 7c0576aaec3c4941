"""Partner indexes, built once per partner sync so each decision looks candidates up.

Every set of partners is an int bitset over partners sorted by id (see rules.bits).
Postings by coverage key (country, subdivision, postal prefix; territories expanded),
industry, product, certification, language, tier, program and role; a grid for
proximity; and, per rule, the partners satisfying its partner-only condition and
fixed filters — evaluated here, never per lead.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Iterable, Iterator

from rules import vocabulary as vocab
from rules.bits import from_positions, positions
from rules.book import Rule, RuleBook
from rules.dealreg import DealRegistrations
from rules.geo import Grid, parse_coverage, place_keys, postal_cuts
from rules.model import DealRegistration, Partner, Pool, Rep
from rules.spelling import Spelling
from rules.windows import unknown_days, week_of, week_text, zone_fix

if TYPE_CHECKING:  # shapely is loaded only when a book draws a shape
    from rules.geofence import Fences


@dataclass(frozen=True, slots=True)
class IndexProblem:
    partner_id: str
    partner: str
    message: str
    fix: str | None = None
    # the partner attribute the message and fix are about: they name its shipped field
    # (SHIPPED_FIELDS), which `said` and `fix_said` put in the org's field's words, as an org
    # may keep its hierarchy in a lookup of its own, not ParentId
    attribute: str | None = None

    def said(self, field: str | None = None) -> str:
        return self._in(self.message, field)

    def fix_said(self, field: str | None = None) -> str | None:
        return None if self.fix is None else self._in(self.fix, field)

    def _in(self, text: str, field: str | None) -> str:
        shipped = SHIPPED_FIELDS.get(self.attribute or "")
        return text.replace(shipped, field) if shipped and field else text

    def __str__(self) -> str:
        return f"partner {self.partner} ({self.partner_id}): {self.message}"


# the fields the shipped mappings read these attributes from (mappings/defaults/partner.toml)
SHIPPED_FIELDS = {"parent_id": "ParentId", "time_zone": "Time_Zone__c", "working_days": "Working_Days__c",
                  "tier": "Partner_Tier__c", "role": "Partner_Role__c"}


def _tier_ladder(book: RuleBook) -> frozenset[str]:
    """The tiers a partner's tier is ranked among (casefolded), where the rules rank partners
    by tier (a min_tier, or offers weighted by tier); else none: a tier is then a label."""
    ranked = any(r.match.min_tier or (r.distribute == "weighted" and r.weight_by == "tier") for r in book.rules)
    if not ranked:
        return frozenset()
    return frozenset(t.casefold() for t in (*vocab.TIERS, *book.settings.tier_weights))


def _text(value: object) -> str:
    """A picklist value as text: `Tier.GOLD` (a str Enum) is "Gold", not "Tier.GOLD"."""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _postings(into: dict[str, int], keys: Iterable[str], pos: int) -> None:
    bit = 1 << pos
    for k in keys:
        into[k] = into.get(k, 0) | bit


class PartnerIndex:
    def __init__(self) -> None:
        self.partners: list[Partner] = []
        self.ids: list[str] = []
        self.pos: dict[str, int] = {}
        self.all = 0
        self.available = 0  # not paused and at least one active rep
        self.unavailable = 0
        self.unavailable_why: list[str] = []  # per position: "paused" | "no active rep" | ""
        self.paused = 0
        self.no_rep = 0
        self.coverage: dict[str, int] = {}
        self.coverage_keys: list[frozenset[str]] = []  # per position: the expanded coverage items
        self.prefix_lengths: tuple[int, ...] = ()
        self.industry: dict[str, int] = {}
        self.product: dict[str, int] = {}
        self.certification: dict[str, int] = {}
        self.language: dict[str, int] = {}
        self.tier: dict[str, int] = {}
        self.program: dict[str, int] = {}
        self.role: dict[str, int] = {}
        self.weight: dict[float, int] = {}
        self.tier_order: tuple[str, ...] = ()
        self.weight_order: tuple[float, ...] = ()
        self.children: dict[str, int] = {}
        self.grid = Grid()
        self.rule_mask: dict[str, int] = {}
        self.pools: dict[str, Pool] = {}
        self.pool_members: dict[str, int] = {}
        self.registrations = DealRegistrations(())
        self.active_reps: list[tuple[Rep, ...]] = []
        self.active_rep_ids: list[list[str]] = []
        self.problems: list[IndexProblem] = []
        self.weeks: list[tuple[int, ...] | None] = []  # by position: the partner's working days, None: the org's
        self.fences: Fences | None = None  # when the book draws shape territories

    # ---------------------------------------------------------------- build
    @classmethod
    def build(cls, partners: Iterable[Partner], book: RuleBook, *, pools: Iterable[Pool] = (),
              deal_registrations: Iterable[DealRegistration] = ()) -> "PartnerIndex":
        idx = cls()
        seen: dict[str, Partner] = {}
        for p in partners:
            seen[p.id] = p  # a partner listed twice: the later copy wins (fresher sync)
        respell = Spelling.for_partners(book).record  # 'preferred' read as the rules write it: Preferred
        idx.partners = [respell(seen[k]) for k in sorted(seen)]
        cyclic = parent_cycles(seen)
        for pid, chain in sorted(cyclic.items()):
            p = seen[pid]
            idx.problems.append(IndexProblem(pid, p.name, (
                f"ParentId makes a cycle ({chain}); its hand-down link is ignored until fixed"), attribute="parent_id"))
        idx.ids = [p.id for p in idx.partners]
        idx.pos = {pid: i for i, pid in enumerate(idx.ids)}
        idx.all = (1 << len(idx.ids)) - 1
        territories = book.territories
        if book.geofences:
            from rules.geofence import Fences  # shapely: loaded only when a shape is drawn
            idx.fences = Fences(book.geofences)
        prefix_lengths: set[int] = set()
        bad_zones = 0
        ladder = _tier_ladder(book)
        # a role the rules name ("Distributor") must be one of vocab.ROLES to be met
        roles = frozenset(vocab.ROLES) if any(r.match.role for r in book.rules) else frozenset()
        for i, p in enumerate(idx.partners):
            bit = 1 << i
            reps = tuple(sorted((r for r in p.reps if r.active), key=lambda r: r.id))
            idx.active_reps.append(reps)
            idx.active_rep_ids.append([r.id for r in reps])
            if p.paused:
                idx.paused |= bit
            if not reps:
                idx.no_rep |= bit
            if p.time_zone:
                # the zone meant is looked for (about 1 ms a name) for the first few only: an
                # org of thousands of made-up zones must not hold up every routing build
                fix = zone_fix(p.time_zone, suggest=bad_zones < 50)
                if fix:
                    bad_zones += 1
                    idx.problems.append(IndexProblem(p.id, p.name, (
                        f"time zone {_short(p.time_zone)} is not an IANA time zone: its offer windows count in the org's "
                        f"time zone ({book.settings.time_zone}) and its daily cap on the org's day"), fix, "time_zone"))
            if ladder and isinstance(p.tier, str) and p.tier and p.tier.casefold() not in ladder:
                idx.problems.append(IndexProblem(p.id, p.name, (
                    f"Partner_Tier__c {_short(p.tier)} is none of the tiers {', '.join(vocab.TIERS)}: it meets no "
                    "rule's min_tier and weighs 1 where offers are weighted by tier"),
                    "map it to one of them in mappings/partner.toml, beside the values mapped already (tier = { field = "
                    f"\"Partner_Tier__c\", map = {{ {_toml_text(p.tier)} = \"Platinum\", … }} }}), or correct the "
                    "account's Partner_Tier__c", "tier"))
            if roles and p.role and _text(p.role) not in roles:
                idx.problems.append(IndexProblem(p.id, p.name, (
                    f"Partner_Role__c {_short(_text(p.role))} is none of the roles {', '.join(vocab.ROLES)}: it meets "
                    "no rule's role"),
                    "map it to one of them in mappings/partner.toml, beside the values mapped already (role = { field "
                    f"= \"Partner_Role__c\", map = {{ {_toml_text(_text(p.role))} = \"Distributor\", … }} }}), or "
                    "correct the account's Partner_Role__c", "role"))
            week = week_of(p.working_days) if p.working_days else None
            idx.weeks.append(week)
            if p.working_days and week is None:
                idx.problems.append(IndexProblem(p.id, p.name, (
                    f"working days {', '.join(_short(n) for n in unknown_days(p.working_days)[:3])} are no days of the "
                    f"week: its offer windows count the org's working days ({week_text(book.settings.weekdays)})"),
                    "set Working_Days__c to English day names: Sunday, Monday, …", "working_days"))
            items, bad = parse_coverage(p.coverage)
            if bad:
                idx.problems.append(IndexProblem(p.id, p.name, f"coverage items ignored: {', '.join(bad)}"))
            keys: set[str] = set()
            for item in items:
                if item.startswith("@"):
                    name = item[1:]
                    if name not in territories:
                        idx.problems.append(IndexProblem(p.id, p.name, f"unknown territory {item!r} in coverage"))
                        continue
                    keys.update(territories[name])
                    if name in book.geofences:
                        keys.add(item)  # a shape: the lead's point hits "@Name" (fence_mask)
                else:
                    keys.add(item)
            for k in keys:
                if ":" in k:
                    prefix_lengths.add(len(k.split(":", 1)[1]))
            _postings(idx.coverage, keys, i)
            idx.coverage_keys.append(frozenset(keys))
            _postings(idx.industry, p.industries, i)
            _postings(idx.product, p.products, i)
            _postings(idx.certification, p.certifications, i)
            _postings(idx.language, p.languages, i)
            _postings(idx.program, p.programs, i)
            if p.tier:
                _postings(idx.tier, (_text(p.tier),), i)
            _postings(idx.role, (_text(p.role or "Reseller"),), i)
            w = float(p.weight if p.weight is not None else 1.0)
            idx.weight[w] = idx.weight.get(w, 0) | bit
            if p.parent_id and p.id not in cyclic:
                idx.children[p.parent_id] = idx.children.get(p.parent_id, 0) | bit
            if p.lat is not None and p.lon is not None:
                idx.grid.add(i, float(p.lat), float(p.lon))
        idx.unavailable_why = ["paused" if p.paused else "no active rep" if not reps else ""
                               for p, reps in zip(idx.partners, idx.active_reps)]
        idx.available = idx.all & ~(idx.paused | idx.no_rep)
        idx.unavailable = idx.all & ~idx.available
        idx.prefix_lengths = tuple(sorted(prefix_lengths))
        idx.tier_order = tuple(sorted(idx.tier))
        idx.weight_order = tuple(sorted(idx.weight))
        for rule in book.rules:
            idx.rule_mask[rule.name] = idx._static_mask(rule)
        rep_owner = {r.id: p.id for p in idx.partners for r in p.reps}
        for pool in sorted(pools, key=lambda q: q.id):
            members = {pid for pid in pool.member_partner_ids if pid in idx.pos}
            members.update(rep_owner[r] for r in pool.member_rep_ids if r in rep_owner)
            for name in {n for n in (pool.developer_name, pool.name, pool.id) if n is not None}:
                idx.pools[name] = pool
                idx.pool_members[name] = from_positions(idx.pos[m] for m in members)
        idx.registrations = DealRegistrations(deal_registrations, book.settings.deal_registration_min_score)
        return idx

    def _static_mask(self, rule: Rule) -> int:
        """Partners passing the rule's partner-only parts: fixed filters via postings, then its condition."""
        m = rule.match
        mask = self.all
        if m.tiers:
            mask &= self.tiers_of(m.tiers)
        if m.min_tier:
            mask &= self.tiers_of(vocab.TIERS[vocab.TIERS.index(m.min_tier):])
        for program in m.programs:
            mask &= self.program.get(program, 0)
        if m.certifications:
            mask &= self.any_of(self.certification, m.certifications)
        for cert in m.certifications_all:
            mask &= self.certification.get(cert, 0)
        if m.role:
            mask &= self.role.get(m.role, 0)
        if not rule.partners.always and mask:
            keep = 0
            for i in self.positions(mask):
                if rule.partners.matches(self.partners[i], {}):
                    keep |= 1 << i
            mask = keep
        return mask

    def tiers_of(self, names: Iterable[str]) -> int:
        """Partners of any of these tiers, whatever the case either side writes them in."""
        wanted = {n.casefold() for n in names}
        return self.any_of(self.tier, [t for t in self.tier if t.casefold() in wanted])

    @staticmethod
    def any_of(postings: dict[str, int], keys: Iterable[str]) -> int:
        """Partners posted under any of `keys`."""
        out = 0
        for k in keys:
            out |= postings.get(k, 0)
        return out

    # ---------------------------------------------------------------- reads
    @staticmethod
    def positions(mask: int) -> Iterator[int]:
        return positions(mask)

    def __len__(self) -> int:
        return len(self.ids)

    def partner(self, partner_id: str) -> Partner | None:
        i = self.pos.get(partner_id)
        return self.partners[i] if i is not None else None

    def position_before(self, partner_id: str | None) -> int:
        """Where a rotation resumes: the position of `partner_id`, or of the partner that
        would sort just before it when it has left since (so nobody is skipped twice)."""
        if partner_id is None:
            return -1
        pos = self.pos.get(partner_id)  # nearly always a current partner: no bisect needed
        return pos if pos is not None else bisect_right(self.ids, partner_id) - 1

    def coverage_mask(self, country: str | None, state: str | None, postal: str | None) -> tuple[int, dict[str, int]]:
        """Partners covering a place, and which of its keys hit (key → specificity: 1 country,
        2 subdivision, 2 + n for an n-character postal prefix)."""
        coverage = self.coverage
        mask = 0
        hit: dict[str, int] = {}
        if not country:
            return 0, hit
        country, keys = place_keys(country, state)
        for key, specificity in keys:
            m = coverage.get(key)
            if m:
                mask |= m
                hit[key] = specificity
        if postal:
            cuts = postal_cuts(country, postal) or ()
            for n in self.prefix_lengths:
                if n > len(postal):
                    break
                if n in cuts:
                    continue  # "B" is not Bristol's "BS1" (rules/geo.py)
                key = f"{country}:{postal[:n]}"
                m = coverage.get(key)
                if m:
                    mask |= m
                    hit[key] = 2 + n
        return mask, hit

    def fence_mask(self, lat: float | None, lon: float | None) -> tuple[int, dict[str, int]]:
        """Partners covering a shape territory that holds the point, and which hit (key →
        specificity 5: a drawn area is as precise as coverage gets)."""
        mask = 0
        hit: dict[str, int] = {}
        if self.fences:
            for name in self.fences.containing(lat, lon):
                m = self.coverage.get(f"@{name}")
                if m:
                    mask |= m
                    hit[f"@{name}"] = 5
        return mask, hit

    def unavailable_reason(self, pos: int) -> str:
        bit = 1 << pos
        if self.paused & bit:
            return "paused"
        return "no active rep"


def parent_cycles(partners: dict[str, Partner]) -> dict[str, str]:
    """Accounts whose ParentId chain comes back to itself (A→A, A→B→A, ...), each with
    the cycle spelled out by name. A distributor that is its own reseller would hand
    a lead down to itself on every accept."""
    cyclic: dict[str, str] = {}
    for start in partners:
        path: list[str] = []
        at: str | None = start
        while at is not None and at in partners and at not in path:
            path.append(at)
            at = partners[at].parent_id
        if at is not None and at in path and start in path[path.index(at):]:
            loop = path[path.index(at):] + [at]
            cyclic[start] = " → ".join(partners[x].name or x for x in loop)
    return cyclic


def _toml_text(value: str) -> str:
    """A value as a TOML basic string, for a fix to copy (cut as `_short` cuts): JSON's
    escapes are TOML's, control characters (an org's line break) included."""
    import json

    return json.dumps(value[:40], ensure_ascii=False)


def _short(value: str, limit: int = 40) -> str:
    """An org value quoted in a warning, cut: a 100 KB field makes a 100 KB log line, which a
    container's log driver splits (16 KB) into pieces that are no JSON."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"

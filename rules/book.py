"""The rule book: what ops write in TOML, checked and compiled once.

Shape of a rule file (see rules/defaults/rules.toml for a full, commented example):

    [settings]            escalation queue, fallback queue, offer window, caps, weights
    [territories]         named groups of coverage items (`Benelux = ["BE", "NL", "LU"]`)
    [[gate]]              which leads are routable at all (each check names its reason)
    [[ruleset]]           chosen by a lead condition, first match wins
      [[ruleset.rule]]    tried top-down: condition, eligibility, distribution, window
    [hand_down]           how a distributor's resellers are offered a lead it accepted

Everything that can be wrong is collected and raised together as RulesError.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from rules import vocabulary as vocab
from rules.bounded import MAX_RULE_FILE_BYTES
from rules.errors import Problem, RulesError, did_you_mean, toml_problem
from rules.tomllines import TomlLines
from rules.tomllines import loads as toml_loads
from rules.expressions import Compiler, Condition, ExpressionError, schema_of
from rules.literals import LEAD_PICKLISTS, PARTNER_PICKLISTS, compared_values
from rules.fiscal import FiscalPeriod, OrgCalendar
from rules.model import Lead, Partner
from rules.sides import other_sides_attribute
from rules.windows import offer_deadline, zone

DEFAULT_PATH = Path(__file__).parent / "defaults" / "rules.toml"

STRATEGIES = ("round_robin", "weighted", "least_loaded", "best_fit", "nearest", "predictive")
OTHERWISE_WORDS = ("next", "unroutable", "escalate")
CAP_FIX = ("a whole number of offers, 1 or more; leave the key out for no cap "
           "(pause a partner with Routing_Paused__c, not a cap of 0)")


HALF_LIFE_DAYS = (7, 3650)  # predictive rules: how fast outcomes may fade, in days (a week … ten years)
MATCH_SCORE = (0, 100)  # rapidfuzz's scale: deal_registration_min_score outside it fails every match
MAX_OFFER_HOURS = 24 * 3652  # what rules/windows.py can count: an offer window ends within ten years
_TRIAL_START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday: where a load-time window is counted from
CLAIM_PRIOR = (-2.0, 2.0)  # predictive rules: log-odds a claimed industry starts ahead (×0.14 … ×7.4 the odds)
CAPACITY_PRICE = (0.0, 3.0)  # predictive rules: what a partner's last free places cost (0 = nothing: greedy)


@dataclass(frozen=True, slots=True)
class Settings:
    escalation_queue: str = "Channel_Escalations"
    fallback_queue: str | None = None
    max_attempts: int = 3
    offer_hours: float = 48.0
    business_hours: bool = True
    workday: tuple[float, float] = (9, 17)  # hours of the day; 9.5 is 09:30
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    max_open_offers: int | None = None  # per partner, when the partner sets no Capacity__c
    max_offers_per_day: int | None = None  # per partner, when the partner sets no Daily_Cap__c
    tier_weights: Mapping[str, float] = field(default_factory=lambda: {"Registered": 1.0, "Silver": 2.0, "Gold": 3.0, "Platinum": 4.0})
    best_fit_floor: float = 0.1  # share of a best-fit rule's leads handed out in plain rotation
    window: int = 6  # least_loaded / best_fit weigh this many candidates, in rotation order (0 = all)
    deal_registration: bool = True
    deal_registration_min_score: float = 90.0  # rapidfuzz token ratio for company names
    certifications_for_products: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # predictive rules: every eligible partner is owed this share of its fair share of leads
    fairness_floor: float = 0.6
    # predictive rules: the choice weighs accept ** this × convert (1: whole; 0: convert alone)
    accept_weight: float = 0.5
    # predictive rules: a partner's answers (accepted, declined, lapsed) count half after this many days …
    answers_half_life_days: float = 60.0
    # … and its conversions (one per accepted lead, weeks late) after this many
    conversions_half_life_days: float = 150.0
    # the month the org's fiscal year starts (Organization.FiscalYearStartMonth): quarter_start,
    # quarter_end, year_end and the facts "this quarter" follow it; 1 = calendar quarters
    fiscal_year_start_month: int = 1
    # the org's time zone (Organization.TimeZoneSidKey): `today` and where quarters turn
    time_zone: str = "UTC"
    # predictive rules: log-odds a partner whose Account lists the lead's industry starts ahead,
    # until the org's outcomes say what such claims are worth
    claim_prior: float = 0.4
    # predictive rules: at its cap, a lead must look this share of the best one's chance better
    # on a partner than on the others for the partner to be offered it (0 = greedy)
    capacity_price: float = 0.7
    # the org's custom fiscal quarters and years (Period), read from the org at start, never
    # from the rule file: `with_fiscal_periods`
    fiscal_periods: tuple[FiscalPeriod, ...] = ()

    @property
    def calendar(self) -> OrgCalendar:
        """The org's calendar these settings name (fiscal year start, time zone), with its
        custom fiscal periods."""
        return OrgCalendar(self.fiscal_year_start_month, self.time_zone, self.fiscal_periods)


@dataclass(frozen=True, slots=True)
class Match:
    """Lead×partner matchers (lead-dependent) and partner-only filters (folded at index build)."""

    geography: bool = False
    territories: tuple[str, ...] = ()  # the lead must lie in one of these named territories
    industry: bool = False
    products: str | None = None  # "any" | "all"
    certified_for_products: bool = False
    language: bool = False
    within_km: float | None = None
    widen_km: tuple[float, ...] = ()
    partner_radius: bool = False
    tiers: tuple[str, ...] = ()
    min_tier: str | None = None
    programs: tuple[str, ...] = ()  # all of these
    certifications: tuple[str, ...] = ()  # any of these
    certifications_all: tuple[str, ...] = ()
    role: str | None = None

    @property
    def proximity(self) -> bool:
        return self.within_km is not None

    @property
    def radii(self) -> tuple[float, ...]:
        """The radii a proximity rule searches, the first and then each widening (km)."""
        return () if self.within_km is None else (self.within_km, *self.widen_km)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    ruleset: str
    when: Condition
    partners: Condition
    match: Match
    distribute: str = "round_robin"
    weight_by: str = "tier"  # weighted: "tier" or "weight" (Routing_Weight__c)
    prefer_incumbent: bool = False
    pool: str | None = None  # queue DeveloperName: pull instead of push
    pools_by_territory: tuple[tuple[str, str], ...] = ()  # (territory, queue): the lead's region picks the pool
    rep: str = "rotate"  # "rotate" among the partner's active reps (the only way an offer reaches a user)
    offer_hours: float = 48.0
    business_hours: bool = True
    otherwise: str = "next"
    hand_down: "Rule | None" = None  # how this rule's distributors hand an accepted lead to their resellers
    line: int | None = None
    key: str = ""


@dataclass(frozen=True, slots=True)
class RuleSet:
    name: str
    when: Condition
    rules: tuple[Rule, ...]
    otherwise: str  # "unroutable" | "escalate" | queue DeveloperName
    line: int | None = None


@dataclass(frozen=True, slots=True)
class GateCheck:
    when: Condition
    reason: str  # "<field>: <why>", goes to Routing_Reason__c
    line: int | None = None  # of its `when` in the rule file


@dataclass(frozen=True, slots=True)
class RuleBook:
    settings: Settings
    gate: tuple[GateCheck, ...]
    rulesets: tuple[RuleSet, ...]
    territories: Mapping[str, tuple[str, ...]]
    hand_down: Rule | None
    source: str
    warnings: tuple[Problem, ...] = ()
    geofences: Mapping[str, Any] = field(default_factory=dict)  # territory → shapely shape (rules/geofence.py)
    # the tiers as the org spells them (its picklist as mapped, else the shipped schema's): a
    # rule's tier in another case means the same tier, as Salesforce compares picklist values
    tier_names: tuple[str, ...] = vocab.TIERS

    @property
    def rules(self) -> tuple[Rule, ...]:
        out = [r for rs in self.rulesets for r in rs.rules]
        out.extend(r.hand_down for r in list(out) if r.hand_down)
        if self.hand_down:
            out.append(self.hand_down)
        return tuple(out)

    def queue_names(self) -> frozenset[str]:
        """Every queue DeveloperName the book refers to (the caller maps them to ids)."""
        names = {self.settings.escalation_queue}
        if self.settings.fallback_queue:
            names.add(self.settings.fallback_queue)
        for rs in self.rulesets:
            if rs.otherwise not in OTHERWISE_WORDS:
                names.add(rs.otherwise)
        for r in self.rules:
            if r.pool:
                names.add(r.pool)
            names.update(q for _, q in r.pools_by_territory)
            if r.otherwise not in OTHERWISE_WORDS:
                names.add(r.otherwise)
        return frozenset(names)

    def with_fiscal_periods(self, periods: Iterable[FiscalPeriod]) -> RuleBook:
        """This book on the org's custom fiscal quarters and years (jobs/preflight reads them)."""
        settings = replace(self.settings, fiscal_periods=tuple(sorted(periods, key=lambda p: (p.start, p.kind))))
        return replace(self, settings=settings)


# ------------------------------------------------------------------ loading

_TOP_KEYS = ("settings", "territories", "gate", "ruleset", "hand_down")
# the name a reseller's offer shows in Routing_Rule__c under the file's [hand_down] (or the
# built-in round robin): an admin's words, not the table's key
HAND_DOWN_RULE = "Hand-down to a reseller"
_SETTINGS_KEYS = tuple(Settings.__dataclass_fields__)
_RULE_KEYS = ("name", "when", "partners", "match", "distribute", "weight_by", "prefer_incumbent", "pool",
              "rep", "offer_hours", "business_hours", "otherwise", "hand_down")
_MATCH_KEYS = tuple(Match.__dataclass_fields__)
_RULESET_KEYS = ("name", "when", "rule", "otherwise")


Kind = type | tuple[type, ...]  # what a key's value must be an instance of


class _Loader:
    def __init__(self, text: str, filename: str, lead_schema: Mapping[str, Any], partner_schema: Mapping[str, Any],
                 queue_names: Iterable[str] | None,
                 picklists: Mapping[str, Mapping[str, Iterable[str]]] | None = None):
        self.text = text
        # The values rules are checked against: the org's picklists as mapped when validate
        # read them (an attribute it found no picklist for is not checked), else the shipped schema's.
        if picklists is None:
            self.values = {"lead": dict(LEAD_PICKLISTS), "partner": dict(PARTNER_PICKLISTS)}
            self.values_from = "the shipped schema"
        else:
            # LeadSource stays unchecked, as in rules/literals.py: a rule names the sources an
            # org is adding ("Trade Show") before its picklist has them
            self.values = {side: {a: tuple(v) for a, v in (picklists.get(side) or {}).items()
                                  if (side, a) != ("lead", "source")}
                           for side in ("lead", "partner")}
            self.values_from = "the org's picklist"

        # the org's spelling first, then the shipped schema's: `min_tier` orders by the latter
        org_tiers = tuple(self.values["partner"].get("tier", ()))
        self.tier_names = tuple(dict.fromkeys([*org_tiers, *(t for t in vocab.TIERS
                                                              if t.casefold() not in {o.casefold() for o in org_tiers})]))
        self.file = filename
        self.lines = TomlLines(text)
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.lead = Compiler(lead_schema, direct=frozenset(f for f in Lead.__slots__ if f != "extra"))
        self.partner = Compiler(partner_schema, direct=frozenset(f for f in Partner.__slots__ if f != "extra"),
                                with_time=False)
        self.queue_names = sorted(queue_names) if queue_names is not None else None
        self.rule_names: set[str] = set()
        self.fences: dict[str, Any] = {}  # shape territories

    # -- reporting
    def between(self, settings: Settings, key: str, bounds: tuple[float, float], unit: str, fix: str,
                line: int | None) -> None:
        """A setting outside its range: the error names the range, the value and what it does."""
        value = getattr(settings, key)
        if not bounds[0] <= value <= bounds[1]:
            self.error(f"settings.{key}", f"must be between {bounds[0]:g} and {bounds[1]:g}{unit}, got {value:g}", fix,
                       self.lines.key(key, line))

    def tier(self, name: str, among: Iterable[str] | None = None) -> str | None:
        """The tier `name` means, as the org spells it — whatever its case, as Salesforce
        compares picklist values — or None when it is no tier."""
        known = tuple(among) if among is not None else self.tier_names
        if name in known:
            return name
        folded = name.strip().casefold()
        return next((t for t in known if t.casefold() == folded), None)

    def error(self, key: str, message: str, fix: str | None = None, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, line, key, message, fix))

    def warn(self, key: str, message: str, fix: str | None = None, line: int | None = None) -> None:
        self.warnings.append(Problem(self.file, line, key, message, fix, severity="warning"))

    def unknown_keys(self, table: Mapping[str, Any], allowed: Iterable[str], where: str, line: int | None) -> None:
        for k in table:
            if k not in allowed:
                at = self.lines.key(k, line) if line else (self.lines.key(k) or self.lines.header(k))  # [[gates]]
                self.error(f"{where}.{k}" if where else k, f"unknown key {k!r}", did_you_mean(k, allowed), at)

    # -- typed getters
    def get(self, table: Mapping[str, Any], key: str, kind: Kind, default: Any, where: str,
            line: int | None) -> Any:
        if key not in table:
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool) and kind in (int, float)):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.error(f"{where}.{key}", f"expected {_human(want)}, got {value!r}", _written_as(key, want, value),
                       self.lines.key(key, line))
            return default
        if isinstance(value, float) and not math.isfinite(value):  # TOML's nan and inf are no setting's value
            self.error(f"{where}.{key}", f"expected a finite number, got {value!r}",
                       f"write a number such as {key} = 10 (nan and inf are no setting's value)",
                       self.lines.key(key, line))
            return default
        return value

    def offer_window(self, hours: float, business_hours: bool, settings: Settings, key: str,
                     line: int | None) -> None:
        """An offer window routing can count: refused here rather than in every decision's deadline."""
        if hours <= 0:
            self.error(key, f"must be more than 0 hours, got {hours:g}",
                       "the hours a partner has to answer, e.g. offer_hours = 48", line)
            return
        try:
            if hours > MAX_OFFER_HOURS:
                raise ValueError("longer than ten years")
            offer_deadline(_TRIAL_START, hours, business_hours=business_hours, time_zone=None,
                           workday=settings.workday, weekdays=settings.weekdays)
        except (ValueError, OverflowError):
            self.error(key, f"an offer window of {hours:g} hours does not end within ten years "
                            f"({MAX_OFFER_HOURS} hours)",
                       "hours a partner has to answer before the offer lapses, e.g. 48", line)

    def table(self, data: Mapping[str, Any], section: str) -> Mapping[str, Any]:
        """A top-level section that must be one table: `[[settings]]` or `settings = "…"` is named, not a crash."""
        value = data.get(section, {})
        if isinstance(value, dict):
            return value
        self.error(section, f"expected one [{section}] table, got {_shape(value)}",
                   f"write the section as [{section}] (single brackets) followed by its key = value lines",
                   self.lines.line((section,)))
        return {}

    def strings(self, table: Mapping[str, Any], key: str, where: str, line: int | None) -> tuple[str, ...]:
        if key not in table:
            return ()
        value = table[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(f"{where}.{key}", f"expected a list of text values, got {value!r}",
                       f'write each value in quotes inside brackets, e.g. {key} = ["A", "B"]', self.lines.key(key, line))
            return ()
        return tuple(value)

    def condition(self, compiler: Compiler, text: Any, key: str, line: int | None, owner: str | None = None) -> Condition:
        if not isinstance(text, str):
            self.error(key, f"expected an expression in quotes, got {text!r}",
                       f"""write the condition as text: {key.rsplit('.', 1)[-1]} = 'amount >= 10000'""", line)
            return compiler.compile("true")
        # a partner's tier is read in the org's spelling (rules/index.py): so is the rule's
        respell = {"tier": self.tier} if compiler is self.partner else None
        try:
            cond = compiler.compile(text, respell)
        except ExpressionError as exc:
            message, fix = exc.message, exc.fix
            other_side = self.partner if compiler is not self.partner else self.lead
            if exc.symbol and exc.symbol in other_side.schema:
                message, fix = other_sides_attribute(exc.symbol, text, lead_side=compiler is not self.partner)
            self.error(key, f"{owner}: {message}" if owner else message, fix, line)
            return compiler.compile("false")
        lead_side = compiler is not self.partner
        picklists = self.values["lead" if lead_side else "partner"]
        for attr, value in compared_values(cond.rule.statement):
            known = picklists.get(attr)
            if not known or value in known:
                continue
            # a lead's or partner's value is read in the rule's spelling whatever its case (rules/spelling.py)
            if value.strip().casefold() in {k.casefold() for k in known}:
                continue
            self.warn(key, f"{attr} is never {value!r} in {self.values_from}, so this comparison never holds",
                      did_you_mean(value, known), line)
        return cond

    def check_values(self, values: Iterable[str], side: str, attr: str, key: str, line: int | None, what: str) -> None:
        known = tuple(self.values[side].get(attr, ()))
        if not known:  # the org's field for it is no picklist: nothing to check against
            return
        # leads and partners are read in the rule file's spelling (rules/spelling.py): "cloud" meets Cloud
        folded = {k.strip().casefold() for k in known}
        for v in values:
            if v not in known and v.strip().casefold() not in folded:
                self.warn(key, f"{what} {v!r} is not a value of {self.values_from}; no partner can match it",
                          did_you_mean(v, known), line)

    def unpaired_values(self, rules: list[Rule]) -> None:
        """A matcher pairs a lead's picklist with the partners' (industry with Industries__c…):
        a value only the lead's picklist has never meets a partner, and a lead naming it passes
        every such rule by. Checked against the org's picklists only (the shipped ones agree)."""
        if self.values_from != "the org's picklist":
            return
        for attr, (lead_attr, partner_attr) in _PAIRED.items():
            users = [r for r in rules if r is not None and getattr(r.match, attr)]
            lead_values = self.values["lead"].get(lead_attr)
            partner_values = self.values["partner"].get(partner_attr)
            if not users or not lead_values or not partner_values:
                continue
            folded = {v.strip().casefold() for v in partner_values}
            alone = [v for v in lead_values if v.strip().casefold() not in folded]
            if not alone:
                continue
            names = ", ".join(repr(r.name) for r in users[:3]) + (" …" if len(users) > 3 else "")
            theirs = ", ".join(partner_values[:8]) + (" …" if len(partner_values) > 8 else "")
            self.warn(f"match.{attr}", f"the lead's {lead_attr} picklist has {', '.join(repr(v) for v in alone[:5])}"
                                       f"{' …' if len(alone) > 5 else ''}, which the partners' {partner_attr} picklist "
                                       f"lacks: rule(s) {names} never find a partner by it",
                      f"add it to the partners' picklist, or map the lead's value onto theirs in the mappings "
                      f"(map = {{ {alone[0]!r} = \"…\" }}); theirs: {theirs}", users[0].line)

    def queue(self, name: str, key: str, line: int | None) -> None:
        if self.queue_names is not None and name not in self.queue_names:
            # an org that never made the queue (a first start) needs it made, or another named
            where = f"[settings] {key.removeprefix('settings.')}" if key.startswith("settings.") else key
            self.error(key, f"unknown queue {name!r}",
                       f"{did_you_mean(name, self.queue_names)}; or create the queue {name} (Setup > Queues, supported "
                       f"object Lead), or name an existing queue in {where}", line)

    # -- sections
    def settings(self, data: Mapping[str, Any]) -> Settings:
        line = self.lines.header("settings")
        self.unknown_keys(data, _SETTINGS_KEYS, "settings", line)
        d = Settings()
        def g(k: str, kind: Kind) -> Any:
            return self.get(data, k, kind, getattr(d, k), "settings", line)
        workday = _workday(data.get("workday", list(d.workday)))
        if workday is None:
            self.error("settings.workday", f"expected [start, end] like [9, 17], got {data.get('workday')!r}",
                       'whole hours [9, 17], or times of day ["09:30", "18:30"] (24-hour clock; the end after the '
                       "start, within the day: [0, 24] round the clock)", self.lines.key("workday", line))
            workday = list(d.workday)
        weekdays = data.get("weekdays", list(d.weekdays))
        if not (isinstance(weekdays, list) and weekdays and all(isinstance(x, int) and 0 <= x <= 6 for x in weekdays)):
            self.error("settings.weekdays", f"expected day numbers 0 (Mon) … 6 (Sun), got {weekdays!r}",
                       "list the working days by number, Monday 0 to Sunday 6: weekdays = [0, 1, 2, 3, 4]",
                       self.lines.key("weekdays", line))
            weekdays = list(d.weekdays)
        tier_weights = dict(d.tier_weights)
        weighed: dict[str, str] = {}  # tier → the key that set its weight
        raw_tw = g("tier_weights", dict)
        for tier, w in raw_tw.items():
            at = self.lines.key(tier, self.lines.header("settings.tier_weights") or self.lines.key("tier_weights", line))
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0 < w < math.inf:
                self.error(f"settings.tier_weights.{tier}", f"expected a number above 0, got {w!r}",
                           "a tier's share of weighted offers; leave the tier out of `weighted` rules "
                           "(match.tiers) rather than weigh it 0", at)
                continue
            meant = self.tier(tier)  # `platinum = 10` is Platinum's weight, as the org spells it
            if meant is None:
                self.warn(f"settings.tier_weights.{tier}", f"tier {tier!r} is not a Partner_Tier__c value",
                          did_you_mean(tier, self.tier_names), at)
                meant = tier
            elif meant in weighed:
                self.error(f"settings.tier_weights.{tier}", f"{meant}'s weight is set twice ({weighed[meant]!r} "
                           f"and {tier!r}: tiers are the same whatever their case)", "keep one of the two lines", at)
                continue
            weighed[meant] = tier
            tier_weights.pop(next((t for t in tier_weights if t.casefold() == meant.casefold()), meant), None)
            tier_weights[meant] = float(w)
        cfp = {}
        for product, certs in g("certifications_for_products", dict).items():
            certs = [certs] if isinstance(certs, str) else certs
            if not isinstance(certs, list) or not all(isinstance(c, str) for c in certs):
                self.error(f"settings.certifications_for_products.{product}",
                           f"expected a list of certifications, got {certs!r}",
                           f'write the certifications the product needs in quotes: "{product}" = ["AWS Migration"]',
                           self.lines.anywhere(product))
                continue
            self.check_values([product], "lead", "products", f"settings.certifications_for_products.{product}",
                              self.lines.anywhere(product), "product")
            self.check_values(certs, "partner", "certifications", f"settings.certifications_for_products.{product}",
                              self.lines.anywhere(product), "certification")
            cfp[product] = tuple(certs)
        s = Settings(
            escalation_queue=g("escalation_queue", str),
            fallback_queue=g("fallback_queue", str),
            max_attempts=g("max_attempts", int),
            offer_hours=g("offer_hours", float),
            business_hours=g("business_hours", bool),
            workday=(workday[0], workday[1]),
            weekdays=tuple(sorted(set(weekdays))),
            max_open_offers=g("max_open_offers", int),
            max_offers_per_day=g("max_offers_per_day", int),
            tier_weights=tier_weights,
            best_fit_floor=g("best_fit_floor", float),
            window=g("window", int),
            deal_registration=g("deal_registration", bool),
            deal_registration_min_score=g("deal_registration_min_score", float),
            certifications_for_products=cfp,
            fairness_floor=g("fairness_floor", float),
            accept_weight=g("accept_weight", float),
            answers_half_life_days=g("answers_half_life_days", float),
            conversions_half_life_days=g("conversions_half_life_days", float),
            fiscal_year_start_month=g("fiscal_year_start_month", int),
            time_zone=g("time_zone", str),
            claim_prior=g("claim_prior", float),
            capacity_price=g("capacity_price", float),
        )
        for cap in ("max_open_offers", "max_offers_per_day"):
            value = getattr(s, cap)
            if value is not None and value < 1:
                self.error(f"settings.{cap}", f"must be at least 1, got {value}", CAP_FIX, self.lines.key(cap, line))
        if s.max_attempts < 1:
            self.error("settings.max_attempts", f"must be at least 1, got {s.max_attempts}",
                       "how many partners a lead is offered to before it escalates, e.g. max_attempts = 3",
                       self.lines.key("max_attempts", line))
        self.offer_window(s.offer_hours, s.business_hours, s, "settings.offer_hours", self.lines.key("offer_hours", line))
        self.between(s, "deal_registration_min_score", MATCH_SCORE, "",
                     "how alike a lead's company and a registration's must be to match, on rapidfuzz's 0–100 scale "
                     "(90, the default, forgives a suffix or a typo; 100 = the same words)", line)
        if not 0 <= s.fairness_floor <= 1:
            self.error("settings.fairness_floor", f"must be a share between 0 and 1, got {s.fairness_floor}",
                       "e.g. 0.6 = every eligible partner gets at least 60 % of its fair share of a predictive "
                       "rule's leads; 0 = no floor", self.lines.key("fairness_floor", line))
        if not 0 <= s.accept_weight <= 1:
            self.error("settings.accept_weight", f"must be between 0 and 1, got {s.accept_weight}",
                       "how much a partner's chance to accept counts in a predictive choice: 1 = accept × convert, "
                       "0.5 (the default) = its square root, 0 = the chance to convert alone",
                       self.lines.key("accept_weight", line))
        half_life_fix = ("how fast a partner's past outcomes fade in predictive rules: the shorter, the sooner a partner "
                         "that got better or worse is seen as it is now, and the fewer outcomes each estimate rests on "
                         "(defaults: answers 60, conversions 150)")
        self.between(s, "answers_half_life_days", HALF_LIFE_DAYS, " days", half_life_fix, line)
        self.between(s, "conversions_half_life_days", HALF_LIFE_DAYS, " days", half_life_fix, line)
        if not 1 <= s.fiscal_year_start_month <= 12:
            self.error("settings.fiscal_year_start_month", f"must be a month, 1 to 12, got {s.fiscal_year_start_month}",
                       "the month the org's fiscal year starts (Setup → Fiscal Year; Organization.FiscalYearStartMonth): "
                       "1 = January, calendar quarters; 2 = quarters from February, May, August, November",
                       self.lines.key("fiscal_year_start_month", line))
        try:
            zone(s.time_zone)
        except ValueError as e:
            self.error("settings.time_zone", str(e),
                       "the org's time zone (Setup → Company Information → Default Time Zone; "
                       "Organization.TimeZoneSidKey), e.g. \"America/Los_Angeles\"; \"UTC\" is the default",
                       self.lines.key("time_zone", line))
        self.between(s, "claim_prior", CLAIM_PRIOR, " log-odds",
                     "how much better a predictive rule assumes a partner converts a lead of an industry its Account "
                     "lists, before the org's outcomes say: 0.4 (the default) ≈ ×1.5 the odds, 0 = claims count for "
                     "nothing until outcomes show they do", line)
        self.between(s, "capacity_price", CAPACITY_PRICE, "",
                     "what a predictive rule charges for a partner's last free places, as a share of the lead's best "
                     "chance: 0.7 (the default) keeps a nearly full partner for the leads it converts clearly better "
                     "than the others; 0 = fill the best partner first", line)
        if not 0 <= s.best_fit_floor <= 1:
            self.error("settings.best_fit_floor", "must be a share between 0 and 1", "e.g. 0.1 = one lead in ten",
                       self.lines.key("best_fit_floor", line))
        self.queue(s.escalation_queue, "settings.escalation_queue", self.lines.key("escalation_queue", line))
        if s.fallback_queue:
            self.queue(s.fallback_queue, "settings.fallback_queue", self.lines.key("fallback_queue", line))
        return s

    def territories(self, data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
        from rules.geo import CoverageError, parse_item  # local: geo is heavier and only needed here

        line = self.lines.header("territories")
        out: dict[str, tuple[str, ...]] = {}
        for name, items in data.items():
            key = f"territories.{name}"
            iline = self.lines.key(name, line)
            if isinstance(items, dict):  # a shape (rules/geofence.py): the lead's coordinates decide
                from rules.geofence import FenceError, parse_fence  # shapely: loaded only when a shape is drawn
                try:
                    self.fences[name] = parse_fence(items, Path(self.file).parent)
                except FenceError as exc:
                    self.error(key, str(exc), exc.fix, iline)
                out[name] = ()
                continue
            if isinstance(items, str):
                items = [p for p in items.split(";") if p.strip()]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                self.error(key, f"expected a list of coverage items, got {items!r}",
                           'write the countries, states or postal prefixes in quotes, e.g. ["BE", "NL", "US-TX", "US:750"]',
                           iline)
                continue
            parsed = []
            for item in items:
                try:
                    parsed.append(parse_item(item))
                except CoverageError as exc:
                    self.error(key, str(exc), exc.fix, iline)
            for p in parsed:
                if p.startswith("@"):
                    self.error(key, f"territory {name!r} refers to territory {p!r}",
                               "list countries, states or postal prefixes; territories do not nest", iline)
            out[name] = tuple(p for p in parsed if not p.startswith("@"))
        return out

    def gate(self, data: Any) -> tuple[GateCheck, ...]:
        if not isinstance(data, list):
            self.error("gate", f"expected [[gate]] entries, got {_shape(data)}",
                       "write each check as its own [[gate]] table (double brackets) with when = '…' and reason = "
                       "\"<field>: <why>\"", self.lines.header("gate") or self.lines.line(("gate",)))
            return ()
        out = []
        for i, entry in enumerate(data):
            line = self.lines.header("gate", i) or self.lines.line(("gate",))
            key = f"gate[{i + 1}]"
            if not isinstance(entry, dict):
                self.error(key, f"expected a table with `when` and `reason`, got {_shape(entry)}",
                           "write each check as [[gate]] with when = '…' and reason = \"<field>: <why>\"", line)
                continue
            self.unknown_keys(entry, ("when", "reason"), key, line)
            if "when" not in entry or "reason" not in entry:
                missing = " and ".join(k for k in ("when", "reason") if k not in entry)
                self.error(key, f"a gate check without {missing}",
                           "give it when (what a lead must satisfy) and reason (\"<field>: <why>\", written to the "
                           "Lead it stops), e.g. when = 'company != null', reason = \"Company: missing\"", line)
                continue
            when_line = self.lines.key("when", line)
            cond = self.condition(self.lead, entry["when"], f"{key}.when", when_line, f"gate check {entry['reason']!r}")
            reason = entry["reason"]
            if not isinstance(reason, str) or not reason.strip():
                self.error(f"{key}.reason", f"expected the reason as text, got {reason!r}",
                           'write "<field>: <why>", e.g. reason = "Company: missing"', line)
                continue
            if len(reason) > 255:
                self.error(f"{key}.reason", f"{len(reason)} characters, longer than the 255 Routing_Reason__c holds",
                           "shorten it to 255 characters: the field and why, e.g. \"Company: missing\"", line)
            out.append(GateCheck(cond, reason, when_line))
        return tuple(out)

    def match(self, data: Any, where: str, line: int | None, territories: Mapping[str, Any]) -> Match:
        if not isinstance(data, dict):
            self.error(where, f"expected a table of matchers, got {data!r}",
                       "write match = { geography = true } (matchers in braces), or leave match out", line)
            return Match()
        self.unknown_keys(data, _MATCH_KEYS, where, line)
        def g(k: str, kind: Kind, default: Any) -> Any:
            return self.get(data, k, kind, default, where, line)
        products = g("products", (str, bool), None)
        if products is True:
            products = "any"
        if products is False:
            products = None
        if products not in (None, "any", "all"):
            self.error(f"{where}.products", f"expected \"any\" or \"all\", got {products!r}",
                       'products = "any" (a partner selling one of the lead\'s products) or "all" (every one)',
                       self.lines.key("products", line))
            products = None
        within = g("within_km", float, None)
        widen = []
        for r in data.get("widen_km", []) if isinstance(data.get("widen_km", []), list) else [data["widen_km"]]:
            if isinstance(r, (int, float)) and not isinstance(r, bool) and 0 < r < math.inf:
                widen.append(float(r))
            else:
                self.error(f"{where}.widen_km", f"expected radii in km above 0, got {r!r}",
                           "write the radii as numbers of km, growing, e.g. widen_km = [100, 250]",
                           self.lines.key("widen_km", line))
        if widen and within is None:
            self.error(f"{where}.widen_km", "widening needs a starting radius", "add within_km = 50",
                       self.lines.key("widen_km", line))
        if within is not None and within <= 0:
            self.error(f"{where}.within_km", f"must be more than 0 km, got {within:g}",
                       "the radius in km around the lead that partners are looked for within, e.g. within_km = 50",
                       self.lines.key("within_km", line))
        if widen and within is not None and sorted(widen) != widen or (widen and within and widen[0] <= within):
            self.error(f"{where}.widen_km", f"radii {widen} do not grow from within_km = {within:g}",
                       "make each radius larger than within_km and the one before, e.g. within_km = 50, "
                       "widen_km = [150, 400]", self.lines.key("widen_km", line))
        tline = self.lines.key("tiers", line)
        tiers = []
        for tier in self.strings(data, "tiers", where, line):
            meant = self.tier(tier)
            if meant is None:
                self.error(f"{where}.tiers", f"unknown tier {tier!r}", _tier_fix(tier, self.tier_names), tline)
            tiers.append(meant or tier)
        min_tier = g("min_tier", str, None)
        if min_tier is not None:  # ordered by the shipped schema's tiers: Registered < Silver < Gold < Platinum
            meant = self.tier(min_tier, vocab.TIERS)
            if meant is None:
                self.error(f"{where}.min_tier", f"unknown tier {min_tier!r}", _tier_fix(min_tier, vocab.TIERS, ordered=True),
                           self.lines.key("min_tier", line))
            min_tier = meant
        # a tier the org's picklist lacks (the shipped schema's Platinum in an org of three levels)
        self.check_values([t for t in tiers if self.tier(t) is not None], "partner", "tier", f"{where}.tiers", tline,
                          "tier")
        if min_tier is not None:
            self.check_values([min_tier], "partner", "tier", f"{where}.min_tier", self.lines.key("min_tier", line),
                              "tier")
        m = Match(
            geography=g("geography", bool, False),
            territories=self.strings(data, "territories", where, line),
            industry=g("industry", bool, False),
            products=products,
            certified_for_products=g("certified_for_products", bool, False),
            language=g("language", bool, False),
            within_km=within,
            widen_km=tuple(widen),
            partner_radius=g("partner_radius", bool, False),
            tiers=tuple(dict.fromkeys(tiers)),
            min_tier=min_tier,
            programs=self.strings(data, "programs", where, line),
            certifications=self.strings(data, "certifications", where, line),
            certifications_all=self.strings(data, "certifications_all", where, line),
            role=g("role", str, None),
        )
        for t in m.territories:
            if t.lstrip("@") not in territories:
                self.error(f"{where}.territories", f"unknown territory {t!r}", _territory_fix(t.lstrip("@"), territories),
                           self.lines.key("territories", line))
        if m.role and m.role not in vocab.ROLES:
            self.error(f"{where}.role", f"unknown role {m.role!r}", did_you_mean(m.role, vocab.ROLES),
                       self.lines.key("role", line))
        self.check_values(m.programs, "partner", "programs", f"{where}.programs", self.lines.key("programs", line),
                          "program")
        self.check_values(m.certifications + m.certifications_all, "partner", "certifications", f"{where}.certifications",
                          self.lines.key("certifications", line), "certification")
        return m

    def rule(self, data: Any, ruleset: str, where: str, line: int | None, settings: Settings,
             territories: Mapping[str, Any], *, fixed_name: str | None = None) -> Rule | None:
        if not isinstance(data, dict):
            self.error(where, f"expected a table, got {_shape(data)}",
                       "write each rule as a [[ruleset.rule]] table under its [[ruleset]], with name = \"…\"", line)
            return None
        self.unknown_keys(data, _RULE_KEYS, where, line)
        name = fixed_name or data.get("name")
        if not isinstance(name, str) or not name.strip():
            self.error(f"{where}.name", "a rule without a name (every rule needs one: it is written to "
                       "Routing_Rule__c)", 'add name = "…", up to 80 characters', line)
            name = where
        elif len(name) > 80:
            self.error(f"{where}.name", f"{len(name)} characters, longer than the 80 Routing_Rule__c holds",
                       "shorten the name to 80 characters", self.lines.key("name", line) or line)
        if name in self.rule_names:
            self.error(f"{where}.name", f"rule name {name!r} is used twice", "give each rule its own name",
                       self.lines.key("name", line))
        self.rule_names.add(name)
        def g(k: str, kind: Kind, default: Any) -> Any:
            return self.get(data, k, kind, default, where, line)
        owner = f"rule {name!r}"
        when = self.condition(self.lead, data.get("when", "true"), f"{where}.when", self.lines.key("when", line),
                              owner)
        partners = self.condition(self.partner, data.get("partners", "true"), f"{where}.partners",
                                  self.lines.key("partners", line), owner)
        match = self.match(data.get("match", {}), f"{where}.match", self.lines.key("match", line) or line, territories)
        distribute = g("distribute", str, "nearest" if match.proximity else "round_robin")
        if distribute not in STRATEGIES:
            self.error(f"{where}.distribute", f"unknown distribution {distribute!r}", did_you_mean(distribute, STRATEGIES),
                       self.lines.key("distribute", line))
            distribute = "round_robin"
        if distribute == "nearest" and not match.proximity:
            self.error(f"{where}.distribute", "\"nearest\" needs a radius", "add match.within_km = 50",
                       self.lines.key("distribute", line))
        weight_by = g("weight_by", str, "tier")
        if weight_by not in ("tier", "weight"):
            self.error(f"{where}.weight_by", f"expected \"tier\" or \"weight\", got {weight_by!r}",
                       'weight_by = "tier" ([settings.tier_weights]) or "weight" (each partner\'s Routing_Weight__c)',
                       self.lines.key("weight_by", line))
        rep = g("rep", str, "rotate")
        if rep == "partner_queue":
            # offered to no user of the partner, the lead stays where it came from with only its
            # partner set: under Private sharing no partner user can open it, and it only lapses
            self.error(f"{where}.rep", "\"partner_queue\" offers the lead to no user of the partner: it stays in "
                       "its queue with only the partner set, which no partner user can open under the org's "
                       "Private sharing, so it could only lapse",
                       "leave rep out (the partner's active reps take turns), or offer to a pool (pool = \"…\") the "
                       "partner's reps pull from", self.lines.key("rep", line))
        elif rep != "rotate":
            self.error(f"{where}.rep", f"expected \"rotate\", got {rep!r}", "leave rep out: the partner's active "
                       "reps take turns", self.lines.key("rep", line))
        pool = g("pool", (str, dict), None)
        by_territory: list[tuple[str, str]] = []
        if isinstance(pool, dict):
            # pool = { NA = "Partner_Pool_NA", EMEA = "Partner_Pool_EMEA" }: first territory holding the lead
            for territory, queue in pool.items():
                if territory not in territories:
                    self.error(f"{where}.pool.{territory}", f"unknown territory {territory!r}",
                               _territory_fix(territory, territories), self.lines.key("pool", line))
                elif not isinstance(queue, str):
                    self.error(f"{where}.pool.{territory}", f"expected a queue name in quotes, got {queue!r}",
                               f'write the queue\'s DeveloperName in quotes, e.g. {territory} = "Partner_Pool_{territory}"',
                               self.lines.key("pool", line))
                else:
                    self.queue(queue, f"{where}.pool.{territory}", self.lines.key("pool", line))
                    by_territory.append((territory, queue))
            pool = None
        elif pool:
            self.queue(pool, f"{where}.pool", self.lines.key("pool", line))
        otherwise = g("otherwise", str, "next")
        if otherwise not in OTHERWISE_WORDS:
            self.queue(otherwise, f"{where}.otherwise", self.lines.key("otherwise", line))
        hours = g("offer_hours", float, settings.offer_hours)
        business_hours = g("business_hours", bool, settings.business_hours)
        if "offer_hours" in data or "business_hours" in data:  # else the settings' window, checked there
            self.offer_window(hours, business_hours, settings, f"{where}.offer_hours",
                              self.lines.key("offer_hours", line))
        when_failed = any(p.key == f"{where}.when" for p in self.problems)
        if not when_failed and when.rule.statement.expression.__class__.__name__ == "BooleanExpression" \
                and not when.rule.statement.expression.value:
            self.warn(f"{where}.when", f"condition {when.text!r} can never be true; the rule never applies",
                      "correct the condition, or delete the rule if it is meant to be off", self.lines.key("when", line))
        return Rule(
            name=name, ruleset=ruleset, when=when, partners=partners, match=match, distribute=distribute,
            weight_by=weight_by, prefer_incumbent=g("prefer_incumbent", bool, False), pool=pool,
            pools_by_territory=tuple(by_territory), rep=rep,
            offer_hours=hours, business_hours=business_hours,
            otherwise=otherwise, line=line, key=where, hand_down=self.nested_hand_down(data, name, where, line,
                                                                                 settings, territories, fixed_name),
        )

    def nested_hand_down(self, data: Mapping[str, Any], name: str, where: str, line: int | None, settings: Settings,
                         territories: Mapping[str, Any], fixed_name: str | None) -> Rule | None:
        """A rule's own [ruleset.rule.hand_down]: how resellers get a lead its distributors accepted."""
        if "hand_down" not in data:
            return None
        if fixed_name:
            self.error(f"{where}.hand_down", "a hand-down rule cannot hand down again",
                       "leave hand_down out of this nested rule: only a rule of a [[ruleset]] hands down (one level, "
                       "distributor to reseller)", self.lines.key("hand_down", line))
            return None
        label = f"{name[:66]} (hand-down)"  # Routing_Rule__c holds 80 characters
        return self.rule(data["hand_down"], "hand_down", f"{where}.hand_down", self.lines.key("hand_down", line),
                         settings, territories, fixed_name=label)

    def rulesets(self, data: Any, settings: Settings, territories: Mapping[str, Any]) -> tuple[RuleSet, ...]:
        if not isinstance(data, list) or not data:
            self.error("ruleset", "no [[ruleset]] defined", "add at least one [[ruleset]] with [[ruleset.rule]] entries",
                       None)
            return ()
        out = []
        rule_occurrence = 0
        for i, rs in enumerate(data):
            line = self.lines.header("ruleset", i) or self.lines.line(("ruleset",))
            where = f"ruleset[{i + 1}]"
            if not isinstance(rs, dict):
                self.error(where, f"expected a table, got {_shape(rs)}",
                           "write each rule set as a [[ruleset]] table (double brackets) with name = \"…\"", line)
                continue
            self.unknown_keys({k: v for k, v in rs.items()}, _RULESET_KEYS, where, line)
            name = rs.get("name", where)
            if not isinstance(name, str) or not name.strip():
                self.error(f"{where}.name", f"expected the rule set's name in quotes, got {name!r}",
                           'write name = "…", the name explain and the reasons show', self.lines.key("name", line))
                name = where
            when = self.condition(self.lead, rs.get("when", "true"), f"{where}.when", self.lines.key("when", line),
                                  f"rule set {name!r}")
            otherwise = rs.get("otherwise", settings.fallback_queue or "unroutable")
            if not isinstance(otherwise, str):
                self.error(f"{where}.otherwise", f"expected a queue name or \"unroutable\" / \"escalate\" in quotes, "
                                                 f"got {otherwise!r}",
                           'otherwise = "unroutable", "escalate" or a queue\'s DeveloperName, in quotes',
                           self.lines.key("otherwise", line))
                otherwise = "unroutable"
            elif otherwise == "next":
                self.error(f"{where}.otherwise", "a rule set has no next step", "use \"unroutable\", \"escalate\" or a queue name",
                           self.lines.key("otherwise", line))
            elif otherwise not in OTHERWISE_WORDS and "otherwise" in rs:
                # an `otherwise` left out is [settings] fallback_queue's, checked (and said) there
                self.queue(otherwise, f"{where}.otherwise", self.lines.key("otherwise", line))
            rules = []
            raw_rules = rs.get("rule", [])
            if not isinstance(raw_rules, list):
                self.error(f"{where}.rule", f"expected [[ruleset.rule]] entries, got {_shape(raw_rules)}",
                           "write each rule as [[ruleset.rule]] under its [[ruleset]]", self.lines.key("rule", line))
                raw_rules = []
            elif not raw_rules:
                self.warn(where, f"rule set {name!r} has no rules; every lead it selects goes to {otherwise!r}",
                          "add its rules as [[ruleset.rule]] tables under it, or delete the rule set", line)
            for j, r in enumerate(raw_rules):
                rline = self.lines.header("ruleset.rule", rule_occurrence) or line
                rule_occurrence += 1
                rule = self.rule(r, name, f"{where}.rule[{j + 1}]", rline, settings, territories)
                if rule:
                    rules.append(rule)
            out.append(RuleSet(name=name, when=when, rules=tuple(rules), otherwise=otherwise, line=line))
        for i, rs in enumerate(out[:-1]):
            if rs.when.always:
                self.warn(f"ruleset[{i + 1}]", f"rule set {rs.name!r} has no condition, so the rule sets after it are never used",
                          "move it last or give it a `when`", rs.line)
        return tuple(out)

    def load(self) -> RuleBook:
        try:
            data = toml_loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError([toml_problem(self.file, self.text, exc, "(file)")]) from None
        self.unknown_keys(data, _TOP_KEYS, "", None)
        settings = self.settings(self.table(data, "settings"))
        territories = self.territories(self.table(data, "territories"))
        gate = self.gate(data.get("gate", []))
        rulesets = self.rulesets(data.get("ruleset"), settings, territories)
        hand_down = None
        if "hand_down" in data:
            hand_down = self.rule(data["hand_down"], "hand_down", "hand_down", self.lines.header("hand_down"),
                                  settings, territories, fixed_name=HAND_DOWN_RULE)
        self.unpaired_values([r for rs in rulesets for r in rs.rules] + ([hand_down] if hand_down else []))
        if self.problems:
            raise RulesError(self.problems + self.warnings)
        return RuleBook(settings=settings, gate=gate, rulesets=rulesets, territories=territories,
                        hand_down=hand_down, source=self.file, warnings=tuple(self.warnings), geofences=self.fences,
                        tier_names=self.tier_names)


# match key -> (lead attribute, partner attribute) it compares
_PAIRED = {"industry": ("industry", "industries"), "products": ("products", "products"),
           "language": ("language", "languages")}


def _check_size(size: int, filename: str) -> None:
    if size > MAX_RULE_FILE_BYTES:
        raise RulesError([Problem(
            filename, None, "(file)",
            f"the rule file is larger than the {MAX_RULE_FILE_BYTES // 1024} KiB limit",
            "a rule file is written by hand and holds tens of rules; keep partner-specific lists "
            "(coverage, products) on the partner Accounts and group places under [territories]")])


def _shape(value: Any) -> str:
    """What a person wrote instead of the table or list expected, in TOML's words."""
    if isinstance(value, list):
        return "a list ([[…]] or [ … ])"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


def _written_as(key: str, want: str, value: Any) -> str:
    """The fix for a value of the wrong type: the line as it should read, where the value says
    it ("48h" → offer_hours = 48), else how such a value is written."""
    if want in ("float", "int") and isinstance(value, str):
        hours = key.endswith("_hours")
        number = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(h|hrs?|hours?)?\s*" if hours else r"\s*(\d+(?:\.\d+)?)()\s*", value)
        if number and (want == "float" or "." not in number.group(1)):
            return f"write {key} = {number.group(1)} (a number, without quotes{' or a unit' if hours else ''})"
        return f"write {key} as a number of hours, without quotes or a unit, e.g. {key} = 48" if hours else (
            f"write {key} as a number, without quotes")
    if want == "bool":
        return f"write {key} = true or false, without quotes"
    if want == "str" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'put the text in quotes: {key} = "{value}"'
    return {"str": f'write {key} = "…" (text in quotes)', "int": f"write {key} as a whole number, e.g. {key} = 3",
            "float": f"write {key} as a number, e.g. {key} = 10", "dict": f"write {key} as a table: {key} = {{ … }}",
            "str or bool": f'write {key} = "any", "all" or true',
            "str or dict": f'write {key} = "Queue_Name", or {key} = {{ NA = "Queue_Name" }} by territory'}.get(
        want, f"write {key} as {_human(want)}")


def _human(kind: str) -> str:
    return {"str": "text in quotes", "int": "a whole number", "float": "a number", "bool": "true or false",
            "dict": "a table", "str or bool": "\"any\", \"all\" or true",
            "str or dict": "a queue name, or a table of territory = queue name"}.get(kind, kind)


def _merged(base: dict[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The mappings' attribute types over the dataclass's; where both say "a set", keep
    the dataclass's more precise "set of text"."""
    if given is None:
        return base
    out = dict(base)
    for name, kind in schema_of(dict(given)).items():
        if name in base and getattr(base[name], "name", None) == getattr(kind, "name", None):
            continue
        out[name] = kind
    return out


def _territory_fix(name: str, territories: Mapping[str, Any]) -> str:
    """A territory the file does not define: the one meant, else how to define it (a file
    with no [territories] at all, e.g. a README excerpt copied alone, is told the table)."""
    define = f'define it under [territories], e.g. {name} = ["US", "CA"] (countries, states like US-TX, or @other territories)'
    if not territories:
        return f"this file has no [territories] table: {define}"
    return f"{did_you_mean(name, territories)} ({define})"


def load_rules(path: str | Path | None = None, *, text: str | None = None,
               lead_attributes: Mapping[str, Any] | None = None,
               partner_attributes: Mapping[str, Any] | None = None,
               queue_names: Iterable[str] | None = None,
               picklists: Mapping[str, Mapping[str, Iterable[str]]] | None = None) -> RuleBook:
    """Read and check a rule file; None = the shipped defaults. Raises RulesError listing every problem.

    `lead_attributes` / `partner_attributes`: name → Python type, as the mappings layer
    knows them, added to the Lead / Partner dataclass fields (extra mapped attributes
    are read from `extra`). `queue_names`: the org's
    queue DeveloperNames; when given, an unknown queue is an error with the nearest name.
    `picklists`: {"lead": {attribute: values}, "partner": {…}}, the org's picklist values as
    the mappings read them; values a rule names outside them are warned about. None: the
    shipped schema's (rules/vocabulary.py).
    """
    if text is None:
        p = Path(path) if path is not None else DEFAULT_PATH
        try:
            with p.open("rb") as f:  # read one byte past the limit, never the whole of a huge file
                raw = f.read(MAX_RULE_FILE_BYTES + 1)
            _check_size(len(raw), str(p))
            text = raw.decode("utf-8")
        except OSError as exc:
            raise RulesError([Problem(str(p), None, "(file)", f"cannot read the rule file: {exc.strerror}",
                                      "check the path: the config's [routing] rules (or $LEADROUTER_RULES), or the "
                                      "file given with --rules")]) from None
        except UnicodeDecodeError as exc:
            raise RulesError([Problem(str(p), None, "(file)", f"not UTF-8 text (byte {exc.start})",
                                      "save the rule file as UTF-8")]) from None
        filename = str(p)
    else:
        filename = str(path) if path is not None else "<rules>"
        _check_size(len(text.encode("utf-8", "surrogatepass")), filename)
    lead_schema = _merged(schema_of(Lead), lead_attributes)
    partner_schema = _merged(schema_of(Partner), partner_attributes)
    return _Loader(text, filename, lead_schema, partner_schema, queue_names, picklists).load()


def _workday(value: Any) -> list[float] | None:
    """`workday` as hours of the day: [9, 17] ([9.5, 18.5]), or ["09:30", "18:30"] (a working day that does
    not start on the hour, as in much of India); None when it is neither."""
    if not (isinstance(value, list) and len(value) == 2):
        return None
    hours: list[float] = []
    for v in value:
        if isinstance(v, str):
            hh, sep, mm = v.strip().partition(":")
            if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and int(mm) < 60 and len(hh) <= 2):
                return None
            hours.append(int(hh) + int(mm) / 60)
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            hours.append(v)
        else:
            return None
    return hours if 0 <= hours[0] < hours[1] <= 24 else None


def _tier_fix(word: str, names: Iterable[str], *, ordered: bool = False) -> str:
    """The fix for a tier the router does not know: the one meant, or the tiers (lowest first
    for min_tier, which goes by that order) and how an org with levels of its own maps them
    onto these."""
    known = list(dict.fromkeys(names))
    meant = did_you_mean(word, known, or_known=False)
    if meant:
        return meant
    return (f"a tier is one of {', '.join(known)}{' (lowest first)' if ordered else ''}; an org with levels of "
            f"its own maps them onto these in mappings/partner.toml: tier = {{ field = \"Partner_Tier__c\", "
            f"map = {{ \"{word}\" = \"{known[-1] if known else 'Gold'}\" }} }}")

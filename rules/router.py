"""The routing engine: lead in, decision out. Pure: partners come from the index, memory
from RoutingState (read only), time from the caller."""
from __future__ import annotations

import itertools
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

from rules.bits import lowest, positions, rotation
from rules.dealreg import RegistrationMatch
from rules.book import OTHERWISE_WORDS, Match, Rule, RuleBook
from rules.errors import Problem, RulesError, did_you_mean
from rules.explain import (EXCLUSIONS_LISTED, REASON_MAX, Explanation, RuleTrial, clip, dropped_value_reason,
                           nobody_eligible, nobody_left, why_nobody)
from rules.expressions import time_values
from rules.index import PartnerIndex
from rules.model import Decision, DecisionKind, Lead
from rules.state import RoutingState, day_key
from rules.windows import offer_deadline

DEAL_REGISTRATION_RULE = "Deal registration"
_NAMED_IN_DECISIONS = 3  # unavailable partners named per rule in a decision (explain() names more)
_PERF_DEFAULT_RESPONSE = 0.5
_KIND_TEXT = {k: k.value for k in DecisionKind}  # Enum .value is a descriptor call; a dict is cheaper
_OFFERED = frozenset({DecisionKind.OFFER, DecisionKind.POOL})  # kinds that put the lead in front of someone


Place = tuple[str | None, str | None, str | None]  # a lead's (country, state, postal code)
Near = list[tuple[float, int]] | Iterator[tuple[float, int]]  # (km, position), nearest first


def _unit(*parts: Any) -> float:
    """A deterministic draw in [0, 1) from the parts: same lead, rule, attempt → same draw,
    in every process (CRC-32, not Python's per-process salted hash)."""
    return zlib.crc32("|".join(map(str, parts)).encode()) / 2**32


@dataclass(slots=True)
class _Pick:
    pos: int
    how: str
    rotation: dict[str, str]


class Router:
    def __init__(self, book: RuleBook, index: PartnerIndex, *, queue_ids: Mapping[str, str] | None = None,
                 learner: Any = None):
        self.book = book
        self.index = index
        self.settings = book.settings
        self.queue_ids = dict(queue_ids or {})
        self.learner = learner  # distribute = "predictive": rules.predictive.Predictor, kept by jobs
        if learner is None and any(r.distribute == "predictive" for r in book.rules):
            from rules.predictive import Predictor  # numpy: loaded only when a rule predicts
            self.learner = Predictor()  # priors only: nothing learnt yet
        # territories as sets: countries/subdivisions, and (country, postal prefix) pairs
        self._territories = {
            name: (frozenset(i for i in items if ":" not in i),
                   tuple(tuple(i.split(":", 1)) for i in items if ":" in i))
            for name, items in book.territories.items()
        }
        self._day_for: datetime | None = None
        self._day = ""
        self._day_counts: dict[str, int] = {}
        self._not_met: dict[str, RuleTrial] = {}
        self._coverage_for: tuple[Place | None, tuple[int, dict[str, int]]] = (None, (0, {}))
        self._tv_for: datetime | None = None
        self._tv: dict[str, datetime] = {}
        self._deadlines: dict[tuple[float, bool, str | None], datetime] = {}  # (hours, business hours, zone) → deadline at _deadlines_for
        self._deadlines_for: datetime | None = None
        self._rules_by_name = {r.name: r for r in book.rules}
        self._gates = tuple((g.when.matches, g.reason) for g in book.gate)
        # proximity rules whose candidates depend on nothing but the partner: their eligible
        # set as an int and as one byte per partner (see _nearby)
        self._static_ok: dict[str, tuple[int, bytearray]] = {}
        for rule in book.rules:
            mt = rule.match
            if mt.proximity and not (mt.geography or mt.industry or mt.products or mt.certified_for_products
                                     or mt.language):
                ok = index.rule_mask.get(rule.name, index.all) & index.available
                flags = bytearray(len(index.ids))
                for pos in positions(ok):
                    flags[pos] = 1
                self._static_ok[rule.name] = (ok, flags)
        # per position: (id, open-offer cap, daily cap), the settings' defaults filled in
        s = book.settings
        self._caps = [(p.id, p.capacity if p.capacity is not None else s.max_open_offers,
                       p.daily_cap if p.daily_cap is not None else s.max_offers_per_day) for p in index.partners]
        known = set(self.queue_ids) | set(index.pools)
        missing = sorted(n for n in book.queue_names() if n not in known)
        if missing:
            raise RulesError([
                Problem(book.source, None, "queues", f"queue {name!r} is not in the org",
                        did_you_mean(name, known) if known else "create the queue or pass its id in queue_ids")
                for name in missing
            ])

    # ================================================================ public
    def decide(self, lead: Lead, state: RoutingState, now: datetime, *, attempt: int = 1) -> Decision:
        """The decision for one lead. Does not touch `state`: call `state.record_offer` once committed."""
        return self._route(lead, state, now, attempt, full=False)[0]

    def explain(self, lead: Lead, state: RoutingState, now: datetime, *, attempt: int = 1) -> Explanation:
        """The full trace: every rule tried and every candidate's exclusion, not just the first few met."""
        return self._route(lead, state, now, attempt, full=True)[1]

    def hand_down(self, lead: Lead, distributor_id: str, state: RoutingState, now: datetime, *,
                  attempt: int = 1) -> Decision:
        """Multi-tier: a distributor accepted `lead`; offer it to one of its resellers (child accounts)
        under the hand-down rule of the rule that offered the distributor the lead, else the rule
        file's [hand_down], else plain round robin among its active resellers."""
        ex = Explanation(lead.id)
        now = _aware(now)
        self._remember_day(state, now)
        tv = time_values(now)
        distributor = self.index.partner(distributor_id)
        dname = distributor.name if distributor else distributor_id
        # the rules the distributor was given: those of the rule that offered it the lead,
        # else the rule file's [hand_down], else plain round robin among its resellers
        # (a reseller that declined sends the lead back here: its offer's rule is the hand-down rule)
        offered_by = self._rules_by_name.get(state.offer_rule.get(lead.id, ""))
        if offered_by is not None and offered_by.ruleset == "hand_down":
            rule = offered_by
        else:
            rule = (offered_by.hand_down if offered_by else None) or self.book.hand_down or _DEFAULT_HAND_DOWN
        children = self.index.children.get(distributor_id, 0)
        ex.ruleset = "hand_down"
        if not children:
            return self._finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now,
                                f"Hand-down: {dname} has no reseller accounts; the lead stays with it",
                                rule=rule.name, partner_id=distributor_id)
        decision = self._try_rule(rule, lead, state, now, tv, ex, attempt, full=False, restrict=children,
                                  label=f"Hand-down from {dname}")
        if decision:
            return decision
        outcome = rule.otherwise
        if outcome in ("next", "unroutable"):
            return self._finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now,
                                f"Hand-down: no reseller of {dname} qualifies; the lead stays with it",
                                rule=rule.name, partner_id=distributor_id)
        return self._otherwise(lead, ex, outcome, attempt, now, rule.name, "hand_down",
                               f"no reseller of {dname} qualifies")

    # ================================================================ flow
    def _route(self, lead: Lead, state: RoutingState, now: datetime, attempt: int,
               full: bool) -> tuple[Decision, Explanation]:
        now = _aware(now)
        self._remember_day(state, now)
        ex = Explanation(lead.id)
        if lead.deleted or lead.converted:
            why = "Lead: deleted" if lead.deleted else "Lead: already converted"
            return self._finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now, why), ex
        if now != self._tv_for:  # a routing run decides its whole batch at one `now`
            self._tv_for, self._tv = now, time_values(now)
        tv = self._tv
        failed = [reason for matches, reason in self._gates if not matches(lead, tv)]
        if failed:
            failed = [dropped_value_reason(g.reason, g.when.symbols, lead.extra)
                      for g in self.book.gate if not g.when.matches(lead, tv)]
            ex.gate = failed
            # Routing_Rule__c names where in the rule file it stopped: the [[gate]] checks
            return self._finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now, "; ".join(failed), rule="[[gate]]"), ex
        if self.settings.deal_registration:
            decision = self._deal_registration(lead, state, now, ex, attempt)
            if decision:
                return decision, ex
        for rs in self.book.rulesets:
            ex.rulesets_tried.append(rs.name)
            if not rs.when.matches(lead, tv):
                continue
            ex.ruleset = rs.name
            for rule in rs.rules:
                decision = self._try_rule(rule, lead, state, now, tv, ex, attempt, full=full)
                if decision:
                    return decision, ex
                if rule.otherwise != "next" and ex.trials[-1].applied:
                    return self._otherwise(lead, ex, rule.otherwise, attempt, now, rule.name, rs.name,
                                           f"{rule.name}: {ex.trials[-1].outcome}"), ex
            last_rule, why = why_nobody(ex.trials, rs.name)
            return self._otherwise(lead, ex, rs.otherwise, attempt, now, last_rule, rs.name, why), ex
        return self._finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now, "Rules: no rule set applies to this lead",
                            rule="[[ruleset]]"), ex

    def _otherwise(self, lead: Lead, ex: Explanation, outcome: str, attempt: int, now: datetime,
                   rule: str | None, ruleset: str | None, why: str) -> Decision:
        if outcome == "escalate":
            return self._finish(lead, ex, DecisionKind.ESCALATE, attempt, now, f"Escalated: {why}", rule=rule,
                                ruleset=ruleset, queue_id=self._queue(self.settings.escalation_queue))
        if outcome in OTHERWISE_WORDS:  # unroutable (or "next" with nothing after it)
            return self._finish(lead, ex, DecisionKind.UNROUTABLE, attempt, now, f"Unroutable: {why}", rule=rule,
                                ruleset=ruleset)
        return self._finish(lead, ex, DecisionKind.FALLBACK, attempt, now, f"Fallback queue {outcome}: {why}",
                            rule=rule, ruleset=ruleset, queue_id=self._queue(outcome))

    # ================================================================ deal registration
    def _deal_registration(self, lead: Lead, state: RoutingState, now: datetime, ex: Explanation,
                           attempt: int) -> Decision | None:
        matches = self.index.registrations.matching(lead, now)
        if not matches:
            return None
        declined = state.declined(lead.id)
        by_partner: dict[str, list[RegistrationMatch]] = {}
        notes = []
        for m in matches:
            pid = m.registration.partner_id
            if pid not in self.index.pos:
                notes.append(f"registration {m.registration.id} belongs to {pid}, not a current partner")
                continue
            if pid in declined:
                notes.append(f"registration {m.registration.id}: {self._name(pid)} already {declined[pid]} this lead")
                continue
            by_partner.setdefault(pid, []).append(m)
        ex.deal_registration = {
            "matches": [{"registration": m.registration.id, "partner_id": m.registration.partner_id, "how": m.how}
                        for m in matches],
            "notes": notes,
        }
        if not by_partner:
            return None
        if len(by_partner) > 1:
            names = " and ".join(f"{self._name(pid)} ({by_partner[pid][0].registration.id})" for pid in sorted(by_partner))
            return self._finish(lead, ex, DecisionKind.ESCALATE, attempt, now,
                                f"Conflicting deal registrations: {names}", rule=DEAL_REGISTRATION_RULE,
                                queue_id=self._queue(self.settings.escalation_queue))
        (pid, regs), = by_partner.items()
        pos = self.index.pos[pid]
        name = self._name(pid)
        problem = None
        if not (self.index.available >> pos) & 1:
            problem = self.index.unavailable_reason(pos)
        else:
            problem = self._blocked(pos, state, now)
        if problem:
            return self._finish(lead, ex, DecisionKind.ESCALATE, attempt, now,
                                f"Deal registration {regs[0].registration.id} by {name}, but {name} is {problem}",
                                rule=DEAL_REGISTRATION_RULE, queue_id=self._queue(self.settings.escalation_queue))
        pick = _Pick(pos, f"registered deal ({regs[0].how})", {})
        return self._offer(lead, ex, pick, None, state, now, attempt, rule_name=DEAL_REGISTRATION_RULE,
                           ruleset=None, hours=self.settings.offer_hours, business_hours=self.settings.business_hours,
                           rep_mode="rotate", summary_extra="")

    # ================================================================ one rule
    def _try_rule(self, rule: Rule, lead: Lead, state: RoutingState, now: datetime, tv: Mapping[str, datetime],
                  ex: Explanation,
                  attempt: int, *, full: bool, restrict: int | None = None, label: str | None = None) -> Decision | None:
        if not rule.when.matches(lead, tv):
            # most rules tried are passed over here: one shared, never-modified trial each
            skipped = self._not_met.get(rule.name)
            if skipped is None:
                skipped = self._not_met[rule.name] = RuleTrial(rule.name, rule.ruleset, "condition not met")
            ex.trials.append(skipped)
            return None
        trial = RuleTrial(rule.name, rule.ruleset, "")
        ex.trials.append(trial)
        m = rule.match
        idx = self.index
        if m.territories and not self._in_territories(m.territories, lead):
            trial.outcome = f"lead outside {', '.join(m.territories)}"
            return None
        pool = rule.pool
        if rule.pools_by_territory:
            pool = None
            for t, q in rule.pools_by_territory:
                if self._in_territories((t,), lead):
                    pool = q
                    break
            if pool is None:
                trial.outcome = f"lead outside {', '.join(t for t, _ in rule.pools_by_territory)}"
                return None
        trial.applied = True
        found = self._candidates(rule, lead, trial, restrict)
        if found is None:
            return None
        cand, coverage_hits = found
        near: Near | None = None
        # partners who can never take it: paused or without an active rep
        unavailable = cand & idx.unavailable
        if unavailable:
            excluded, counted, ids, reasons = trial.excluded, trial._counted, idx.ids, idx.unavailable_why
            for pos in lowest(unavailable, EXCLUSIONS_LISTED if full else _NAMED_IN_DECISIONS):
                excluded[ids[pos]] = reasons[pos]
                counted.add(ids[pos])
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
        declined = state.excluded.get(lead.id)
        for pid, outcome in sorted(declined.items()) if declined else ():
            at = idx.pos.get(pid)
            if at is not None and (eligible >> at) & 1:
                eligible ^= 1 << at
                n_eligible -= 1
                trial.exclude(pid, f"already {outcome} this lead")
        trial.eligible = n_eligible
        if m.proximity and eligible:
            # "nearest" reads the partners lazily, nearest first; other strategies need them all
            near = self._nearby(rule, lead, eligible, trial, lazy=rule.distribute == "nearest" and not full)
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
        if not eligible:
            trial.outcome = nobody_eligible(trial)
            return None
        if pool:
            return self._pool(rule, pool, lead, eligible, trial, ex, now, attempt, state)
        if full:  # name every capped partner, not only those the strategy happened to meet
            for pos in idx.positions(eligible):
                why = self._blocked(pos, state, now)
                if why:
                    self._exclude_blocked(trial, pos, why)
        pick = self._pick(rule, lead, eligible, near, coverage_hits, state, now, trial, attempt)
        if pick is None:
            trial.outcome = "every eligible partner is at a cap"
            return None
        trial.outcome = "chosen"
        return self._offer(lead, ex, pick, trial, state, now, attempt, rule_name=rule.name,
                           ruleset=rule.ruleset, hours=rule.offer_hours, business_hours=rule.business_hours,
                           rep_mode=rule.rep, summary_extra=label or rule.name)

    def _in_territories(self, names: tuple[str, ...], lead: Lead) -> bool:
        territories = self._territories
        for name in names:
            places, postal = territories[name.lstrip("@")]
            if lead.country in places or lead.state in places:
                return True
            if postal and lead.postal_code:
                for c, prefix in postal:
                    if lead.country == c and lead.postal_code.startswith(prefix):
                        return True
            if self.index.fences and self.index.fences.holds(name.lstrip("@"), lead.lat, lead.lon):
                return True  # a drawn shape holding the lead's point (rules/geofence.py)
        return False

    def funnel(self, lead: Lead, rule_name: str) -> list[tuple[str, int]]:
        """How many partners each of a rule's criteria left for `lead`, in order — what
        `leadrouter explain` shows as the eliminations per criterion."""
        rule = self._rules_by_name.get(rule_name)
        if rule is None:
            return []
        steps: list[tuple[str, int]] = []
        Router._candidates(self, rule, lead, RuleTrial(rule.name, rule.ruleset, ""), None, steps)
        return steps

    def _candidates(self, rule: Rule, lead: Lead, trial: RuleTrial, restrict: int | None,
                    steps: list[tuple[str, int]] | None = None) -> tuple[int, dict[str, int]] | None:
        """(partners the rule's matchers admit for this lead, coverage keys hit) — or None with
        trial.outcome saying why not. Postings lookups and bit arithmetic only. `steps`,
        when given, receives (criterion, partners left) after each criterion."""
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
                trial.outcome = "lead has no country"
                return None
            place = (lead.country, lead.state, lead.postal_code)
            if self._coverage_for[0] != place:  # several rules of one decision ask for the same place
                self._coverage_for = (place, idx.coverage_mask(*place))
            cov, coverage_hits = self._coverage_for[1]
            if idx.fences:  # shapes partners cover: the lead's point decides (rules/geofence.py)
                fmask, fhits = idx.fence_mask(lead.lat, lead.lon)
                if fmask:
                    cov, coverage_hits = cov | fmask, {**coverage_hits, **fhits}
            before, last = cand, 1
            cand &= cov
            if steps is not None:
                steps.append((f"cover {_where(m, lead)}", cand.bit_count()))
        if m.industry and cand:
            if not lead.industry:
                trial.outcome = "lead has no industry"
                return None
            before, last = cand, 2
            cand &= idx.industry.get(lead.industry, 0)
            if steps is not None:
                steps.append((f"in industry {lead.industry!r}", cand.bit_count()))
        if m.products and cand:
            if not lead.products:
                trial.outcome = "lead names no products"
                return None
            if m.products == "all":
                before, pstart, last = cand, cand, 3
                for prod in (sorted(lead.products) if steps is not None else lead.products):
                    cand &= idx.product.get(prod, 0)
                    if steps is not None:
                        steps.append((f"sell {prod!r}", cand.bit_count()))
                    if not cand:
                        break
            else:
                before, last = cand, 4
                cand &= idx._any(idx.product, lead.products)
                if steps is not None:
                    steps.append((f"sell any of {', '.join(repr(p) for p in sorted(lead.products))}", cand.bit_count()))
        if m.certified_for_products and cand:
            needed = sorted({c for prod in lead.products or () for c in self.settings.certifications_for_products.get(prod, ())})
            if needed:
                before, last = cand, 5
                cand &= idx._any(idx.certification, needed)
                if steps is not None:
                    steps.append((f"certified for {', '.join(repr(c) for c in needed)}", cand.bit_count()))
            else:
                trial.notes.append("no product of the lead needs a certification")
        if m.language and cand and lead.language:
            before, last = cand, 6
            cand &= idx.language.get(lead.language, 0)
            if steps is not None:
                steps.append((f"speak {lead.language!r}", cand.bit_count()))
        if m.proximity and cand:
            if lead.lat is None or lead.lon is None:
                trial.outcome = "lead has no coordinates"
                return None
        trial.candidates = cand.bit_count()
        if not cand:
            trial.outcome = self._nobody_left(m, lead, last, before, pstart, needed)
            return None
        return cand, coverage_hits

    def _nobody_left(self, m: Match, lead: Lead, last: int, before: int, pstart: int, needed: list[str] | None) -> str:
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
                    what, before = f"not {prod!r}", pstart
                    break
                pstart = left
        else:
            what = {2: lambda: f"not industry {lead.industry!r}",
                    4: lambda: f"none of {', '.join(repr(p) for p in sorted(lead.products))}",
                    5: lambda: f"not certified for {', '.join(repr(c) for c in needed or ())}",
                    6: lambda: f"not speaking {lead.language!r}"}[last]()
        return nobody_left(what, before.bit_count(), f"cover {_where(m, lead)}" if m.geography else "match")

    def _nearby(self, rule: Rule, lead: Lead, eligible: int, trial: RuleTrial, *, lazy: bool) -> Near | None:
        """Eligible partners within the rule's radius (widening it while nobody is found),
        nearest first: a list, or with `lazy` an iterator that measures only as far as read."""
        m = rule.match
        partners = self.index.partners
        ids = self.index.ids
        lat, lon = lead.lat, lead.lon
        if lat is None or lon is None:  # _candidates has said so in the trial
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

    # ================================================================ caps
    def _remember_day(self, state: RoutingState, now: datetime) -> None:
        """Today's offer counts, looked up once per decision instead of once per candidate."""
        if now is not self._day_for:
            self._day_for, self._day = now, day_key(now)
        self._day_counts = state.daily.get(self._day) or {}

    def _blocked(self, pos: int, state: RoutingState, now: datetime) -> str | None:
        pid, cap, daily = self._caps[pos]
        if cap is not None:
            n = state.open_offers.get(pid, 0)
            if n >= cap:
                return f"at capacity ({n}/{cap} open offers)"
        if daily is not None:
            n = state.today_count(pid, now) if now is not self._day_for else self._day_counts.get(pid, 0)
            if n >= daily:
                return f"at daily cap ({n}/{daily} today)"
        return None

    def _exclude_blocked(self, trial: RuleTrial, pos: int, why: str) -> None:
        kind = "at capacity" if why.startswith("at capacity") else "at daily cap"
        trial.exclude(self.index.ids[pos], kind, why)

    # ================================================================ strategies
    def _pick(self, rule: Rule, lead: Lead, eligible: int, near: Near | None, coverage_hits: dict[str, int],
              state: RoutingState, now: datetime,
              trial: RuleTrial, attempt: int) -> _Pick | None:
        idx = self.index
        if rule.prefer_incumbent:
            pid = state.incumbent(lead.company, lead.email_domain or (lead.email or "").rpartition("@")[2])
            if pid is not None:
                pos = idx.pos.get(pid)
                if pos is None or not (eligible >> pos) & 1:
                    trial.notes.append(f"incumbent {self._name(pid)} is not eligible for this rule")
                else:
                    why = self._blocked(pos, state, now)
                    if why:
                        trial.notes.append(f"incumbent {self._name(pid)} is {why}")
                    else:
                        return _Pick(pos, "incumbent: already works this company", {})
        strategy = rule.distribute
        if strategy == "nearest":
            chosen = None
            for d, pos in near or ():
                if chosen is None:
                    why = self._blocked(pos, state, now)
                    if why:
                        self._exclude_blocked(trial, pos, why)
                        continue
                    chosen = _Pick(pos, f"nearest ({d:.0f} km)", {})
                trial.scores.append({"partner_id": idx.ids[pos], "km": round(d, 1)})
                if len(trial.scores) == 3:
                    break
            return chosen
        if strategy == "predictive":
            found = self.learner.pick(self, rule, lead, eligible, state, now, trial, attempt)
            return _Pick(found[0], found[1], {}) if found else None
        if strategy == "weighted":
            return self._weighted(rule, lead, eligible, state, now, trial, attempt)
        if strategy == "best_fit" and _unit(lead.id, rule.name, attempt, "floor") >= self.settings.best_fit_floor:
            return self._scored(rule, lead, eligible, coverage_hits, near, state, now, trial, best_fit=True)
        if strategy == "least_loaded":
            return self._scored(rule, lead, eligible, coverage_hits, near, state, now, trial, best_fit=False)
        if strategy == "round_robin":
            return self._rotate(rule.name, eligible, state, now, trial, "round robin")
        # best fit's floor share: a rotation of its own, so every eligible partner gets a turn
        return self._rotate(f"{rule.name}|floor", eligible, state, now, trial, "best fit floor: round robin")

    def _rotate(self, key: str, eligible: int, state: RoutingState, now: datetime, trial: RuleTrial,
                how: str) -> _Pick | None:
        start = self.index.position_before(state.rotation.get(key))
        caps, open_get, day_get = self._caps, state.open_offers.get, self._day_counts.get
        fast = now is self._day_for  # today's counts are at hand: test the caps inline
        for pos in rotation(eligible, start):
            pid, cap, daily = caps[pos]
            if fast and (cap is None or open_get(pid, 0) < cap) and (daily is None or day_get(pid, 0) < daily):
                return _Pick(pos, how, {key: pid})
            why = self._blocked(pos, state, now)  # capped (or no fast path): it says why
            if why:
                self._exclude_blocked(trial, pos, why)
                continue
            return _Pick(pos, how, {key: pid})
        return None

    def _weighted(self, rule: Rule, lead: Lead, eligible: int, state: RoutingState, now: datetime,
                  trial: RuleTrial, attempt: int) -> _Pick | None:
        idx = self.index
        classes: list[tuple[str, float, int, int]] = []  # (class, weight, partners, how many)
        if rule.weight_by == "tier":
            rest = eligible
            for tier in idx.tier_order:
                m = eligible & idx.tier[tier]
                if m:
                    rest ^= m
                    classes.append((tier, float(self.settings.tier_weights.get(tier, 1.0)), m, m.bit_count()))
            if rest:
                classes.append(("(no tier)", 1.0, rest, trial.eligible - sum(n for *_, n in classes)))
        else:
            for w in idx.weight_order:
                m = eligible & idx.weight[w]
                if m:
                    classes.append((f"{w:g}", w, m, m.bit_count()))
        draw = _unit(lead.id, rule.name, attempt)
        trial.scores = [{"class": c, "weight": w, "partners": n} for c, w, _, n in classes]
        while classes:
            total = sum(w * n for _, w, _, n in classes if w > 0)
            if total <= 0:
                return None
            x = draw * total
            i = -1  # total > 0: some class has weight, so the loop sets it
            for j, (_, w, _, n) in enumerate(classes):
                if w > 0:
                    i = j  # the last class with weight, should rounding leave x just above 0
                    x -= w * n
                    if x < 0:
                        break
            c, w, m, n = classes[i]
            pick = self._rotate(f"{rule.name}|{c}", m, state, now, trial, f"weighted by {rule.weight_by} ({c}: {w:g})")
            if pick:
                return pick
            del classes[i]
        return None

    def _scored(self, rule: Rule, lead: Lead, eligible: int, coverage_hits: dict[str, int], near: Near | None,
                state: RoutingState, now: datetime, trial: RuleTrial, *, best_fit: bool) -> _Pick | None:
        idx = self.index
        key = rule.name
        start = idx.position_before(state.rotation.get(key))
        window = self.settings.window if self.settings.window > 0 else None
        distance = {pos: d for d, pos in near} if near else {}
        scored: list[tuple[float, int, int, Any]] = []
        open_get, day_get = state.open_offers.get, self._day_counts.get
        nominal = self.settings.max_open_offers or 10  # capacity assumed for a partner without one
        caps = self._caps
        fast = now is self._day_for  # today's counts are at hand: test the caps inline
        for order, pos in enumerate(rotation(eligible, start)):
            pid, cap, daily = caps[pos]
            n = open_get(pid, 0)
            if not (fast and (cap is None or n < cap) and (daily is None or day_get(pid, 0) < daily)):
                why = self._blocked(pos, state, now)
                if why:
                    self._exclude_blocked(trial, pos, why)
                    continue
            if best_fit:
                detail = self._fit(rule, lead, pos, coverage_hits, distance.get(pos), state)
                scored.append((detail[0], -order, pos, detail))
            else:
                if cap is None:
                    cap = nominal
                load = n / cap if cap else 1.0
                scored.append((-load, -order, pos, (n, cap, load)))
            if window and len(scored) >= window:
                break
        if not scored:
            return None
        # best first; -order is unique, so the tuples never compare beyond it (ties: rotation order)
        scored.sort(reverse=True)
        ids, partners = idx.ids, idx.partners
        if best_fit:
            trial.scores = [{"partner_id": ids[pos], "name": partners[pos].name, **self._fit_detail(d)}
                            for _, _, pos, d in scored[:3]]
        else:
            trial.scores = [{"partner_id": ids[pos], "name": partners[pos].name, "open": d[0], "capacity": d[1],
                             "load": round(d[2], 3)} for _, _, pos, d in scored[:3]]
        score, _, pos, detail = scored[0]
        how = f"best fit (score {score:.2f})" if best_fit else f"least loaded ({detail[0]}/{detail[1]} open)"
        return _Pick(pos, how, {key: idx.ids[pos]})

    def _fit(self, rule: Rule, lead: Lead, pos: int, coverage_hits: dict[str, int], km: float | None,
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
    def _fit_detail(fit: tuple[float, float, float, float, float]) -> dict[str, Any]:
        score, match, acceptance, conversion, response = fit
        return {"score": round(score, 4), "match": round(match, 3), "acceptance": round(acceptance, 3),
                "conversion": round(conversion, 3), "response": round(response, 3)}

    # ================================================================ outcomes
    def _pool(self, rule: Rule, pool: str, lead: Lead, eligible: int, trial: RuleTrial, ex: Explanation, now: datetime,
              attempt: int, state: RoutingState) -> Decision | None:
        queue_id = self._queue(pool)
        barred = state.declined(lead.id).get(queue_id or "") if queue_id else None
        if barred:  # a pool is an offer target like a partner: one that let the lead lapse is not asked again
            trial.outcome = f"pool {pool} already {barred} this lead"
            return None
        members = self.index.pool_members.get(pool)
        if members:  # the org told us who is in the queue: someone in it must be eligible
            eligible &= members
            if not eligible:
                trial.outcome = f"no eligible partner is a member of {pool}"
                return None
        trial.outcome = "pool"
        trial.eligible = eligible.bit_count()
        deadline = self._deadline(now, rule.offer_hours, rule.business_hours, None, ex)
        summary = f"{rule.name}: pool {pool}, {trial.eligible} eligible partner(s) may pull it"
        ex.chosen = {"pool": pool, "eligible": trial.eligible}
        return self._finish(lead, ex, DecisionKind.POOL, attempt, now, summary, rule=rule.name, ruleset=rule.ruleset,
                            queue_id=queue_id, deadline=deadline)

    def _offer(self, lead: Lead, ex: Explanation, pick: _Pick, trial: RuleTrial | None, state: RoutingState,
               now: datetime, attempt: int, *, rule_name: str, ruleset: str | None, hours: float,
               business_hours: bool, rep_mode: str, summary_extra: str) -> Decision:
        idx = self.index
        p = idx.partners[pick.pos]
        rep = None
        reps = idx.active_reps[pick.pos]
        if rep_mode == "rotate" and reps:
            last = state.rep_rotation.get(p.id)
            rep = reps[bisect_right(idx.active_rep_ids[pick.pos], last) % len(reps) if last else 0]
        deadline = self._deadline(now, hours, business_hours, p.time_zone, ex)
        ex.rotation.update(pick.rotation)
        ex.chosen = {"partner_id": p.id, "partner": p.name, "rep_id": rep.id if rep else None, "how": pick.how}
        counts = ""
        if trial is not None:
            counts = f"; {trial.eligible} eligible"
            excluded = trial.excluded_total
            if excluded:
                counts += f", {excluded} excluded"
        summary = f"{summary_extra or rule_name}: {p.name} — {pick.how}{counts}"
        return self._finish(lead, ex, DecisionKind.OFFER, attempt, now, summary, rule=rule_name, ruleset=ruleset,
                            partner_id=p.id, rep_id=rep.id if rep else None, deadline=deadline)

    def _deadline(self, now: datetime, hours: float, business_hours: bool, time_zone: str | None,
                  ex: Explanation) -> datetime:
        if now is not self._deadlines_for:  # a run offers its whole batch at one `now`
            self._deadlines_for, self._deadlines = now, {}
        key = (hours, business_hours, time_zone)
        hit = self._deadlines.get(key)
        if hit is not None:
            return hit
        try:
            deadline = offer_deadline(now, hours, business_hours=business_hours, time_zone=time_zone,
                                      workday=self.settings.workday, weekdays=self.settings.weekdays)
        except ValueError as exc:
            ex.notes.append(f"{exc}; offer window counted in UTC")
            return self._deadline(now, hours, business_hours, None, ex)
        self._deadlines[key] = deadline
        return deadline

    def _finish(self, lead: Lead, ex: Explanation, kind: DecisionKind, attempt: int, now: datetime, summary: str, *,
                rule: str | None = None, ruleset: str | None = None, partner_id: str | None = None,
                rep_id: str | None = None, queue_id: str | None = None, deadline: datetime | None = None) -> Decision:
        ex.kind = _KIND_TEXT[kind]
        ex.summary = summary
        if ruleset and not ex.ruleset:
            ex.ruleset = ruleset
        return Decision(
            lead_id=lead.id, kind=kind, reason=summary if len(summary) <= REASON_MAX else clip(summary), rule=rule,
            ruleset=ruleset or ex.ruleset, partner_id=partner_id, rep_id=rep_id, queue_id=queue_id,
            offered_at=now if kind in _OFFERED else None,
            deadline=deadline, attempt=attempt, explanation=ex.to_dict(),
        )

    def _queue(self, name: str) -> str | None:
        if name in self.queue_ids:
            return self.queue_ids[name]
        pool = self.index.pools.get(name)
        return pool.id if pool else None

    def _name(self, partner_id: str) -> str:
        p = self.index.partner(partner_id)
        return p.name if p else partner_id


def _where(m: Match, lead: Lead) -> str:
    """The place a rule's coverage is asked about: its territories, else the lead's state or country."""
    return ", ".join(m.territories) if m.territories else (lead.state or lead.country or "?")


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


_DEFAULT_HAND_DOWN: Rule  # set below, needs a compiled "true" condition


def _default_hand_down() -> Rule:
    from rules.book import Match
    from rules.expressions import Compiler
    from rules.model import Partner
    from rules.expressions import schema_of
    true = Compiler(schema_of(Partner), with_time=False).compile("true")
    return Rule(name="hand_down", ruleset="hand_down", when=true, partners=true, match=Match())


_DEFAULT_HAND_DOWN = _default_hand_down()

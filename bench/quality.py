#!/usr/bin/env python
"""Routing quality against an oracle: does the predictive strategy learn the market?

    python bench/quality.py --leads 20000 --partners 200 [--seeds 5] [--jobs 2] [--json]

For each market shape (sandbox/market.py: quality following tier, independent of tier,
against tier, drifting mid-run) and seed, the same leads arrive (150 a day, in order)
and are routed three ways, in process — the routing engine and the market directly,
no HTTPS:

- `predictive`: rules.Router with `distribute = "predictive"` (rules/predictive.py),
  learning only from outcomes: answers when the partner gives them (after its response
  time), conversions when the accepted lead closes (5–30 days later);
- `round_robin`: the same router and rule with `distribute = "round_robin"`;
- `oracle`: reads the market's hidden chances (accept × convert, at the partner's
  current load) and offers each lead to the best eligible partner — same eligibility
  (the partner covers the lead's country), same caps (Capacity__c open leads), same
  three attempts;
- `partner_oracle`: the same, but knowing only each partner's true average conversion
  (over its region's leads, before and after any drift) and its true acceptance at its
  load — not its per-segment affinities. What a learner could reach that learns each
  partner well but no segment: the share of the oracle's edge that is learnable from
  20,000 leads over 200 partners (≈ 8 offers per partner and industry).

`--profile` adds policies that say where the learner's shortfall comes from (each a
ratio to the oracle in `profile`):

- `oracle_no_industry`, `oracle_no_product_size`, `oracle_no_segments`: the oracle with
  those parts of the truth withheld (what knowing each is worth — the learner has to
  learn it from about 8 outcomes per partner and industry);
- `priced_oracle`: the oracle with capacity as a price: a partner's value for a lead is
  its chance less PRICE × the lead's best chance × (its open load / its true capacity)²,
  so a partner nearing capacity keeps it for the leads it converts clearly better than
  the rest, where the greedy oracle spends it on whichever lead comes first (above 1: the
  greedy oracle is not the ceiling; a learner could beat it on what it knows);
- `floor_oracle`: the truth through the predictive strategy itself — its caps, its
  "no capacity" marks and its fairness floor (what the floor and the mechanics cost);
- `convert_known`: the predictive strategy told each partner's true chance to convert,
  learning acceptance and capacity itself, choosing greedily (what the learner loses on
  acceptance and capacity alone);
- `closes_at_once`: the learner proper, but it hears whether an accepted lead converted
  the moment the lead is accepted, not 5–30 days later (what the wait for outcomes costs:
  a learner that must learn, with all the evidence as early as it could ever come).

A declined or lapsed offer goes to the next choice at once (attempt 2, 3). Printed, averaged
over seeds and shapes: `oracle_ratio` (predictive conversions / oracle's), `lift_over_round_robin`
(predictive / round robin − 1), `min_share_of_fair` (the least-served partner's offers /
its fair share: for each offer it could have taken — it covered the lead, had not
declined it, was below its cap — 1 / the number who could), and the same per shape.
`oracle_ratio_after_warmup` is the ratio over the leads after the first 30 % of the run
(6,000 of 20,000: 40 days). It is not the bar. It separates the learner's steady state
from its start: for the first two weeks no accepted lead has closed, so nothing says
which partner converts better, and every learner routes about as well as round robin.

`--affinity` scales the partners' own segment affinities (default 1: a partner's best
industry converts ~2.5× its worst); at 0 partners differ only overall.

Runtime: 20 market runs × 4 policies × 20,000 leads ≈ 1,200 CPU seconds since the learner
refits a logistic model (≈ 50 CPU s a run, 14 before; the rest ≈ 9 s): 539 s measured on
2 idle cores (`--jobs 2`, one process per core, 2026-12-06); all CPU, no network. Measured
20 minutes wall with `--jobs 1` on the 2 cores shared with other work (load 4–7).
`--seeds 1 --shapes independent` takes about a minute.
"""
from __future__ import annotations

import argparse
import heapq
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from rules import PartnerIndex, Router, RoutingState, load_rules  # noqa: E402
from rules.model import Decision, DecisionKind, Lead, Partner, Rep  # noqa: E402
from rules.performance import OutcomeEvent  # noqa: E402
from rules.predictive import Predictor  # noqa: E402
from sandbox.market import SHAPES, Market  # noqa: E402

QUEUES = {"Channel_Escalations": "00G000000000001AAA"}
MAX_ATTEMPTS = 3
WARMUP = 0.3  # oracle_ratio_after_warmup: the leads after this share of the run (6,000 of 20,000: 40 days)
LEARNER: dict = {}  # Predictor settings (the defaults)
RULES = """
[settings]
business_hours = false
deal_registration = false
max_attempts = 3

[[ruleset]]
name = "Market"
otherwise = "unroutable"

  [[ruleset.rule]]
  name = "By country"
  match = {{ geography = true }}
  distribute = "{strategy}"
"""


def _partners(market: Market) -> list[Partner]:
    out = []
    for p in market.partner_records():
        out.append(Partner(id=p["id"], name=p["name"], tier=p["tier"], programs=p["programs"],
                           industries=p["industries"], products=p["products"], coverage=p["countries"],
                           capacity=p["capacity"], reps=(Rep(id="005" + p["id"][3:], partner_id=p["id"]),)))
    return out


def _lead(rec: dict) -> Lead:
    return Lead(id=rec["id"], company=f"Company {rec['id'][-6:]}", country=rec["country"], industry=rec["industry"],
                products=rec["products"], employees=rec["employees"], source=rec["source"], amount=rec["amount"],
                created=rec["arrival"].replace(tzinfo=timezone.utc))


WITHHOLD = {"oracle": frozenset(), "oracle_no_industry": frozenset({"industry"}),
            "oracle_no_product_size": frozenset({"product", "size"}),
            "oracle_no_segments": frozenset({"industry", "product", "size"}), "priced_oracle": frozenset()}
PRICE = 0.8  # priced_oracle: the price of a partner at its true capacity, as a share of the lead's best chance
PROFILE = ("priced_oracle", "oracle_no_industry", "oracle_no_product_size", "oracle_no_segments", "floor_oracle", "convert_known",
           "closes_at_once")


class _Told(Predictor):
    """The predictive strategy told parts of the market's truth instead of estimating them
    (--profile only: the learner proper never reads the market)."""

    def __init__(self, market: Market, leads: list[dict], tell: str, **settings):
        super().__init__(**settings)
        self.market, self.tell = market, tell
        self.recs = {r["id"]: r for r in leads}
        if tell == "all":
            self.capacity = {pid: market._truth[pid].capacity for pid in market._truth}

    def observe(self, event, partner=None):
        if self.tell != "all":
            super().observe(event, partner)

    def _estimates(self, partner_ids, tiers, lead, claimed):
        a, c, _, sd, evidence = super()._estimates(partner_ids, tiers, lead, claimed)
        rec = self.recs[lead.id]
        truth = [self.market.chances(pid, rec, lead.created) for pid in partner_ids]
        c = np.array([t[1] for t in truth])
        if self.tell == "all":
            a = np.array([t[0] for t in truth])
            sd = np.zeros(len(truth))
        return a, c, a * c, sd, evidence


def run(market: Market, policy: str, leads: list[dict], seed: int) -> dict:
    """One policy over the market's leads: conversions, and offers vs fair share per partner."""
    partners = _partners(market)
    by_country: dict[str, list[str]] = {}
    by_id = {p.id: p for p in partners}
    cap = {p.id: p.capacity for p in partners}
    for p in partners:
        for c in p.coverage:
            by_country.setdefault(c, []).append(p.id)
    state = RoutingState()
    learner = Predictor(seed=seed, **LEARNER) if policy in ("predictive", "closes_at_once") else None
    if policy == "floor_oracle":
        learner = _Told(market, leads, "all", seed=seed, **LEARNER)
    elif policy == "convert_known":
        learner = _Told(market, leads, "convert", seed=seed, **{**LEARNER, "explore": 0.0})
    router = None
    average = _partner_averages(market, leads) if policy == "partner_oracle" else None
    direct = policy in WITHHOLD or policy == "partner_oracle"
    if not direct:
        strategy = "round_robin" if policy == "round_robin" else "predictive"
        book = load_rules(text=RULES.format(strategy=strategy))
        router = Router(book, PartnerIndex.build(partners, book), queue_ids=QUEUES, learner=learner)
    events: list = []  # (time, seq, what, payload): answers the learner hears later, closes
    seq = 0
    conversions = 0
    revenue = 0.0
    unplaced = 0
    accepted = 0
    declines: dict[str, int] = {}
    offers: dict[str, int] = {}
    fair: dict[str, float] = {}
    warm = int(len(leads) * WARMUP)
    late = 0  # conversions of the leads after the warm-up
    for i, rec in enumerate(leads):
        now = rec["arrival"].replace(tzinfo=timezone.utc)
        while events and events[0][0] <= now:
            at, _, what, payload = heapq.heappop(events)
            if what in ("close", "closed"):
                lead, pid, close = payload
                if what == "close":
                    state.record_outcome(lead.id, pid, "closed", at)
                if learner and (what == "closed" or policy != "closes_at_once"):
                    learner.observe(OutcomeEvent(pid, "converted" if close.converted else "lost", at, lead.id,
                                                 amount=close.revenue, lead=lead), by_id[pid])
            elif learner:
                learner.observe(payload, by_id[payload.partner_id])
        lead = _lead(rec)
        declined: set[str] = set()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            could = [pid for pid in by_country.get(rec["country"], ())
                     if pid not in declined and state.open_offers.get(pid, 0) < cap[pid]]
            if direct:
                best = None
                values = []
                for pid in could:
                    a, c = market.chances(pid, rec, now, state.open_offers.get(pid, 0), WITHHOLD.get(policy, frozenset()))
                    if average is not None:
                        c = average[pid][now >= market.drift_time]
                    values.append((a * c, pid))
                if policy == "priced_oracle" and values:
                    # capacity as a price: a partner nearing its true capacity keeps it for the leads
                    # it converts clearly better than the rest (what greedy spends on any lead)
                    top = max(v for v, _ in values)
                    values = [(v - PRICE * top * min(state.open_offers.get(pid, 0) / market._truth[pid].capacity, 1.0) ** 2,
                               pid) for v, pid in values]
                for v, pid in values:
                    if best is None or v > best[0]:
                        best = (v, pid)
                decision = Decision(lead.id, DecisionKind.OFFER, "oracle", rule="oracle", attempt=attempt,
                                    partner_id=best[1]) if best else None
            else:
                decision = router.decide(lead, state, now, attempt=attempt)
            if decision is None or decision.kind is not DecisionKind.OFFER:
                unplaced += 1
                break
            pid = decision.partner_id
            load = state.open_offers.get(pid, 0)
            state.record_offer(decision, now)
            if learner:
                learner.record_offer(decision)
            offers[pid] = offers.get(pid, 0) + 1
            for other in could:
                fair[other] = fair.get(other, 0.0) + 1 / len(could)
            answer = market.answer(pid, rec, now, load, attempt)
            heard = now + timedelta(hours=answer.hours)
            seq += 1
            heapq.heappush(events, (heard, seq, "answer", OutcomeEvent(pid, answer.outcome, heard, lead.id,
                                                                       offered_at=now, reason=answer.reason,
                                                                       lead=lead)))
            if answer.outcome == "accepted":
                state.record_outcome(lead.id, pid, "accepted", now)
                close = market.close(pid, rec, now)
                accepted += 1
                conversions += close.converted
                late += close.converted and i >= warm
                revenue += close.revenue
                seq += 1
                heapq.heappush(events, (now + timedelta(days=close.days), seq, "close", (lead, pid, close)))
                if policy == "closes_at_once":  # the learner hears the outcome now; the lead stays open till it closes
                    seq += 1
                    heapq.heappush(events, (now, seq, "closed", (lead, pid, close)))
                break
            state.record_outcome(lead.id, pid, answer.outcome, now)
            why = answer.reason or answer.outcome
            declines[why] = declines.get(why, 0) + 1
            declined.add(pid)
    shares = [offers.get(pid, 0) / f for pid, f in fair.items() if f >= 5]
    return {"conversions": conversions, "conversions_after_warmup": late, "revenue": round(revenue, 2),
            "unplaced": unplaced, "accepted": accepted,
            "declines": dict(sorted(declines.items())),
            "min_share_of_fair": round(min(shares), 3) if shares else None}


def _partner_averages(market: Market, leads: list[dict]) -> dict[str, tuple[float, float]]:
    """Each partner's true conversion chance averaged over (a sample of) its region's leads:
    (before the drift point, after it)."""
    sample: dict[str, list[dict]] = {}
    for rec in leads[:4000]:
        sample.setdefault(rec["region"], []).append(rec)
    before, after = market.start, market.drift_time
    out = {}
    for p in market.partner_records():
        mine = sample.get(p["region"], [])
        out[p["id"]] = tuple(sum(market.chances(p["id"], r, at)[1] for r in mine) / max(len(mine), 1)
                             for at in (before, after))
    return out


def one_market(args: tuple[str, int, int, int, float, bool]) -> dict:
    shape, seed, n_leads, n_partners, affinity, profile = args
    market = Market(seed=seed, shape=shape, partners=n_partners, leads=n_leads, affinity=affinity)
    leads = market.lead_records()
    t0 = time.process_time()
    out = {"shape": shape, "seed": seed}
    for policy in ("oracle", "partner_oracle", "round_robin", "predictive") + (PROFILE if profile else ()):
        out[policy] = run(market, policy, leads, seed)
    out["cpu_s"] = round(time.process_time() - t0, 1)
    return out


def summarise(runs: list[dict]) -> dict:
    def figures(rs: list[dict]) -> dict:
        ratio = [r["predictive"]["conversions"] / r["oracle"]["conversions"] for r in rs]
        lift = [r["predictive"]["conversions"] / r["round_robin"]["conversions"] - 1 for r in rs]
        share = [r["predictive"]["min_share_of_fair"] for r in rs]
        rr_ratio = [r["round_robin"]["conversions"] / r["oracle"]["conversions"] for r in rs]
        partner_ratio = [r["predictive"]["conversions"] / r["partner_oracle"]["conversions"] for r in rs]
        warm = [r["predictive"]["conversions_after_warmup"] / max(r["oracle"]["conversions_after_warmup"], 1)
                for r in rs]
        out = {"oracle_ratio": round(sum(ratio) / len(ratio), 3),
                "oracle_ratio_after_warmup": round(sum(warm) / len(warm), 3),
                "lift_over_round_robin": round(sum(lift) / len(lift), 3),
                "min_share_of_fair": round(sum(share) / len(share), 3),
                "worst_min_share_of_fair": min(share),
                "round_robin_oracle_ratio": round(sum(rr_ratio) / len(rr_ratio), 3),
                "partner_oracle_ratio": round(sum(partner_ratio) / len(partner_ratio), 3),
                "conversions": {p: round(sum(r[p]["conversions"] for r in rs) / len(rs), 1)
                                for p in ("oracle", "partner_oracle", "predictive", "round_robin")}}
        if PROFILE[0] in rs[0]:
            out["profile"] = {p: round(sum(r[p]["conversions"] / r["oracle"]["conversions"] for r in rs) / len(rs), 3)
                              for p in PROFILE}
        return out

    out = figures(runs)
    out["per_shape"] = {s: figures([r for r in runs if r["shape"] == s]) for s in SHAPES if any(r["shape"] == s for r in runs)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=20_000)
    ap.add_argument("--partners", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--affinity", type=float, default=1.0,
                    help="scale of partners' own segment affinities in the market (default 1; 0 = partners differ "
                         "only overall)")
    ap.add_argument("--profile", action="store_true",
                    help="also run oracles with parts of the truth withheld and the strategy told parts of it: "
                         "where the shortfall comes from (about 1.6× the runtime)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    tasks = [(shape, seed, args.leads, args.partners, args.affinity, args.profile) for shape in shapes
             for seed in range(1, args.seeds + 1)]
    t0 = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            runs = list(pool.map(one_market, tasks))
    else:
        runs = [one_market(t) for t in tasks]
    result = {"leads": args.leads, "partners": args.partners, "seeds": args.seeds, "shapes": shapes,
              "affinity": args.affinity, "floor": Predictor().floor,
              **summarise(runs), "wall_s": round(time.perf_counter() - t0, 1)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"routing quality — {args.leads:,} leads, {args.partners} partners, {args.seeds} seeds × {len(shapes)} shapes")
    for key in ("oracle_ratio", "oracle_ratio_after_warmup", "lift_over_round_robin", "min_share_of_fair",
                "round_robin_oracle_ratio", "partner_oracle_ratio"):
        print(f"  {key:26} {result[key]}")
    for shape, f in result["per_shape"].items():
        print(f"  {shape:14} oracle {f['oracle_ratio']:.3f} (after warm-up {f['oracle_ratio_after_warmup']:.3f})  lift {f['lift_over_round_robin']:+.3f}  "
              f"min share {f['min_share_of_fair']:.2f}  conversions {f['conversions']}")
        if "profile" in f:
            print(" " * 17 + "  ".join(f"{k} {v:.3f}" for k, v in f["profile"].items()))
    print(f"  wall {result['wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`leadrouter backtest --rules a.toml [--rules b.toml …] [--since 90d] [--json]`: before
deploying a rule change, replay the leads of the last days through each rule file and
compare, side by side, with what really happened.

What is replayed: every lead our state database read in the window (its record as last
read, through the current mappings), oldest first, each decided at its creation time by a
router built on today's partner snapshot, one attempt each, from empty counters. An offer
counts as answered at once, so open-offer caps do not bind in a replay (daily caps do).

What is counted per rule file: leads, offered, pooled, escalated or to a fallback queue,
unroutable; coverage (offered or pooled / leads); expected acceptance and conversions —
counterfactual, from the predictive learner rebuilt from the same history (jobs/learning),
so a rule file that sends leads to partners who accept and convert more scores higher;
expected hours to accept (each chosen partner's median, from its performance facts);
fairness: the Gini coefficient of offers over the partners that could have had one (they
cover the lead's country) and the least-served such partner's offers / its fair share
(for each lead it covered, 1 / how many covered it). The column "as routed" is the
offers table's own record for the same window: actual acceptance, actual conversions.

Where a rule file prefers incumbents, each replay learns who worked which company as the
connector did, each fact from its own time on, never later (jobs/replay_incumbents), and
every file's column counts its offers to the incumbent.

The learner is fitted to the very history it scores (in-sample): a comparison of rule
files, not a forecast. Nothing is written anywhere.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from jobs import incumbents, learning, performance
from jobs.replay_incumbents import Fact, Walk, known
from jobs.state.schema import leads as LEADS
from jobs.timeutil import as_utc
from rules.model import DecisionKind, Lead, Partner
from rules.predictive import Predictor, tuning
from rules.state import RoutingState, lead_domain
from rules.values import LEAD_SCORE

_SINCE = re.compile(r"^(\d+)([dhw])$")
_UNITS = {"d": "days", "h": "hours", "w": "weeks"}


MAX_SINCE = timedelta(days=3650)


def parse_since(text: str) -> timedelta:
    m = _SINCE.match(text.strip())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"--since {text!r}: give a number of days, hours or weeks, e.g. 90d, 36h or 4w")
    # a window past ten years reads nothing more (the org keeps field history for less) and
    # a huge number would overflow the date arithmetic
    n, unit = int(m.group(1)), _UNITS[m.group(2)]
    if n > MAX_SINCE / timedelta(**{unit: 1}):
        raise ValueError(f"--since {text!r}: at most {MAX_SINCE.days}d (ten years); e.g. 90d")
    return timedelta(**{unit: n})


def register(sub: Any) -> None:
    p = sub.add_parser(
        "backtest", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="replay recent leads through one or more rule files and compare expected conversions, acceptance, "
             "fairness and coverage side by side (and offers to the incumbent, where a rule prefers incumbents)",
        epilog="examples:\n  leadrouter backtest --rules rules.toml --rules proposed.toml\n"
               "  leadrouter backtest --rules proposed.toml --since 30d --json")
    p.add_argument("--config", default=os.environ.get("LEADROUTER_CONFIG", "leadrouter.toml"),
                   help="the TOML config (default: $LEADROUTER_CONFIG or leadrouter.toml)")
    p.add_argument("--rules", type=Path, action="append", required=True,
                   help="a rule file to replay (repeat to compare several)")
    p.add_argument("--since", default="90d", help="how far back: 90d (default), 36h, 4w")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from jobs.commands import _load as load_config_or_exit
    from jobs.ops.context import open_context, why_no_live_store
    from rules.errors import RulesError

    try:
        window = parse_since(args.since)
    except ValueError as e:
        print(f"leadrouter backtest: {e}", file=sys.stderr)
        return 2
    loaded = load_config_or_exit(args)
    with open_context(loaded) as ctx:
        cx = ctx.connector
        if ctx.live_store is None:
            from jobs.commands import EXIT_STATE

            print(f"leadrouter backtest: nothing to replay: state database problem\n{why_no_live_store(loaded)}",
                  file=sys.stderr)
            return EXIT_STATE
        books = []
        for path in args.rules:
            try:
                books.append((str(path), load_book(path, cx.mappings)))
            except (RulesError, OSError) as e:
                print(f"leadrouter backtest: {e}", file=sys.stderr)
                return 2
        with ctx.live_store.connect() as conn:
            result = compare(cx, conn, books, cx.clock.now(), window)
    if args.json:
        print(json.dumps(result, default=str))
    else:
        from jobs.printable import for_terminal

        print(for_terminal(render(result)))
    return 0


def load_book(path: Path, mappings: Any) -> Any:
    """A rule file as the connector loads it: with the lead score and the performance facts."""
    from rules import load_rules

    return load_rules(path, lead_attributes={**performance.LEAD_ATTRIBUTES, **mappings.lead_attribute_types()},
                      partner_attributes={**performance.PARTNER_ATTRIBUTES, **mappings.partner_attribute_types()})


def compare(cx: Any, conn: Connection, books: list[tuple[str, Any]], now: datetime, window: timedelta) -> dict:
    """The figures per rule file and as routed; `conn` reads the state database (read only)."""
    since = now - window
    to_lead = cx.mappings.lead_converter()
    leads = history(conn, to_lead, since)
    base = cx.routing()
    partners: dict[str, Partner] = base.partners
    field = performance.lead_partner_field(cx.mappings)
    learner = learning.rebuild(conn, cx.client, partners, to_lead, now, partner_field=field)
    facts = performance.facts(conn, cx.client, now, cx.book.settings.calendar, cx.mappings.currencies, field)
    out: dict[str, Any] = {"since": since.isoformat(), "until": now.isoformat(), "leads": len(leads),
                           "as_routed": as_routed(conn, cx.client, since, field), "rule_files": {}}
    # who worked which company when: read only where a rule file prefers incumbents (an
    # Opportunity query nothing would read otherwise), then replayed beside every file's
    # leads, so each says how many of its offers went to the incumbent
    worked = known(cx, conn, to_lead, since, now) if any(incumbents.wanted(b) for _, b in books) else None
    for name, book in books:
        # each rule file's own fairness_floor and accept_weight: the backtest compares them too
        out["rule_files"][name] = replay(cx, book, leads, Predictor.from_dict(learner.to_dict(), **tuning(book.settings)),
                                         facts, worked)
    return out


def history(conn: Connection, to_lead: Any, since: datetime) -> list[Lead]:
    """The leads read since `since`, oldest first."""
    out = []
    for r in conn.execute(select(LEADS.c.lead_id, LEADS.c.record, LEADS.c.updated_at)):
        if not r.record:
            continue
        lead = to_lead(r.record)
        if not isinstance(lead, Lead):
            continue
        at = as_utc(lead.created or r.updated_at)
        if at >= since:
            lead.created = at
            out.append(lead)
    return sorted(out, key=lambda ld: (ld.created, ld.id))


def replay(cx: Any, book: Any, leads: Iterable[Lead], learner: Predictor, facts: dict[str, Any],
           worked: list[Fact] | None = None) -> dict:
    """`worked`: who worked which company when (jobs/replay_incumbents), None where no rule
    file prefers incumbents."""
    from jobs.ops.dryrun import routing_with

    routing = routing_with(cx, book)
    router = routing.router
    router.learner = learner  # one learner for every rule file: the same beliefs score each
    by_country: dict[str, list[str]] = {}
    for p in routing.partners.values():
        for c in p.coverage:
            by_country.setdefault(c, []).append(p.id)
    state = RoutingState()
    walk = Walk(worked) if worked is not None else None
    to_incumbent = 0
    kinds: dict[str, int] = {}
    offers: dict[str, int] = {}
    fair: dict[str, float] = {}
    accept, chance, hours = [], [], []
    n = 0
    for lead in leads:
        n += 1
        at = lead.created
        lead.extra[LEAD_SCORE] = learner.score(lead)
        if walk is not None:
            walk.until(state, at)
        d = router.decide(lead, state, at, attempt=1)
        state.record_offer(d, at)
        learner.record_offer(d)
        kinds[d.kind.value] = kinds.get(d.kind.value, 0) + 1
        covering = by_country.get(lead.country or "", [])
        for pid in covering:
            fair[pid] = fair.get(pid, 0.0) + 1 / len(covering)
        if d.kind is DecisionKind.OFFER and d.partner_id:
            state.record_outcome(lead.id, d.partner_id, "closed", at)  # answered at once: no cap binds
            offers[d.partner_id] = offers.get(d.partner_id, 0) + 1
            if walk is not None and state.incumbent(lead.company, lead_domain(lead)) == d.partner_id:
                to_incumbent += 1
            partner = routing.partners.get(d.partner_id)
            if partner is not None:
                e = learner.estimate(partner, lead)
                accept.append(e.accept)
                chance.append(e.chance)
            f = facts.get(d.partner_id)
            if f is not None and f.median_hours_to_accept is not None:
                hours.append(f.median_hours_to_accept)
    shares = [offers.get(pid, 0) / f for pid, f in fair.items() if f >= 1]
    placed = kinds.get("offer", 0) + kinds.get("pool", 0)
    return {
        "leads": n, "offered": kinds.get("offer", 0), "pooled": kinds.get("pool", 0),
        "escalated": kinds.get("escalate", 0) + kinds.get("fallback", 0), "unroutable": kinds.get("unroutable", 0),
        "coverage": round(placed / n, 3) if n else None,
        "expected_acceptance": round(mean(accept), 3) if accept else None,
        "expected_conversions": round(sum(chance), 1),
        "hours_to_accept": round(mean(hours), 1) if hours else None,
        "gini": gini([offers.get(pid, 0) for pid in fair]),
        "min_share_of_fair": round(min(shares), 3) if shares else None,
        "to_incumbent": to_incumbent if walk is not None else None,
    }


def as_routed(conn: Connection, client: Any, since: datetime, partner_field: str | None = "PartnerAccountId") -> dict:
    """What really happened to the offers made in the window."""
    events = performance.offer_events(conn, since)
    made = [e for e in events if e.kind == "offered"]
    settled = [e for e in events if e.kind in ("accepted", "rejected", "lapsed")]
    taken = [e for e in settled if e.kind == "accepted"]
    hours = [(e.at - e.offered_at).total_seconds() / 3600 for e in taken if e.offered_at]
    offered_leads = {(e.lead_id, e.partner_id) for e in made}
    converted = [e for e in performance.converted_events(client, since, conn, partner_field)
                 if (e.lead_id, e.partner_id) in offered_leads]
    per: dict[str, int] = {}
    for e in made:
        per[e.partner_id] = per.get(e.partner_id, 0) + 1
    return {"offered": len(made), "acceptance": round(len(taken) / len(settled), 3) if settled else None,
            "conversions": len(converted), "hours_to_accept": round(mean(hours), 1) if hours else None,
            "gini": gini(list(per.values()))}


def gini(values: list[int]) -> float | None:
    """0: every partner got as many; near 1: one got them all."""
    if not values or not sum(values):
        return None
    xs = sorted(values)
    n = len(xs)
    cum = sum((i + 1) * x for i, x in enumerate(xs))
    return round((2 * cum) / (n * sum(xs)) - (n + 1) / n, 3)


_ROWS = (("leads", "leads"), ("offered", "offered"), ("pooled", "pooled"), ("escalated", "escalated / fallback"),
         ("unroutable", "unroutable"), ("coverage", "coverage"), ("expected_acceptance", "acceptance (expected)"),
         ("expected_conversions", "conversions (expected)"), ("hours_to_accept", "hours to accept"),
         ("gini", "Gini of offers"), ("min_share_of_fair", "min share of fair"),
         ("to_incumbent", "offered to the incumbent"))


def render(result: dict) -> str:
    """The side-by-side table."""
    files = list(result["rule_files"])
    routed = result["as_routed"]
    actual = {"offered": routed["offered"], "expected_acceptance": routed["acceptance"],
              "expected_conversions": routed["conversions"], "hours_to_accept": routed["hours_to_accept"],
              "gini": routed["gini"]}
    heads = ["", "as routed"] + labels(files)
    rows = [[label, _cell(actual.get(key))] + [_cell(result["rule_files"][f].get(key)) for f in files]
            for key, label in _ROWS]
    widths = [max(len(str(r[i])) for r in rows + [heads]) for i in range(len(heads))]
    lines = [f"backtest: {result['leads']} leads since {result['since'][:16].replace('T', ' ')} UTC (expected figures: the learner's "
             "estimates; as routed: what happened)", "  ".join(h.ljust(w) for h, w in zip(heads, widths))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def labels(files: list[str]) -> list[str]:
    """Column heads: each file's name, with as many parent folders as it takes to tell two
    files of the same name apart (`a/rules.toml`, `b/rules.toml`)."""
    parts = [Path(f).parts for f in files]
    depth = 1
    while True:
        heads = ["/".join(p[-depth:]) for p in parts]
        if len(set(heads)) == len(heads) or depth >= max(len(p) for p in parts):
            return heads
        depth += 1


def _cell(v: Any) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)

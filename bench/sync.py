#!/usr/bin/env python
"""Salesforce API economy of the whole loop, against the sandbox org, with baselines.

    python bench/sync.py --leads 10000 [--partners 200] [--offers 50000] [--json]
    python bench/sync.py --mode cdc --leads 10000 [--json]

Three measurements, every call counted by the sandbox org itself (what the org's daily
API limit would count), all over HTTPS through simple-salesforce:

1. Route and write N leads end to end: a fresh demo org with N new leads; the connector
   runs its first cycle (every job: partner sync, lead stream, deletions, deadlines,
   outbox), then the ticks the default schedule runs every 60 s until the lead stream's
   lookback window has passed our own writes (they come back through the stream, which
   reads `lookback` behind the newest change it saw). All of it is counted:
   `api_calls_per_1000`; the first cycle alone is `first_cycle_per_1000`. The floor for
   the same work is one query page per 2,000 leads plus one sObject Collections call
   per 200 (`floor_per_1000`). An hour later, with nothing changed, one more lead-stream
   run shows what an idle org keeps costing (`idle_reread_calls_per_day`).
2. The per-record baseline: the same decisions (the connector's own write payloads) in
   a second, identical org, written one `PATCH /sobjects/Lead/{id}` per lead after the
   same paged query read.
3. One poll cycle with `--offers` open offers: partners given room (Capacity__c and
   Daily_Cap__c raised, as a large program would set them), enough leads routed by the
   connector to hold that many live offers, one unrelated edit once the lookback has
   passed, then partner reps answer `--answer-share` of them in the org (pool pick-ups,
   accepts, rejects with a reason); the calls of the next cycle, every job included, are
   counted (`poll_calls_50k_offers`), next to the obvious alternative: re-reading every
   open offer.

--mode cdc: the same N leads ARRIVE while the connector runs as `leadrouter run` does
with Change Data Capture (default settings, the real scheduler on the wall clock):
created in the org as web-to-lead would, one change event each; every REST call until
each lead's write has landed and its echo has come back is counted (`api_calls_per_1000`).
"""
from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

# The project first: run as a script, bench/ is sys.path[0], and bench/mappings.py (the
# mappings benchmark) would shadow the mappings package.
sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
sys.path.append(str(Path(__file__).resolve().parent))

from _common import (QUERY_PAGE, WRITE_BATCH, answer_offers, connector_for, emit, floor_calls, machine,  # noqa: E402
                     per_1000, say, verdict)

# Jobs due at +60 s under the default [schedule] (leads 60 s, offers 60 s, outbox 30 s;
# partners and deletions every 900 s), in the order a cycle runs them.
TICK_60S = ("outbox", "leads", "expire", "remind", "followup", "outbox")


def _start(directory: Path, *, partners: int, leads: int, random_seed: int):
    import sandbox

    return sandbox.start(directory, seed="demo", partners=partners, leads=leads, random_seed=random_seed,
                         autosave=None)


def _settle(sb) -> None:
    """Move the org's clock past the second of its last write: reads end at the run's start
    truncated to the second (SOQL datetimes have no fraction), so records written within
    that second belong to the next run, by design."""
    sb.clock.advance(timedelta(seconds=2))


def _run(cx, sb, jobs) -> dict[str, int]:
    """Run these jobs once, in order, at the org's now; API calls per job."""
    calls: dict[str, int] = {}
    now = sb.clock.now()
    for name in jobs:
        r = cx.run_job(name, now)
        if r.error:
            raise RuntimeError(f"job {name} failed: {r.error}")
        calls[name] = calls.get(name, 0) + r.api_calls
    return calls


# ---------------------------------------------------------------------------- 1. the loop
def measure_loop(work: Path, leads: int, partners: int, random_seed: int) -> dict:
    from jobs.app import CYCLE

    sb = _start(work / "org", partners=partners, leads=leads, random_seed=random_seed)
    try:
        cx = connector_for(work, sb.connection, sb.clock.now)
        _settle(sb)
        sb.counters.reset()
        began = time.perf_counter()
        first = _run(cx, sb, CYCLE)
        first_calls = sb.counters.snapshot()["api_calls"]
        # Our writes come back through the lead stream, and each read reaches `lookback`
        # behind the newest change it saw: tick on until that window has passed our writes.
        ticks: list[int] = []
        for _ in range(math.ceil(cx.lookback.total_seconds() / 60) + 1):
            sb.clock.advance(timedelta(seconds=60))
            sb.counters.reset()
            _run(cx, sb, TICK_60S)
            ticks.append(sb.counters.snapshot()["api_calls"])
        seconds = time.perf_counter() - began
        # An hour later, nothing has changed in the org: what does one lead-stream run still read?
        sb.clock.advance(timedelta(hours=1))
        sb.counters.reset()
        idle = cx.run_job("leads", sb.clock.now())
        idle_calls = sb.counters.snapshot()["api_calls"]
        written = _written_payloads(cx)
        every = cx.settings.schedule.leads
        cx.store.dispose()
        cx.client.close()
    finally:
        sb.stop()
    return {"calls": first_calls + sum(ticks), "first_cycle_calls": first_calls, "first_cycle": first,
            "tick_calls": ticks, "routed": len(written), "seconds": seconds, "payloads": written,
            "idle_read": idle.counts.get("read", 0), "idle_calls": idle_calls,
            "idle_calls_per_day": round(idle_calls * 86_400 / every)}


def measure_cdc(work: Path, leads: int, partners: int, random_seed: int) -> dict:
    import threading

    from jobs.config import StreamSettings
    from jobs.scheduler import build
    from jobs.stream import LEADS, PARTNERS, Streams

    sb = _start(work / "org", partners=partners, leads=200, random_seed=random_seed)
    job_stop = threading.Event()
    sched = None
    try:
        cx = connector_for(work, sb.connection, sb.clock.now)
        cx.settings = cx.settings.model_copy(update={"stream": StreamSettings(pubsub_url=sb.connection["pubsub_url"])})
        _settle(sb)
        cx.run_cycle()  # the seeded backlog; what follows is about arrivals
        fields = ("LastName", "Country", "State", "City", "PostalCode", "Industry", "Products__c", "NumberOfEmployees",
                  "LeadSource", "Latitude", "Longitude")
        templates = [{k: r[k] for k in fields if r.get(k) is not None} for r in sb.org.records("Lead")
                     if r.get("Routing_Status__c") == "Offered"][:50]
        streams = Streams(cx)
        sched = build(streams.make_jobs(job_stop), cx.settings.schedule.misfire_grace)
        sched.start()
        deadline = time.monotonic() + 30
        while streams.connected[LEADS] is None or streams.connected[PARTNERS] is None:
            if time.monotonic() > deadline:
                raise SystemExit("sync: the stream did not connect within 30 s")
            time.sleep(0.01)
        time.sleep(2.0)  # the scheduler's start-up round passes before counting
        sb.counters.reset()
        began = time.perf_counter()
        rng = random.Random(random_seed)
        created = [sb.org.create("Lead", {**rng.choice(templates), "Company": f"Arrival {i}"},
                                 as_user=sb.org.admin_user_id, auto_assign=True) for i in range(leads)]
        deadline = time.monotonic() + 600
        pending = set(created)
        while pending:
            if time.monotonic() > deadline:
                raise SystemExit(f"sync: {len(pending)} leads not written within 10 minutes")
            pending = {i for i in pending if sb.org.get("Lead", i).get("Routing_Status__c") is None}
            time.sleep(0.2)
        time.sleep(3.0)  # the writes' echoes come back as events (and are not read again)
        snap = sb.counters.snapshot()
        calls, by_endpoint = snap["api_calls"], {k: v for k, v in snap["endpoints"].items() if v}
        seconds = time.perf_counter() - began
        # how the stream spent them: burst reads, and writes the events guarded (no REST guard read)
        stream = {"burst_reads": streams.burst_reads, "guarded_by_events": streams.guarded_by_events,
                  "overwrites_undone": streams.overwrites_undone}
    finally:
        job_stop.set()
        if sched is not None:
            sched.shutdown(wait=True)
        sb.stop()
    return {"calls": calls, "routed": len(created), "seconds": seconds, "by_endpoint": by_endpoint, "stream": stream}


def main_cdc(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="leadrouter-bench-sync-cdc-"))
    try:
        say(f"sync (cdc): {args.leads:,} leads arrive while the connector streams change events")
        run = measure_cdc(root / "cdc", args.leads, args.partners, args.random_seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n = args.leads
    floor = floor_calls(n)
    per = per_1000(run["calls"], n)
    result = {"mode": "cdc", "leads": n, "partners": args.partners, "routed_and_written": run["routed"],
              "api_calls": run["calls"], "api_calls_per_1000": per, "floor_per_1000": per_1000(floor, n),
              "vs_floor": round(run["calls"] / floor, 2), "loop_seconds": round(run["seconds"], 1),
              "calls_by_endpoint": run["by_endpoint"], "stream": run["stream"],
              "seconds": round(time.perf_counter() - started, 1), "machine": machine()}
    rows = [
        ("leads arrived, routed and written", f"{run['routed']:,}", f"{args.partners} partners"),
        ("API calls", run["calls"], "REST calls counted by the org; event delivery is not one"),
        ("API calls per 1,000 leads", per, f"target <= 6: {verdict(per <= 6)}"),
        ("floor per 1,000 leads", result["floor_per_1000"], f"1 page/{QUERY_PAGE:,} + 1 call/{WRITE_BATCH}"),
        ("seconds", result["seconds"], f"arrivals to the last write {result['loop_seconds']} s"),
    ]
    emit("leadrouter sync with Change Data Capture: Salesforce API calls", rows, result, args.json)
    return 0


def _written_payloads(cx) -> dict[str, dict]:
    """The writes the connector confirmed, lead id -> fields: the same decisions for the baseline."""
    from sqlalchemy import select

    from jobs.state import schema

    t = schema.outbox
    with cx.store.connect() as conn:
        rows = conn.execute(select(t.c.lead_id, t.c.payload).where(t.c.status == "confirmed")
                            .order_by(t.c.id)).all()
    return {lead_id: payload for lead_id, payload in rows}


# ---------------------------------------------------------------------------- 2. baseline
def measure_per_record(work: Path, leads: int, partners: int, random_seed: int, payloads: dict[str, dict]) -> dict:
    """The same reads, then one PATCH per lead, in an identical org."""
    sb = _start(work / "org", partners=partners, leads=leads, random_seed=random_seed)
    try:
        cx = connector_for(work, sb.connection, sb.clock.now)
        fields = cx.mappings.soql_fields("lead")
        sf = cx.client.sf
        sb.counters.reset()
        began = time.perf_counter()
        read = sum(1 for _ in cx.client.query(f"SELECT {', '.join(fields)} FROM Lead "
                                              "ORDER BY SystemModstamp, Id"))
        for lead_id, payload in payloads.items():
            sf.Lead.update(lead_id, payload, headers={"Sforce-Auto-Assign": "FALSE"})
        seconds = time.perf_counter() - began
        calls = sb.counters.snapshot()["api_calls"]
        cx.store.dispose()
        cx.client.close()
    finally:
        sb.stop()
    return {"calls": calls, "read": read, "written": len(payloads), "seconds": seconds}


# ---------------------------------------------------------------------------- 3. the poll
def measure_poll(work: Path, offers: int, partners: int, answer_share: float, random_seed: int) -> dict:
    from sqlalchemy import func, select

    from connector.soql import select as soql_select
    from jobs.app import CYCLE
    from jobs.state import schema

    # With room at every partner nearly every lead becomes an offer or a pool offer (99 %
    # in the demo org); the count actually live is what the result reports.
    sb = _start(work / "org", partners=partners, leads=math.ceil(offers * 1.03), random_seed=random_seed)
    try:
        org = sb.org
        room = max(1000, 4 * offers // max(1, partners))
        for account in list(org.records("Account")):
            if account.get("IsPartner"):
                org.update("Account", account["Id"], {"Capacity__c": min(room, 999_999),
                                                      "Daily_Cap__c": min(room, 999_999)})
        cx = connector_for(work, sb.connection, sb.clock.now)
        _settle(sb)
        began = time.perf_counter()
        _run(cx, sb, CYCLE)
        # A live org never stands still: some lead changes a few minutes after the burst of
        # offers, and the stream's window moves past the burst's own echoes. Without it this
        # poll would re-read the whole burst (see BENCHMARKS.md: the idle re-read).
        sb.clock.advance(cx.lookback + timedelta(minutes=1))
        someone = next(r for r in org.records("Lead") if r.get("Routing_Status__c") == "Offered")
        org.update("Lead", someone["Id"], {"Title": "Head of IT"}, as_user=org.admin_user_id)
        _settle(sb)
        _run(cx, sb, TICK_60S)
        setup_seconds = time.perf_counter() - began
        t = schema.offers
        with cx.store.connect() as conn:
            live = conn.execute(select(t.c.lead_id, t.c.kind, t.c.rep_id, t.c.queue_id)
                                .where(t.c.status == "live")).all()
        rng = random.Random(random_seed)
        answered = rng.sample(live, k=min(len(live), max(1, round(len(live) * answer_share))))
        pools = cx.routing().pools
        sb.clock.advance(timedelta(minutes=20))
        accepted, rejected = answer_offers(org, [(lid, kind, rep, sorted(pools[q].member_rep_ids) if q in pools else [])
                                                 for lid, kind, rep, q in answered], rng)
        sb.clock.advance(timedelta(seconds=30))
        sb.counters.reset()
        by_job = _run(cx, sb, CYCLE)  # the first tick after a restart runs every job: the worst cycle
        poll_calls = sb.counters.snapshot()["api_calls"]
        sb.clock.advance(timedelta(seconds=60))
        sb.counters.reset()
        tick = _run(cx, sb, TICK_60S)
        tick_calls = sb.counters.snapshot()["api_calls"]
        # The obvious alternative: ask Salesforce about every open offer each poll.
        fields = cx.mappings.soql_fields("lead")
        sb.counters.reset()
        reread = sum(1 for _ in cx.client.query(soql_select("Lead", fields, where="Routing_Status__c = 'Offered'")))
        reread_calls = sb.counters.snapshot()["api_calls"]
        with cx.store.connect() as conn:
            still_live = conn.execute(select(func.count()).select_from(t).where(t.c.status == "live")).scalar_one()
        cx.store.dispose()
        cx.client.close()
    finally:
        sb.stop()
    return {"open_offers": len(live), "accepted": accepted, "rejected": rejected, "calls": poll_calls,
            "by_job": by_job, "tick_calls": tick_calls, "tick_by_job": tick, "reread_calls": reread_calls,
            "reread_records": reread, "still_live": still_live, "setup_seconds": setup_seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000, help="new leads to route end to end (default 10000)")
    parser.add_argument("--partners", type=int, default=200, help="partner accounts in the org (default 200)")
    parser.add_argument("--offers", type=int, default=50_000, help="open offers for the poll cycle (default 50000)")
    parser.add_argument("--answer-share", type=float, default=0.015,
                        help="share of open offers partners answer before the poll (default 0.015)")
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--mode", choices=("poll", "cdc"), default="poll",
                        help="cdc: the leads arrive as change events while the connector streams")
    args = parser.parse_args(argv)
    for name in ("leads", "partners", "offers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if not 0 < args.answer_share <= 1:
        parser.error(f"--answer-share must be in (0, 1], got {args.answer_share}")
    if args.mode == "cdc":
        return main_cdc(args)

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="leadrouter-bench-sync-"))
    try:
        say(f"sync: routing {args.leads:,} leads end to end, then the ticks of the lookback window")
        loop = measure_loop(root / "loop", args.leads, args.partners, args.random_seed)
        say(f"sync: per-record baseline, {loop['routed']:,} PATCH calls")
        base = measure_per_record(root / "baseline", args.leads, args.partners, args.random_seed, loop["payloads"])
        say(f"sync: the connector routes ~{args.offers:,} leads into open offers, then one poll cycle")
        poll = measure_poll(root / "poll", args.offers, args.partners, args.answer_share, args.random_seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    n = args.leads
    floor = floor_calls(n)
    result = {
        "leads": n,
        "partners": args.partners,
        "routed_and_written": loop["routed"],
        "api_calls": loop["calls"],
        "api_calls_per_1000": per_1000(loop["calls"], n),
        "floor_calls": floor,
        "floor_per_1000": per_1000(floor, n),
        "vs_floor": round(loop["calls"] / floor, 2),
        "first_cycle_per_1000": per_1000(loop["first_cycle_calls"], n),
        "first_cycle_vs_floor": round(loop["first_cycle_calls"] / floor, 2),
        "calls_by_job_first_cycle": loop["first_cycle"],
        "calls_per_tick_after": loop["tick_calls"],
        "idle_reread_leads": loop["idle_read"],
        "idle_reread_calls_per_day": loop["idle_calls_per_day"],
        "loop_seconds": round(loop["seconds"], 1),
        "per_record_calls": base["calls"],
        "per_record_per_1000": per_1000(base["calls"], n),
        "per_record_seconds": round(base["seconds"], 1),
        "saving_vs_per_record": round(base["calls"] / loop["calls"], 1) if loop["calls"] else None,
        "poll_open_offers": poll["open_offers"],
        "poll_answers": {"accepted": poll["accepted"], "rejected": poll["rejected"]},
        "poll_calls_50k_offers": poll["calls"],
        "poll_calls_by_job": poll["by_job"],
        "poll_next_tick_calls": poll["tick_calls"],
        "poll_reread_all_calls": poll["reread_calls"],
        "poll_setup_seconds": round(poll["setup_seconds"], 1),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
    }
    per = result["api_calls_per_1000"]
    rows = [
        ("leads routed and written", f"{loop['routed']:,} of {n:,}", f"{args.partners} partners"),
        ("API calls, whole loop", loop["calls"], f"first cycle {loop['first_cycle_calls']} + ticks every 60 s "
                                                 f"{'+'.join(map(str, loop['tick_calls']))}"),
        ("API calls per 1,000 leads", per, f"target <= 8: {verdict(per <= 8)}"),
        ("floor per 1,000 leads", result["floor_per_1000"], f"1 page/{QUERY_PAGE:,} + 1 call/{WRITE_BATCH}"),
        ("x floor", result["vs_floor"], f"target <= 1.5: {verdict(result['vs_floor'] <= 1.5)}"),
        ("  first cycle alone per 1,000", result["first_cycle_per_1000"], f"{result['first_cycle_vs_floor']} x floor"),
        ("idle org: leads re-read per run", loop["idle_read"], f"{loop['idle_calls_per_day']:,} calls/day at the "
                                                               "default schedule, an hour after the last change"),
        ("per-record writes per 1,000", result["per_record_per_1000"],
         f"baseline: {base['calls']:,} calls, {result['saving_vs_per_record']}x ours"),
        ("open offers at the poll", poll["open_offers"], f"{poll['accepted']} accepted, {poll['rejected']} rejected"),
        ("API calls, one poll cycle", poll["calls"], f"target <= 30: {verdict(poll['calls'] <= 30)} "
                                                     f"(all jobs; next 60 s tick: {poll['tick_calls']})"),
        ("re-read every open offer", poll["reread_calls"], "the obvious alternative, per poll"),
        ("seconds", result["seconds"], f"loop {result['loop_seconds']} s, baseline {result['per_record_seconds']} s, "
                                       f"poll setup {result['poll_setup_seconds']} s"),
    ]
    emit("leadrouter sync: Salesforce API calls", rows, result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python
"""The state database under a burst: is routing linear in the number of live offers?

    python bench/state.py --offers 10000 40000 [--partners 200] [--answer-share 0.015] [--json]

For each N: a fresh demo org with ~N new leads and partners with room for them all
(Capacity__c and Daily_Cap__c raised), the connector (config file, JWT login, SQLite
state, shipped mappings and rules) runs its first cycle — every job — and so routes the
burst, leaving ~N live offers: `burst_s[N]` is that cycle's wall time. Then partner
reps answer `--answer-share` of the offers in the org (accepts, rejects, pool
pick-ups) and the next full cycle is timed: `cycle_s[N]`. The org runs in a process of
its own (a real org is remote; in-process it took the connector's interpreter lock),
and the connector takes Salesforce's time from the `Date` header, as in production.
`burst_cpu_s`/`cycle_cpu_s`: the connector process's own CPU seconds, steadier than
wall time on a shared host; `burst_org_cpu_s`: the org process's (the stand-in's own
work, which a real org does on Salesforce's servers, competes here for the same cores).

Before state migration 3 the engine's memory was one JSON document holding every
lead's facts, loaded and saved per page of 200: a burst was quadratic (136 s for
40,961 offers). Now per-lead facts are rows read for the page at hand.

Prints one JSON object with --json: {"burst_s": {"10000": …}, "cycle_s": {…},
"live_offers": {…}, "ratio_40k_10k": …, "machine": …}.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
sys.path.append(str(Path(__file__).resolve().parent))

from _common import answer_offers, emit, machine, say  # noqa: E402



def _org_process(pipe, work: Path, offers: int, partners: int, seed: int) -> None:
    """The org, in a process of its own as a real org is remote: it serves HTTPS and does
    what the parent asks (answer offers as partner reps would, move its clock)."""
    import sandbox

    sb = sandbox.start(work / "org", seed="demo", partners=partners, leads=math.ceil(offers * 1.03),
                       random_seed=seed, autosave=None)
    org = sb.org
    room = max(1000, 4 * offers // max(1, partners))
    for account in list(org.records("Account")):
        if account.get("IsPartner"):
            org.update("Account", account["Id"], {"Capacity__c": min(room, 999_999),
                                                  "Daily_Cap__c": min(room, 999_999)})
    sb.clock.advance(timedelta(seconds=2))
    pipe.send(sb.connection)
    while True:
        command, args = pipe.recv()
        if command == "answer":
            sb.clock.advance(timedelta(minutes=20))
            answer_offers(org, args, random.Random(seed))
            sb.clock.advance(timedelta(seconds=30))
            pipe.send(len(args))
        elif command == "cpu":
            pipe.send(time.process_time())  # the org's own CPU, all its threads
        elif command == "stop":
            sb.stop()
            pipe.send("stopped")
            return


def _cycle(cx) -> tuple[float, float]:
    from jobs.app import CYCLE

    began, cpu = time.perf_counter(), time.process_time()
    now = cx.clock.now()
    for name in CYCLE:
        r = cx.run_job(name, now)
        if r.error:
            raise RuntimeError(f"job {name} failed: {r.error}")
    return time.perf_counter() - began, time.process_time() - cpu


def burst(work: Path, offers: int, partners: int, answer_share: float, seed: int, intake: str = "running") -> dict:
    import multiprocessing as mp

    from sqlalchemy import func, select

    from jobs.app import LeadRouter
    from jobs.config import load
    from jobs.logging import configure
    from jobs.state import schema
    from _common import write_config

    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_org_process, args=(child, work, offers, partners, seed), daemon=True)
    proc.start()
    try:
        connection = parent.recv()
        loaded = load(write_config(work, connection, log_level="error"))
        configure(loaded.settings.log.format, loaded.settings.log.level, stream=sys.stderr)
        cx = LeadRouter.from_config(loaded)  # no clock given: Salesforce's, from the Date header
        if intake == "running":
            # The connector was already running (it read a minute ago) when the burst came:
            # the lead stream reads it page by page over REST. A first run of this size
            # would go through Bulk API 2.0 instead (--intake first).
            from jobs.state import store as st

            at = cx.clock.now()
            with cx.store.begin() as conn:
                st.set_watermark(conn, "leads", at - timedelta(minutes=1), at)
        parent.send(("cpu", None))
        org_cpu = parent.recv()
        burst_s, burst_cpu = _cycle(cx)
        parent.send(("cpu", None))
        org_cpu = parent.recv() - org_cpu
        t = schema.offers
        with cx.store.connect() as conn:
            live = conn.execute(select(t.c.lead_id, t.c.kind, t.c.rep_id, t.c.queue_id)
                                .where(t.c.status == "live")).all()
        rng = random.Random(seed)
        answered = rng.sample(live, k=min(len(live), max(1, round(len(live) * answer_share))))
        pools = cx.routing().pools
        parent.send(("answer", [(lid, kind, rep, sorted(pools[q].member_rep_ids) if q in pools else [])
                                for lid, kind, rep, q in answered]))
        parent.recv()
        time.sleep(1.1)  # the org's clock moved: a response brings the connector its new time
        cx.client.server_clock.observe(None)
        cycle_s, cycle_cpu = _cycle(cx)
        with cx.store.connect() as conn:
            doc = conn.execute(select(func.length(schema.routing_state.c.data))).scalar() or 0
        cx.store.dispose()
        cx.client.close()
    finally:
        parent.send(("stop", None))
        parent.recv()
        proc.join(timeout=30)
    return {"burst_s": round(burst_s, 2), "cycle_s": round(cycle_s, 2), "burst_cpu_s": round(burst_cpu, 2), "burst_org_cpu_s": round(org_cpu, 2),
            "cycle_cpu_s": round(cycle_cpu, 2), "live": len(live), "answered": len(answered),
            "state_document_bytes": doc}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].strip())
    parser.add_argument("--offers", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--partners", type=int, default=200)
    parser.add_argument("--answer-share", type=float, default=0.015)
    parser.add_argument("--random-seed", type=int, default=7)
    parser.add_argument("--intake", choices=("running", "first"), default="running",
                        help="running: the burst reaches a connector that read a minute ago (REST lead stream); "
                             "first: the connector's first run (Bulk API 2.0 from [salesforce] bulk_threshold)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="lr-bench-state-") as tmp:
        for n in args.offers:
            say(f"state: a burst leaving ~{n:,} live offers, then one poll cycle")
            results[n] = burst(Path(tmp) / str(n), n, args.partners, args.answer_share, args.random_seed,
                               args.intake)
            say(f"  {results[n]}")
    out = {"burst_s": {str(n): r["burst_s"] for n, r in results.items()},
           "cycle_s": {str(n): r["cycle_s"] for n, r in results.items()},
           "burst_cpu_s": {str(n): r["burst_cpu_s"] for n, r in results.items()},
           "cycle_cpu_s": {str(n): r["cycle_cpu_s"] for n, r in results.items()},
           "burst_org_cpu_s": {str(n): r["burst_org_cpu_s"] for n, r in results.items()},
           "live_offers": {str(n): r["live"] for n, r in results.items()},
           "state_document_bytes": {str(n): r["state_document_bytes"] for n, r in results.items()},
           "intake": args.intake, "machine": machine()}
    lo, hi = min(results), max(results)
    if lo != hi:
        out["ratio"] = round(results[hi]["burst_s"] / results[lo]["burst_s"], 2)
        out["ratio_of"] = f"{hi}/{lo}"
        out["cpu_ratio"] = round(results[hi]["burst_cpu_s"] / results[lo]["burst_cpu_s"], 2)
    rows = [(f"burst leaving {r['live']:,} live offers", r["burst_s"], "s") for r in results.values()]
    rows += [(f"poll cycle, {r['answered']:,} answered of {r['live']:,}", r["cycle_s"], "s") for r in results.values()]
    if "ratio" in out:
        rows.append((f"burst ratio {out['ratio_of']}", out["ratio"], "goal ≤ 5 for 40000/10000 (linear: 4)"))
    emit("state database under a burst", rows, out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

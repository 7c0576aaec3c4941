#!/usr/bin/env python
"""A lost state database rebuilt from a big org: time, API calls and memory.

    python bench/rebuild.py --leads 20000 [--partners 200] [--answer-share 0.3] [--json]

A demo org with --leads new leads and partners with room for them all; the connector routes them (its first run), partner
reps answer --answer-share of the offers (accepts, rejects, pool pick-ups) and a poll
cycle acts on the answers. Then the state file is lost: a connector on a new, empty
state file starts, and `jobs.recovery.ensure` — what every start runs before any job —
is timed: wall and CPU seconds, API calls, and the peak resident memory it added
(`rebuild_rss_mb`: the new start's peak during the rebuild minus its resident set just
before it, in a process of its own; the peak is counted from the rebuild's start, not
inherited from this process, which holds the org). The org serves from this process, as in the tests.

Prints one JSON object with --json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
sys.path.append(str(Path(__file__).resolve().parent))

from _common import answer_offers, emit, machine, say  # noqa: E402


def _peak_mb() -> float:
    """The resident set's high-water mark since `_reset_peak` (Linux: VmHWM), else since
    the process began. Not `ru_maxrss` alone: a child started by fork and exec inherits
    the parent's high-water mark through exec, and this bench's parent holds the whole
    org — it made a 5,000-lead rebuild look 140 MB dear when it added 55."""
    try:
        with open("/proc/self/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Start the high-water mark again from the resident set now (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _now_mb() -> float:
    """The resident set now (Linux), not the peak: what the rebuild starts from."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / (1024 * 1024)


def _connector(config: Path):
    from jobs.app import LeadRouter
    from jobs.config import load
    from jobs.logging import configure

    loaded = load(config)
    configure(loaded.settings.log.format, loaded.settings.log.level, stream=sys.stderr)
    return LeadRouter.from_config(loaded)


def _config(work: Path, connection: dict, name: str) -> Path:
    from _common import write_config

    (work / name).mkdir(parents=True, exist_ok=True)
    return write_config(work / name, connection, log_level="error")


def _route(sb, config: Path, answer_share: float, seed: int) -> dict:
    from sqlalchemy import func, select

    from jobs.app import CYCLE
    from jobs.state import schema

    cx = _connector(config)
    for name in CYCLE:
        r = cx.run_job(name, cx.clock.now())
        if r.error:
            raise RuntimeError(f"job {name} failed: {r.error}")
    t = schema.offers
    with cx.store.connect() as conn:
        live = conn.execute(select(t.c.lead_id, t.c.kind, t.c.rep_id, t.c.queue_id).where(t.c.status == "live")).all()
    rng = random.Random(seed)
    answered = rng.sample(live, k=min(len(live), round(len(live) * answer_share)))
    pools = cx.routing().pools
    sb.clock.advance(timedelta(minutes=20))
    answer_offers(sb.org, [(lid, kind, rep, sorted(pools[q].member_rep_ids) if q in pools else [])
                           for lid, kind, rep, q in answered], random.Random(seed))
    sb.clock.advance(timedelta(seconds=30))
    cx.client.server_clock.observe(None)
    for name in CYCLE:
        cx.run_job(name, cx.clock.now())
    with cx.store.connect() as conn:
        statuses = dict(conn.execute(select(t.c.status, func.count()).group_by(t.c.status)).all())
    cx.store.dispose()
    cx.client.close()
    return {"offers": statuses, "answered": len(answered)}


def child(config: Path) -> None:
    """The new start on a lost state, in a process of its own: only its memory counts."""
    from jobs import recovery

    from jobs import sync_partners

    cx = _connector(config)
    sync_partners.run(cx, cx.clock.now())  # the partner snapshot every start reads anyway
    cx.routing()
    import gc

    gc.collect()
    inherited = _peak_mb()
    reset = _reset_peak()
    before = _now_mb()
    began, cpu = time.perf_counter(), time.process_time()
    if os.environ.get("LR_BENCH_PROFILE"):  # where the rebuild's own seconds go, on stderr
        import cProfile
        import pstats

        prof = cProfile.Profile()
        counts = prof.runcall(recovery.ensure, cx, cx.clock.now())
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    else:
        counts = recovery.ensure(cx, cx.clock.now())
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(json.dumps({"rebuild_s": round(wall, 2), "rebuild_cpu_s": round(cpu, 2),
                      "rebuild_rss_mb": round(_peak_mb() - before, 1), "peak_rss_mb": round(_peak_mb(), 1),
                      "rss_before_mb": round(before, 1), "peak_measured_from_rebuild": reset,
                      "peak_before_rebuild_mb": round(inherited, 1),
                      "counts": counts}))


def run(leads: int, partners: int, answer_share: float, seed: int) -> dict:
    import sandbox

    with tempfile.TemporaryDirectory(prefix="lr-bench-rebuild-") as tmp:
        work = Path(tmp)
        sb = sandbox.start(work / "org", seed="demo", partners=partners, leads=leads, random_seed=seed,
                           autosave=None)
        try:
            room = max(1000, 4 * leads // max(1, partners))
            for account in list(sb.org.records("Account")):
                if account.get("IsPartner"):
                    sb.org.update("Account", account["Id"], {"Capacity__c": min(room, 999_999),
                                                             "Daily_Cap__c": min(room, 999_999)})
            sb.clock.advance(timedelta(seconds=2))
            say(f"rebuild: routing {leads:,} leads, answering {answer_share:.0%} of the offers")
            routed = _route(sb, _config(work, sb.connection, "first"), answer_share, seed)
            say("rebuild: the state file is lost; a new connector rebuilds it from the org")
            calls = sb.counters.snapshot()["api_calls"]
            out = subprocess.run([sys.executable, __file__, "--child", str(_config(work, sb.connection, "lost"))],
                                 stdout=subprocess.PIPE, text=True, timeout=3600)
            if out.returncode:
                raise RuntimeError("the rebuild failed (its error is above)")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["api_calls"] = sb.counters.snapshot()["api_calls"] - calls
        finally:
            sb.stop()
    return {"leads": leads, **routed, **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].strip())
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--partners", type=int, default=200)
    parser.add_argument("--answer-share", type=float, default=0.3)
    parser.add_argument("--random-seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    r = run(args.leads, args.partners, args.answer_share, args.random_seed)
    r["machine"] = machine()
    rows = [("leads routed", r["leads"], ""), ("rebuild wall", r["rebuild_s"], "s"),
            ("rebuild CPU", r["rebuild_cpu_s"], "s"), ("API calls (org-side count)", r["api_calls"], ""),
            ("memory added by the rebuild", r["rebuild_rss_mb"], "MB"), ("peak RSS", r["peak_rss_mb"], "MB")]
    emit("state rebuilt from the org", rows, r, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

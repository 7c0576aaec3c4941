#!/usr/bin/env python
"""First-run backfill: every lead in a large org streamed through the connector once.

    python bench/backfill.py --leads 1000000 [--partners 200] [--json]

Two processes besides this one, so the figure is the connector's memory alone:

- the sandbox org (its tables hold every lead: that is Salesforce's memory, not ours),
  seeded with the demo partners and `--templates` demo leads, then grown to `--leads`
  by copying those leads straight into the store's Lead table with fresh ids and
  stamps (the store's validated `create` path costs too much per lead for a million);
- the connector, built from a config file like any deployment, running its first
  cycle's partner sync and then the lead-stream job with no watermark: every lead is
  read (pages of 2,000), routed, committed to the SQLite state file and written back
  (200 per call). Its peak RSS is `ru_maxrss` of that process (`peak_rss_mb`); a
  sampler thread also records the resident set every second, so a flat series shows
  streaming rather than accumulation.

`connector_cpu_leads_per_s` is leads per CPU-second of the connector process (all its
threads, the lead-stream job only), `leads_per_s` the same per wall second, `api_calls`
the job's calls as the connector counted them.

`--bulk` measures the Bulk API 2.0 path instead (connector.bulk): one bulk query job
reads every lead (CSV pages of 100,000), each is converted, decided and turned into its
write-back payload, and one ingest job per 100 MB of CSV writes them back — the API
calls a first run costs through Bulk API 2.0. It does NOT commit to the state database
(the jobs side's lead stream has no bulk hook yet): its CPU figure is the I/O path's.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import shutil
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

# The project first: run as a script, bench/ is sys.path[0], and bench/mappings.py (the
# mappings benchmark) would shadow the mappings package.
sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
sys.path.append(str(Path(__file__).resolve().parent))

from _common import connector_for, emit, floor_calls, machine, peak_rss_mb, per_1000, say  # noqa: E402

CLONE_SERIAL_BASE = 40_000_000  # far above any id the org itself hands out in a run


# ---------------------------------------------------------------------------- the org
def grow_leads(org, total: int) -> int:
    """Copy the org's leads until it holds `total`; returns how many were added.

    Copies keep every field of a validated demo lead and get their own Id, names and
    audit stamps (older than anything the org will write next, unique, increasing)."""
    from sandbox import ids

    table = org.table("Lead")
    templates = [r for r in table.values() if not r["IsDeleted"]]
    missing = total - len(templates)
    if missing <= 0 or not templates:
        return 0
    base = org.clock.now() - timedelta(days=1)
    with org.lock:
        for i in range(missing):
            rec = dict(templates[i % len(templates)])
            serial = CLONE_SERIAL_BASE + i
            rec["Id"] = ids.make_id("00Q", serial)
            rec["LastName"] = f"{rec['LastName']} {serial}"
            rec["Name"] = f"{rec['FirstName'] or ''} {rec['LastName']}".strip()
            rec["Company"] = f"{rec['Company'] or 'Backfill'} {serial}"
            if rec.get("Email"):
                rec["Email"] = f"b{serial}.{rec['Email']}"
            stamp = base + timedelta(microseconds=i)
            rec["CreatedDate"] = rec["LastModifiedDate"] = rec["SystemModstamp"] = stamp
            table[rec["Id"]] = rec
        org.version += 1
    return missing


def serve_org(data_dir: str, partners: int, templates: int, leads: int, random_seed: int, out, stop) -> None:
    import sandbox

    began = time.perf_counter()
    sb = sandbox.start(Path(data_dir), seed="demo", partners=partners, leads=min(templates, leads),
                       random_seed=random_seed, autosave=None)
    try:
        seeded = time.perf_counter() - began
        added = grow_leads(sb.org, leads)
        time.sleep(1.1)  # past the second of the last seed write: all of it falls before the first run
        out.put({"connection": dict(sb.connection), "seed_seconds": round(seeded, 1),
                 "grow_seconds": round(time.perf_counter() - began - seeded, 1), "copied": added,
                 "leads": sum(1 for _ in sb.org.records("Lead"))})
        stop.wait()
        out.put({"sandbox_peak_rss_mb": peak_rss_mb(), "counters": sb.counters.snapshot()})
    finally:
        sb.stop()


# ---------------------------------------------------------------------------- the connector
def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run_connector(work: str, connection: dict, out, profile: str | None = None,
                  time_limit: float | None = None) -> None:
    samples: list[tuple[float, float]] = []
    done = threading.Event()
    t0 = time.monotonic()

    def sample() -> None:
        while not done.wait(1.0):
            samples.append((round(time.monotonic() - t0, 1), _rss_mb()))

    threading.Thread(target=sample, daemon=True).start()
    try:
        from datetime import datetime, timezone

        # The org runs on the wall clock here (nobody advances it), so the connector does too.
        cx = connector_for(Path(work), connection, lambda: datetime.now(timezone.utc))
        rss_ready = _rss_mb()
        partners = cx.run_job("sync_partners")
        cx.routing()
        rss_partners = _rss_mb()
        if time_limit:
            # the connector's own graceful stop: the page in hand is finished, the rest waits
            timer = threading.Timer(time_limit, cx.stop.set)
            timer.daemon = True
            timer.start()
        began = time.perf_counter()
        cpu0 = time.process_time()
        if profile:
            import cProfile

            with cProfile.Profile() as prof:
                leads = cx.run_job("leads")
            prof.dump_stats(profile)
        else:
            leads = cx.run_job("leads")
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu0
        done.set()
        if partners.error or leads.error:
            raise RuntimeError(partners.error or leads.error)
        out.put({"read": leads.counts.get("read", 0), "counts": leads.counts, "seconds": seconds, "cpu_seconds": cpu,
                 "api_calls": leads.api_calls, "partner_calls": partners.api_calls, "peak_rss_mb": peak_rss_mb(),
                 "rss_after_start_mb": rss_ready, "rss_after_partners_mb": rss_partners, "rss_end_mb": _rss_mb(),
                 "rss_samples": samples, "stopped_early": cx.stop.is_set()})
        cx.store.dispose()
        cx.client.close()
    except BaseException as e:  # the parent must hear about it, not wait forever
        out.put({"error": f"{type(e).__name__}: {e}"})
        raise


def run_connector_bulk(work: str, connection: dict, out, expected: int, threshold: int) -> None:
    """The Bulk API 2.0 first run: read → convert → decide → payload → bulk write, streamed."""
    try:
        from datetime import datetime, timezone

        from connector.bulk import BulkClient
        from connector.soql import select
        from mappings import Unroutable
        from rules import RoutingState
        from rules.lifecycle import DECISION_STATUS

        cx = connector_for(Path(work), connection, lambda: datetime.now(timezone.utc))
        rss_ready = _rss_mb()
        partners = cx.run_job("sync_partners")
        routing = cx.routing()
        rss_partners = _rss_mb()
        ms, client = cx.mappings, cx.client
        soql = select(ms.sobject("lead"), ms.soql_fields("lead"), where=ms.filter("lead"),
                      order_by=["SystemModstamp", "Id"])  # fmt: skip
        bulk = BulkClient(client, poll_interval=0.5, threshold=threshold)
        convert, router, state = ms.lead_converter(), routing.router, RoutingState()
        counts = {"read": 0, "unroutable": 0}
        now = cx.clock.now()
        columns = ["Id", *ms.writeback_fields().values()]
        calls0, began, cpu0 = client.calls, time.perf_counter(), time.process_time()

        def payloads():
            for record in bulk.query(soql, expected=expected):
                counts["read"] += 1
                lead = convert(record)
                if isinstance(lead, Unroutable):
                    counts["unroutable"] += 1
                    continue
                decision = router.decide(lead, state, now)
                state.record_offer(decision, now)
                yield {"Id": lead.id, **ms.decision_writeback(decision, DECISION_STATUS[decision.kind].value)}

        results = bulk.update_stream(ms.writeback_sobject(), payloads(), columns=columns)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu0
        counts["flush_confirmed"] = sum(1 for r in results if r.ok)
        counts["write_failed"] = len(results) - counts["flush_confirmed"]
        out.put({"read": counts["read"], "counts": counts, "seconds": seconds, "cpu_seconds": cpu,
                 "api_calls": client.calls - calls0, "partner_calls": partners.api_calls, "peak_rss_mb": peak_rss_mb(),
                 "rss_after_start_mb": rss_ready, "rss_after_partners_mb": rss_partners, "rss_end_mb": _rss_mb(),
                 "rss_samples": [], "stopped_early": False, "bulk_jobs": bulk.jobs})  # fmt: skip
        cx.store.dispose()
        client.close()
    except BaseException as e:
        out.put({"error": f"{type(e).__name__}: {e}"})
        raise


# ---------------------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads in the org (default 1000000)")
    parser.add_argument("--partners", type=int, default=200, help="partner accounts (default 200)")
    parser.add_argument("--templates", type=int, default=5000,
                        help="demo leads seeded the validated way, then copied up to --leads (default 5000)")
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--profile", metavar="FILE", default=None,
                        help="cProfile the connector's lead-stream job into FILE (slows it down)")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="stop the connector gracefully after this long and report the part done "
                             "(default: run the whole backfill)")
    parser.add_argument("--bulk", action="store_true",
                        help="read and write through Bulk API 2.0 (connector.bulk); no state database commits")
    parser.add_argument("--bulk-threshold", type=int, default=10_000,
                        help="with --bulk: fewer records than this go through REST (default 10000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    if args.leads < 1 or args.partners < 1 or args.templates < 1:
        parser.error("--leads, --partners and --templates must be at least 1")

    started = time.perf_counter()
    ctx = mp.get_context("spawn")  # fresh interpreters: nothing of this process's memory is inherited
    root = Path(tempfile.mkdtemp(prefix="leadrouter-bench-backfill-"))
    org_out, stop = ctx.Queue(), ctx.Event()
    org_proc = ctx.Process(target=serve_org, args=(str(root / "org"), args.partners, args.templates, args.leads,
                                                   args.random_seed, org_out, stop), daemon=True)
    org_proc.start()
    say(f"backfill: the sandbox org is growing to {args.leads:,} leads in its own process")
    try:
        org = _get(org_out, org_proc, "the sandbox org")
        say(f"backfill: org ready in {org['seed_seconds'] + org['grow_seconds']:.1f} s; the connector's first run starts"
            + (f" (stopped after {args.time_limit:g} s)" if args.time_limit else ""))
        cx_out = ctx.Queue()
        if args.bulk:
            cx_proc = ctx.Process(target=run_connector_bulk, args=(str(root / "connector"), org["connection"], cx_out,
                                                                   org["leads"], args.bulk_threshold), daemon=True)  # fmt: skip
        else:
            cx_proc = ctx.Process(target=run_connector, args=(str(root / "connector"), org["connection"], cx_out,
                                                              args.profile and str(Path(args.profile).resolve()), args.time_limit),
                                  daemon=True)
        (root / "connector").mkdir()
        cx_proc.start()
        run = _get(cx_out, cx_proc, "the connector")
        cx_proc.join(60)
        stop.set()
        org_end = _get(org_out, org_proc, "the sandbox org")
        org_proc.join(60)
    finally:
        stop.set()
        for p in mp.active_children():
            p.terminate()
        shutil.rmtree(root, ignore_errors=True)

    n = run["read"]
    written = run["counts"].get("flush_confirmed", 0)
    complete = not run["stopped_early"] and n >= args.leads and written >= n
    peak = run["peak_rss_mb"]
    result = {
        "leads": args.leads,
        "leads_read": n,
        "leads_written": written,
        "complete": complete,
        "outcomes": run["counts"],
        "peak_rss_mb": peak,
        "rss_after_start_mb": run["rss_after_start_mb"],
        "rss_after_partners_mb": run["rss_after_partners_mb"],
        "rss_end_mb": run["rss_end_mb"],
        "rss_samples": _thin(run["rss_samples"], 40),
        "leads_per_second": round(n / run["seconds"], 1) if run["seconds"] else None,
        "leads_per_cpu_second": round(n / run["cpu_seconds"], 1) if run["cpu_seconds"] else None,
        "leads_per_s": round(n / run["seconds"], 1) if run["seconds"] else None,
        "connector_cpu_leads_per_s": round(n / run["cpu_seconds"], 1) if run["cpu_seconds"] else None,
        "path": "bulk" if args.bulk else "rest",
        "bulk_jobs": run.get("bulk_jobs", 0),
        "backfill_seconds": round(run["seconds"], 1),
        # a stopped run: how long reading and routing every lead would take at this pace
        # (the writes come after the stream and are not in it)
        "projected_read_route_seconds": None if complete or not n else round(args.leads * run["seconds"] / n),
        "api_calls": run["api_calls"],
        "api_calls_with_partner_sync": run["api_calls"] + run["partner_calls"],
        "api_calls_per_1000": per_1000(run["api_calls"], n),
        "floor_per_1000": per_1000(floor_calls(n), n),
        # whole run, partner sync included, as the org counted them
        "api_calls_by_endpoint": org_end["counters"]["endpoints"],
        "sandbox_seconds_to_ready": round(org["seed_seconds"] + org["grow_seconds"], 1),
        "sandbox_peak_rss_mb": org_end["sandbox_peak_rss_mb"],
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
    }
    rows = [
        ("leads in the org", args.leads, f"{org['copied']:,} copied from {min(args.templates, args.leads):,} demo leads"),
        ("leads read and handled", n, ", ".join(f"{k} {v:,}" for k, v in sorted(run["counts"].items()) if k != "read")),
        ("leads written back", written, "complete" if complete else
         f"PARTIAL: stopped after --time-limit {args.time_limit:g} s" if run["stopped_early"] else "PARTIAL"),
        ("connector peak RSS (MB)", peak, f"target < 300: {'ok' if peak < 300 else 'MISSED'}"),
        ("RSS after start / partners / end", f"{run['rss_after_start_mb']} / {run['rss_after_partners_mb']} / "
                                             f"{run['rss_end_mb']}", "MB"),
        ("leads/s (wall)", result["leads_per_second"], f"{result['backfill_seconds']} s for the lead-stream job"
         + (f"; all {args.leads:,} would take ~{result['projected_read_route_seconds']:,} s to read and route"
            if result["projected_read_route_seconds"] else "")),
        ("leads/s (connector CPU)", result["leads_per_cpu_second"], "this process's CPU time only"),
        ("API calls per 1,000 leads", result["api_calls_per_1000"], f"floor {result['floor_per_1000']}"),
        ("sandbox ready in (s)", result["sandbox_seconds_to_ready"], f"sandbox peak RSS {result['sandbox_peak_rss_mb']} MB"),
        ("seconds", result["seconds"], "whole benchmark"),
    ]
    if args.bulk:
        rows.insert(5, ("path", "Bulk API 2.0", f"{result['bulk_jobs']} jobs, {run['api_calls']} calls; no state DB commits"))
    emit("leadrouter backfill: first run over the whole org", rows, result, args.json)
    return 0


def _get(queue, proc, what: str) -> dict:
    """The child's next message; a crashed child is an error here, not a hang."""
    import queue as q

    while True:
        try:
            msg = queue.get(timeout=2)
        except q.Empty:
            if not proc.is_alive():
                raise SystemExit(f"backfill: {what} process exited with code {proc.exitcode} before reporting")
            continue
        if "error" in msg:
            raise SystemExit(f"backfill: {what} failed: {msg['error']}")
        return msg


def _thin(samples: list, keep: int) -> list:
    if len(samples) <= keep:
        return samples
    step = math.ceil(len(samples) / keep)
    return samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])


if __name__ == "__main__":
    raise SystemExit(main())

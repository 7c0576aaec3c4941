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

By default a backlog of `[salesforce] bulk_threshold` leads or more (10,000) takes the
jobs' Bulk API 2.0 path, as any deployment would: the lead-stream job counts the backlog,
reads it through one Bulk API 2.0 query job (jobs/bulk_intake.py), routes and commits it
page by page exactly as the REST read does, and writes it back through ingest jobs whose
ids are in the state before their upload (jobs/bulk_writeback.py). `--rest` raises the
threshold above the backlog: the REST path (pages of 2,000, writes of 200), for comparison.
`--stages` times the connector's CPU stage by stage (wrapped functions: a few µs per lead
of its own). `--state URL` puts the state in PostgreSQL instead of a SQLite file.
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

from _common import emit, floor_calls, machine, peak_rss_mb, per_1000, say  # noqa: E402

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


def connector_for(work: Path, connection: dict, threshold: int | None, state: str | None):
    """The application built from a config file like a deployment's, on the wall clock
    (the org runs on it here: nobody advances it); `threshold`: [salesforce] bulk_threshold."""
    from datetime import datetime, timezone

    from _common import write_config

    from jobs.app import Connector
    from jobs.config import load
    from jobs.logging import configure
    from jobs.timeutil import CallableClock

    path = write_config(work, connection, **({"state": state} if state else {}))
    if threshold is not None:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("[salesforce]\n", f"[salesforce]\nbulk_threshold = {threshold}\n", 1), encoding="utf-8")
    loaded = load(path)
    configure(loaded.settings.log.format, loaded.settings.log.level, stream=sys.stderr)
    return Connector.from_config(loaded, clock=CallableClock(lambda: datetime.now(timezone.utc)))


# Stages of the connector's CPU: (name, module, attribute) wrapped in place, so the jobs run
# as they are; a name containing "." is a method of a class. Stages nest (handle_page holds
# convert, decide, commit…): each is its inclusive CPU time, and is counted once however deep
# it recurses.
STAGES = (
    ("read: bulk query (HTTP + CSV → records)", "connector.bulk", "BulkClient.query"),
    ("read: REST query (HTTP + JSON)", "connector.client", "SalesforceClient.query"),
    ("handle_page (everything below)", "jobs.leads", "handle_page"),
    ("  convert (mappings)", "mappings", "MappingSet.lead_converter"),
    ("  minimise (stored copy)", "jobs.app", "LeadRouter.minimiser"),
    ("  lookups (leads, offers, outbox, routing state)", "jobs.state.offers", "get_leads"),
    ("  lookups (leads, offers, outbox, routing state)", "jobs.state.offers", "live_offers"),
    ("  lookups (leads, offers, outbox, routing state)", "jobs.state.outbox", "open_by_lead"),
    ("  lookups (leads, offers, outbox, routing state)", "jobs.lifecycle", "load_state"),
    ("  decide (Router.decide)", "rules.router", "Router.decide"),
    ("  record_offer (engine counters)", "rules.state", "RoutingState.record_offer"),
    ("  commit_decisions (everything below)", "jobs.lifecycle", "commit_decisions"),
    ("    JSON text (audit, stored record, payload; inside the SQL below)", "jobs.state.store", "_JSON_TEXT"),
    ("    write-back payload (mappings)", "mappings", "MappingSet.decision_writeback"),
    ("    SQL: decisions insert", "jobs.state.outbox", "record_decisions"),
    ("    SQL: offers insert", "jobs.state.offers", "insert_offers"),
    ("    SQL: leads upsert", "jobs.state.store", "upsert"),
    ("    SQL: outbox insert", "jobs.state.outbox", "add_many"),
    ("  routing state save", "jobs.lifecycle", "save_state"),
    ("bulk write-back (everything below)", "jobs.bulk_writeback", "flush"),
    ("  outbox entries read (SQL + JSON)", "jobs.bulk_writeback", "_pending_chunks"),
    ("  CSV rows", "connector.bulk", "UpdateRows.add_many"),
    ("  CSV rows", "connector.bulk", "UpdateRows.add_tails"),
    ("  CSV rows", "connector.bulk", "UpdateRows.tail"),
    ("  mark sent / confirmed (SQL)", "jobs.state.outbox", "mark"),
    ("  ingest job: create, upload, close", "connector.bulk", "BulkClient.start_update_job"),
    ("  ingest job: waits, results (streamed)", "connector.bulk", "BulkClient.resume"),
    ("  offer alerts", "jobs.alerts", "send_offer_alerts"),
    ("REST flush (what is left)", "jobs.outbox", "flush"),
)


def instrument() -> dict[str, list[float]]:
    """Wrap the STAGES in place; answers {stage: [cpu seconds, calls]}, filled as they run."""
    import functools
    import importlib
    import inspect

    spent: dict[str, list[float]] = {}
    depth: dict[str, int] = {}
    clock = time.process_time

    def timed(name: str, fn):
        if inspect.isgeneratorfunction(fn) or name.startswith("read:"):
            @functools.wraps(fn)
            def gen(*a, **k):
                it = iter(fn(*a, **k))
                while True:
                    t = clock()
                    try:
                        item = next(it)
                    except StopIteration:
                        spent[name][0] += clock() - t
                        return
                    spent[name][0] += clock() - t
                    yield item
            return gen

        @functools.wraps(fn)
        def wrapper(*a, **k):
            if depth[name]:
                return fn(*a, **k)
            depth[name] += 1
            t = clock()
            try:
                return fn(*a, **k)
            finally:
                spent[name][0] += clock() - t
                spent[name][1] += 1
                depth[name] -= 1
        return wrapper

    def returned_fn(name: str, factory):
        """A factory (lead_converter, minimiser) whose answer is the per-record function."""
        @functools.wraps(factory)
        def make(*a, **k):
            return timed(name, factory(*a, **k))
        return make

    for name, module, attr in STAGES:
        spent.setdefault(name, [0.0, 0])
        depth.setdefault(name, 0)
        owner = importlib.import_module(module)
        if "." in attr:
            cls, attr = attr.split(".")
            owner = getattr(owner, cls)
        fn = getattr(owner, attr)
        wrap = returned_fn if attr in ("lead_converter", "minimiser") else timed
        setattr(owner, attr, wrap(name, fn))
    return spent


def _gc_timer():
    """The CPU the cyclic garbage collector takes from here on, by generation: a backfill
    allocates millions of small objects, and a full collection walks every one still held."""
    import gc

    spent = {0: 0.0, 1: 0.0, 2: 0.0}
    runs = {0: 0, 1: 0, 2: 0}
    began = [0.0]

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            began[0] = time.process_time()
        else:
            spent[info["generation"]] += time.process_time() - began[0]
            runs[info["generation"]] += 1

    gc.callbacks.append(note)

    def report() -> dict:
        gc.callbacks.remove(note)
        return {"cpu_seconds": round(sum(spent.values()), 2), "by_generation": {
            g: {"runs": runs[g], "cpu_seconds": round(spent[g], 2)} for g in spent}}
    return report


def run_connector(work: str, connection: dict, out, profile: str | None = None,
                  time_limit: float | None = None, threshold: int | None = None, state: str | None = None,
                  stages: bool = False) -> None:
    samples: list[tuple[float, float]] = []
    done = threading.Event()
    t0 = time.monotonic()

    def sample() -> None:
        while not done.wait(1.0):
            samples.append((round(time.monotonic() - t0, 1), _rss_mb()))

    threading.Thread(target=sample, daemon=True).start()
    try:
        cx = connector_for(Path(work), connection, threshold, state)
        rss_ready = _rss_mb()
        partners = cx.run_job("sync_partners")
        cx.routing()
        rss_partners = _rss_mb()
        if time_limit:
            # the connector's own graceful stop: the page in hand is finished, the rest waits
            timer = threading.Timer(time_limit, cx.stop.set)
            timer.daemon = True
            timer.start()
        spent = instrument() if stages else None
        gc_time = _gc_timer()
        calls0 = cx.client.calls
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
                 "rss_samples": samples, "stopped_early": cx.stop.is_set(), "client_calls": cx.client.calls - calls0,
                 "stages": spent, "gc": gc_time()})
        cx.store.dispose()
        cx.client.close()
    except BaseException as e:  # the parent must hear about it, not wait forever
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
    parser.add_argument("--bulk-threshold", type=int, default=None, metavar="N",
                        help="[salesforce] bulk_threshold: from N leads the jobs read and write through Bulk API 2.0 "
                             "(default: the config's default, 10000)")
    parser.add_argument("--rest", action="store_true",
                        help="the REST path: the threshold set above the backlog (for comparison)")
    parser.add_argument("--state", metavar="URL", default=None,
                        help="the state database (default: a SQLite file), e.g. postgresql+psycopg://…")
    parser.add_argument("--stages", action="store_true",
                        help="time the connector's CPU stage by stage (costs a few µs per lead itself)")
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
        threshold = args.leads + 1 if args.rest else args.bulk_threshold
        cx_proc = ctx.Process(target=run_connector, args=(str(root / "connector"), org["connection"], cx_out,
                                                          args.profile and str(Path(args.profile).resolve()),
                                                          args.time_limit, threshold, args.state, args.stages),
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
        "gc": run["gc"],
        "rss_after_start_mb": run["rss_after_start_mb"],
        "rss_after_partners_mb": run["rss_after_partners_mb"],
        "rss_end_mb": run["rss_end_mb"],
        "rss_samples": _thin(run["rss_samples"], 40),
        "leads_per_second": round(n / run["seconds"], 1) if run["seconds"] else None,
        "leads_per_cpu_second": round(n / run["cpu_seconds"], 1) if run["cpu_seconds"] else None,
        "leads_per_s": round(n / run["seconds"], 1) if run["seconds"] else None,
        "connector_cpu_leads_per_s": round(n / run["cpu_seconds"], 1) if run["cpu_seconds"] else None,
        "path": "bulk" if run["counts"].get("bulk_read") else "rest",
        "bulk_jobs": run["counts"].get("flush_bulk_jobs", 0) + (1 if run["counts"].get("bulk_read") else 0),
        "backfill_seconds": round(run["seconds"], 1),
        # a stopped run: how long reading and routing every lead would take at this pace
        # (the writes come after the stream and are not in it)
        "projected_read_route_seconds": None if complete or not n else round(args.leads * run["seconds"] / n),
        "api_calls": run["api_calls"],
        "api_calls_with_partner_sync": run["api_calls"] + run["partner_calls"],
        # the offer alerts (one message per rep per chunk of 10,000 confirmed offers) apart
        "api_calls_offer_alerts": sum(v for k, v in org_end["counters"]["endpoints"].items() if "actions/" in k),
        "api_calls_per_1000": per_1000(run["api_calls"], n),
        "floor_per_1000": per_1000(floor_calls(n), n),
        # whole run, partner sync included, as the org counted them
        "api_calls_by_endpoint": org_end["counters"]["endpoints"],
        "sandbox_seconds_to_ready": round(org["seed_seconds"] + org["grow_seconds"], 1),
        "sandbox_peak_rss_mb": org_end["sandbox_peak_rss_mb"],
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
    }
    if run.get("stages"):
        # a list, in the order of STAGES (a JSON object's keys may be sorted on the way)
        result["stages_cpu_us_per_lead"] = [[name, round(cpu * 1e6 / max(n, 1), 1)]
                                            for name, (cpu, _calls) in run["stages"].items() if cpu]
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
        ("garbage collector CPU (s)", run["gc"]["cpu_seconds"],
         ", ".join(f"gen {g}: {v['runs']} runs {v['cpu_seconds']} s" for g, v in run["gc"]["by_generation"].items())),
        ("API calls per 1,000 leads", result["api_calls_per_1000"], f"floor {result['floor_per_1000']}"),
        ("sandbox ready in (s)", result["sandbox_seconds_to_ready"], f"sandbox peak RSS {result['sandbox_peak_rss_mb']} MB"),
        ("seconds", result["seconds"], "whole benchmark"),
    ]
    rows.insert(5, ("path", "Bulk API 2.0" if result["path"] == "bulk" else "REST",
                    f"{result['bulk_jobs']} bulk jobs, {run['api_calls']} calls "
                    f"({result['api_calls_offer_alerts']} of them offer alerts)"))
    for name, us in result.get("stages_cpu_us_per_lead") or []:
        rows.append((f"CPU µs/lead: {name}", us, ""))
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

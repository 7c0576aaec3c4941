"""What the connector benchmarks share: a sandbox org, a connector wired to it the way an
admin would wire it (a config file, JWT bearer login over HTTPS, the shipped mappings and
rules, a SQLite state file), and one way to print results (a table, or one JSON object).

Benchmarks are scripts, not tests: they print numbers for BENCHMARKS.md. Nothing here
patches the connector — every API call counted went over HTTPS through simple-salesforce.
"""
from __future__ import annotations

import json
import math
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
if sys.path[:1] != [str(ROOT)]:
    sys.path.insert(0, str(ROOT))  # ahead of bench/, whose mappings.py would shadow the package

DEFAULT_RULES = ROOT / "rules" / "defaults" / "rules.toml"
QUERY_PAGE = 2000  # records per query page, the most Salesforce sends
WRITE_BATCH = 200  # records per sObject Collections call, the most Salesforce takes


def floor_calls(leads: int) -> int:
    """The physical floor for reading and writing `leads` leads: every page full, every
    collection call full, nothing read or written twice."""
    return math.ceil(leads / QUERY_PAGE) + math.ceil(leads / WRITE_BATCH)


def per_1000(calls: float, leads: int) -> float:
    return round(calls * 1000 / leads, 2) if leads else 0.0


def write_config(directory: Path, connection: dict[str, Any], *, rules: Path = DEFAULT_RULES,
                 schedule: dict[str, int] | None = None, state: str = "sqlite:///leadrouter.sqlite",
                 log_level: str = "error") -> Path:
    """A config file like an admin writes for a real org, pointing at the sandbox.

    No secret goes in it: JWT bearer names the private key FILE the sandbox created."""
    def q(value: Any) -> str:
        return json.dumps(str(value))

    lines = [
        "# Written by a leadrouter benchmark: the connector's config for a local sandbox org.",
        "[salesforce]",
        f"login_url = {q(connection['login_url'])}",
        f"api_version = {q(connection['api_version'])}",
        f"ca_bundle = {q(connection['ca_file'])}",
        "",
        "[salesforce.auth]",
        'method = "jwt_bearer"',
        f"client_id = {q(connection['client_id'])}",
        f"username = {q(connection['username'])}",
        f"private_key_file = {q(connection['private_key_file'])}",
        "",
        "[state]",
        f"url = {q(state)}",
        "",
        "[routing]",
        f"rules = {q(rules)}",
        "",
        "[log]",
        'format = "json"',
        f"level = {q(log_level)}",
    ]
    if schedule:
        lines += ["", "[schedule]", *(f"{k} = {v}" for k, v in schedule.items())]
    path = directory / "leadrouter.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def connector_for(directory: Path, connection: dict[str, Any], clock_now, **config: Any):
    """`jobs.app.Connector` built from a written config file, on the given clock."""
    from jobs.app import Connector
    from jobs.config import load
    from jobs.logging import configure
    from jobs.timeutil import CallableClock

    loaded = load(write_config(directory, connection, **config))
    # Logs at error level only: a benchmark prints numbers, and log formatting is not
    # what a production deployment at warning level would pay per lead either.
    configure(loaded.settings.log.format, loaded.settings.log.level, stream=sys.stderr)
    return Connector.from_config(loaded, clock=CallableClock(clock_now))


REASONS = ("Outside our territory", "No capacity this month", "Not a fit for our practice")


def answer_offers(org, offers, rng) -> tuple[int, int]:
    """Partner reps answer these live offers in the org, as the benches' polls need:
    `offers` are (lead id, kind, rep id, the pool's member reps); a pool lead is taken by
    one of its members, every other offer is accepted or rejected in turn. Returns
    (accepted, rejected)."""
    accepted = rejected = 0
    for i, (lead_id, kind, rep_id, members) in enumerate(offers):
        if kind == "pool":
            if not members:
                continue
            rep = rng.choice(members)  # the rep who picks it from the queue takes ownership
            org.update("Lead", lead_id, {"OwnerId": rep}, as_user=rep)
            accepted += 1
        elif i % 2 == 0:
            org.update("Lead", lead_id, {"Partner_Response__c": "Accepted"}, as_user=rep_id)
            accepted += 1
        else:
            org.update("Lead", lead_id, {"Partner_Response__c": "Rejected",
                                         "Rejection_Reason__c": rng.choice(REASONS)}, as_user=rep_id)
            rejected += 1
    return accepted, rejected


def say(text: str) -> None:
    """Progress on stderr: the runs take minutes, and stdout stays the result alone."""
    print(text, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """This process's peak resident set (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def machine() -> dict[str, Any]:
    """Where the figures came from: they are only comparable on the same kind of box."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"python": platform.python_version(), "cpu": model or platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "os": f"{platform.system()} {platform.release()}"}


def emit(title: str, rows: Iterable[tuple[str, Any, str]], result: dict[str, Any], as_json: bool) -> None:
    """Rows are (what, value, target or note); --json prints only the result object."""
    if as_json:
        print(json.dumps(result, sort_keys=True))
        return
    rows = list(rows)
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(_fmt(r[1])) for r in rows)
    print(title)
    print("-" * len(title))
    for what, value, note in rows:
        print(f"{what:<{width}}  {_fmt(value):>{vwidth}}  {note}".rstrip())


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"

"""`leadrouter demo`: the whole loop against a seeded sandbox org, on simulated time.

It runs the product as it runs in production — config file, JWT login over HTTPS, the
real jobs and state database — with two differences a newcomer should know: time is
the sandbox's simulated clock (a day passes in seconds), and the rule file is the
shipped one with its offer windows shortened so that lapses and redistributions show
up within the simulated days. Both are written next to the org so they can be read.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "rules" / "defaults" / "rules.toml"


@dataclass
class DemoOptions:
    partners: int = 100
    leads: int = 2000
    days: float = 2.0
    faults: str | None = None
    data: Path | None = None
    json: bool = False
    random_seed: int = 0
    step_minutes: int = 30
    report: Path = Path("report.html")
    window_scale: float = 6.0


def demo_rules(text: str, scale: float) -> str:
    """Shorter offer windows in wall-clock hours, so a two-day demo sees lapses."""
    text = re.sub(r"(?m)^(\s*offer_hours\s*=\s*)(\d+(?:\.\d+)?)",
                  lambda m: f"{m.group(1)}{max(2, round(float(m.group(2)) / scale))}", text)
    return re.sub(r"(?m)^(\s*business_hours\s*=\s*)true", r"\1false", text)


def write_config(directory: Path, connection: dict[str, Any], rules_file: Path) -> Path:
    """A config like an admin would write for a real org, pointing at the sandbox."""
    def q(value: Any) -> str:
        return json.dumps(str(value))

    config = directory / "leadrouter.toml"
    config.write_text(
        "# Written by `leadrouter demo`: the connector's config for the local sandbox org.\n"
        "[salesforce]\n"
        f"login_url = {q(connection['login_url'])}\n"
        f"api_version = {q(connection['api_version'])}\n"
        f"ca_bundle = {q(connection['ca_file'])}\n"
        "\n[salesforce.auth]\n"
        'method = "jwt_bearer"\n'
        f"client_id = {q(connection['client_id'])}\n"
        f"username = {q(connection['username'])}\n"
        f"private_key_file = {q(connection['private_key_file'])}\n"
        "\n[state]\n"
        'url = "sqlite:///leadrouter.sqlite"\n'
        "\n[routing]\n"
        f"rules = {q(rules_file)}\n"
        "\n[offers]\n"
        "reminder_before_hours = 1.0\n"
        "followup_days = 1.0\n"
        + (f"\n[stream]\npubsub_url = {q(connection['pubsub_url'])}   # the sandbox's Pub/Sub API (Change Data Capture)\n"
           if connection.get("pubsub_url") else "")
        + "\n[log]\n"
        'level = "warning"\n',
        encoding="utf-8",
    )
    return config


def run(opts: DemoOptions) -> dict[str, Any]:
    import sandbox
    from jobs.app import Connector
    from jobs.config import load
    from jobs.logging import configure
    from jobs.ops import figures, report
    from jobs.timeutil import CallableClock

    keep = opts.data is not None
    # resolved once, here: every path written into the config below is then absolute, and
    # never read again relative to the config's own folder (./demo-org/demo-org/rules.toml)
    root = Path(opts.data).resolve() if keep else Path(tempfile.mkdtemp(prefix="leadrouter-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    out = _Progress(quiet=opts.json)
    started = time.monotonic()
    out.say(f"Starting the sandbox org: {opts.partners} partners, {opts.leads} leads (seed {opts.random_seed})")
    sb = sandbox.start(root / "org", seed="demo", partners=opts.partners, leads=opts.leads,
                       faults=opts.faults, random_seed=opts.random_seed)
    try:
        rules_file = root / "rules.toml"
        rules_file.write_text(demo_rules(DEFAULT_RULES.read_text(encoding="utf-8"), opts.window_scale), encoding="utf-8")
        configure("auto", "warning", stream=sys.stderr)
        loaded = load(write_config(root, sb.connection, rules_file))
        configure(loaded.settings.log.format, loaded.settings.log.level, stream=sys.stderr)
        cx = Connector.from_config(loaded, clock=CallableClock(sb.clock.now))
        cx.instance = "demo"
        steps = max(1, int(opts.days * 24 * 60 / opts.step_minutes))
        step = timedelta(minutes=opts.step_minutes)
        sb.counters.reset()
        out.say(f"Routing over {opts.days:g} simulated days in {opts.step_minutes}-minute steps "
                f"(sandbox at {sb.connection['instance_url']}, state in {root / 'leadrouter.sqlite'})")
        errors = 0
        with out.bar(steps) as advance:
            for i in range(steps):
                now = sb.clock.now()
                results = cx.run_cycle(now, raise_errors=False)
                errors += sum(1 for r in results.values() if r.error)
                if sb.simulator is not None:
                    sb.simulator.step(sb.clock.now())
                sb.clock.advance(step)
                if i % 4 == 0 or i == steps - 1:
                    s = figures.summary(cx.store)
                    advance(i + 1, f"offered {s['offered']}  accepted {s['accepted']}  rejected {s['rejected']}  "
                                   f"lapsed {s['lapsed']}  escalated {s['escalated']}")
                else:
                    advance(i + 1, None)
        cx.run_cycle(sb.clock.now(), raise_errors=False)  # see the last answers
        data = figures.report_data(cx.store, title="leadrouter demo report", now=sb.clock.now(),
                                   instance_url=sb.connection["instance_url"])
        adj = cx.routing().feedback
        data.feedback = adj.to_dict() if adj is not None else None
        report_path = Path(opts.report).resolve()
        report_path.write_text(report.render(data), encoding="utf-8")
        totals = figures.summary(cx.store)
        summary = {
            "leads": totals["leads"],
            "offered": totals["offered"],
            "accepted": totals["accepted"],
            "rejected": totals["rejected"],
            "lapsed": totals["lapsed"],
            "redistributed": totals["redistributed"],
            "escalated": totals["escalated"],
            "unroutable": totals["unroutable"],
            "open_offers": totals["open_offers"],
            "api_calls": sb.counters.snapshot().get("api_calls", 0),
            "job_errors": errors,
            "seconds": round(time.monotonic() - started, 1),
            "report": str(report_path),
            "data": str(root) if keep else None,
        }
        cx.store.dispose()
    finally:
        sb.stop()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return summary


class _Progress:
    """Live progress on a terminal, a few plain lines when piped, nothing with --json."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def bar(self, total: int):
        outer = self

        class _Bar:
            def __enter__(self):
                self.progress = None
                if outer.tty and not outer.quiet:
                    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

                    self.progress = Progress(TextColumn("simulated steps"), BarColumn(), MofNCompleteColumn(),
                                             TextColumn("{task.description}"), transient=False)
                    self.progress.start()
                    self.task = self.progress.add_task("", total=total)
                return self.advance

            def advance(self, done: int, text: str | None) -> None:
                if self.progress is not None:
                    self.progress.update(self.task, completed=done, description=text or self.progress.tasks[0].description)
                elif text and not outer.quiet and (done == total or done % max(1, total // 8) < 4):
                    print(f"  step {done}/{total}: {text}", file=sys.stderr, flush=True)

            def __exit__(self, *exc):
                if self.progress is not None:
                    self.progress.stop()

        return _Bar()


def print_summary(summary: dict[str, Any]) -> None:
    rows = [(k, summary[k]) for k in ("leads", "offered", "accepted", "rejected", "lapsed", "redistributed",
                                       "escalated", "unroutable", "open_offers", "api_calls", "seconds")]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title="leadrouter demo — summary")
        table.add_column("what")
        table.add_column("count", justify="right")
        for k, v in rows:
            table.add_row(k.replace("_", " "), f"{v:,}" if isinstance(v, int) else str(v))
        Console().print(table)
    else:
        for k, v in rows:
            print(f"{k.replace('_', ' '):<14} {v}")
    print(f"report: {summary['report']}")
    if summary.get("data"):
        print(f"sandbox org kept in {summary['data']}/org — reopen it with: leadrouter sandbox serve --data {summary['data']}/org")

"""Operator tools: demo, validate, dry-run, explain, report (issue 7)."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

EXAMPLES_DEMO = """examples:
  leadrouter demo                                 # 100 partners, 2,000 leads, two simulated days
  leadrouter demo --partners 200 --leads 5000 --days 1 --faults flaky
  leadrouter demo --data ./demo-org --json        # keep the org; print the summary as JSON
"""


def register(sub: "argparse._SubParsersAction") -> None:
    """Add the ops subcommands to the `leadrouter` parser."""
    demo = sub.add_parser(
        "demo",
        help="run the full loop against a seeded local sandbox org on simulated time",
        description="Seed a sandbox org, run the real connector over simulated days while simulated partner "
        "reps accept, reject or ignore offers; print a summary and write an HTML report.",
        epilog=EXAMPLES_DEMO,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--partners", type=_count(1), default=100, help="partner accounts to seed (default 100)")
    demo.add_argument("--leads", type=_count(0), default=2000, help="leads to seed (default 2000)")
    demo.add_argument("--days", type=_above_zero, default=2.0, help="simulated days to run (default 2)")
    demo.add_argument("--faults", type=_fault_profile, default=None, metavar="PROFILE",
                      help="sandbox fault profile, e.g. flaky")
    demo.add_argument("--data", type=Path, default=None, metavar="DIR",
                      help="keep the sandbox org, config and state here (default: a temporary folder)")
    demo.add_argument("--report", type=Path, default=Path("report.html"), help="where to write the HTML report")
    demo.add_argument("--random-seed", type=int, default=0, help="seed of the org and the partner simulator")
    demo.add_argument("--step-minutes", type=_count(1), default=30, help="simulated minutes per connector cycle")
    demo.add_argument("--json", action="store_true", help="print the final summary as one JSON object")
    demo.set_defaults(handler=_demo)

    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", default=os.environ.get("LEADROUTER_CONFIG", "leadrouter.toml"),
                        help="the TOML config (default: $LEADROUTER_CONFIG or leadrouter.toml)")
    validate = sub.add_parser(
        "validate", parents=[config], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="check config, mappings and rules against the org; every problem at once, with its fix",
        epilog="examples:\n  leadrouter validate --config leadrouter.toml\n"
               "  leadrouter validate --offline          # files only, no org\n"
               "  leadrouter validate --json | jq .findings\n\nexit code 1 when there is any error",
    )
    validate.add_argument("--offline", action="store_true", help="check the files only; do not contact the org")
    validate.add_argument("--json", action="store_true", help="findings as one JSON object")
    validate.set_defaults(handler=_lazy("jobs.ops.validate"))

    dry = sub.add_parser(
        "dry-run", parents=[config], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="route the unrouted leads without writing anything; compare two rule files",
        epilog="examples:\n  leadrouter dry-run\n  leadrouter dry-run --format csv --out decisions.csv\n"
               "  leadrouter dry-run --rules proposed-rules.toml   # only the leads that would change",
    )
    dry.add_argument("--rules", type=Path, help="another rule file: show what would change against the current rules")
    dry.add_argument("--limit", type=_at_least_one, default=None, help="at most this many leads (oldest first)")
    dry.add_argument("--format", choices=("table", "csv", "json"), default="table",
                     help="table (default) for the terminal, csv for a spreadsheet, json for scripts")
    dry.add_argument("--out", type=Path, help="write to this file instead of the terminal")
    dry.set_defaults(handler=_lazy("jobs.ops.dryrun"))

    explain = sub.add_parser(
        "explain", parents=[config], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="the full decision trace for one lead: as it would be decided now, and as it was",
        epilog="examples:\n  leadrouter explain 00Q5g00000001ABEAY\n  leadrouter explain 00Q5g00000001AB --json",
    )
    explain.add_argument("lead_id", metavar="LEAD_ID", help="the Lead's id (15 or 18 characters)")
    explain.add_argument("--json", action="store_true", help="the trace as one JSON object")
    explain.set_defaults(handler=_lazy("jobs.ops.explain"))

    undo = sub.add_parser(
        "undo", parents=[config], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="put back the owner, partner and routing status a run set on its leads, where nobody touched them since",
        epilog="examples:\n  leadrouter undo --run r3f9c2a1b7d0          # dry run: what would be put back\n"
               "  leadrouter undo --run r3f9c2a1b7d0 --apply  # write it\n\n"
               "run ids are in the log lines (run_id=…); an unknown id lists the recent runs",
    )
    undo.add_argument("--run", required=True, metavar="ID", help="the run's id (run_id in the logs)")
    undo.add_argument("--apply", action="store_true", help="write the old values (default: dry run)")
    undo.add_argument("--json", action="store_true", help="what would be (or was) put back, as one JSON object")
    undo.set_defaults(handler=_lazy("jobs.ops.undo"))

    report = sub.add_parser(
        "report", parents=[config], formatter_class=argparse.RawDescriptionHelpFormatter,
        help="write a self-contained HTML report from the state database",
        epilog="example:\n  leadrouter report --out report.html",
    )
    report.add_argument("--out", type=Path, default=Path("report.html"),
                        help="the HTML file to write (default: report.html in the current directory)")
    report.set_defaults(handler=_report)


def _count(least: int):
    """A whole number of at least `least` (argparse names the option)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"expected at least {least}, got {value}")
        return value
    return parse


def _above_zero(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def _fault_profile(text: str) -> str:
    try:
        from sandbox.faults import PROFILES
    except ImportError:  # no sandbox extra: the demo says so itself
        return text
    if text not in PROFILES:
        raise argparse.ArgumentTypeError(f"unknown fault profile {text!r}; use one of {', '.join(PROFILES)}")
    return text


def _at_least_one(text: str) -> int:
    """A count typed by hand: a whole number of at least 1 (argparse names the option)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of leads, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 lead, got {value}; leave --limit out for all")
    return value


def _demo(args: argparse.Namespace) -> int:
    from jobs import extras

    needs = extras.problem("sandbox", "leadrouter demo")
    if needs:
        print(f"leadrouter: {needs}", file=sys.stderr)
        return extras.EXIT_MISSING_EXTRA
    from jobs.ops.demo import DemoOptions, print_summary, run
    from jobs.ops.output import why_not_writable

    why = why_not_writable(args.report)  # before a run of minutes, not after it
    if why:
        print(f"leadrouter demo: --report {args.report} {why}", file=sys.stderr)
        return 2

    summary = run(DemoOptions(partners=args.partners, leads=args.leads, days=args.days, faults=args.faults,
                              data=args.data, json=args.json, random_seed=args.random_seed,
                              step_minutes=args.step_minutes, report=args.report))
    if args.json:
        print(json.dumps(summary))
    else:
        print_summary(summary)
    return 0 if summary["job_errors"] == 0 else 1


def _lazy(module: str):
    """Import a tool only when it runs: `leadrouter --help` stays fast."""
    def handler(args: argparse.Namespace) -> int:
        return importlib.import_module(module).run(args)

    return handler


def _mappings(loaded):
    """The org's mappings for the report's partner tiers; None (the shipped ones) when they
    do not load (`leadrouter validate` says what is wrong with them)."""
    from mappings import MappingError, load_mappings

    try:
        return load_mappings(loaded.resolve(loaded.settings.mappings.dir))
    except MappingError:
        return None


def _feedback(store, loaded) -> dict | None:
    """The report's feedback section: adjustments in force, from the state alone."""
    from jobs import feedback
    from mappings import MappingError, load_mappings

    try:
        ms = load_mappings(loaded.resolve(loaded.settings.mappings.dir))
    except MappingError:
        return None  # `leadrouter validate` says what is wrong with them
    with store.connect() as conn:
        adj = feedback.from_state(conn, ms)
    return adj.to_dict() if adj is not None else None


def _report(args: argparse.Namespace) -> int:
    from jobs.commands import _load as load_config_or_exit
    from jobs.ops import figures, report
    from jobs.ops.context import open_live_store, why_no_live_store
    from jobs.ops.output import why_not_writable, write_whole

    why = why_not_writable(args.out)
    if why:
        print(f"leadrouter report: --out {args.out} {why}", file=sys.stderr)
        return 2
    loaded = load_config_or_exit(args)  # a --config naming no file is said, as by every command
    store = open_live_store(loaded)
    if store is None:
        from jobs.commands import EXIT_STATE

        print(f"leadrouter report: state database problem\n{why_no_live_store(loaded)}", file=sys.stderr)
        return EXIT_STATE
    try:
        data = figures.report_data(store, instance_url=figures.org_url(loaded), mappings=_mappings(loaded))
        data.feedback = _feedback(store, loaded)
        try:
            write_whole(args.out, report.render(data))
        except OSError as e:
            print(f"leadrouter report: --out {args.out} cannot be written: {e.strerror or e}", file=sys.stderr)
            return 2
    finally:
        store.dispose()
    print(f"report: {args.out.resolve()}")
    return 0

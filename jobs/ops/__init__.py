"""Operator tools: demo, validate, dry-run, explain, report (issue 7)."""
from __future__ import annotations

import argparse
import json
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
    demo.add_argument("--partners", type=int, default=100, help="partner accounts to seed (default 100)")
    demo.add_argument("--leads", type=int, default=2000, help="leads to seed (default 2000)")
    demo.add_argument("--days", type=float, default=2.0, help="simulated days to run (default 2)")
    demo.add_argument("--faults", default=None, metavar="PROFILE", help="sandbox fault profile, e.g. flaky")
    demo.add_argument("--data", type=Path, default=None, metavar="DIR",
                      help="keep the sandbox org, config and state here (default: a temporary folder)")
    demo.add_argument("--report", type=Path, default=Path("report.html"), help="where to write the HTML report")
    demo.add_argument("--random-seed", type=int, default=0, help="seed of the org and the partner simulator")
    demo.add_argument("--step-minutes", type=int, default=30, help="simulated minutes per connector cycle")
    demo.add_argument("--json", action="store_true", help="print the final summary as one JSON object")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from jobs.ops.demo import DemoOptions, print_summary, run

    summary = run(DemoOptions(partners=args.partners, leads=args.leads, days=args.days, faults=args.faults,
                              data=args.data, json=args.json, random_seed=args.random_seed,
                              step_minutes=args.step_minutes, report=args.report))
    if args.json:
        print(json.dumps(summary))
    else:
        print_summary(summary)
    return 0 if summary["job_errors"] == 0 else 1

"""The `leadrouter` command line.

Subcommands are registered by small modules so each owner can grow its own without
touching the others: `sandbox` (starts the local org), plus the connector's run/once/
status and the ops tools as they land.
"""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadrouter",
        description="Route Salesforce leads to channel partners.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = sub.add_parser("sandbox", help="the local Salesforce stand-in (sandbox org)")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND")
    serve = sandbox_sub.add_parser(
        "serve",
        help="serve a sandbox org over HTTPS on 127.0.0.1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  leadrouter sandbox serve --data ./org --seed demo --partners 200 --leads 10000",
    )
    from sandbox import serve as sandbox_serve  # only the CLI may start the sandbox

    sandbox_serve.add_arguments(serve)
    serve.set_defaults(handler=_needs_sandbox(sandbox_serve.run, "leadrouter sandbox serve"))
    add_leads = sandbox_sub.add_parser(
        "add-leads",
        help="add new leads to a kept sandbox org (served or saved) and print their ids",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  leadrouter sandbox add-leads 50 --data ./demo-org/org",
    )
    from sandbox import add_leads as sandbox_add_leads

    sandbox_add_leads.add_arguments(add_leads)
    add_leads.set_defaults(handler=_needs_sandbox(sandbox_add_leads.run, "leadrouter sandbox add-leads"))

    # The connector itself: run (scheduler), once (cron), status.
    from jobs import commands

    commands.register(sub)

    # The ops tools (demo, validate, dry-run, explain, report) register themselves.
    from jobs import ops

    ops.register(sub)

    # issue 17: replay recent leads through rule files before deploying one
    from jobs import backtest

    backtest.register(sub)
    # partners' rejection reasons at work, and their undo
    from jobs.ops import feedback

    feedback.register(sub)
    return parser


def version() -> str:
    """The installed distribution's version (the wheel's metadata, not a copy in code)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("leadrouter")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _needs_sandbox(handler, what: str):
    """The stand-in org needs the `sandbox` extra: say so instead of an ImportError."""
    def run(args: argparse.Namespace) -> int:
        from jobs import extras

        needs = extras.problem("sandbox", what)
        if needs:
            print(f"leadrouter: {needs}", file=sys.stderr)
            return extras.EXIT_MISSING_EXTRA
        return handler(args)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from sqlalchemy.exc import DatabaseError

    from connector.errors import ConfigError, ConnectorError
    from jobs.commands import EXIT_CONFIG, EXIT_JOB_FAILED
    from jobs.config import ConfigFileError, SalesforceUnreachable
    from jobs.state import StateProblem
    from mappings import MappingError
    from rules.errors import RulesError

    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C where a command has no handler of its own: one line, no traceback
        print(f"leadrouter: interrupted (Ctrl-C); `leadrouter {args.command}` did not finish", file=sys.stderr)
        return 130
    except (StateProblem, DatabaseError) as e:  # a damaged or unreachable state: one message, non-zero
        from jobs.commands import EXIT_STATE
        from jobs.state.store import describe_problem

        print(f"leadrouter: state database problem\n{describe_problem(e)}", file=sys.stderr)
        return EXIT_STATE
    # The ops tools (dry-run, explain, backtest, …) assemble the connector as `once` does:
    # a broken rule file, mapping or login ends them as it ends `once`, not in a traceback.
    except SalesforceUnreachable as e:
        print(f"leadrouter: Salesforce did not answer (exit {EXIT_JOB_FAILED}: run again later)\n{e}",
              file=sys.stderr)
        return EXIT_JOB_FAILED
    except (ConfigFileError, ConfigError, MappingError, RulesError) as e:
        print(f"leadrouter: configuration problem\n{e}", file=sys.stderr)
        return EXIT_CONFIG
    except ConnectorError as e:  # a read the retries gave up on (an outage, the API budget): as `once` exits
        print(f"leadrouter: Salesforce did not answer (exit {EXIT_JOB_FAILED}: run again later)\n{e}",
              file=sys.stderr)
        return EXIT_JOB_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

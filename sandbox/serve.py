"""`leadrouter sandbox serve`: run a sandbox org until Ctrl-C or SIGTERM.

Prints the connection details once the server answers (secrets masked: they are in
DATA/connection.json, mode 0600), then serves; on a signal it stops the server and
saves the org under DATA so the next start is the same org.
"""
from __future__ import annotations

import argparse
import gc
import json
import signal
import sys
import threading
import time
from pathlib import Path

from sandbox import persist
from sandbox.faults import PROFILES

SECRET_KEYS = ("client_secret", "password", "refresh_token")
IMPORT_ISSUES_SHOWN = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=None,
                        help="port on 127.0.0.1 (default: the port this org had last time, so configs written "
                             "against it keep working; else any free port)")  # fmt: skip
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="where the org, its CA and credentials live; connection.json is written here")  # fmt: skip
    parser.add_argument("--seed", choices=["demo"], default=None,
                        help="fill a new org with demo partners and leads (ignored when DIR already holds an org)")  # fmt: skip
    parser.add_argument("--import", dest="import_dir", default=None, metavar="EXPORT_DIR",
                        help="fill a new org from a Salesforce Data Export (the unzipped folder of Lead.csv, "
                             "Account.csv, User.csv, ...), to try rules on a copy of your own data; ignored "
                             "when DIR already holds an org")  # fmt: skip
    parser.add_argument("--partners", type=int, default=100, metavar="N", help="partner accounts to seed (default 100)")
    parser.add_argument("--leads", type=int, default=2000, metavar="M", help="leads to seed (default 2000)")
    parser.add_argument("--faults", choices=sorted(PROFILES), default=None, metavar="PROFILE",
                        help=f"fault profile: {', '.join(PROFILES)} (default none)")  # fmt: skip
    parser.add_argument("--random-seed", type=int, default=0, metavar="S", help="seed for data and faults (default 0)")
    parser.add_argument("--token-ttl", type=float, default=7200, metavar="SECONDS", help="access token lifetime")
    parser.add_argument("--api-limit", type=int, default=None, metavar="N", help="daily API request limit")
    parser.add_argument("--keep-clock", action="store_true",
                        help="a reopened org keeps its clock's distance from real time, even when behind it (default: "
                             "it runs on real time again, except that an org a demo moved ahead keeps its lead: "
                             "its clock never goes back)")


def _serving(data_dir: str) -> object | None:
    """An exclusive lock on the org's folder for as long as this process serves it (released by
    the OS when it ends, however it ends); None when another process holds it."""
    import fcntl

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    handle = open(Path(data_dir) / "serve.lock", "a+")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _previous_url(data_dir: str) -> str | None:
    try:
        return str(json.loads((Path(data_dir) / "connection.json").read_text())["instance_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _previous_port(data_dir: str) -> int | None:
    """The port a reopened org had: its connection.json still names it."""
    from pathlib import Path
    from urllib.parse import urlsplit

    try:
        url = json.loads((Path(data_dir) / "connection.json").read_text())["instance_url"]
        return urlsplit(url).port
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _masked(connection: dict) -> dict:
    return {k: ("*** (in connection.json)" if k in SECRET_KEYS else v) for k, v in connection.items()}


def _import(sb, import_dir: str) -> bool:
    """Load the Data Export into the new org and say what came in and what did not."""
    from sandbox.csv_import import load_export

    try:
        summary = load_export(sb.org, import_dir)
    except (OSError, ValueError) as exc:
        print(f"leadrouter sandbox serve: --import {import_dir}: {exc}", file=sys.stderr)
        return False
    counts = ", ".join(f"{n} {name}" for name, n in summary.counts.items()) or "nothing"
    print(f"imported from {import_dir}: {counts}; {len(summary.errors)} rows refused, "
          f"{len(summary.warnings)} values or columns left out", file=sys.stderr)  # fmt: skip
    for issue in summary.issues[:IMPORT_ISSUES_SHOWN]:
        print(f"  {issue}", file=sys.stderr)
    if len(summary.issues) > IMPORT_ISSUES_SHOWN:
        print(f"  … and {len(summary.issues) - IMPORT_ISSUES_SHOWN} more", file=sys.stderr)
    sb.save()
    return True


def run(args: argparse.Namespace) -> int:
    from sandbox import start

    for name, value in (("--partners", args.partners), ("--leads", args.leads)):
        if value < 0:
            print(f"leadrouter sandbox serve: {name} must be 0 or more, got {value}", file=sys.stderr)
            return 2
    import_dir = getattr(args, "import_dir", None)
    if import_dir is not None:
        if args.seed is not None:
            print("leadrouter sandbox serve: --seed and --import both fill a new org; give one of them", file=sys.stderr)
            return 2
        if not Path(import_dir).is_dir():
            print(f"leadrouter sandbox serve: --import {import_dir}: no such folder; unzip the Data Export "
                  f"(Setup > Data Export) and give its folder", file=sys.stderr)  # fmt: skip
            return 2
    held = _serving(args.data)
    if held is None:
        url = _previous_url(args.data) or "its instance_url in connection.json"
        print(f"leadrouter sandbox serve: the org in {args.data} is already being served at {url}: use that one "
              "(another terminal, or a demo, has it), or stop it first — two servers of one org overwrite each "
              "other's saves", file=sys.stderr)
        return 2
    fresh = not (Path(args.data) / persist.FILE_NAME).exists()
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    began = time.monotonic()
    ports = [args.port] if args.port is not None else [p for p in (_previous_port(args.data), 0) if p is not None]
    for i, port in enumerate(ports):
        try:
            sb = start(
                args.data, seed=args.seed, partners=args.partners, leads=args.leads, faults=args.faults,
                random_seed=args.random_seed, port=port, token_ttl=args.token_ttl, api_limit=args.api_limit,
            )  # fmt: skip
            break
        except (OSError, ValueError) as exc:
            if i + 1 < len(ports):
                print(f"leadrouter sandbox serve: port {port} is taken ({exc}); using another one — configs "
                      "written for the old port need the new instance_url", file=sys.stderr)
                continue
            print(f"leadrouter sandbox serve: cannot start: {exc}", file=sys.stderr)
            return 1
    if not fresh and not args.keep_clock:
        # A reopened org runs on real time again, but a clock never goes back: an org a demo
        # moved days ahead keeps its lead, or every client that saw its later time (the
        # connector's read watermark) would miss what is created now, stamped before it.
        from datetime import datetime, timezone

        sb.clock.set(max(datetime.now(timezone.utc), sb.clock.now()))
    if import_dir is not None:
        if not fresh:
            print(f"leadrouter sandbox serve: --import ignored: {sb.data_dir} already holds an org "
                  f"(remove {persist.FILE_NAME} there, or use another --data, to import again)", file=sys.stderr)  # fmt: skip
        elif not _import(sb, import_dir):
            sb.stop()
            return 1
    # the seeded org lives as long as the process: keep the collector from rescanning it
    gc.freeze()
    try:
        print(json.dumps(_masked(sb.connection), indent=2))
        print(
            f"sandbox ready in {time.monotonic() - began:.2f}s at {sb.url} "
            f"(connection: {sb.data_dir / 'connection.json'}); Ctrl-C to stop",
            file=sys.stderr, flush=True,
        )  # fmt: skip
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        sb.stop()
        print("sandbox stopped; org saved in " + str(sb.data_dir), file=sys.stderr, flush=True)
    return 0

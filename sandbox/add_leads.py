"""`leadrouter sandbox add-leads N --data DIR`: new leads in a kept sandbox org.

When the org in DIR is being served (`sandbox serve --data DIR` in another terminal, or
the demo's), the leads go in through its admin endpoint, so the running org and its
autosave see them at once. When nobody serves it, the saved org is opened, the leads
added and the org saved again. Either way the new leads' ids are printed: they are what
`leadrouter explain <id>` takes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SHOWN_IDS = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("count", type=int, metavar="N", help="how many new leads")
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="the org's folder (the one `sandbox serve --data` and the demo's --data/org use)")  # fmt: skip
    parser.add_argument("--random-seed", type=int, default=0, metavar="S",
                        help="seed for the generated leads (default 0)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print {\"ids\": [...], \"via\": ...} instead of text")


def _running(data: Path):
    """A RemoteSandbox on the org served from `data`, or None when nobody serves it."""
    import requests

    from sandbox.remote import RemoteSandbox

    if not (data / "connection.json").exists():
        return None
    remote = RemoteSandbox.from_connection(data)
    remote.timeout = 5
    try:
        status = remote.status()
    except (requests.ConnectionError, requests.Timeout, RuntimeError):
        remote.close()
        return None
    # another org may have taken the port since: only the org saved in `data` counts
    if Path(status["connection"]["ca_file"]).resolve() != (data / "tls" / "ca.pem").resolve():
        remote.close()
        return None
    return remote


def run(args: argparse.Namespace) -> int:
    data = Path(args.data).expanduser().resolve()
    if args.count < 1:
        print(f"leadrouter sandbox add-leads: N must be 1 or more, got {args.count}", file=sys.stderr)
        return 2
    from sandbox import persist

    if not (data / persist.FILE_NAME).exists() and not (data / "connection.json").exists():
        print(f"leadrouter sandbox add-leads: no sandbox org in {data}; start one with "
              f"`leadrouter sandbox serve --data {args.data} --seed demo` (or the demo's --data DIR/org)",
              file=sys.stderr)  # fmt: skip
        return 1
    remote = _running(data)
    if remote is not None:
        try:
            ids = remote.add_leads(args.count, args.random_seed)
        finally:
            remote.close()
        via = f"the running org at {remote.connection['instance_url']}"
    else:
        from sandbox import start
        from sandbox.seed import add_leads

        sb = start(data, autosave=None)  # any free port: nobody connects, it is saved on stop
        try:
            ids = add_leads(sb.org, args.count, random_seed=args.random_seed)
        finally:
            sb.stop()
        via = f"the saved org in {data}"
    if args.json:
        print(json.dumps({"ids": ids, "via": via}))
        return 0
    print(f"added {len(ids)} leads to {via} (owner: the Inside Sales queue, routing status empty)")
    for lead_id in ids[:SHOWN_IDS]:
        print(f"  {lead_id}")
    if len(ids) > SHOWN_IDS:
        print(f"  … and {len(ids) - SHOWN_IDS} more (--json lists them all)")
    print(f"next: `leadrouter once --config …` routes them; `leadrouter explain {ids[0]} --config …` shows one")
    return 0

#!/usr/bin/env python
"""What the incumbents a state knows cost each job transaction, at 0, 5,000 and 22,000.

    python bench/incumbents.py [--counts 0 5000 22000] [--repeat 30] [--state POSTGRESQL-URL] [--json]

For each count: a fresh state (a SQLite file; with `--state`, a scratch org's schema in that
PostgreSQL database, dropped after) learns that many incumbents (companies and email domains, as the
partners' acceptances and the sync's Opportunities teach them), then one job
transaction is timed `--repeat` times, as a page of the lead stream runs it: the routing
state loaded for a page of 200 leads (with the incumbents of their companies, 20 of which
are known), one acceptance teaching a new incumbent, the state saved. `txn_ms`: the median
of the runs; `document_bytes`: the routing-state document as saved; `incumbent_rows`: the
incumbents' own table (state migration 10; before it, they were in the document).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
sys.path.append(str(Path(__file__).resolve().parent))

from _common import emit, machine, say  # noqa: E402

NOW = datetime(2031, 6, 2, 9, 0, tzinfo=timezone.utc)
PAGE = 200


def _page(n: int, known: int) -> list:
    """A page of leads: `known` of them from companies the state knows."""
    from rules.model import Lead

    leads = []
    for i in range(PAGE):
        c = n - 1 - i if i < known and n else n + i  # the latest learned: the cap keeps them
        leads.append(Lead(id=f"00Q{i:015d}", company=f"Company {c} GmbH", email=f"someone@company{c}.example"))
    return leads


def run(url: str, n: int, repeat: int) -> dict:
    from sqlalchemy import String, cast, func, select

    from jobs import lifecycle
    from jobs.state import Store, schema

    store = Store(url)
    try:
        with store.begin() as conn:
            state = lifecycle.load_state(conn)
            for i in range(n // 2):  # a company's name and its domain are a key each
                state.set_incumbent(f"001P{i % 400:014d}", company=f"Company {i} GmbH",
                                    domain=f"company{i}.example", at=NOW - timedelta(minutes=n - i),
                                    how="lead" if i % 3 else "opportunity")
            lifecycle.save_state(conn, state, NOW)
        page = _page(n // 2, 20)
        ids = [lead.id for lead in page]
        try:  # since state migration 10 the page's incumbents are rows, read as jobs/incumbents.take reads them
            from jobs.state import incumbents as rows
            from rules.state import incumbent_keys, lead_domain

            keys = [k for lead in page for k in incumbent_keys(lead.company, lead_domain(lead))]

            def take(conn, state, _page):
                state.take_incumbents(rows.read(conn, keys))
        except ImportError:  # before: the document held them all
            take = None
        times = []
        for r in range(repeat):
            began = time.perf_counter()
            with store.begin() as conn:
                state = lifecycle.load_state(conn, ids)
                if take is not None:
                    take(conn, state, page)
                assert state.incumbent(page[0].company, None) or not n
                state.set_incumbent("001P00000000000AAA", company=f"New customer {r}", domain=f"new{r}.example",
                                    at=NOW + timedelta(seconds=r))
                lifecycle.save_state(conn, state, NOW)
            times.append(time.perf_counter() - began)
        with store.connect() as conn:
            doc = conn.execute(select(func.length(cast(schema.routing_state.c.data, String)))).scalar() or 0
            kept = conn.execute(select(func.count()).select_from(schema.incumbents)).scalar() \
                if hasattr(schema, "incumbents") else None
    finally:
        store.dispose()
    return {"txn_ms": round(statistics.median(times) * 1000, 2), "txn_ms_max": round(max(times) * 1000, 2),
            "document_bytes": doc, "incumbent_rows": kept}


def _scratch(url: str, n: int) -> str:
    from jobs.state.orgs import url_for

    _drop(url, n)
    return url_for(url, f"bench_incumbents_{n}")


def _drop(url: str, n: int) -> None:
    from sqlalchemy import create_engine, text

    from jobs.state.orgs import schema_for

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema_for(f"bench_incumbents_{n}")}" CASCADE'))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].strip())
    parser.add_argument("--counts", type=int, nargs="+", default=[0, 5_000, 22_000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--state", help="a PostgreSQL URL: each count in a scratch org's schema (dropped after)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="lr-bench-incumbents-") as tmp:
        for n in args.counts:
            say(f"incumbents: {n:,} known, one page's transaction x{args.repeat}")
            results[n] = run(_scratch(args.state, n) if args.state else f"sqlite:///{tmp}/state-{n}.sqlite", n,
                             args.repeat)
            if args.state:
                _drop(args.state, n)
            say(f"  {results[n]}")
    out = {"txn_ms": {str(n): r["txn_ms"] for n, r in results.items()},
           "txn_ms_max": {str(n): r["txn_ms_max"] for n, r in results.items()},
           "document_bytes": {str(n): r["document_bytes"] for n, r in results.items()},
           "state": "postgresql" if args.state else "sqlite", "machine": machine()}
    rows = [(f"transaction at {n:,} incumbents (median)", r["txn_ms"], f"ms; document {r['document_bytes']:,} B")
            for n, r in results.items()]
    emit("incumbents in the state", rows, out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`leadrouter dry-run`: what the rules would do with today's unrouted leads, writing nothing.

With `--rules other.toml` it routes the same leads under both rule files, from the
same starting counters, and lists only the leads whose outcome would change — the
diff a channel manager reviews before deploying a rule change.
"""
from __future__ import annotations

import copy
import csv
import io
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from jobs.ops.output import why_not_writable, write_whole
from jobs.printable import csv_cell, json_text, one_line
from rules.model import DecisionKind


@dataclass
class Row:
    lead_id: str
    company: str
    country: str
    outcome: str  # offer | pool | escalate | fallback | unroutable | left alone
    to: str  # partner (and rep), pool or queue name
    rule: str
    reason: str


def route_all(cx, records: Iterable[dict[str, Any]], state, now: datetime, *, book=None) -> list[Row]:
    """Decide every lead in turn, consuming capacity as production would."""
    from jobs import lifecycle
    from jobs.route import not_ours
    from mappings import Unroutable

    routing = cx.routing() if book is None else routing_with(cx, book)
    names = {p.id: p.name for p in routing.partners.values()}
    rep_names = {r.id: r.name for p in routing.partners.values() for r in p.reps}
    queue_names = {qid: name for name, qid in routing.queue_ids.items()}
    convert = cx.mappings.lead_converter()
    # the company and country as the org has them, from the fields this org's mappings read
    sources = cx.mappings.source_fields("lead")
    company_field = (sources.get("company") or ("Company",))[0]
    country_field = (sources.get("country") or ("Country",))[0]
    rows = []
    for rec in records:
        lead = convert(rec)
        company = str(rec.get(company_field) or "")
        country = str(rec.get(country_field) or "")
        if isinstance(lead, Unroutable):
            rows.append(Row(lead.record_id or rec.get("Id", ""), company, country, "unroutable", "", "", lead.reason))
            continue
        skip = not_ours(lead, cx.mappings, rec)
        if skip is not None:  # `once` writes nothing on it: neither does its preview
            rows.append(Row(lead.id, company, country, "left alone", "", "", skip[1]))
            continue
        # as jobs/route.py decides it: the score, the Lead's words on feedback, an escalation
        # held while the escalation queue is not in the org
        decision = lifecycle.decide(routing, lead, state, now, attempt=1)
        state.record_offer(decision, now)
        if decision.kind is DecisionKind.OFFER:
            to = names.get(decision.partner_id or "", decision.partner_id or "")
            if decision.rep_id:
                to += f" / {rep_names.get(decision.rep_id) or decision.rep_id}"  # a rep without a Name: its id
        else:
            to = queue_names.get(decision.queue_id or "", decision.queue_id or "")
        rows.append(Row(lead.id, company, country, decision.kind.value, to, decision.rule or "", decision.reason))
    return rows


def routing_with(cx, book):
    """The same partner snapshot, indexed for another rule book."""
    from jobs.partners import build_routing

    current = cx.book
    cx.book = book.with_fiscal_periods(current.settings.fiscal_periods)  # the org's, read at start
    try:
        with cx.store.connect() as conn:
            return build_routing(cx, conn, generation=-1)
    finally:
        cx.book = current


def diff(current: list[Row], proposed: list[Row]) -> list[dict[str, str]]:
    before = {r.lead_id: r for r in current}
    changes = []
    for new in proposed:
        old = before.get(new.lead_id)
        if old is None or (old.outcome, old.to, old.rule) != (new.outcome, new.to, new.rule):
            changes.append({"lead_id": new.lead_id, "company": new.company,
                            "before": f"{old.outcome} → {old.to} ({old.rule})" if old else "",
                            "after": f"{new.outcome} → {new.to} ({new.rule})", "reason": new.reason})
    return changes


def render(rows: list[dict[str, Any]], fmt: str, out: io.TextIOBase, title: str) -> None:
    if fmt == "json":
        out.write(json_text(rows, indent=1))
        out.write("\n")
        return
    if fmt == "csv" or not rows:
        if not rows:
            print(f"{title}: nothing to show", file=out)
            return
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in r.items()} for r in rows)
        return
    if out.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, show_lines=False)
        for key in rows[0]:
            table.add_column(key, overflow="fold", max_width=60 if key == "reason" else None)
        for r in rows:
            # Text, not a str: rich would read "[/]" in a Company as markup and fail on it.
            table.add_row(*(Text(one_line(v)) for v in r.values()))
        Console(file=out).print(table)
    else:
        print("\t".join(rows[0]), file=out)
        for r in rows:
            print("\t".join(one_line(v) for v in r.values()), file=out)


def counts(rows: list[Row]) -> str:
    """How many leads each outcome got, as a channel manager reads it: "3 offer, 2 pool"."""
    out: dict[str, int] = {}
    for r in rows:
        out[r.outcome] = out.get(r.outcome, 0) + 1
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def run(args) -> int:
    from jobs.ops.context import load_book, open_context, unrouted_leads_soql
    from rules.errors import RulesError

    if args.out is not None:
        why = why_not_writable(args.out)
        if why:
            print(f"leadrouter dry-run: --out {args.out} {why}", file=sys.stderr)
            return 2
    loaded = _load(args.config)
    with open_context(loaded) as ctx:
        cx = ctx.connector
        now = cx.clock.now()
        records = list(cx.client.query(unrouted_leads_soql(cx, args.limit)))
        start = ctx.state_for(r.get("Id") for r in records)
        current = route_all(cx, records, copy.deepcopy(start), now)
        # the file is written once the whole output is ready: never half a table
        buffer = io.StringIO() if args.out else None
        out = buffer if buffer is not None else sys.stdout
        if args.rules:
            try:
                other = load_book(Path(args.rules), cx.mappings)
            except RulesError as e:
                print(f"leadrouter dry-run: {e}", file=sys.stderr)
                return 2
            proposed = route_all(cx, records, copy.deepcopy(start), now, book=other)
            changes = diff(current, proposed)
            render(changes, args.format, out, f"{len(changes)} of {len(records)} leads would route differently")
            footer = f"current {counts(current)}  →  proposed {counts(proposed)}"
        else:
            render([asdict(r) for r in current], args.format, out, f"dry-run: {len(records)} unrouted leads")
            footer = f"{len(records)} leads: {counts(current)} (nothing was written)"
        if buffer is not None:
            try:
                write_whole(args.out, buffer.getvalue())
            except OSError as e:
                print(f"leadrouter dry-run: --out {args.out} cannot be written: {e.strerror or e}", file=sys.stderr)
                return 2
        _footer(footer, args)
    return 0


def _footer(text: str, args) -> None:
    if args.format == "table" or args.out:
        print(text, file=sys.stderr)


def _load(config):
    from jobs.commands import _load as load_config_or_exit

    class _Args:
        pass

    a = _Args()
    a.config = config
    return load_config_or_exit(a)

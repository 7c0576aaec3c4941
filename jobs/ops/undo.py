"""`leadrouter undo --run ID`: put back what one run did to its leads, where nobody has
touched them since.

A run's decisions are in the state's audit (decided at the run's time); what they
changed in the org, and what was there before, is in LeadHistory (Owner,
PartnerAccount and Routing_Status__c are tracked). A lead is left alone when anyone
but the connector changed it after the run started — a person's work is never undone —
or when a later run changed it again (undo that run first). Dry run by default; with
`--apply` the old values are written with the same staleness guard the outbox uses, and
the state lets go of the lead (its offer closes) so the next run does not chase it.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import select

from jobs.printable import for_terminal, json_text, one_line

HISTORY_NAMES = {"owner_id": ("Owner", "ownerAssignment", "OwnerId"), "partner_id": ("PartnerAccount", "PartnerAccountId")}


@dataclass
class LeadUndo:
    lead_id: str
    company: str = ""
    restore: dict[str, Any] = field(default_factory=dict)  # API field -> previous value
    now: dict[str, Any] = field(default_factory=dict)  # API field -> current value
    skipped: str | None = None  # why it is left alone
    by: str | None = None  # the user whose change since the run keeps it (named in the listing)
    written: bool = False


def run_window(store, run_id: str) -> dict[str, Any] | None:
    from jobs.state import schema as t

    with store.connect() as conn:
        row = conn.execute(select(t.job_runs).where(t.job_runs.c.run_id == run_id)).first()
    return dict(row._mapping) if row else None


def recent_runs(store, limit: int = 10) -> list[dict[str, Any]]:
    """Runs that decided something, newest first: what `--run` can be given."""
    from sqlalchemy import func

    from jobs.state import schema as t

    with store.connect() as conn:
        runs = conn.execute(select(t.job_runs).order_by(t.job_runs.c.id.desc()).limit(200)).all()
        out = []
        for r in runs:
            end = r.finished or r.started
            n = conn.execute(select(func.count()).select_from(t.decisions)
                             .where(t.decisions.c.at >= r.started, t.decisions.c.at <= end)).scalar_one()
            if n:
                out.append({"run_id": r.run_id, "job": r.job, "started": r.started, "decisions": n})
            if len(out) >= limit:
                break
    return out


def decided_leads(store, window: dict[str, Any]) -> list[str]:
    from jobs.state import schema as t

    end = window["finished"] or window["started"]
    with store.connect() as conn:
        rows = conn.execute(select(t.decisions.c.lead_id).where(t.decisions.c.at >= window["started"],
                                                                t.decisions.c.at <= end)
                            .order_by(t.decisions.c.id)).all()
    return list(dict.fromkeys(r[0] for r in rows))


def plan(client, ms, lead_ids: list[str], window: dict[str, Any]) -> list[LeadUndo]:
    """What undoing the run would do to each of its leads (reads only)."""
    from connector.soql import format_soql, soql_datetime
    from jobs.timeutil import parse_sf_datetime

    wb = ms.writeback_fields()
    api = {k: wb[k] for k in ("owner_id", "partner_id", "routing_status") if k in wb}
    # LeadHistory names a standard lookup by its relationship (PartnerAccount), a custom field
    # (an org's own partner lookup) by its API name
    names = {k: HISTORY_NAMES[k] if k in HISTORY_NAMES and v in HISTORY_NAMES[k] else (v,) for k, v in api.items()}
    me = getattr(client, "user_id", None)
    started = window["started"]
    finished = (window["finished"] or started) + timedelta(seconds=1)  # SOQL datetimes: whole seconds
    records = {r["Id"]: r for r in client.read_by_ids(
        ms.writeback_sobject(), sorted({"Id", "Company", "LastModifiedById", "LastModifiedDate", "SystemModstamp",
                                        *api.values()}), lead_ids)}
    history: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(lead_ids), 200):
        chunk = lead_ids[i:i + 200]
        soql = format_soql("SELECT LeadId, Field, DataType, OldValue, NewValue, CreatedDate, CreatedById "
                           "FROM LeadHistory WHERE LeadId IN {} AND CreatedDate >= {} ORDER BY CreatedDate, Id",
                           chunk, soql_datetime(started - timedelta(seconds=1)))
        for h in client.query(soql):
            history.setdefault(h["LeadId"], []).append(h)
    out = []
    for lead_id in lead_ids:
        rec = records.get(lead_id) or next((r for k, r in records.items() if k.startswith(lead_id)), None)
        item = LeadUndo(lead_id, (rec or {}).get("Company") or "")
        out.append(item)
        if rec is None:
            item.skipped = "not in the org any more (deleted or merged)"
            continue
        item.now = {f: rec.get(f) for f in api.values()}
        rows = [h for h in history.get(rec["Id"], []) if parse_sf_datetime(h["CreatedDate"]) >= started - timedelta(seconds=1)]
        person = next((h for h in rows if me and h.get("CreatedById") != me), None)
        if person is not None:
            item.skipped = f"{person['Field']} changed by {person['CreatedById']} at {person['CreatedDate'][:16]}"
            item.by = person["CreatedById"]
            continue
        modified = parse_sf_datetime(rec.get("LastModifiedDate"))
        if me and rec.get("LastModifiedById") != me and modified and modified >= started:
            item.skipped = f"edited by {rec['LastModifiedById']} at {rec['LastModifiedDate'][:16]}"
            item.by = rec["LastModifiedById"]
            continue
        for key, fld in api.items():
            mine = [h for h in rows if h["Field"] in names[key] and _is_value(h, key)]
            in_run = [h for h in mine if parse_sf_datetime(h["CreatedDate"]) <= finished]
            later = [h for h in mine if parse_sf_datetime(h["CreatedDate"]) > finished]
            if later:
                item.skipped = f"{fld} changed again by a later run at {later[0]['CreatedDate'][:16]}; undo that run first"
                break
            if in_run:
                item.restore[fld] = in_run[0].get("OldValue")
        if item.skipped is None and not item.restore:
            item.skipped = "nothing this run wrote reached the lead"
        if item.skipped:
            item.restore = {}
    return out


def _is_value(h: dict[str, Any], key: str) -> bool:
    """Salesforce logs an owner change twice, ids and names; the ids are what to restore."""
    if key in ("owner_id", "partner_id"):
        return h.get("DataType") in (None, "EntityId") and all(
            v is None or (isinstance(v, str) and len(v) in (15, 18) and v.isalnum())
            for v in (h.get("OldValue"), h.get("NewValue")))
    return True


def apply(cx, items: list[LeadUndo], run_id: str, now: datetime, live_store) -> None:
    """Write the old values (skipping a lead that changed since we read it), then let the
    state go of the leads put back."""
    from connector.client import GuardedUpdate
    from jobs import lead_words as words
    from jobs import lifecycle
    from jobs.timeutil import parse_sf_datetime

    todo = [i for i in items if i.restore]
    if not todo:
        return
    reason_field = cx.mappings.writeback_fields().get("reason")
    modstamps = {r["Id"]: r["SystemModstamp"] for r in cx.client.read_by_ids(
        cx.mappings.writeback_sobject(), ["Id", "SystemModstamp"], [i.lead_id for i in todo])}
    updates = []
    for i in todo:
        values = dict(i.restore)
        if reason_field:
            values[reason_field] = words.put_back_by_undo(run_id)[:255]
        updates.append(GuardedUpdate(i.lead_id, values, parse_sf_datetime(modstamps.get(i.lead_id))))
    results = cx.client.update_guarded(cx.mappings.writeback_sobject(), updates)
    for i, r in zip(todo, results):
        i.written = bool(r.ok)
        if not r.ok:
            i.skipped = f"not written: {r.code}: {r.message}"
    if live_store is None:
        return
    with live_store.begin() as conn:
        state = lifecycle.load_state(conn)
        for i in todo:
            if i.written:
                lifecycle.release(conn, state, i.lead_id, f"put back by leadrouter undo --run {run_id}", now)
        lifecycle.save_state(conn, state, now)


def render(run_id: str, window: dict[str, Any], items: list[LeadUndo], applied: bool,
           named: Callable[[str, Any], str] | None = None) -> str:
    """`named(field, value)`: an owner or partner as a person reads it (`namer`); ids without it."""
    restore = [i for i in items if i.restore and (i.written or not applied)]
    left = [i for i in items if not i.restore or (applied and not i.written)]
    out = [f"Run {run_id} ({window['job']}, started {window['started']:%Y-%m-%d %H:%M:%S} UTC): "
           f"{len(items)} lead(s) decided"]
    verb = "Put back" if applied else "Would put back"
    out.append(f"{verb}: {len(restore)}")
    for i in restore:
        show = named or (lambda _f, v: _v(v))
        changes = "; ".join(f"{f} {show(f, i.now.get(f))} → {show(f, v)}" for f, v in i.restore.items())
        out.append(f"  {i.lead_id}  {one_line(i.company)[:30]:<30}  {changes}")
    out.append(f"Left alone: {len(left)}")
    for i in left:
        why = i.skipped.replace(i.by, named(BY, i.by), 1) if i.by and i.skipped and named else i.skipped
        out.append(f"  {i.lead_id}  {one_line(i.company)[:30]:<30}  {why}")
    if not applied:
        out.append("")
        out.append("Dry run: nothing was written. Add --apply to write these values back.")
    # the org's text (a Company, an old reason) cannot add a line of its own
    return "\n".join(one_line(line) for line in out)


def _v(v: Any) -> str:
    return "(empty)" if v in (None, "") else str(v)


BY = "(changed by)"  # `named`'s key for the person whose change keeps a lead


def namer(cx, items: list[LeadUndo]) -> Callable[[str, Any], str]:
    """Owners and partners by the names explain gives them (queue labels, reps, users' Names),
    read once for the whole listing."""
    from jobs.ops.explain import Names

    wb = cx.mappings.writeback_fields()
    owner, partner = wb.get("owner_id"), wb.get("partner_id")
    names = Names(cx.routing())
    names.read_people(cx, [v for i in items for f, v in (*i.now.items(), *i.restore.items()) if f == owner]
                      + [i.by for i in items if i.by])

    def named(f: str, v: Any) -> str:
        if v in (None, ""):
            return _v(v)
        if f == owner or f == BY:
            return names.owner(str(v))
        if f == partner:
            return names.partner(str(v))
        return str(v)
    return named


def run(args) -> int:
    from jobs.ops.context import open_live_store, why_no_live_store
    from jobs.ops.dryrun import _load

    loaded = _load(args.config)
    store = open_live_store(loaded)
    if store is None:
        from jobs.commands import EXIT_STATE

        print(f"leadrouter undo: state database problem\n{why_no_live_store(loaded)}", file=sys.stderr)
        return EXIT_STATE
    try:
        window = run_window(store, args.run)
        if window is None:
            runs = recent_runs(store)
            listed = "\n".join(f"  {r['run_id']}  {r['job']:<10} {r['started']:%Y-%m-%d %H:%M} UTC  "
                               f"{r['decisions']} decision(s)" for r in runs)
            print(f"leadrouter undo: no run {args.run!r} in the state database; runs that decided leads:\n"
                  f"{listed or '  (none)'}", file=sys.stderr)
            return 2
        lead_ids = decided_leads(store, window)
        from jobs.app import Connector

        cx = Connector.from_config(loaded, store=store, preflight=False)
        items = plan(cx.client, cx.mappings, lead_ids, window) if lead_ids else []
        if args.apply:
            apply(cx, items, args.run, cx.clock.now(), store)
        if args.json:
            print(json_text({"run_id": args.run, "applied": bool(args.apply), "leads": [asdict(i) for i in items]},
                            default=str))
        else:
            print(for_terminal(render(args.run, window, items, bool(args.apply), namer(cx, items))))
        return 0
    finally:
        store.dispose()

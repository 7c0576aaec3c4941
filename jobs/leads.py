"""Job: the lead stream — new leads routed, partner responses seen, in ONE read.

Every change to a lead moves its SystemModstamp: a new lead, a partner accepting or
rejecting in the portal, a pool rep taking ownership, a person editing the owner or
ticking do-not-route, a conversion. So one incremental query (watermark − lookback,
up to the run's start, oldest first) serves both routing and the response poll; a
separate poll over open offers would cost calls and see nothing more.

Records are read in batches of a query page (2,000) and handled in pages of 200, each
page in one transaction; the watermark only advances to the last record of a committed
page, and records at the boundary repeat harmlessly because handling is idempotent by Id.
What a page's decisions need from LeadHistory is asked once per read batch, for all its
pages (jobs/lead_history.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobs import (alerts, answer_history, bulk_intake, lifecycle, outbox, owner_history, owner_names, poll, pool_race,
                  read_window, recovery, route)
from jobs.echoes import echoes_once, our_echoes
from jobs.lead_history import LeadHistory, Wants, merge
from jobs.state import offers as of
from jobs.state import outbox as ob
from jobs.state import store as st
from jobs.timeutil import parse_sf_datetime
from jobs.writer import BackgroundWriter
from rules.lifecycle import LeadState

if TYPE_CHECKING:
    from jobs.context import Context

WATERMARK, READ_START = read_window.WATERMARK, read_window.READ_START
PAGE = 200
REFRESH_BATCH = 2_000  # leads a refresh reads and handles at a time (about 3 KB each while held)
UNKNOWN_CHECKED = 3000  # leads new to the state but offered or accepted, checked against LeadHistory per run


def lead_fields(cx: Context) -> list[str]:
    return poll.read_fields(cx.mappings)


def read_batch(cx: Context) -> int:
    """Records per read batch: one query page (`[salesforce] query_batch_size`), whose
    LeadHistory is asked once for all its pages of PAGE."""
    return max(PAGE, int(getattr(getattr(cx.client, "config", None), "query_batch_size", 2000) or 2000))


def history_wanted(cx: Context, records: list[dict[str, Any]]) -> Wants:
    """Every lead of a read batch that a page's LeadHistory reader will ask about, and the
    owner changes it wants: who took a pool lead first, whether the assignment rule set an
    owner, who set the owner, who set the answer."""
    unique = list({r["Id"]: r for r in records}.values())
    return merge(pool_race.wanted(cx, unique), owner_history.wanted(cx, unique), answer_history.wanted(cx, unique))


def history_for(cx: Context, records: list[dict[str, Any]]) -> LeadHistory:
    """The LeadHistory of one read batch: one query per CHUNK leads any page will ask about."""
    return LeadHistory(cx, records, wanted=history_wanted)


def run(cx: Context, now: datetime) -> dict[str, int]:
    if backlog := bulk_intake.wanted(cx, now):  # a first run or a large backlog: Bulk API 2.0
        counts = bulk_intake.run(cx, now, backlog, handle_page)
    else:
        counts = _stream(cx, now)
    counts.update(unknown_routed(cx))
    return counts


def unknown_routed(cx: Context) -> dict[str, int]:
    """Leads our integration user routed that this state has never seen: a state restored
    from a backup, or a second connector on this org with its own state. They are left
    alone (acting on another state's offers would act twice), and said loudly, with the fix,
    once per run: a state that should know them is rebuilt from the org."""
    ids = list(dict.fromkeys(cx.unknown_routed))[:UNKNOWN_CHECKED]
    cx.unknown_routed.clear()
    if not ids:
        return {}
    ours = recovery.routed_by_us(cx, ids)
    if not ours:
        return {}
    cx.log(component="leads").warning(
        "routed_leads_unknown_to_state", count=len(ours), first=sorted(ours)[:5],
        note="leads this integration user routed are not in this state database (restored from a backup, or "
             "another connector with its own state on this org); they are left alone, their offers not followed up",
        fix="if this is the org's only connector: stop it, move the state file aside (or point [state] url at a new "
            "database) and run `leadrouter state rebuild`; else stop the other connector")
    return {"unknown_routed": len(ours)}  # (at most UNKNOWN_CHECKED a run: enough to say so)


def _stream(cx: Context, now: datetime) -> dict[str, int]:
    ms, client = cx.mappings, cx.client
    wm = read_window.begin(cx, now)
    where = " AND ".join(f"({w})" for w in (ms.filter("lead"), echoes_once(cx, wm)) if w) or None
    stream = client.read_incremental(ms.sobject("lead"), lead_fields(cx), watermark=wm,
                                     lookback=cx.lookback, where=where)
    counts: dict[str, int] = {"read": 0}
    batch: list[dict[str, Any]] = []
    size = read_batch(cx)
    # A burst's decided pages are written while the next ones are read (jobs/writer.py).
    writer = BackgroundWriter(cx, now)

    def handle_batch() -> bool:
        """The batch's pages, its LeadHistory read once for all; False: stopping."""
        history = history_for(cx, batch)
        for i in range(0, len(batch), PAGE):
            page = batch[i:i + PAGE]
            with writer.turn():
                handle_page(cx, page, now, counts, history=history)
            writer.decided(len(page))
            if cx.stop.is_set():
                return False  # graceful stop: this page is done, the rest is read next time
        return True

    try:
        for record in stream:
            batch.append(record)
            if len(batch) >= size:  # a query page read (the next is not asked for yet)
                going = handle_batch()
                batch = []
                if not going:
                    break
        if batch:
            handle_batch()
    finally:
        written = writer.finish()
    counts.update({f"flush_{k}": v for k, v in written.items()})
    read_window.finish(cx, now, counts)
    for k, v in outbox.flush(cx, now).items():
        counts[f"flush_{k}"] = counts.get(f"flush_{k}", 0) + v
    return counts


def refresh(cx: Context, lead_ids: list[str], now: datetime, counts: dict[str, int]) -> None:
    """Read these leads now and handle what changed, exactly as the stream would.

    For jobs that act on the clock (expire, reclaim): a partner's late answer, a person's
    edit or our own last write's echo is taken in first, so the decision that follows is
    made on the lead as it is — and the outbox guard compares against that.

    A rebuilt state refreshes every live lead of the org: they are read and handled
    REFRESH_BATCH at a time, so memory holds one batch's records, not the org's (a caller
    with more passes them in the order the stream would read them)."""
    for i in range(0, len(lead_ids), REFRESH_BATCH):
        _refresh_batch(cx, lead_ids[i:i + REFRESH_BATCH], now, counts)


def _refresh_batch(cx: Context, lead_ids: list[str], now: datetime, counts: dict[str, int]) -> None:
    ms = cx.mappings
    found = list(cx.client.read_by_ids(ms.sobject("lead"), lead_fields(cx), lead_ids))
    # in the stream's order (SystemModstamp, Id): answers are acted on as they were given,
    # so the partners the redistributions turn to, and the capacity they fill, are the same
    found.sort(key=lambda r: (parse_sf_datetime(r.get("SystemModstamp")) or now, r["Id"]))
    seen = {r["Id"] for r in found}
    gone = [i for i in lead_ids if i not in seen]
    if gone:
        with cx.store.begin() as conn:
            state = lifecycle.load_state(conn, gone)
            for lead_id in gone:
                lifecycle.release(conn, state, lead_id, "lead deleted in Salesforce", now, final_state=LeadState.CLOSED)
            lifecycle.save_state(conn, state, now)
        _bump(counts, "closed_deleted", len(gone))
    history = history_for(cx, found)
    for i in range(0, len(found), PAGE):
        handle_page(cx, found[i:i + PAGE], now, counts, advance_watermark=False, history=history)


def handle_page(cx: Context, records: list[dict[str, Any]], now: datetime, counts: dict[str, int],
                advance_watermark: bool = True, history: LeadHistory | None = None) -> None:
    """Route the new leads and evaluate the known ones, in one transaction. `history`: the
    read batch's LeadHistory (`history_for`); without it, this page is its own batch."""
    unique = list({r["Id"]: r for r in records}.values())  # boundaries repeat: last copy wins
    counts["read"] = counts.get("read", 0) + len(records)
    # of them, our own writes read back: no activity in the org, which `once` says apart
    echoes = our_echoes(cx, records)
    if echoes:
        counts["own_writes_read"] = counts.get("own_writes_read", 0) + echoes
    convert = cx.mappings.lead_converter()
    # Each lead is converted once, from the full record; the state keeps a copy without
    # the personal fields routing does not use (jobs/minimise.py).
    keep = cx.minimiser()
    leads_by_id = {r["Id"]: convert(r) for r in unique}
    unique = [keep(r) for r in unique]
    kept_by_id = {r["Id"]: r for r in unique}

    def to_lead(rec: dict[str, Any]) -> Any:
        return leads_by_id[rec["Id"]]

    parsed: dict[Any, datetime | None] = {}

    def stamp(value: Any) -> datetime | None:
        """A SystemModstamp read once for the page: routing and the watermark both want it."""
        if value in parsed:
            return parsed[value]
        at = parsed[value] = parse_sf_datetime(value)
        return at

    ids = [r["Id"] for r in unique]
    # LeadHistory, read before the transaction: once for the read batch, each reader its slice
    history = history or history_for(cx, unique)
    history.prime()  # the batch's wants, read before its first page changes the state
    races = pool_race.first_takers(cx, unique, history)  # who took a pool lead first
    picked = pool_race.picked_at(cx, unique, history)  # when its owner took it, if after the deadline
    by_rule = owner_history.moved_by_rule(cx, unique, history)  # did the assignment rule set an owner
    answered = answer_history.answered_by(cx, unique, history)  # who set the answer a lead holds
    answered_when = answer_history.answered_at(cx, unique, history)  # and when, by Salesforce's clock
    codes = answer_history.codes_given(cx, unique, history)  # the rejection code its rep picked
    owner_set = owner_history.owner_set_by(cx, unique, history)  # who gave another partner's rep the lead
    names = owner_names.new_owners(cx, unique)  # who a person gave a lead to, by name
    with cx.store.begin() as conn:
        known = of.get_leads(conn, ids)
        live = of.live_offers(conn, ids)
        inflight = ob.open_by_lead(conn, ids)
        state = lifecycle.load_state(conn, ids)
        fresh: list[tuple[Any, dict[str, Any]]] = []
        seen_only: list[dict[str, Any]] = []  # known leads with nothing of ours changed
        pending: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []  # known leads reading Pending anew
        for rec in unique:
            lead_id = rec["Id"]
            entry = inflight.get(lead_id)
            lead = None
            if entry is not None:
                if entry["status"] == "pending" and entry["seen_modstamp"] not in (None, modstamp(rec)):
                    # Changed in Salesforce after we decided and before we wrote: our write
                    # must not land. What the change means is worked out as for any lead.
                    lead = to_lead(rec)
                    _bump(counts, "stale_dropped")
                    outcome = outbox.decide_again(cx, conn, state, entry, lead, rec, known.get(lead_id), now,
                                                  owner_names=names)
                    if outcome is not None:
                        _bump(counts, outcome)
                        continue
                    now_live = of.live_offers(conn, [lead_id]).get(lead_id)  # the drop may have closed it
                    if now_live is None:
                        live.pop(lead_id, None)
                    else:
                        live[lead_id] = now_live
                else:
                    # Our write for it is not confirmed yet: its echo will come back later.
                    _bump(counts, "in_flight")
                    continue
            lead = lead or to_lead(rec)
            local = known.get(lead_id)
            if local is None:
                fresh.append((lead, rec))
                continue
            if poll.wants_reroute(lead, local):
                pending.append((lead, rec, local))
                continue
            outcome = poll.evaluate(cx, conn, state, lead, rec, local, live.get(lead_id), now, seen_only,
                                    first_taker=races.get(lead_id), by_rule=lead_id in by_rule,
                                    answered_by=answered.get(lead_id), owner_set_by=owner_set.get(lead_id),
                                    owner_names=names, rejection_code=codes.get(lead_id),
                                    answered_at=answered_when.get(lead_id), picked_at=picked.get(lead_id))
            _bump(counts, outcome)
        if pending:
            # Pending on a lead we follow is a request to route it again, whoever wrote it:
            # the connector never writes Pending, and an admin's tool may well log in as
            # the integration user (jsforce, `sf data update record`, a data loader)
            for lead, rec, local in pending:
                outcome = poll.evaluate(cx, conn, state, lead, rec, local, live.get(lead.id), now, seen_only,
                                        asked=True)
                _bump(counts, outcome)
                if outcome in {f"rerouted_{purpose}" for purpose in alerts.purposes(cx)}:
                    alerts.remember(cx, [(lead, kept_by_id[lead.id])])
        of.note_seen(conn, seen_only, now)
        if fresh:
            outcomes = route.route(cx, conn, state, fresh, now, parse=stamp)
            # What an offer alert will say of the leads just offered (a backfill's pooled
            # thousands are never alerted about: nothing kept for them).
            alerted = {f"routed_{purpose}" for purpose in alerts.purposes(cx)}
            alerts.remember(cx, ((lead, kept_by_id[lead.id]) for (lead, _), outcome in zip(fresh, outcomes)
                                 if outcome in alerted))
            for outcome in outcomes:
                _bump(counts, outcome)
            # left alone for an offered or accepted status: ours, written by a state this one does not know?
            if "skipped_released" in outcomes and len(cx.unknown_routed) < UNKNOWN_CHECKED:
                live = recovery.live_statuses(cx)
                cx.unknown_routed.extend(lead.id for (lead, _), outcome in zip(fresh, outcomes)
                                         if outcome == "skipped_released" and str(lead.routing_status) in live
                                         and not lead.do_not_route)
        lifecycle.save_state(conn, state, now)
        if advance_watermark and records:
            newest = max(stamp(r["SystemModstamp"]) for r in records)
            old = st.get_watermark(conn, WATERMARK)
            if old is None or newest > old:
                st.set_watermark(conn, WATERMARK, min(newest, now), now)


def _bump(counts: dict[str, int], key: str | None, n: int = 1) -> None:
    if key:
        counts[key] = counts.get(key, 0) + n


def modstamp(rec: dict[str, Any]) -> datetime | None:
    return parse_sf_datetime(rec.get("SystemModstamp"))

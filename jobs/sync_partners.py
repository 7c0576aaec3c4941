"""Job: sync partners — accounts, reps, pools and their members, deal registrations, queues.

Partners, reps and deal registrations are read incrementally by SystemModstamp; a
record that stops matching the mapping's filter or is deleted cannot show up in an
incremental read, so once a day each kind is re-read whole and the snapshot replaced.
An account that stops being a partner is looked for at every sync (one more query, for
the ids of changed accounts the filter no longer lets in): a day of new offers to it,
and its live offers standing, would be a day of leads nobody can work. So is a rep or a
deal registration that leaves its filter (a rep moved out of the role an org's [rep]
filter asks for, a registration no longer approved): a day of offers to a rep the org
said gets none, or of leads kept for a registration it withdrew. Queues and pool memberships are small and
GroupMember rows are hard-deleted, so they are re-read whole every time. Where a rule prefers
incumbents, the Opportunities that make a partner one are read too (jobs/incumbents.py).

Partner Accounts are read with the feedback fields the org has (jobs/feedback_account.py: ops
reviews, and the adjustments in force in words), apart from the mapping so an org
without them still syncs; after the sync, the words of adjustments that changed are
written to the Accounts (`feedback.show`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from connector.soql import select
from jobs import feedback, feedback_account, incumbents
from jobs.state import store as st
from jobs.timeutil import parse_sf_datetime
from rules.state import RoutingState

if TYPE_CHECKING:
    from jobs.context import Context

INCREMENTAL = ("partner", "rep", "dealreg")
WHOLE = ("pool", "pool_member")
FULL_REFRESH = timedelta(hours=24)


STOPPED = {"stopped": 1}  # told to stop (SIGTERM) mid-read: nothing stored, the next sync reads it all again


def run(cx: Context, now: datetime) -> dict[str, int]:
    """One sync. Told to stop (`cx.stop`: SIGTERM, Ctrl-C) it ends after the query in flight:
    what it read is dropped whole (a sync is stored in one transaction, never half of one),
    and the partners' feedback is not written to the org (the next sync shows it)."""
    ms, client = cx.mappings, cx.client
    counts: dict[str, int] = {}
    changed = False
    stop = getattr(cx, "stop", None)

    def stopping() -> bool:
        return bool(stop is not None and stop.is_set())

    with cx.store.connect() as conn:
        marks = {k: st.get_watermark(conn, f"sync:{k}") for k in INCREMENTAL}
        full_at = st.get_watermark(conn, "sync:full")
        incumbent_mark = st.get_watermark(conn, incumbents.WATERMARK)
    full = full_at is None or now - full_at >= FULL_REFRESH
    fetched: dict[str, list[dict[str, Any]]] = {}
    extra = {"partner": list(feedback_account.account_fields(client, ms.sobject("partner")))}
    for kind in INCREMENTAL:
        if stopping():
            return dict(STOPPED)
        wm = None if full else marks[kind]
        fields = list(dict.fromkeys([*ms.soql_fields(kind), *extra.get(kind, ())]))
        fetched[kind] = list(client.read_incremental(ms.sobject(kind), fields, watermark=wm,
                                                     lookback=cx.lookback, where=ms.filter(kind)))
    left: dict[str, list[str]] = {}
    for kind in INCREMENTAL if not full else ():
        if stopping():
            return dict(STOPPED)
        if marks[kind] is not None and ms.filter(kind):
            left[kind] = [r["Id"] for r in client.read_incremental(ms.sobject(kind), ["Id"], watermark=marks[kind],
                                                                   lookback=cx.lookback,
                                                                   where=f"NOT ({ms.filter(kind)})")]
    for kind in WHOLE:
        if stopping():
            return dict(STOPPED)
        fields = ms.soql_fields(kind)
        fields = fields if "Id" in fields else ["Id", *fields]  # the snapshot is keyed by Id
        fetched[kind] = list(client.query(select(ms.sobject(kind), fields, where=ms.filter(kind))))
    if stopping():
        return dict(STOPPED)
    fetched["queue"] = list(client.query(select("Group", ["Id", "DeveloperName", "Name"], where="Type = 'Queue'")))
    if stopping():
        return dict(STOPPED)
    # whom the org says works which company, for rules that prefer incumbents: one query (none without such a rule)
    opportunities = incumbents.read(cx, now, None if full else incumbent_mark) \
        if (wants_incumbents := incumbents.wanted(cx.book)) else []
    if stopping():
        return dict(STOPPED)
    with cx.store.begin() as conn:
        if wants_incumbents:
            # rows of their own: the routing state's counters are neither read nor written here
            state = RoutingState()
            learned, forgotten = incumbents.learn(state, opportunities, incumbents.partner_field(ms), now)
            forgotten += incumbents.save_learned(conn, state, now)[1]
            counts["incumbent_opportunities"], counts["incumbents_forgotten"] = learned, forgotten
            if opportunities:
                newest = max(r["SystemModstamp"] for r in opportunities)
                st.set_watermark(conn, incumbents.WATERMARK, min(parse_sf_datetime(newest), now), now)
        for kind, records in fetched.items():
            counts[kind] = len(records)
            if kind in INCREMENTAL and not full:
                if records:
                    # the look-back re-reads records changed just before the watermark: a record
                    # as the snapshot already holds it is no change (each change makes the lead
                    # stream re-check every live offer, jobs/withdraw.py)
                    changed = changed or st.snapshot_differs(conn, kind, records)
                    st.put_snapshot(conn, kind, records, now)
            else:
                before = {r["Id"]: r for r in st.snapshot_records(conn, kind)}
                if before != {r["Id"]: r for r in records}:
                    changed = True
                st.replace_snapshot(conn, kind, records, now)
            if kind in INCREMENTAL and records:
                newest = max(r["SystemModstamp"] for r in records)
                st.set_watermark(conn, f"sync:{kind}", min(parse_sf_datetime(newest), now), now)
        # what left the filter since the last read, of what the snapshot held: every user the
        # [rep] filter does not read and that changed (the integration user logging in, an
        # admin) is read here too, and none of them is a rep that left
        gone = {kind: st.drop_from_snapshot(conn, kind, ids) if ids else 0 for kind, ids in left.items()}
        if any(gone.values()):
            changed = True
        counts["left"] = gone.get("partner", 0)
        counts["reps_left"] = gone.get("rep", 0)
        if full:
            st.set_watermark(conn, "sync:full", now, now)
    if changed:
        cx.snapshot_changed()  # the lead stream re-checks live offers against it (jobs/withdraw.py)
    counts["full_refresh"] = int(full)
    counts["changed"] = int(changed)
    # the ops tools sync into a private snapshot and never write to Salesforce (jobs/ops/context.py)
    if getattr(cx, "instance", None) != "ops" and not stopping():
        try:
            counts.update(feedback.show(cx, now))
        except Exception as e:  # noqa: BLE001 — showing adjustments must not stop the partners' sync
            cx.log(component="feedback").warning("feedback_not_shown", error=f"{type(e).__name__}: {e}"[:300])
    return counts


"""Offers decided on a partner snapshot that was already out of date are withdrawn.

A partner can pause routing, or a rep be deactivated, after the partner sync read them
and before the lead stream routed with that copy. When the next sync brings the change,
the lead stream (which runs after it, with every lead's latest state read) withdraws
the offers made after the change and decides those leads again on the fresh snapshot —
same attempt, since nobody declined them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from datetime import datetime

from jobs import lifecycle
from jobs.state import offers as of
from jobs.state import store as st
from jobs.timeutil import parse_sf_datetime
from mappings import Unroutable
from rules.model import Lead

if TYPE_CHECKING:
    from jobs.context import Context


def run(cx: Context, now: datetime) -> int:
    try:
        routing = cx.routing()
    except RuntimeError:
        return 0  # no partner snapshot yet: no offer can be out of date
    if getattr(cx, "_withdraw_checked", None) == routing.generation:
        return 0  # nothing new since the last check
    cx._withdraw_checked = routing.generation
    paused = {pid: p.modstamp for pid, p in routing.partners.items() if p.paused and p.modstamp is not None}
    with cx.store.connect() as conn:
        inactive = {}
        to_rep = cx.mappings.rep_converter()
        for rec in st.snapshot_records(conn, "rep"):
            r = to_rep(rec)
            stamp = parse_sf_datetime(rec.get("SystemModstamp"))
            if not isinstance(r, Unroutable) and not r.active and stamp is not None:
                inactive[r.id] = stamp
    if not paused and not inactive:
        return 0
    to_lead = cx.mappings.lead_converter()
    n = 0
    with cx.store.begin() as conn:
        live = of.live_offers_of(conn, partner_ids=list(paused), rep_ids=list(inactive))
        if not live:
            return 0
        state = lifecycle.load_state(conn, [o["lead_id"] for o in live])
        leads = of.get_leads(conn, [o["lead_id"] for o in live])
        for offer in live:
            since = paused.get(offer["partner_id"] or "") or inactive.get(offer["rep_id"] or "")
            if since is None or offer["offered_at"] < since:
                continue  # offered before the change: it stands until answered or lapsed
            why = ("the partner paused routing" if offer["partner_id"] in paused else "the rep was deactivated") \
                + " before this offer was made; decided again"
            lifecycle.end_offer(conn, state, offer, "closed", f"withdrawn: {why}", now, outcome="closed")
            local = leads.get(offer["lead_id"]) or {}
            rec = local.get("record")
            lead = to_lead(rec) if rec else Lead(id=offer["lead_id"])
            if isinstance(lead, Unroutable):
                lead = Lead(id=offer["lead_id"])
            lifecycle.redistribute(cx, conn, state, lead, attempt=offer["attempt"], why=why, record=rec,
                                   seen_modstamp=local.get("modstamp"), now=now)
            n += 1
        lifecycle.save_state(conn, state, now)
    return n

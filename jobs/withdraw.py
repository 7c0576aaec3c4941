"""Live offers to a partner that paused, stopped being a partner, or whose rep was
deactivated, are withdrawn and the leads decided again (docs/LIFECYCLE.md: offered ×
partner_paused / rep_deactivated).

Whether the change came after the offer was made or before it (a sync read the partner
just before the pause, the lead stream routed with that copy), nobody can answer the
offer as it stands: an inactive rep cannot log in, a paused partner asked for no leads.
When a sync brings the change, the lead stream (which runs after it, with every lead's
latest state read) withdraws those offers and decides the leads again on the fresh
snapshot — same attempt, since nobody declined them, and the partners that did decline
stay barred.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from datetime import datetime

from jobs import lifecycle
from jobs.state import offers as of
from jobs.state import store as st
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
    paused = {pid for pid, p in routing.partners.items() if p.paused}
    with cx.store.connect() as conn:
        inactive = set()
        to_rep = cx.mappings.rep_converter()
        for rec in st.snapshot_records(conn, "rep"):
            r = to_rep(rec)
            if not isinstance(r, Unroutable) and not r.active:
                inactive.add(r.id)
        # an Account no longer a partner (IsPartner cleared) leaves the snapshot; one the
        # mappings cannot read stays in it (and is not withdrawn from for a typo)
        accounts = {rec.get("Id") for rec in st.snapshot_records(conn, "partner")}
        held = set(of.live_partner_ids(conn))
    gone = {pid for pid in held if pid not in accounts}
    if not paused and not inactive and not gone:
        return 0
    to_lead = cx.mappings.lead_converter()
    n = 0
    with cx.store.begin() as conn:
        live = of.live_offers_of(conn, partner_ids=sorted(paused | gone), rep_ids=sorted(inactive))
        if not live:
            return 0
        state = lifecycle.load_state(conn, [o["lead_id"] for o in live])
        leads = of.get_leads(conn, [o["lead_id"] for o in live])
        for offer in live:
            pid = offer["partner_id"] or ""
            # words naming no partner: the next partner's reps read them on the Lead
            if pid in gone:
                cause = "its account is no longer a partner"
            elif pid in paused:
                cause = "its partner paused routing"
            elif (offer.get("owner_id") or offer["rep_id"]) in inactive:
                cause = "the rep it was offered to was deactivated"
            else:
                continue  # the rep passed it to an active colleague: the offer stands
            why = f"{cause}; offer withdrawn, decided again"
            # a withdrawal bars nobody, forgets none of the lead's earlier declines, and is
            # neither a conversion nor the partner's fault on its track record
            lifecycle.end_offer(conn, state, offer, "closed", f"withdrawn: {why}", now, outcome="withdrawn")
            local = leads.get(offer["lead_id"]) or {}
            rec = local.get("record")
            lead = to_lead(rec) if rec else Lead(id=offer["lead_id"])
            if isinstance(lead, Unroutable):
                lead = Lead(id=offer["lead_id"])
            lifecycle.redistribute(cx, conn, state, lead, attempt=offer["attempt"], why=why, record=rec,
                                   moved=f"the previous offer was withdrawn: {cause}",
                                   seen_modstamp=local.get("modstamp"), now=now)
            n += 1
        lifecycle.save_state(conn, state, now)
    return n

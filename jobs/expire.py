"""Job: offers past their deadline lapse and the lead moves on (or is escalated).

Runs on the clock alone — no read: the lead as last seen in the stream is stored with
its offer, and the outbox's staleness guard stops the write if a person has touched
the lead since.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from datetime import datetime

from jobs import leads, lifecycle, outbox
from jobs.state import offers as of
from jobs.state import outbox as ob
from mappings import Unroutable
from rules.model import Lead

if TYPE_CHECKING:
    from jobs.context import Context

# Offers lapsed per run; more wait for the next run (each lead is read fresh first, ~440 a call).
REFRESH_LIMIT = 2000


def run(cx: Context, now: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    with cx.store.connect() as conn:
        due_ids = sorted({o["lead_id"] for o in of.expired_offers(conn, now, limit=REFRESH_LIMIT)})
    if due_ids:
        # Take in what the lead stream may not have read yet (a late answer, a person's
        # edit, our own last write) before lapsing anything.
        refreshed: dict[str, int] = {}
        leads.refresh(cx, due_ids, now, refreshed)
        counts.update({f"read_{k}": v for k, v in refreshed.items() if k != "read"})
    refreshed_ids = set(due_ids)
    to_lead = cx.mappings.lead_converter()
    while not cx.stop.is_set():
        with cx.store.begin() as conn:
            due = [o for o in of.expired_offers(conn, now, limit=200) if o["lead_id"] in refreshed_ids]
            if not due:
                break
            rows = of.get_leads(conn, [o["lead_id"] for o in due])
            inflight = ob.open_lead_ids(conn, [o["lead_id"] for o in due])
            state = lifecycle.load_state(conn, [o["lead_id"] for o in due])
            progressed = 0
            for offer in due:
                if offer["lead_id"] in inflight:
                    continue  # the offer itself is not confirmed yet; it lapses once it is
                progressed += 1
                local = rows.get(offer["lead_id"]) or {}
                rec = local.get("record")
                lead = to_lead(rec) if rec else Lead(id=offer["lead_id"])
                if isinstance(lead, Unroutable):
                    lead = Lead(id=offer["lead_id"])
                # a partner the snapshot no longer reads is still named; its Id only where it has no name
                name = cx.routing().partner_name(offer["partner_id"]) or offer["partner_id"] or "the pool"
                why = f"offer to {name} lapsed at {offer['deadline']:%Y-%m-%d %H:%M} UTC"
                lifecycle.end_offer(conn, state, offer, "lapsed", why, now, outcome="lapsed")
                decision = lifecycle.redistribute(cx, conn, state, lead, attempt=offer["attempt"] + 1, why=why,
                                                  record=rec, seen_modstamp=local.get("modstamp"), now=now,
                                                  moved=f"offer {offer['attempt']} lapsed unanswered")
                key = "escalated" if decision.kind.value == "escalate" else "redistributed"
                counts[key] = counts.get(key, 0) + 1
            lifecycle.save_state(conn, state, now)
        if not progressed:
            break
    counts.update(lifecycle.escalate_held(cx, now))  # held for want of the escalation queue: back now?
    if counts:
        for k, v in outbox.flush(cx, now).items():
            counts[f"flush_{k}"] = v
    return counts

"""Job: one reminder per offer, some hours before its deadline.

The reminder is marked sent in the state BEFORE it is sent: a crash in between costs
one reminder rather than sending two (a partner rep pinged twice is the worse error).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from datetime import datetime, timedelta

from connector.notify import Notification
from jobs.state import offers as of

if TYPE_CHECKING:
    from jobs.context import Context


def run(cx: Context, now: datetime) -> dict[str, int]:
    lead_time = timedelta(hours=cx.settings.offers.reminder_before_hours)
    with cx.store.begin() as conn:
        due = of.offers_to_remind(conn, now, lead_time, limit=5000)
        for offer in due:
            of.set_offer(conn, offer["id"], reminded_at=now)
    if not due:
        return {}
    routing = cx.routing()
    notes = []
    for offer in due:
        recipients = _recipients(routing, offer)
        if not recipients:
            continue
        notes.append(Notification(
            recipient_ids=recipients,
            title="Lead offer expires soon",
            body=f"Please accept or reject this lead before {offer['deadline']:%Y-%m-%d %H:%M} UTC, "
                 "or it goes to another partner.",
            target_id=offer["lead_id"],
        ))
    mode = cx.settings.notifications.mode
    results = cx.client.notify(mode, notes) if notes else []
    failed = sum(1 for r in results if not r.ok and r.code != "NOT_SENT")
    return {"reminded": len(due), "notified": len(notes) - failed if mode != "none" else 0, "failed": failed}


def _recipients(routing, offer) -> tuple[str, ...]:
    if offer.get("rep_id"):
        return (offer["rep_id"],)
    pool = routing.pools.get(offer.get("queue_id") or "")
    if pool is not None:
        return tuple(sorted(pool.member_rep_ids))
    partner = routing.partners.get(offer.get("partner_id") or "")
    return tuple(r.id for r in partner.active_reps) if partner else ()

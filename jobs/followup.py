"""Job: accepted leads nobody works — a reminder after N days, then (optionally) reclaim.

"Untouched" means the lead's Status is still the configured untouched value (by
default `Open - Not Contacted`) as last seen in the lead stream.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from datetime import datetime, timedelta

from connector.notify import OUTCOME_UNKNOWN, Notification
from jobs import activity, email_limit, leads, lifecycle, outbox
from jobs.alerts import lead_link, rep_of
from jobs.state import offers as of
from jobs.wording import QUEUE_FOLLOWUP, reminder_words, stored_facts
from mappings import Unroutable
from rules.model import Lead

TASK_SUBJECTS = activity.FOLLOWUP_SUBJECTS  # every Subject its Tasks may have (read back by a rebuild)

if TYPE_CHECKING:
    from jobs.context import Context


def run(cx: Context, now: datetime) -> dict[str, int]:
    cfg = cx.settings.offers
    counts: dict[str, int] = {}
    with cx.store.begin() as conn:
        stale = of.accepted_untouched(conn, now - timedelta(days=cfg.followup_days), cfg.untouched_status)
        remind = [o for o in stale if o["followup_at"] is None]
        # claimed, not just set: an overlapping leader that read the same leads may have
        # followed them up since (on PostgreSQL nothing else keeps the two apart)
        won = of.claim(conn, [o["id"] for o in remind], "followup_at", "accepted", now) if remind else set()
        remind = [o for o in remind if o["id"] in won]
    if remind:
        counts["followup_reminded"] = len(remind)
        _remind(cx, now, remind, counts)
    if cfg.reclaim:
        counts.update(_reclaim(cx, now, stale, timedelta(days=cfg.reclaim_after_days)))
    return counts


def holder(routing, offer: dict) -> str | None:
    """The rep holding an accepted lead now: its owner, when a rep of the partner that
    accepted it (the rep who accepted passed it to a colleague), else the rep who accepted."""
    owner = offer.get("lead_owner")
    if owner and offer.get("partner_id") and routing.rep_partner.get(owner) == offer["partner_id"]:
        return owner
    return offer.get("accepted_by")


HOLDER, COLLEAGUE, QUEUE = "holder", "colleague", "queue"  # who reads a follow-up: its words differ


def reminded(cx: Context, routing, offer: dict) -> tuple[str | None, str, str]:
    """Who is reminded of an accepted lead, what the Task adds about it, and who that is
    (HOLDER, COLLEAGUE or QUEUE: the reminder is worded for its reader). Salesforce
    delivers a custom notification to a user only while active, and refuses an email to an
    inactive one, so a holder deactivated since is replaced: by the partner's first active
    rep (the one an offer's rotation starts with), else by the escalation queue, whose
    active members are told as for any escalated lead."""
    who = holder(routing, offer)
    rep = rep_of(routing, who) if who else None
    if rep is None or rep.active:
        return who, "", HOLDER
    partner = routing.partners.get(offer.get("partner_id") or rep.partner_id)
    colleagues = partner.active_reps if partner is not None else ()
    if colleagues:
        return colleagues[0].id, (" The rep who held it is no longer active in Salesforce, so another active rep "
                                  "of the partner was reminded instead."), COLLEAGUE
    queue = cx.book.settings.escalation_queue
    queue_id = routing.queue_ids.get(queue)
    if queue_id is not None and cx.settings.notifications.mode == "email":
        # emailSimple takes a user, contact or lead as its recipient, never a queue
        return None, (f" The rep who held it is no longer active in Salesforce and the partner has no active rep "
                      f"left; the escalation queue {queue} cannot be emailed (set [notifications] mode = \"custom\" "
                      "to remind its members by a Salesforce notification)."), QUEUE
    if queue_id is None:
        return None, (f" The rep who held it is no longer active in Salesforce, the partner has no active rep "
                      f"left, and the escalation queue {queue} is not in the org: nobody could be reminded."), QUEUE
    return queue_id, (f" The rep who held it is no longer active in Salesforce and the partner has no active rep "
                      f"left, so the escalation queue {queue} was reminded instead."), QUEUE


def _remind(cx: Context, now: datetime, remind: list[dict], counts: dict[str, int]) -> None:
    """Remind the rep holding each accepted lead nobody worked; the reminder (or why it did
    not go out) shows on the Lead as a completed Task, as the offer reminder does (jobs/activity.py)."""
    untouched = cx.settings.offers.untouched_status
    mode = cx.settings.notifications.mode
    if mode == "none":  # the org notifies with a Flow: nothing sent here, nothing to show
        return
    routing = cx.routing()
    instead: dict[str, str] = {}  # lead -> why someone other than its holder was reminded
    with_rep = []
    for o in remind:
        who, why, reader = reminded(cx, routing, o)
        if why:
            instead[o["lead_id"]] = why
            cx.log(component="followup").info("followup_holder_inactive", lead_id=o["lead_id"],
                                              holder=holder(routing, o), reminded=who)
        if who:
            with_rep.append({**o, "holder": who, "reader": reader})
    facts = stored_facts(cx, [o["lead_id"] for o in with_rep])
    notes = []
    for o in with_rep:
        rep = rep_of(routing, o["holder"])
        words = reminder_words(rep.language if rep else None)
        about = facts[o["lead_id"]]
        # only the holder accepted it: a colleague reads which partner did, the queue what to do
        title, body = words["followup_title"], words["followup_body"]
        if o["reader"] == COLLEAGUE:
            body = words["followup_colleague_body"]
        elif o["reader"] == QUEUE:
            title, body = reminder_words(None)["followup_title"], QUEUE_FOLLOWUP["body"]
        partner = routing.partners.get(o.get("partner_id") or "")
        notes.append(Notification(
            recipient_ids=(o["holder"],), title=title.format(company=about["company"]),
            body=body.format(lead=about["lead"], days=(now - o["accepted_at"]).days, status=untouched,
                             partner=partner.name if partner is not None else "The partner",
                             link=lead_link(cx, o["lead_id"])),
            target_id=o["lead_id"]))
    log = cx.log(component="followup")
    results = activity.send(cx, mode, notes, log=log, event="followup_reminders_not_sent")
    # past the email limit by the bell where the connector can (one rep per message: each once)
    results, limited = email_limit.by_bell_instead(cx, mode, results, log=log, event="followup_reminders",
                                                   noun="follow-up reminder")
    if limited:
        counts["followup_email_limit"] = len(limited)
    by_lead = {r.notification.target_id: r for r in results}
    refused_email = {notes[j].target_id: refusal for j, refusal in limited.items()}
    marks = []
    for o in remind:
        r = by_lead.get(o["lead_id"])
        sent = r is not None and r.ok
        refusal = refused_email.get(o["lead_id"])
        # one the email limit stopped shows on its Lead whatever reminder_tasks says
        if refusal is None and not activity.wanted(cx, "reminder_tasks", sent):
            continue
        days = (now - o["accepted_at"]).days
        if sent and refusal is not None:
            subject = "Follow-up reminder not sent by email"
            line = (f"leadrouter could not email the rep holding this lead ({activity.reason(refusal.code, refusal.message)}); "
                    f"it reminded them {activity.HOW['custom']} to work it instead.")
        elif sent:
            whom = "someone" if o["lead_id"] in instead else "the rep holding this lead"  # the next sentence says who
            subject, line = "Follow-up reminder sent", f"leadrouter reminded {whom} {activity.HOW.get(mode, mode)} to work it."
        elif r is not None and r.code == OUTCOME_UNKNOWN:
            subject = "Follow-up reminder may not have been sent"
            line = (f"leadrouter asked Salesforce to remind the rep holding this lead to work it, and cannot tell "
                    f"whether it did ({activity.reason(r.code, r.message)}).")
        else:
            why = activity.reason(r.code, r.message) if r is not None else (
                "no active rep to remind" if o["lead_id"] in instead else "no rep recorded as accepting it")
            whom = "anyone" if o["lead_id"] in instead else "the rep holding this lead"
            subject, line = "Follow-up reminder not sent", f"leadrouter could not remind {whom} ({why})."
        marks.append(activity.Mark(o["lead_id"], subject,
                                   f"{line}{instead.get(o['lead_id'], '')}\nAccepted {days} days ago; Status still {untouched}."))
    activity.write(cx, now, marks, kind="followup", setting="reminder_tasks", counts=counts)


def _reclaim(cx: Context, now: datetime, stale: list[dict], after: timedelta) -> dict[str, int]:
    due = [o for o in stale if o["followup_at"] is not None and o["followup_at"] <= now - after]
    if not due:
        return {}
    # Read them now: a lead worked since the last stream read is not reclaimed.
    counts: dict[str, int] = {}
    leads.refresh(cx, sorted({o["lead_id"] for o in due}), now, counts)
    to_lead = cx.mappings.lead_converter()
    with cx.store.begin() as conn:
        still = {o["id"] for o in of.accepted_untouched(conn, now - timedelta(days=cx.settings.offers.followup_days),
                                                         cx.settings.offers.untouched_status, limit=100_000)}
        due = [o for o in due if o["id"] in still]
        state = lifecycle.load_state(conn, [o["lead_id"] for o in due])
        rows = of.get_leads(conn, [o["lead_id"] for o in due])
        for o in due:
            local = rows.get(o["lead_id"]) or {}
            rec = local.get("record")
            lead = to_lead(rec) if rec else Lead(id=o["lead_id"])
            if isinstance(lead, Unroutable):
                lead = Lead(id=o["lead_id"])
            why = f"accepted {(now - o['accepted_at']).days} days ago and never worked; reclaimed"
            of.set_offer(conn, o["id"], status="reclaimed", closed_at=now, close_reason=why)
            if o.get("partner_id"):
                state.record_outcome(o["lead_id"], o["partner_id"], "lapsed", now)
                of.exclude(conn, o["lead_id"], o["partner_id"], "reclaimed", why, now)
            lifecycle.redistribute(cx, conn, state, lead, attempt=o["attempt"] + 1, why=why, record=rec,
                                   moved=f"reclaimed: accepted {(now - o['accepted_at']).days} days ago and never worked",
                                   seen_modstamp=local.get("modstamp"), now=now)
        lifecycle.save_state(conn, state, now)
    flushed = outbox.flush(cx, now)
    return {"reclaimed": len(due), **{f"flush_{k}": v for k, v in flushed.items()}}

"""Job: one reminder per offer, some hours before its deadline.

The reminder is claimed in the state BEFORE it is sent: a crash in between costs one
reminder rather than sending two (a partner rep pinged twice is the worse error), and of
two connectors overlapping on one state only the one whose claim wins sends it.
Each rep reads the deadline in their own time zone with UTC alongside, as in the offer
alert (jobs/alerts.py); reps of one offer in different zones get a message each.

An email goes to each rep alone, so each rep's outcome is their own: a rep Salesforce refuses
(one deactivated since the last partner sync) does not hide the colleagues reminded. Past
the org's email limit the refused reminders go by the bell where the connector has a Custom
Notification Type (jobs/email_limit.py), each rep once; nothing is tried again later.

What happened shows on the Lead as a completed Task (TASK_SUBJECTS: "Offer reminder sent",
"partly sent", "not sent" with Salesforce's reason…; jobs/activity.py; [notifications]
reminder_tasks — whatever it says for one the email limit stopped). With notifications mode
"none" nothing is sent, and no Task written.

A rep may have answered in the portal a minute ago, before the connector read it: the due
offers' Leads are read once first, and one saved since the last read with an answer in it
is not reminded (`_answered_unread`; counted `reminder_held_for_answer`).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from datetime import datetime, timedelta

from connector.errors import ConnectorError
from connector.notify import OUTCOME_UNKNOWN, Notification, NotifyResult
from jobs import activity, alerts, email_limit, poll
from jobs.alerts import deadline_lines, deadline_text, lead_link, pool_members, rep_of
from jobs.state import offers as of
from jobs.timeutil import parse_sf_datetime
from jobs.wording import reminder_words, stored_facts
from mappings import Unroutable
from rules.windows import parse_calendar, reminder_time, week_of

if TYPE_CHECKING:
    from jobs.context import Context

SETTING = "reminder_tasks"
TASK_SUBJECTS = activity.REMINDER_SUBJECTS  # every Subject its Tasks may have (read back by a rebuild)


def run(cx: Context, now: datetime) -> dict[str, int]:
    hours = cx.settings.offers.reminder_before_hours
    routing = cx.routing()
    with cx.store.connect() as conn:
        near = of.offers_to_remind(conn, now, _horizon(cx.book, hours, routing), limit=5000)
    if not near:
        return {}
    rules = {r.name: r for r in cx.book.rules}
    # the offers an alert announces (jobs/alerts.py): the reminder counts from the alert, even
    # one not sent yet (the alert goes when Salesforce confirms the offer's write, which a
    # reminder job may read first); the others' reps hear first from the reminder
    announced = set(alerts.purposes(cx))
    told = {o["id"]: o.get("alerted_at") or (o.get("offered_at") if o.get("kind") in announced else None)
            for o in near}
    at = {o["id"]: _after_alert(cx.book, rules, routing, o, hours, told[o["id"]]) for o in near}
    due = [o for o in near if at[o["id"]] <= now]
    held = _answered_unread(cx, due)
    due = [o for o in due if o["id"] not in held]
    with cx.store.begin() as conn:
        # claimed, not just set: another connector that read the same offers as due (an
        # overlapping leader) may have claimed some since; only what is won here is sent
        won = of.claim(conn, [o["id"] for o in due], "reminded_at", "live", now) if due else set()
        due = [o for o in due if o["id"] in won]
    # an offer whose window left too little time after its alert for a reminder to help: the
    # alert gave the deadline; claimed all the same, so that it is not looked at again
    by_alert = {o["id"] for o in due if told[o["id"]] is not None and at[o["id"]] <= told[o["id"]]}
    due = [o for o in due if o["id"] not in by_alert]
    if not due:
        return ({"reminded_by_alert": len(by_alert)} if by_alert else {}) | (
            {"reminder_held_for_answer": len(held)} if held else {})
    # a pool lead's reminder goes to the members its alert would tell: not one that declined
    # it, one paused or at its capacity or daily cap since (a reminder is a push), nor one
    # the pool's rule does not admit for the lead
    pooled = [o for o in due if o.get("kind") == "pool"]
    with cx.store.connect() as conn:
        records = {i: row.get("record") for i, row in of.get_leads(conn, [o["lead_id"] for o in pooled]).items()}
    members = pool_members(cx, routing, now, [(o, records.get(o["lead_id"])) for o in pooled],
                           cx.mappings.lead_converter()) if pooled else {}
    mode = cx.settings.notifications.mode
    notes, of_offer, zones_of = _messages(cx, routing, due, members, mode)
    counts: dict[str, int] = {"reminded": len(due), "notified": 0, "failed": 0}
    if by_alert:
        counts["reminded_by_alert"] = len(by_alert)
    if held:
        counts["reminder_held_for_answer"] = len(held)
    if mode == "none":  # the org notifies with a Flow: nothing sent here, nothing to show
        return counts
    log = cx.log(component="remind")
    results = activity.send(cx, mode, notes, log=log, event="reminders_not_sent")
    results, limited = email_limit.by_bell_instead(cx, mode, results, log=log, event="reminders", noun="reminder")
    if limited:
        counts["reminders_email_limit"] = len(limited)
    refused = next((r for r in results if not r.ok and r.fix), None)
    if refused is not None:  # the org or the config refuses every reminder alike: say what to change
        log.warning("reminders_failed", failed=sum(not r.ok for r in results),
                    code=refused.code, message=refused.message, fix=refused.fix)
    marks = []
    for offer, mine, zones in zip(due, of_offer, zones_of):
        outcome = [results[i] for i in mine]
        refusals = [limited[i] for i in mine if i in limited]
        sent = bool(outcome) and all(r.ok for r in outcome)
        counts["notified" if sent else "failed"] += 1
        # a reminder the email limit stopped shows on its Lead whatever reminder_tasks says:
        # nothing else tells an admin that the rep was never emailed
        if refusals or activity.wanted(cx, SETTING, sent):
            marks.append(_mark(offer, mode, outcome, zones, refusals, members.get(offer["id"], ((), {}))[1]))
    activity.write(cx, now, marks, kind="reminder", setting=SETTING, counts=counts)
    return counts


def _answered_unread(cx: Context, due: list[dict[str, Any]]) -> set[int]:
    """The due offers whose rep may have answered since the connector last read the lead: the
    Lead saved after that read (its SystemModstamp past the one the state holds) with an answer
    in it — a response, or a pool lead no longer owned by its queue. Their reminders are not
    claimed: the lead's next read takes the answer in and ends the offer; a save that proves no
    answer leaves the reminder due for the next run.

    One read of the due leads (the fields every read of leads asks for, so the mapping decides
    what an answer is), not a LeadHistory query: a reminder held for a save that was no answer
    only waits for that read. A read that fails holds nothing: the reminders go as before."""
    if not due:
        return set()
    ids = sorted({o["lead_id"] for o in due})
    try:
        found = list(cx.client.read_by_ids(cx.mappings.sobject("lead"), poll.read_fields(cx.mappings), ids))
    except ConnectorError as e:
        cx.log(component="remind").info("reminder_answers_not_read", leads=len(ids), code=e.failure.code,
                                        note="reminders go without knowing whether an unread answer came")
        return set()
    with cx.store.connect() as conn:
        last_read = {i: row.get("modstamp") for i, row in of.get_leads(conn, ids).items()}
    convert = cx.mappings.lead_converter()
    answered: dict[str, Any] = {}
    for rec in found:
        saved, seen = parse_sf_datetime(rec.get("SystemModstamp")), last_read.get(rec["Id"])
        if saved is not None and seen is not None and saved <= seen:
            continue  # nothing saved since the connector read it: any answer was taken in
        lead = convert(rec)
        if not isinstance(lead, Unroutable):
            answered[rec["Id"]] = lead
    held: set[int] = set()
    for o in due:
        lead = answered.get(o["lead_id"])
        if lead is None:
            continue
        picked_up = o.get("kind") == "pool" and lead.owner_id and lead.owner_id != o.get("owner_id")
        if lead.response in poll.ANSWERS or picked_up:
            held.add(o["id"])
    return held


def _messages(cx, routing, due: list[dict[str, Any]], members: dict[int, tuple[tuple[str, ...], dict[str, int]]],
              mode: str) -> tuple[list[Notification], list[list[int]], list[list[str | None]]]:
    """The reminders to send, in each rep's words and zone; for each offer, its messages (by
    index) and each one's zone."""
    notes: list[Notification] = []
    of_offer: list[list[int]] = []
    zones_of: list[list[str | None]] = []
    facts = stored_facts(cx, [o["lead_id"] for o in due])
    for offer in due:
        mine: list[int] = []
        zones: list[str | None] = []
        about = facts[offer["lead_id"]]
        link = lead_link(cx, offer["lead_id"])
        reps_of = members[offer["id"]][0] if offer["id"] in members else _recipients(routing, offer)
        for zone, language, reps in _by_zone(routing, reps_of):
            words = reminder_words(language)
            title = words["reminder_title"].format(company=about["company"])
            body = words["reminder_body"].format(lead=about["lead"], deadline=deadline_text(offer["deadline"], zone),
                                                 link=link)
            # an email goes to each rep alone (emailSimple takes one input per rep anyway): one
            # rep's refusal then neither marks the colleagues unreminded nor, past the email
            # limit, sends the bell to a colleague whose email went
            for group in ([(r,) for r in reps] if mode == "email" else [reps]):
                mine.append(len(notes))
                zones.append(zone)
                notes.append(Notification(recipient_ids=group, title=title, body=body, target_id=offer["lead_id"]))
        of_offer.append(mine)
        zones_of.append(zones)
    return notes, of_offer, zones_of


def _horizon(book, hours: float, routing=None) -> timedelta:
    """How far ahead a deadline can be and still be due for its reminder: `hours` of wall
    time, or — where a window counts working hours — as many weeks as those hours span."""
    calendars = [r.business_hours for r in book.rules] + [book.settings.business_hours]
    if not any(calendars):
        return timedelta(hours=hours)
    s = book.settings
    # the shortest working week any offer may count in: the org's, or a partner's own
    # (Working_Days__c) with fewer days
    days = min([len(set(s.weekdays)), *(len(w) for w in (routing.index.weeks if routing is not None else ()) if w)])
    weekly = (s.workday[1] - s.workday[0]) * days or 1
    return timedelta(weeks=math.ceil(hours / weekly) + 1)


# a window with less than this left after its alert gets no reminder: the alert said the deadline
LEAST_HOURS_AFTER_ALERT = 1.0


def _after_alert(book, rules: dict[str, Any], routing, offer: dict[str, Any], hours: float,
                 alerted: datetime | None) -> datetime:
    """The reminder's time, where the alert went out when the reminder was already due (a
    window no longer than `hours`: "New lead for you", then "Lead offer expires soon" the same
    minute pinged the rep twice): halfway between the alert and the deadline, counted as the
    window counts (an offer alerted on Friday at 16:30 with two working hours to answer is
    reminded on Monday morning, not over the weekend). With less than
    LEAST_HOURS_AFTER_ALERT left, the alert's own time: no reminder follows it."""
    at = _remind_at(book, rules, routing, offer, hours)
    if alerted is None or at > alerted:
        return at
    # the (working) hours between the alert and the deadline: the most hours before the
    # deadline whose reminder time is not before the alert (monotone: halve the interval)
    lo, hi = 0.0, hours
    for _ in range(20):
        mid = (lo + hi) / 2
        if _remind_at(book, rules, routing, offer, mid) >= alerted:
            lo = mid
        else:
            hi = mid
    if lo < LEAST_HOURS_AFTER_ALERT:
        return alerted
    return max(_remind_at(book, rules, routing, offer, lo / 2), alerted)


def _remind_at(book, rules: dict[str, Any], routing, offer: dict[str, Any], hours: float) -> datetime:
    """The reminder's time: `hours` before the deadline, counted as the offer's window was:
    in the calendar it was promised in (the zone, working days and hours kept with the offer,
    whatever the partner's Account says since), else — an offer made before offers kept it —
    its rule's business hours in the partner's zone and week, else the org's."""
    kept = parse_calendar(offer.get("calendar"))
    if kept is not None:
        zone_name, weekdays, workday = kept
        try:
            return reminder_time(offer["deadline"], hours, business_hours=True, time_zone=zone_name,
                                 workday=workday, weekdays=weekdays)
        except ValueError:
            pass
    rule = rules.get(offer.get("rule") or "")
    business = rule.business_hours if rule is not None else book.settings.business_hours
    partner = routing.partners.get(offer.get("partner_id") or "")
    s = book.settings
    # the partner's working days (Working_Days__c), else the org's, as its window counted them
    weekdays = (week_of(partner.working_days) if partner is not None and partner.working_days else None) or s.weekdays
    for zone_name in dict.fromkeys(((partner.time_zone if partner else None) or s.time_zone, s.time_zone, None)):
        try:
            return reminder_time(offer["deadline"], hours, business_hours=business, time_zone=zone_name,
                                 workday=s.workday, weekdays=weekdays)
        except ValueError:  # a zone the deadline could not use either: as it fell back
            continue
    return offer["deadline"] - timedelta(hours=hours)


def _mark(offer: dict[str, Any], mode: str, outcome: list[NotifyResult], zones: list[str | None],
          limited: list[NotifyResult], left_out: dict[str, int]) -> activity.Mark:
    """The Task on the Lead for its reminder: how many users were reminded and how, how many
    were not and why (never their names: a later partner's reps read the lead's activities
    too). `limited`: the email limit's refusals (each then went by the bell, or not at all);
    `left_out`: for a pool, how many members were not reminded, by why."""
    of = "pool" if offer.get("kind") == "pool" else "offered partner"
    count = lambda results: sum(len(r.notification.recipient_ids) for r in results)  # noqa: E731
    reached = [r for r in outcome if r.ok]
    missed = [r for r in outcome if not r.ok]
    refused_email = {r.notification for r in limited}
    belled = count([r for r in reached if r.notification in refused_email])
    how = _ways(count(reached) - belled, belled) if belled else activity.HOW.get(mode, mode)
    if not outcome:
        subject = "Offer reminder not sent"
        lines = [f"leadrouter could not remind anyone {how} that the offer ends soon "
                 "(no active partner user to remind).", STANDS]
    elif any(r.code == OUTCOME_UNKNOWN for r in missed):
        unknown = next(r for r in missed if r.code == OUTCOME_UNKNOWN)
        subject = "Offer reminder may not have been sent"
        lines = [f"leadrouter asked Salesforce to remind {activity.users(count(outcome), of)} {how} that the offer "
                 f"ends soon, and cannot tell whether it did ({activity.reason(unknown.code, unknown.message)}).", STANDS]
    elif not reached:
        subject = "Offer reminder not sent"
        lines = [f"leadrouter could not remind {activity.users(count(outcome), of)} {how} that the offer ends soon "
                 f"({activity.reason(missed[0].code, missed[0].message)}).", STANDS]
    else:
        subject = ("Offer reminder partly sent" if missed else
                   "Offer reminder not sent by email" if limited else "Offer reminder sent")
        lines = [f"leadrouter reminded {activity.users(count(reached), of)} {how} that the offer ends soon."]
        if belled:
            lines.append(f"Salesforce refused to email {activity.users(belled, of)} "
                         f"({activity.reason(limited[0].code, limited[0].message)}); they were reminded "
                         f"{activity.HOW['custom']} instead.")
        if missed:
            lines += [f"leadrouter could not remind {activity.users(count(missed), of)} "
                      f"({activity.reason(missed[0].code, missed[0].message)}).", STANDS]
    if left_out:
        lines.append("Pool members not reminded: " + ", ".join(f"{n} {why}" for why, n in sorted(left_out.items()))
                     + ".")
    facts = [f"Offer attempt: {offer.get('attempt')}", *deadline_lines(offer.get("deadline"), zones)]
    return activity.Mark(offer["lead_id"], subject, "\n".join(lines + facts))


STANDS = "The offer stands; it lapses at its deadline as usual."


def _ways(emailed: int, belled: int) -> str:
    """How the reached users were reminded, past the email limit."""
    if not emailed:
        return activity.HOW["custom"]
    if not belled:
        return activity.HOW["email"]
    return f"({emailed} {activity.HOW['email']}, {belled} {activity.HOW['custom']})"


def _by_zone(routing, reps: tuple[str, ...]) -> list[tuple[str | None, str | None, tuple[str, ...]]]:
    """The recipients grouped by time zone, language and partner: one message per zone says
    each rep's own time in their own words, and none goes to reps of two partners (a pool's
    members do not learn of each other through a shared notification)."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for rep_id in reps:
        rep = rep_of(routing, rep_id)
        key = ((rep.time_zone if rep else None) or "", (rep.language if rep else None) or "",
               routing.rep_partner.get(rep_id, ""))
        groups.setdefault(key, []).append(rep_id)
    return [(zone or None, language or None, tuple(r)) for (zone, language, _), r in sorted(groups.items())]


def _recipients(routing, offer) -> tuple[str, ...]:
    """Who of the partner is reminded of a pushed offer (a pool's: `pool_members`)."""
    owner = offer.get("owner_id")  # followed when the rep passes the lead to a colleague
    if owner and offer.get("partner_id") and routing.rep_partner.get(owner) == offer["partner_id"]:
        return (owner,)  # whoever of the partner holds the lead now
    if offer.get("rep_id"):
        return (offer["rep_id"],)
    partner = routing.partners.get(offer.get("partner_id") or "")
    return tuple(r.id for r in partner.active_reps) if partner else ()

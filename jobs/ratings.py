"""The partner's rating of lead quality (issue 17, item 3): `Lead_Quality_Rating__c`, a
restricted picklist 1 (poor) … 5 (excellent) partner reps set on the leads they got.

Read from the org apart from the lead mapping, so an org without the field still routes
(one warning; `validate` names the field to deploy). The ratings feed the lead score
(jobs/learning.rate) and each partner's `lead_quality` fact (`quality()`); they live in
the org, so a lost state loses none of them.

A rating counts for whoever set it, not for whoever holds the lead when it is read (the
lead may have moved on since: rejected to the next partner, handed back, taken from a
pool): LeadHistory of the field (history-tracked as shipped) names the user who set the
value the lead holds, and that user's partner Account is credited; a person of the org
(an internal user) rates as the org, no partner. Where LeadHistory has no row for it (the
field not tracked, or rated before tracking began or before the window), the partner
holding the lead is credited — the Lead's mapped partner field (PartnerAccountId as shipped,
or the org's own lookup), or in an org that keeps none on the Lead the partner that accepted
it in our offers — and the log and `leadrouter feedback` say how many.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy.engine import Connection

from jobs import performance
from jobs.logging import get_logger
from jobs.timeutil import as_utc, parse_sf_datetime

CHUNK = 300  # user ids per User query

RATING_FIELD = "Lead_Quality_Rating__c"  # docs/CONTRACTS.md §1; a restricted picklist "1" … "5"
RATINGS_WINDOW = timedelta(days=365)  # ratings the lead score learns from (older leads are little like new ones)
QUALITY_WINDOW = timedelta(days=90)  # ratings a partner's `lead_quality` averages, as its other facts
log = get_logger(component="feedback")


@dataclass(frozen=True, slots=True)
class Rating:
    """A rating of a lead's quality (Lead_Quality_Rating__c, 1 poor … 5 excellent), credited
    to the partner whose rep set it — None: a person of the org set it (`by_org`), or, where
    LeadHistory does not say who set it, no partner holds the lead."""

    lead_id: str
    partner_id: str | None
    rating: int
    at: datetime  # when it was set (LeadHistory), else the Lead's LastModifiedDate: no later than that
    by_org: bool = False  # set by a person of the org (an internal user): the org's rating, no partner's
    by_holder: bool = False  # LeadHistory did not say who set it: credited to the partner holding the lead


def ratings(client: Any, now: datetime, since: timedelta = RATINGS_WINDOW, *,
            partner_field: str | None = "PartnerAccountId", conn: Connection | None = None) -> list[Rating] | None:
    """Every rated Lead modified in the window, each rating credited to whoever set it (see
    the module's words) — or None when the org has no readable `Lead_Quality_Rating__c` (not
    deployed, or hidden from the integration user: `validate` says so; routing goes on
    without ratings). Three queries: the rated leads, the field's LeadHistory in the window,
    the users who set them. The partner holding a lead is the Lead's `partner_field`
    (jobs/performance.lead_partner_field: the org's own lookup, or PartnerAccountId); with
    none, the partner that accepted it in our offers table (`conn`)."""
    from connector.soql import format_soql, soql_datetime

    start = soql_datetime(as_utc(now) - since)
    field = partner_field if partner_field and re.fullmatch(r"[A-Za-z0-9_]+", partner_field) else None
    accepted = performance.accepted_partners(conn) if field is None and conn is not None else {}
    soql = format_soql(f"SELECT Id, {field or 'PartnerAccountId'}, {RATING_FIELD}, LastModifiedDate FROM Lead "
                       f"WHERE {RATING_FIELD} != null AND LastModifiedDate >= {{}}", start)
    try:
        records = list(client.query(soql))
    except Exception as e:  # noqa: BLE001 — only a missing field is expected; anything else is said and skipped
        log.warning("lead_quality_ratings_unread", field=RATING_FIELD, error=str(e)[:300],
                    fix=f"deploy salesforce/ (Lead.{RATING_FIELD} and the permission sets), or ignore: routing "
                        "goes on without partners' ratings")
        return None
    setters = _setters(client, start, {r["Id"]: r.get(RATING_FIELD) for r in records}) if records else {}
    partner_of = _partners_of(client, {user for user, _ in setters.values()})
    out = []
    for r in records:
        value = rating_of(r.get(RATING_FIELD))
        if value is None:
            continue
        set_by = setters.get(r["Id"])
        if set_by is not None and set_by[0] in partner_of:
            partner = partner_of[set_by[0]]
            out.append(Rating(r["Id"], partner, value, set_by[1], by_org=partner is None))
            continue
        at = parse_sf_datetime(r.get("LastModifiedDate"))
        holder = r.get(field) if field else accepted.get(r["Id"])
        if at is not None and holder:
            out.append(Rating(r["Id"], holder, value, as_utc(at), by_holder=True))
    held = sum(1 for r in out if r.by_holder)
    if held:
        log.warning("lead_quality_ratings_credited_to_holder", count=held, field=RATING_FIELD,
                    note="LeadHistory does not say who set these ratings: each is credited to the partner holding "
                         "the lead now, which may not be the partner whose rep rated it",
                    fix=f"turn on field history for Lead.{RATING_FIELD} (Setup → Object Manager → Lead → Fields & "
                        "Relationships → Set History Tracking; salesforce/ ships it tracked)")
    return out


def _setters(client: Any, start: Any, values: dict[str, Any]) -> dict[str, tuple[str, datetime]]:
    """{lead id: (who set the rating it holds, when)} from LeadHistory in the window (one
    query): the newest change of the field, when it set the value the lead holds. A lead
    without one (the field not tracked, rated before the window) is left out."""
    from connector.soql import format_soql

    soql = format_soql("SELECT LeadId, NewValue, CreatedById, CreatedDate FROM LeadHistory "
                       "WHERE Field = {} AND CreatedDate >= {} ORDER BY CreatedDate, Id", RATING_FIELD, start)
    newest: dict[str, dict[str, Any]] = {}
    try:
        for row in client.query(soql):
            if row.get("LeadId") in values:
                newest[row["LeadId"]] = row  # oldest first: the last one read is the newest
    except Exception as e:  # noqa: BLE001 — LeadHistory unreadable: every rating is credited to its holder, said
        log.warning("lead_quality_rating_history_unread", error=str(e)[:300])
        return {}
    out = {}
    for lead_id, row in newest.items():
        at = parse_sf_datetime(row.get("CreatedDate"))
        if row.get("CreatedById") and at is not None and str(row.get("NewValue")) == str(values[lead_id]):
            out[lead_id] = (row["CreatedById"], as_utc(at))
    return out


def _partners_of(client: Any, users: set[str]) -> dict[str, str | None]:
    """{user: its partner Account, or None for a person of the org (an internal user)}; a
    user the query does not return (deleted, hidden) is left out."""
    from connector.soql import format_soql

    out: dict[str, str | None] = {}
    ids = sorted(users)
    try:
        for i in range(0, len(ids), CHUNK):
            for u in client.query(format_soql("SELECT Id, AccountId FROM User WHERE Id IN {}", ids[i:i + CHUNK])):
                out[u["Id"]] = u.get("AccountId") or None
    except Exception as e:  # noqa: BLE001 — users unreadable: every rating is credited to its holder, said
        log.warning("lead_quality_raters_unread", error=str(e)[:300])
        return {}
    return out


def org_quality(rated: Iterable[Rating], now: datetime) -> tuple[float, int] | None:
    """The org's own people's average rating of leads in the last 90 days, and how many
    ratings it rests on (None: they rated none)."""
    since = as_utc(now) - QUALITY_WINDOW
    mine = [r.rating for r in rated if r.by_org and r.at >= since]
    return (round(sum(mine) / len(mine), 2), len(mine)) if mine else None


def rating_of(value: Any) -> int | None:
    """The picklist's value ("1" … "5", or a label beginning with the digit) as a number."""
    text = str(value or "").strip()
    return int(text[0]) if text[:1] in ("1", "2", "3", "4", "5") else None


def quality(rated: Iterable[Rating], now: datetime) -> dict[str, tuple[float, int]]:
    """Each partner's average rating of the leads it got in the last 90 days (a
    performance fact: `lead_quality`), with how many ratings it rests on."""
    since = as_utc(now) - QUALITY_WINDOW
    sums: dict[str, list[int]] = {}
    for r in rated:
        if r.at >= since and r.partner_id is not None:
            s = sums.setdefault(r.partner_id, [0, 0])
            s[0] += r.rating
            s[1] += 1
    return {pid: (round(total / n, 2), n) for pid, (total, n) in sums.items()}


def wants_ratings(book: Any) -> bool:
    """Do the rules use what ratings feed (the lead score of a predictive rule, or the
    `lead_quality` fact)? Only then does a routing build read them: one query."""
    names = {"lead_quality", "lead_quality_ratings", "score"}
    return any(r.distribute == "predictive" or names & set(getattr(cond, "symbols", ()))
               for r in book.rules for cond in (r.when, r.partners))

"""The partner's rating of lead quality (issue 17, item 3): `Lead_Quality_Rating__c`, a
restricted picklist 1 (poor) … 5 (excellent) partner reps set on the leads they got.

Read from the org apart from the lead mapping, so an org without the field still routes
(one warning; `validate` names the field to deploy). The ratings feed the lead score
(jobs/learning.rate) and each partner's `lead_quality` fact (`quality()`); they live in
the org, so a lost state loses none of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from jobs.logging import get_logger
from jobs.timeutil import as_utc, parse_sf_datetime

RATING_FIELD = "Lead_Quality_Rating__c"  # docs/CONTRACTS.md §1; a restricted picklist "1" … "5"
RATINGS_WINDOW = timedelta(days=365)  # ratings the lead score learns from (older leads are little like new ones)
QUALITY_WINDOW = timedelta(days=90)  # ratings a partner's `lead_quality` averages, as its other facts
log = get_logger(component="feedback")


@dataclass(frozen=True, slots=True)
class Rating:
    """A partner's rating of a lead it got (Lead_Quality_Rating__c, 1 poor … 5 excellent)."""

    lead_id: str
    partner_id: str
    rating: int
    at: datetime  # the Lead's LastModifiedDate when read: no later than the rating


def ratings(client: Any, now: datetime, since: timedelta = RATINGS_WINDOW) -> list[Rating] | None:
    """Every rated Lead modified in the window, rated by the partner holding it — or None
    when the org has no readable `Lead_Quality_Rating__c` (not deployed, or hidden from the
    integration user: `validate` says so; routing goes on without ratings)."""
    from connector.soql import format_soql, soql_datetime

    soql = format_soql(f"SELECT Id, PartnerAccountId, {RATING_FIELD}, LastModifiedDate FROM Lead "
                       f"WHERE {RATING_FIELD} != null AND PartnerAccountId != null AND LastModifiedDate >= {{}}",
                       soql_datetime(as_utc(now) - since))
    try:
        records = list(client.query(soql))
    except Exception as e:  # noqa: BLE001 — only a missing field is expected; anything else is said and skipped
        log.warning("lead_quality_ratings_unread", field=RATING_FIELD, error=str(e)[:300],
                    fix=f"deploy salesforce/ (Lead.{RATING_FIELD} and the permission sets), or ignore: routing "
                        "goes on without partners' ratings")
        return None
    out = []
    for r in records:
        value = rating_of(r.get(RATING_FIELD))
        at = parse_sf_datetime(r.get("LastModifiedDate"))
        if value is not None and at is not None:
            out.append(Rating(r["Id"], r["PartnerAccountId"], value, as_utc(at)))
    return out


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
        if r.at >= since:
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

"""Partner feedback on the partner's Account, where it outlives the state database.

Two fields, both optional (docs/CONTRACTS.md §1), read apart from the partner mapping's
fields since a mapped field the org lacks fails every partner read:

- `Routing_Feedback_Review__c`: ops reviews (`leadrouter feedback reset`), one line
  each — `all 2026-12-06T03:00:00Z` / `US-CA 2026-12-06T03:00:00Z`, Salesforce's time.
  A routing build takes the later of this and the state's record of each review.
- `Routing_Feedback__c`: the adjustments in force, in words (written by jobs/feedback.show).

An org without them routes, with one warning; `validate` names the fields to deploy.
"""
from __future__ import annotations

import re
import weakref
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from jobs.logging import get_logger
from jobs.timeutil import as_utc, parse_sf_datetime

REVIEW_FIELD = "Routing_Feedback_Review__c"  # ops reviews, one line each: "all <time>" / "<area> <time>"
SHOWN_FIELD = "Routing_Feedback__c"  # the adjustments in force, in words
SHOWN_LENGTH = 4000  # the field's length in salesforce/
ALL = "all"  # a review's scope in REVIEW_FIELD: every adjustment, not one area's territory declines
AREA = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")  # a country (US) or a state (US-CA)
_warned: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()  # client → fields said missing
log = get_logger(component="feedback")


def review_time(now: datetime) -> datetime:
    """A review's time as REVIEW_FIELD spells it, in whole seconds: rounded up, so the
    declines of the second ops reviewed in count no more either."""
    now = as_utc(now)
    return now.replace(microsecond=0) + (timedelta(seconds=1) if now.microsecond else timedelta(0))


def parse_reviews(text: str | None) -> dict[str, datetime]:
    """REVIEW_FIELD's lines ("all 2026-12-06T03:00:00Z", "US-CA 2026-12-06T03:00:00Z") as
    scope → time; a line that is not one (a person's note) is skipped; the latest per scope."""
    out: dict[str, datetime] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        scope = ALL if parts[0].lower() == ALL else parts[0].upper()
        if scope != ALL and not AREA.match(scope):
            continue
        try:
            at = parse_sf_datetime(parts[1])
        except ValueError:
            continue
        if at is not None and (scope not in out or at > out[scope]):
            out[scope] = at
    return out


def format_reviews(reviews: Mapping[str, datetime]) -> str:
    """scope → time as REVIEW_FIELD's lines: `all` first, then the areas; an area's review
    no later than the `all` one is left out (that one covers it)."""
    every = reviews.get(ALL)
    lines = [f"{ALL} {_text(every)}"] if every is not None else []
    lines += [f"{scope} {_text(at)}" for scope, at in sorted(reviews.items())
              if scope != ALL and (every is None or at > every)]
    return "\n".join(lines)


def org_reviews(records: Iterable[Mapping[str, Any]]) -> dict[str, datetime] | None:
    """The reviews on the partners' Accounts as `reviews()` keys them (partner, or
    "partner@area"), from snapshot records read with REVIEW_FIELD — None when none was
    (the org has no such field, or the snapshot predates it)."""
    read = False
    out: dict[str, datetime] = {}
    for r in records:
        if REVIEW_FIELD not in r:
            continue
        read = True
        for scope, at in parse_reviews(r.get(REVIEW_FIELD)).items():
            out[r["Id"] if scope == ALL else f"{r['Id']}@{scope}"] = at
    return out if read else None


def account_fields(client: Any, sobject: str) -> dict[str, bool]:
    """The feedback fields the partners' object has for the integration user (describe,
    fetched once per process): name → editable. Those missing are said once per client,
    with the fix; without them reviews live in the state database only."""
    describe = getattr(client, "describe", None)
    if describe is None:  # a client that cannot describe (a test double) reads and writes none
        return {}
    found = {f["name"]: bool(f.get("updateable")) for f in describe(sobject).get("fields", ())
             if f.get("name") in (REVIEW_FIELD, SHOWN_FIELD)}
    missing = [f for f in (REVIEW_FIELD, SHOWN_FIELD) if f not in found]
    try:
        said = _warned.setdefault(client, set())
    except TypeError:  # not weakly referable: say it every time rather than never
        said = set()
    if missing and not set(missing) <= said:
        said.update(missing)
        log.warning("feedback_fields_missing", sobject=sobject, fields=missing,
                    effect="ops reviews of partners' feedback are kept in the state database only (lost with it)"
                    if REVIEW_FIELD in missing else "the adjustments in force are not shown on the partners' Accounts",
                    fix=f"deploy salesforce/ ({', '.join(f'{sobject}.{f}' for f in missing)} and the LeadRouter "
                        "permission sets), then restart; or ignore: routing works without them")
    return found


def save_review(client: Any, sobject: str, partner_id: str, at: datetime, area: str | None = None,
                attempts: int = 3) -> str | None:
    """Add this review to the partner's Account (REVIEW_FIELD), keeping the others; the
    field's new text, or None when the org has no such field. A review written at the same
    moment by someone else is re-read and kept (the write is guarded by SystemModstamp).
    Raises the connector's error when Salesforce refuses the write."""
    from connector.errors import Failure, RecordError, TransientError
    from connector.writes import GuardedUpdate

    if not account_fields(client, sobject).get(REVIEW_FIELD):
        return None
    result = None
    for _ in range(attempts):
        rec = next(iter(client.read_by_ids(sobject, ["Id", REVIEW_FIELD, "SystemModstamp"], [partner_id])), None)
        if rec is None:
            raise RecordError(Failure("permanent", "NOT_FOUND", f"{sobject} {partner_id} is not in the org"))
        scopes = parse_reviews(rec.get(REVIEW_FIELD))
        scope = area or ALL
        scopes[scope] = max(as_utc(at), scopes.get(scope, as_utc(at)))
        text = format_reviews(scopes)
        result = client.update_guarded(sobject, [GuardedUpdate(rec["Id"], {REVIEW_FIELD: text},
                                                               rec["SystemModstamp"])])[0]
        if result.ok:
            return text
        if result.kind != "stale":
            break
    assert result is not None
    if result.kind == "permanent":
        raise RecordError(Failure("permanent", result.code or "NOT_WRITTEN", result.message or "", fix=result.fix))
    raise TransientError(Failure("transient", result.code or "KEPT_CHANGING",
                                 result.message or "the Account kept changing while the review was written",
                                 fix="run the reset again"))


def _text(at: datetime) -> str:
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%SZ")

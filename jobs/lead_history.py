"""LeadHistory, asked once per read batch for everything the lead stream's readers need.

The lead stream reads leads a batch at a time (a query page of up to 2,000, a Bulk API page,
a refresh's or the event stream's read) and decides on them in pages of 200. Several of its
decisions need LeadHistory, each for a few of the leads: who took a pool lead first
(jobs/pool_race.py), whether the org's assignment rule set the owner and who set the owner
a lead has (jobs/owner_history.py), who set the answer it holds (jobs/answer_history.py).
Each used to ask on its own, per page of 200: a poll cycle over 768 answers cost 8 queries.

Here one reader per read batch asks once for every lead any of them will ask about and
every field any of them reads — the owner's (`Owner`, `ownerAssignment`) and the answer
field's — with ids in chunks of CHUNK and no longer than a request URI may be
(connector/soql.id_chunks); each reader then takes its slice, by lead, field, time and
user, from the rows read. Who will ask about which lead is worked out for the whole batch
before its first page (`wanted`); a lead asked about that the batch's read did not cover
(the state moved on in an earlier page) is read then, so an answer never depends on what
was read ahead. Reads happen before a page's transaction, as they did: a failed query fails
the page (read again next run), and no call to Salesforce is made inside it.

A field whose history the org does not track has no rows: each reader then falls back as it
did (the lead's LastModifiedById for who saved it).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple

from connector.soql import MAX_QUERY_PARAM_CHARS, format_soql, id_chunks, select as soql_select
from jobs.recovery import OWNER_FIELDS, rejection_code_field, response_values
from jobs.timeutil import parse_sf_datetime

if TYPE_CHECKING:
    from jobs.context import Context

CHUNK = 300  # lead ids per LeadHistory query (the IN-list; the URL length is measured too)
COLUMNS = ["LeadId", "Field", "NewValue", "CreatedById", "CreatedDate"]
EVERY = datetime.min.replace(tzinfo=timezone.utc)  # owner rows wanted: all of them
NO_OWNER = datetime.max.replace(tzinfo=timezone.utc)  # owner rows not wanted: the answer field's only

Wants = Mapping[str, "datetime | None"]  # lead id -> owner rows from then on (None: all; NO_OWNER: none)


class Change(NamedTuple):
    """One LeadHistory row: a field (as LeadHistory.Field spells it) set to a value by a user."""
    field: str
    value: Any
    by: str | None
    at: datetime


def _from(since: datetime | None) -> datetime:
    return EVERY if since is None else since


def merge(*wants: Wants) -> dict[str, datetime | None]:
    """Several readers' wants as one: per lead, owner rows from the earliest time any wants."""
    out: dict[str, datetime] = {}
    for want in wants:
        for lead_id, since in want.items():
            out[lead_id] = min(out.get(lead_id, NO_OWNER), _from(since))
    return {k: (None if v == EVERY else v) for k, v in out.items()}


class LeadHistory:
    """The LeadHistory rows of one read batch's leads. `records`: the batch; `wanted`: who
    will ask about which of them (read at the first question, for the whole batch)."""

    def __init__(self, cx: Context, records: Iterable[dict[str, Any]] = (),
                 wanted: Callable[[Context, list[dict[str, Any]]], Wants] | None = None) -> None:
        self.cx = cx
        self._pending = list(records) if wanted is not None else []
        self._wanted = wanted
        self._rows: dict[str, list[Change]] = {}
        self._read_from: dict[str, datetime] = {}  # owner rows read from then on (NO_OWNER: none)
        self.queries = 0

    def rows(self, wants: Wants) -> dict[str, list[Change]]:
        """Per lead asked about, oldest first, its rows of the answer field and, from the time
        asked on (None: all; NO_OWNER: none asked), of the owner; a reader filters its own
        (a row read for another reader may be older than asked)."""
        self.prime(wants)
        missing = {i: s for i, s in wants.items() if not self._covers(i, s)}
        if missing:
            self._read(missing)
        return {i: self._rows.get(i, []) for i in wants}

    def prime(self, wants: Wants | None = None) -> None:
        """Read the whole batch's wants (and these), once, against the state before its first
        page: a page that asks nothing still primes the batch, so later pages' wants are
        what they were when the batch was read."""
        if self._pending:
            records, self._pending = self._pending, []
            assert self._wanted is not None
            self._read(merge(self._wanted(self.cx, records), wants or {}))

    def _covers(self, lead_id: str, since: datetime | None) -> bool:
        return lead_id in self._read_from and self._read_from[lead_id] <= _from(since)

    def _names(self) -> tuple[list[str], list[str]]:
        spelled = response_values(self.cx)
        # the rejection code beside the answer: one query still (jobs/answer_history.codes_given)
        code = rejection_code_field(self.cx) if spelled else None
        return (list(OWNER_FIELDS), [spelled[0], *filter(None, [code])] if spelled else [])

    def _read(self, wants: Wants) -> None:
        if not wants:
            return
        owner, answer = self._names()
        since = {i: _from(s) for i, s in wants.items()}

        def where(chunk: list[str]) -> str:
            first = min((since[i] for i in chunk), default=EVERY.replace(year=2000))  # (measured with a date)
            if first == NO_OWNER or not owner:
                return format_soql("LeadId IN {} AND Field IN {}", chunk, answer or owner)
            if first == EVERY:
                return format_soql("LeadId IN {} AND Field IN {}", chunk, [*owner, *answer])
            owned = format_soql("Field IN {} AND CreatedDate >= {}", owner, first.astimezone(timezone.utc))
            if not answer:
                return format_soql("LeadId IN {} AND ", chunk) + owned
            return format_soql("LeadId IN {} AND (Field IN {} OR (", chunk, answer) + owned + "))"

        def render(chunk: list[str]) -> str:
            return soql_select("LeadHistory", COLUMNS, where=where(chunk), order_by=("CreatedDate", "Id"))

        for chunk in id_chunks(sorted(wants), render, max_chars=MAX_QUERY_PARAM_CHARS, max_ids=CHUNK):
            first = min(since[i] for i in chunk)
            got: dict[str, list[Change]] = {i: [] for i in chunk}
            self.queries += 1
            for r in self.cx.client.query(render(chunk)):
                at = parse_sf_datetime(r.get("CreatedDate"))
                if at is not None and r.get("LeadId") in got:
                    got[r["LeadId"]].append(Change(r.get("Field") or "", r.get("NewValue"), r.get("CreatedById"), at))
            for i in chunk:  # a lead read again (from earlier on) is replaced whole
                self._rows[i] = got[i]
                self._read_from[i] = first if owner else NO_OWNER


def newest(changes: Iterable[Change], fields: Iterable[str], *, value: Any = None, since: datetime | None = None,
           not_by: str | None = None) -> Change | None:
    """The newest of these rows of these fields (setting `value`, when given; from `since`
    on; not by `not_by`)."""
    names = set(fields)
    found = None
    for c in changes:  # oldest first: the last that fits is the newest
        if c.field in names and (value is None or c.value == value) and (since is None or c.at >= since) \
                and (not_by is None or c.by != not_by):
            found = c
    return found

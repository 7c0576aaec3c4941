"""The org lease: which connector may route an org, kept in the org itself.

Two connectors with their own state databases on one org (a second VM, a copied
deployment) share nothing but the org, so the org says who routes: one record of
`LeadRouter_Lease__c` per term, keyed `<organization id>:<term number>` in a unique,
case-sensitive External ID field. Salesforce refuses a second insert of one key
(DUPLICATE_VALUE) atomically, so of two connectors starting term N+1 together exactly one
gets it: a compare-and-set, unlike If-Unmodified-Since, whose whole seconds race.

Only Salesforce's clock counts. A term's heartbeat is its LastModifiedDate, moved by the
holder's renewal (one composite call per poll interval: the PATCH, then a query of the
newest term, answered together). A term is lapsed once the org's time (the client's
ServerClock, from the `Date` headers) is `ttl` past its heartbeat; then anyone may insert
the next term. The holder counts itself leader until `ttl - margin` past its last
heartbeat whose query showed its term still the newest, so it stops before anyone may
take over; the margin covers the whole seconds of the `Date` header and a write batch
already on the wire.

One race is left to close: a holder renewing between a challenger's read (lapsed) and its
insert. So the new holder reads the previous term again in the same call that inserts its
own, and does not lead before that term's heartbeat + ttl: at once for a lapsed or
released term, at most one ttl later in the race.

The new holder deletes every older term (one call): the object stays a few records, and a
deposed holder's next renewal finds its record gone. A clean stop marks its term
`Released__c`, and the next connector takes over at its next try instead of after `ttl`.

An org without the object (the metadata not deployed yet), or an integration user without
access to it: the first try finds out (`problem()`), says so once, and the connector runs
without the lease, as before it existed. An outage at that moment only delays the check.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import quote

from .errors import ConnectorError
from .records import parse_sf_datetime
from .soql import format_soql

OBJECT = "LeadRouter_Lease__c"
# written by the connector; Key__c and Term__c are required fields (no permission set entry)
WRITTEN = ("Instance__c", "Host__c", "Pid__c", "Config_Hash__c", "State_Key__c", "Beat__c", "Released__c")
FIELDS = ("Id", "Key__c", "Term__c", *WRITTEN, "LastModifiedDate")
KEEP_LISTED = 20  # terms read at a takeover: the newest two, and older ones to delete
DEPLOY_FIX = ("deploy salesforce/ (`sf project deploy start` in salesforce/, salesforce/README.md) and assign the "
              "LeadRouter_Integration permission set to the integration user")


@dataclass(frozen=True)
class Holder:
    """Who holds a term, as its record and the logs name it: nothing secret."""
    instance: str
    host: str
    pid: int
    config_hash: str
    # names the state database whose leader lock the holder took with the lease: of two terms
    # with one key only one process can be alive and leading, and that is the caller
    state_key: str


@dataclass(frozen=True)
class Term:
    id: str
    number: int
    instance: str | None
    host: str | None
    pid: int | None
    released: bool
    beat: int
    heartbeat: datetime  # LastModifiedDate: Salesforce's clock
    state_key: str | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Term:
        return cls(id=row["Id"], number=int(row["Term__c"] or 0), instance=row.get("Instance__c"),
                   host=row.get("Host__c"), pid=int(row["Pid__c"]) if row.get("Pid__c") is not None else None,
                   released=bool(row.get("Released__c")), beat=int(row.get("Beat__c") or 0),
                   heartbeat=parse_sf_datetime(row["LastModifiedDate"]),  # type: ignore[arg-type]
                   state_key=row.get("State_Key__c"))

    def who(self) -> str:
        return f"{self.instance or '?'} (pid {self.pid if self.pid is not None else '?'} on {self.host or '?'})"


def problem(client: Any) -> str | None:
    """Why the lease cannot be used in this org (None: it can): the object missing, or the
    integration user lacking a right on it or a field of it. One describe call."""
    try:
        d = client.describe(OBJECT)
    except ConnectorError as e:
        if e.code in ("NOT_FOUND", "INVALID_TYPE"):
            return (f"the org has no {OBJECT} object (the salesforce/ metadata is not deployed, or the "
                    "integration user cannot see it)")
        if e.code.startswith("INSUFFICIENT_ACCESS"):
            return f"the integration user may not read {OBJECT}: {e}"
        raise
    rights = [r for r in ("queryable", "createable", "updateable", "deletable") if not d.get(r)]
    fields = {f.get("name") for f in d.get("fields") or []}
    missing = [f for f in ("Key__c", "Term__c", *WRITTEN) if f not in fields]
    if rights or missing:
        said = "; ".join(x for x in (
            f"not {', '.join(rights)}" if rights else "",
            f"fields not visible: {', '.join(missing)}" if missing else "") if x)
        return f"the integration user lacks access to {OBJECT} ({said})"
    return None


def ttl_for(poll_seconds: float) -> float:
    """Three poll intervals, at least 30 s: a holder misses two heartbeats before anyone may
    take over, and a 1-second test schedule still leaves room for the Date header's seconds."""
    return max(3.0 * poll_seconds, 30.0)


class OrgLease:
    def __init__(self, client: Any, organization_id: str, holder: Holder, *, poll_seconds: float,
                 logger: Any, clock: Callable[[], datetime] | None = None) -> None:
        self.client = client
        # the org's time: the client's ServerClock in production (the Date headers), the
        # sandbox's clock where a test injects it; never the host's
        self.clock = clock or client.server_now
        self.prefix = f"{organization_id}:"
        self.description = f"org lease {OBJECT} {self.prefix}*"
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_for(poll_seconds))
        self.margin = self.ttl / 3
        self.renew_every = timedelta(seconds=0.9 * poll_seconds)
        self.log = logger
        self.term: Term | None = None  # ours, while we hold one
        self.other: Term | None = None  # the newest term another connector holds, as last read
        self._valid_until: datetime | None = None  # leader until then (Salesforce's clock)
        self._not_before: datetime | None = None  # a previous holder may lead until then
        self._renewed_at: datetime | None = None
        self._tried_at: datetime | None = None  # the last renewal that got no answer
        self._failing = False  # renewals get no answer (said once)
        self._lock = threading.RLock()  # jobs ask still_leader() from scheduler threads
        self._checked = False
        # the term was taken from us while we held it (a `once` run then exits 3, as when it
        # never got the lease): who holds it now, as far as the last read saw
        self.deposed = False
        # why this org cannot hold the lease (no object, no right): then every answer is yes
        self.unavailable: str | None = None

    def _check(self) -> None:
        """Once, before the first term: whether this org can hold the lease at all. No answer
        (an outage) raises, and the next try checks again; a missing object or right is said
        once, and the connector runs without the lease, as before the object existed."""
        said = problem(self.client)
        self._checked = True
        if said is not None:
            self.unavailable = said
            self.log.warning("org_lease_unavailable", object=OBJECT, problem=said, fix=DEPLOY_FIX,
                             note="running with the state's leader lock only, as before: two connectors with "
                                  "their own state databases on this org would both route")

    def now(self) -> datetime:
        return self.clock()

    # ------------------------------------------------------------------ holding
    def try_acquire(self) -> bool:
        """Lead under the lease: renew the term we hold, or take the next one when the newest
        has lapsed or was released. False while another connector holds a live term."""
        with self._lock:
            if self.unavailable is not None:
                return True
            if not self._checked:
                self._check()
                if self.unavailable is not None:
                    return True
            if self.term is not None:
                return self._renew()
            newest = self._terms(limit=1)
            top = newest[0] if newest else None
            if top is not None and top.instance != self.holder.instance and not self._gone(top) \
                    and self.now() - top.heartbeat <= self.ttl:
                self._note_other(top)
                return False
            return self._take((top.number if top else 0) + 1)

    def still_leader(self) -> bool:
        """Asked before each job and write batch: no call unless a heartbeat is due, so the
        API cost is one renewal per poll interval however many batches go out."""
        with self._lock:
            if self.unavailable is not None:
                return True
            if self.term is None:
                return False
            now = self.now()
            last = max(t for t in (self._renewed_at, self._tried_at) if t is not None) \
                if (self._renewed_at or self._tried_at) else None
            if last is None or now - last >= self.renew_every:
                return self._renew()
            # between heartbeats, and after one that got no answer (an outage: one try per interval,
            # not one per batch): the last confirmed heartbeat decides
            return self._valid(now)

    def release(self) -> None:
        """A clean stop: the term is marked released so the next connector takes over now."""
        with self._lock:
            term, self.term = self.term, None
            self._valid_until = self._not_before = self._renewed_at = self._tried_at = None
            if term is None:
                return
            try:
                self.client._call(lambda: self.client.sf.restful(
                    f"sobjects/{OBJECT}/{term.id}", method="PATCH", json={"Released__c": True}),
                    f"release {OBJECT}")
                self.log.info("org_lease_released", term=term.number, instance=self.holder.instance,
                              note="the next connector on this org takes over at its next try")
            except ConnectorError as e:
                self.log.warning("org_lease_release_failed", term=term.number, error=str(e),
                                 note=f"the next connector takes over once this term's heartbeat is "
                                      f"{self.ttl.total_seconds():.0f} s old (Salesforce's clock)")

    @property
    def unanswered(self) -> bool:
        """Our term's renewals get no answer (an outage), as opposed to finding it taken."""
        return self._failing

    def holder_elsewhere(self) -> str | None:
        """Who holds the lease, as last read, when another connector does."""
        return self.other.who() if self.other is not None else None

    def summary(self) -> dict[str, Any]:
        """The lease as this connector last saw it, for `leadrouter status` (which reads the
        state, not the org): the term it holds, or who else does, or why there is none."""
        with self._lock:
            term, other = self.term, self.other
            return {"object": OBJECT, "holder": self.holder.instance, "host": self.holder.host,
                    "pid": self.holder.pid, "term": term.number if term else None,
                    "renewed_at": self._renewed_at.isoformat() if self._renewed_at else None,
                    "valid_until": self._valid_until.isoformat() if term and self._valid_until else None,
                    "renewals_unanswered": self._failing, "other": other.who() if other else None,
                    "other_term": other.number if other else None, "unavailable": self.unavailable}

    # ------------------------------------------------------------------ internals
    def _gone(self, term: Term) -> bool:
        """A term nobody leads under any more, whatever its heartbeat: released by a clean stop,
        or held on the state database whose leader lock the caller holds now (a crashed or
        killed process restarted on the same state: the kernel or the database server freed
        that lock, so its holder is dead, and its fencing token is stale besides)."""
        return term.released or (term.state_key is not None and term.state_key == self.holder.state_key)

    def _valid(self, now: datetime) -> bool:
        return (self._valid_until is not None and now < self._valid_until
                and (self._not_before is None or now >= self._not_before))

    def _select(self, where: str, limit: int) -> str:
        return (f"SELECT {', '.join(FIELDS)} FROM {OBJECT} WHERE {where} "
                f"ORDER BY Term__c DESC LIMIT {limit}")

    def _mine(self) -> str:
        return format_soql("Key__c LIKE {}", self.prefix + "%")

    def _terms(self, limit: int) -> list[Term]:
        return [Term.of(r) for r in self.client.query(self._select(self._mine(), limit))]

    def _composite(self, first: dict[str, Any], soql: str, what: str) -> tuple[dict[str, Any], list[Term]]:
        """One API call: a write, then a query that sees it (subrequests run in order)."""
        version = self.client.config.api_version
        body = {"allOrNone": False, "compositeRequest": [
            {**first, "referenceId": "write"},
            {"method": "GET", "url": f"/services/data/v{version}/query/?q={quote(soql)}", "referenceId": "terms"}]}
        answer = self.client._call(lambda: self.client.sf.restful("composite", method="POST", json=body), what,
                                   idempotent=first["method"] != "POST")
        write, read = answer["compositeResponse"]
        if read.get("httpStatusCode") != 200:
            raise LeaseReadFailed(f"{what}: the query of {OBJECT} answered {read.get('httpStatusCode')}: "
                                  f"{read.get('body')}")
        return write, [Term.of(r) for r in (read.get("body") or {}).get("records") or []]

    def _take(self, number: int) -> bool:
        version = self.client.config.api_version
        h = self.holder
        insert = {"method": "POST", "url": f"/services/data/v{version}/sobjects/{OBJECT}/",
                  "body": {"Name": f"{self.prefix}{number}", "Key__c": f"{self.prefix}{number}", "Term__c": number,
                           "Instance__c": h.instance, "Host__c": h.host[:255], "Pid__c": h.pid,
                           "Config_Hash__c": h.config_hash, "State_Key__c": h.state_key, "Beat__c": 0}}
        write, terms = self._composite(insert, self._select(self._mine(), KEEP_LISTED), f"take {OBJECT} term {number}")
        ours = next((t for t in terms if t.number == number), None)
        refused = write.get("body") if write.get("httpStatusCode") not in (200, 201) else None
        codes = {e.get("errorCode") for e in refused if isinstance(e, dict)} if isinstance(refused, list) else set()
        if ours is None and refused and "DUPLICATE_VALUE" not in codes:
            self.log.warning("org_lease_insert_refused", term=number, error=str(refused)[:500],
                             note=f"the integration user may lack create access to {OBJECT}: {DEPLOY_FIX}")
        if ours is None or ours.instance != h.instance:
            # another connector inserted this term first (DUPLICATE_VALUE): it leads
            if ours is not None:
                self._note_other(ours)
            return False
        older = [t for t in terms if t.number < number]
        previous = older[0] if older else None
        self.term, self.other = ours, None
        self._renewed_at = ours.heartbeat
        self._valid_until = ours.heartbeat + self.ttl - self.margin
        # a previous holder that renewed after we read it lapsed may lead until its heartbeat + ttl
        # (every older term still listed: an earlier take of ours may have failed half-way)
        ends = [t.heartbeat + self.ttl for t in older if not self._gone(t) and t.instance != h.instance]
        self._not_before = max(ends) if ends and max(ends) > ours.heartbeat else None
        self.log.info("org_lease_taken", term=number, instance=h.instance,
                      previous=previous.who() if previous is not None else None,
                      previous_released=previous.released if previous is not None else None,
                      waits_until=self._not_before.isoformat() if self._not_before else None)
        self._delete([t for t in terms if t.number < number])
        return self._valid(self.now())

    def _renew(self) -> bool:
        term = self.term
        assert term is not None
        version = self.client.config.api_version
        beat = {"method": "PATCH", "url": f"/services/data/v{version}/sobjects/{OBJECT}/{term.id}",
                "body": {"Beat__c": term.beat + 1}}
        try:
            write, terms = self._composite(beat, self._select(self._mine(), 1), f"renew {OBJECT} term {term.number}")
        except (ConnectorError, LeaseReadFailed) as e:
            return self._unrenewed(term, str(e))
        newest = terms[0] if terms else None
        if newest is None or newest.id != term.id:  # our term deleted, or a newer one: taken over
            self._lost(newest)
            return False
        if write.get("httpStatusCode") not in (200, 204):
            # still the newest, but the heartbeat itself was refused (a row lock, a 503 inside the
            # composite): no heartbeat, not a takeover
            return self._unrenewed(term, f"the heartbeat answered {write.get('httpStatusCode')}: {write.get('body')}")
        if self._failing:
            self._failing = False
            self.log.info("org_lease_renewed_again", term=newest.number)
        self.term = newest
        self._renewed_at = newest.heartbeat
        self._valid_until = newest.heartbeat + self.ttl - self.margin
        return self._valid(self.now())

    def _unrenewed(self, term: Term, error: str) -> bool:
        """No heartbeat this time: lead on until the last one's validity ends."""
        now = self._tried_at = self.now()
        # said once per outage, as the jobs say theirs (salesforce_unavailable)
        (self.log.debug if self._failing else self.log.warning)(
            "org_lease_renewal_failed", term=term.number, error=error[:500],
            leads_until=self._valid_until.isoformat() if self._valid_until else None,
            note="no heartbeat without an answer: this connector stops writing at leads_until (Salesforce's "
                 "clock) unless one gets through")
        self._failing = True
        return self._valid(now)

    def _lost(self, newest: Term | None) -> None:
        lost = self.term
        self.term, self._failing, self.deposed = None, False, True
        self._valid_until = self._not_before = self._renewed_at = self._tried_at = None
        if newest is not None and newest.instance != self.holder.instance:
            self._note_other(newest, announce=False)
        self.log.error("org_lease_lost", term=lost.number if lost else None, instance=self.holder.instance,
                       holder=newest.who() if newest is not None else None,
                       holder_term=newest.number if newest is not None else None,
                       note="another connector took this org's lease (this one's heartbeat lapsed): this one "
                            "writes nothing more and waits as a standby")

    def _note_other(self, term: Term, announce: bool = True) -> None:
        changed = self.other is None or self.other.id != term.id
        self.other = term
        if changed and announce:
            self.log.warning("org_lease_held_elsewhere", holder=term.who(), term=term.number,
                             heartbeat=term.heartbeat.isoformat(),
                             note=f"another connector routes this org; this one waits until that one stops or its "
                                  f"heartbeat is {self.ttl.total_seconds():.0f} s old (Salesforce's clock). If "
                                  "not meant, stop one of them")

    def _delete(self, old: list[Term]) -> None:
        if not old:
            return
        ids = ",".join(t.id for t in old[:200])
        try:
            self.client._call(lambda: self.client.sf.restful(
                "composite/sobjects", method="DELETE", params={"ids": ids, "allOrNone": "false"}),
                f"delete old {OBJECT} terms")
        except ConnectorError as e:  # left for the next takeover to delete
            self.log.warning("org_lease_cleanup_failed", error=str(e), terms=[t.number for t in old])


class LeaseReadFailed(Exception):
    """The lease query inside a composite call was refused."""

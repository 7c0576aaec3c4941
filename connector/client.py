"""`SalesforceClient`: the only object in leadrouter that speaks to Salesforce.

It owns one `requests` session (TLS verification on, a CA bundle if configured, a
timeout on every request, no proxy variables from the environment) under a
simple-salesforce `Salesforce` built from our own OAuth token. Every HTTP request to
`/services/data` passes through `_ApiSession.request`, which is where calls are
counted, the budget is checked before and `Sforce-Limit-Info` read after — so the
count is exact, including describes and retries. Every call goes through the retry
policy, which renews an expired session (once per expiry, a few in a row at most)
and retries transient faults.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import requests
import structlog
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from . import notify as _notify
from . import reads as _reads
from . import writes as _writes
from .auth import TokenGrant, request_token
from .budget import ApiBudget, parse_limit_info
from .config import ConnectorConfig
from .errors import INVALID_GRANT_FIXES, ConfigError, ConnectorError, Failure, RecordError, TransientError, classify
from .records import id18, strip_attributes
from .retry import RetryPolicy
from .schema import SchemaCache
from .servertime import LearntOffset, ServerClock
from .soql import check_id, format_soql, ident, of_object, select
from .writes import GuardedUpdate, WriteResult

T = TypeVar("T")


def _span(d: timedelta) -> str:
    """A clock difference in the unit a person sets a clock by."""
    seconds = d.total_seconds()
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"
_AUTO_ASSIGN_OFF = {"Sforce-Auto-Assign": "FALSE"}


class _ApiSession(requests.Session):
    """A requests session that times out, counts, and minds the budget on every request."""

    def __init__(self, client: SalesforceClient, timeout: float):
        super().__init__()
        self._client = client
        self._timeout = timeout
        self.trust_env = False  # no proxies or CA overrides from the environment

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        is_api = "/services/data/" in url
        if is_api:
            self._client._before_api_call()
        response = super().request(method, url, *args, **kwargs)
        self._client.server_clock.observe(response.headers.get("Date"))
        if is_api:
            self._client._after_api_call(response)
        return response


class SalesforceClient:
    def __init__(
        self,
        config: ConnectorConfig,
        *,
        clock: Callable[[], datetime] | None = None,
        logger: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        learnt_offset: LearntOffset | None = None,
    ):
        self.config = config
        # Salesforce's own time, from the Date header of every response (servertime.py).
        # Without an injected clock the client runs on it: JWT assertions, the budget's
        # day, and (through jobs) watermarks and deadlines never take the host's word.
        self.server_clock = ServerClock()
        self._clock = clock or self.server_clock.now
        # Salesforce's clock offset as an earlier process learnt it (the state keeps it): the
        # first JWT assertion of this one is stamped with it (see _login), then it is done with
        self._learnt_offset = learnt_offset
        self.log = logger or structlog.get_logger("connector")
        self._sleep = sleep
        self._lock = threading.Lock()
        # Sessions in order: each login makes the next. A call that meets an expired session
        # logs in only if the session it used is still the newest: calls on other threads
        # that met the same expiry carry on with the first one's login (one login, not N).
        self._login_lock = threading.Lock()
        self._session = 0
        self.calls = 0  # HTTP requests to /services/data, retries included
        self.token_calls = 0  # OAuth token requests, counted apart
        self._usage: tuple[int, int] | None = None
        self.budget = ApiBudget(config.budget, clock=self._clock, logger=self.log)
        self.policy = RetryPolicy(config.retry, sleep=sleep, logger=self.log)
        self.schema = SchemaCache(self._fetch_describe)
        self._http = _ApiSession(self, config.timeout)
        self._http.verify = str(config.ca_bundle) if config.ca_bundle else True
        # Names us in the org's API usage logs and event monitoring, so admins can see who calls.
        self._http.headers["Sforce-Call-Options"] = "client=leadrouter"
        self._sf: Salesforce | None = None
        self.instance_url: str | None = None
        self.user_id: str | None = None  # who we are in the org: our own writes carry it

    # --- connecting ----------------------------------------------------------------
    @classmethod
    def connect(
        cls,
        config: ConnectorConfig,
        *,
        clock: Callable[[], datetime] | None = None,
        logger: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        learnt_offset: LearntOffset | None = None,
    ) -> SalesforceClient:
        """Log in with the configured method; no API call is made yet. `learnt_offset`:
        Salesforce's clock minus the host's as an earlier run measured it, for the first JWT
        assertion (a process that has not heard from Salesforce yet knows no better)."""
        client = cls(config, clock=clock, logger=logger, sleep=sleep, learnt_offset=learnt_offset)
        client._login()
        return client

    def login_again(self) -> None:
        """Log in again, the same way as at start (a standby's periodic check that its
        credentials still work): raises as `connect` would, and on success the client
        carries on with the fresh session."""
        with self._login_lock:
            self._login()

    def _refresh(self, used: int) -> None:
        """Log in again after session `used` expired, unless another call did since."""
        with self._login_lock:
            if self._session != used:
                self.log.debug("salesforce session already renewed by another call")
                return
            self._login()

    def _login(self) -> None:
        signed: list[datetime] = []  # the times token requests were stamped with (a JWT's exp)
        clocks: list[str] = []  # by which clock each token request's assertion was stamped, as the log says
        offset = self._offset_for_first_assertion()
        self._learnt_offset = None  # one process, one guess: after this login Salesforce's clock is known

        def stamp() -> float:
            at = self._clock()
            if offset is not None and not self.server_clock.known:
                at += offset  # the host's clock (the server clock's before any answer) set right
            signed.append(at)
            return at.timestamp()

        def once() -> TokenGrant:
            with self._lock:
                self.token_calls += 1
            # stamp() is asked again for the grant's issue time, after the answer: named before
            clocks.append("learnt_offset" if offset is not None and not self.server_clock.known
                          else self._assertion_clock())
            return request_token(self.config, self._http, now=stamp)

        if self.config.auth.method == "password" and self._sf is None:
            self.log.warning(
                "username-password login is legacy and being retired by Salesforce; prefer jwt_bearer"
            )
        grant = None
        if offset is not None:
            try:
                grant = self.policy.call(once, context="login")
            except ConfigError as exc:
                if not self._stamped_off_salesforce_time(exc, signed) and self.server_clock.known:
                    raise self._with_clock_skew(exc) from None  # on Salesforce's time already: not the clock
                # the host's clock was set since, or this is another host: as if none was learnt
                self.log.warning("jwt_learnt_clock_offset_refused", offset_seconds=offset.total_seconds(),
                                 note="the clock offset an earlier run learnt is off now (this host's clock was "
                                      "set since, or it is another host): signing as if none was learnt")
                signed.clear()
                offset = None
        if grant is None:
            grant = self._grant_on_todays_clock(once, signed)
        self._sf = Salesforce(
            instance_url=grant.instance_url,
            session_id=grant.access_token.get_secret_value(),
            session=self._http,
            version=self.config.api_version,
            object_pairs_hook=dict,
        )
        self.instance_url = grant.instance_url
        self.user_id = grant.user_id
        self._session += 1
        said: dict[str, Any] = {}
        if self.config.auth.method == "jwt_bearer":  # what the assertion's exp was reckoned by, never the assertion
            said["jwt_clock"] = clocks[-1] if clocks else self._assertion_clock()
            if said["jwt_clock"] == "learnt_offset" and offset is not None:
                said["jwt_offset_seconds"] = offset.total_seconds()
        self.log.info(
            "salesforce login ok", method=self.config.auth.method, instance_url=grant.instance_url,
            api_version=self.config.api_version, **said,
        )

    def _assertion_clock(self) -> str:
        """Which clock an assertion signed now is stamped with, as a log line names it."""
        if self._clock != self.server_clock.now:
            return "given"  # a test's or the demo's
        return "salesforce" if self.server_clock.known else "host"

    def _offset_for_first_assertion(self) -> timedelta | None:
        """The learnt offset, when this login is the process's first JWT login on Salesforce's
        time and the offset is recent; else None (the host's clock, then Salesforce's)."""
        learnt = self._learnt_offset
        if (learnt is None or self.config.auth.method != "jwt_bearer" or self.server_clock.known
                or self._clock != self.server_clock.now):
            return None
        host = self.server_clock.host_now()
        if not learnt.usable(host):
            self.log.info("jwt_learnt_clock_offset_too_old", offset_seconds=learnt.offset.total_seconds(),
                          learnt_hours_ago=round(learnt.age(host).total_seconds() / 3600, 1),
                          note="an offset older than a day (or from a clock set back since) is not trusted: "
                               "the first assertion is stamped with this host's clock")
            return None
        return learnt.offset

    def _grant_on_todays_clock(self, once: Callable[[], TokenGrant], signed: list[datetime]) -> TokenGrant:
        """A token on the client's clock: the host's until Salesforce has answered; refused
        as stamped off Salesforce's time, once more on Salesforce's."""
        try:
            return self.policy.call(once, context="login")
        except ConfigError as exc:
            if not self._stamped_off_salesforce_time(exc, signed):
                raise self._with_clock_skew(exc) from None
            self.log.warning("jwt_assertion_signed_again_on_salesforce_time",
                             seconds=round((self.server_clock.now() - signed[-1]).total_seconds()),
                             fix="this host's clock differs from Salesforce's; set it right (NTP)")
            try:  # one more, never a loop: refused on Salesforce's own time, it is said
                return self.policy.call(once, context="login")
            except ConfigError as again:
                raise self._with_clock_skew(again, retried=True) from None

    def _stamped_off_salesforce_time(self, exc: ConfigError, signed: list[datetime]) -> bool:
        """A JWT assertion lives three minutes from the time it is stamped with: Salesforce's,
        for which the host's stands in until the first response. A host more than that
        behind Salesforce has its first assertion refused as expired; the refusal's `Date`
        header has told Salesforce's time meanwhile, so one more assertion, stamped with
        it, goes through (a refusal for any other reason is refused again the same way)."""
        if self.config.auth.method != "jwt_bearer" or exc.failure.code != "invalid_grant" or not signed:
            return False
        if self._clock != self.server_clock.now or not self.server_clock.known:
            return False  # an injected clock is the test's or the demo's: it is not re-read
        return abs(self.server_clock.now() - signed[-1]) > timedelta(seconds=60)

    def _with_clock_skew(self, exc: ConfigError, *, retried: bool = False) -> ConfigError:
        """A JWT assertion refused as expired, said with how far this host's clock is from
        Salesforce's (as its refusal's Date told it): the number an ops person sets right."""
        failure = exc.failure
        if (self.config.auth.method != "jwt_bearer" or failure.code != "invalid_grant"
                or "expired" not in failure.message.lower()):
            return exc
        skew = self.server_clock.skew
        if skew is None:
            measured = "Salesforce's answer told no time to compare this host's clock with"
        else:
            side = "behind" if skew > timedelta(0) else "ahead of"
            measured = f"this host's clock is {_span(abs(skew))} {side} Salesforce's"
        if retried:
            measured += ("; one more assertion, stamped with Salesforce's time as its answers' Date tells it, was "
                         "refused too: a proxy between may be rewriting Date")
        fix = INVALID_GRANT_FIXES["expired authorization code"]
        return ConfigError(replace(failure, message=f"{failure.message} ({measured})", fix=fix), context=exc.context)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- accounting ----------------------------------------------------------------
    def _before_api_call(self) -> None:
        with self._lock:  # jobs may share one client across scheduler threads
            self.budget.check()
            self.calls += 1
            self.budget.spend()

    def _after_api_call(self, response: requests.Response) -> None:
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage:
            used, maximum = usage
            with self._lock:
                self._usage = (used, maximum)
                self.budget.observe(used, maximum)

    def server_now(self) -> datetime:
        """The org's time now (the host's until the first response has arrived)."""
        return self.server_clock.now()

    @property
    def clock_skew(self) -> timedelta | None:
        """Salesforce's clock minus the host's, from the last response; None before any."""
        return self.server_clock.skew

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, max) org-wide, from the last `Sforce-Limit-Info` header."""
        return self._usage

    def _call(self, fn: Callable[[], T], context: str, *, idempotent: bool = True) -> T:
        used = [self._session]  # the session each attempt went out with

        def attempt() -> T:
            used[0] = self._session
            return fn()

        return self.policy.call(attempt, refresh=lambda: self._refresh(used[0]), context=context,
                                idempotent=idempotent)

    @property
    def sf(self) -> Salesforce:
        assert self._sf is not None, "call SalesforceClient.connect() first"
        return self._sf

    # --- reads ---------------------------------------------------------------------
    def _query_headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.config.query_batch_size}"}

    def _pages(self, soql: str, include_deleted: bool) -> Iterator[list[dict[str, Any]]]:
        headers = self._query_headers()
        # the error names the object: "query of Account: …" says which sync failed
        context = ("queryAll" if include_deleted else "query") + of_object(soql)
        page = self._call(
            lambda: self.sf.query(soql, include_deleted=include_deleted, headers=headers), context
        )
        while True:
            next_url = None if page.get("done", True) else page.get("nextRecordsUrl")
            records = page.get("records") or []
            del page  # keep one page alive at a time
            yield records
            del records
            if not next_url:
                return
            page = self._call(
                lambda: self.sf.query_more(next_url, identifier_is_url=True, headers=headers), context
            )

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Stream the records of a SOQL query, page by page, `attributes` removed."""
        for records in self._pages(soql, include_deleted=False):
            for record in records:
                yield strip_attributes(record)

    def query_all(self, soql: str) -> Iterator[dict[str, Any]]:
        """Like `query`, through queryAll: deleted and archived rows included."""
        for records in self._pages(soql, include_deleted=True):
            for record in records:
                yield strip_attributes(record)

    def count(self, soql: str) -> int:
        """totalSize of a query — use `SELECT COUNT() FROM …` to fetch no rows."""
        page = self._call(lambda: self.sf.query(soql), "count" + of_object(soql))
        return int(page["totalSize"])

    def read_incremental(
        self,
        sobject: str,
        fields: Sequence[str],
        *,
        watermark: datetime | None,
        lookback: timedelta,
        until: datetime | None = None,
        where: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Records modified from `watermark − lookback` on, oldest first.

        Ordered by SystemModstamp, Id so a caller can advance its watermark as it
        goes; rows at the boundary repeat across runs (process idempotently by Id).
        `watermark=None` reads everything (a backfill). `until` bounds the read above;
        the jobs leave it out (see reads.py: a host clock must never hide a record).
        """
        return self.query(
            _reads.incremental_query(sobject, fields, watermark=watermark, lookback=lookback, until=until,
                                     where=where)
        )

    # The contract in docs/CONTRACTS.md names it this way too.
    def query_incremental(
        self,
        sobject: str,
        fields: Sequence[str],
        since: datetime | None,
        until: datetime | None,
        lookback: timedelta,
        where: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        return self.read_incremental(sobject, fields, watermark=since, until=until, lookback=lookback, where=where)

    def read_by_ids(
        self, sobject: str, fields: Sequence[str], ids: Iterable[str]
    ) -> Iterator[dict[str, Any]]:
        """The records with these ids, in as few queries as the URL length allows."""
        for soql in _reads.by_ids_queries(sobject, fields, ids):
            yield from self.query(soql)

    def deleted(self, sobject: str, start: datetime, end: datetime | None = None) -> list[str]:
        """Ids of records deleted in [start, end) — or from start on —, via queryAll
        (the recycle bin still holds them)."""
        return [r["Id"] for r in self.query_all(_reads.deleted_query(sobject, start, end))]

    def limits(self) -> dict[str, Any]:
        """The org's /limits (one call); DailyApiRequests also feeds the budget."""
        result: dict[str, Any] = self._call(lambda: self.sf.limits(), "limits")
        daily = result.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            self.budget.observe(daily["Max"] - daily["Remaining"], daily["Max"])
        return result

    def versions(self) -> list[str]:
        """The REST API versions the org serves ("62.0", …), from /services/data (one call)."""
        url = f"{(self.instance_url or '').rstrip('/')}/services/data/"

        def fetch() -> list[str]:
            response = self.sf.session.get(url, timeout=self.config.timeout)
            response.raise_for_status()
            return [str(v.get("version")) for v in response.json() if isinstance(v, dict)]

        return self._call(fetch, "versions")

    # --- schema --------------------------------------------------------------------
    def _fetch_describe(self, sobject: str) -> dict[str, Any]:
        name = ident(sobject, what="object")
        described: dict[str, Any] = self._call(lambda: self.sf.restful(f"sobjects/{name}/describe/") or {},
                                               f"describe {name}")
        return described

    def describe(self, sobject: str) -> dict[str, Any]:
        """Salesforce's describe JSON, fetched once per run (see `schema.refresh()`)."""
        return self.schema.describe(sobject)

    # --- writes --------------------------------------------------------------------
    def update(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Write field updates, 200 records a call; one WriteResult per record, in order."""
        results: list[WriteResult] = []
        for batch in _writes.batches(list(records)):
            results.extend(self._write_batch(sobject, batch, method="PATCH"))
        self._log_writes("update", sobject, results)
        return results

    def create(self, sobject: str, records: Sequence[dict[str, Any]]) -> list[WriteResult]:
        """Insert records, 200 a call; WriteResult.id is the new record's id."""
        results: list[WriteResult] = []
        for batch in _writes.batches(list(records)):
            results.extend(self._write_batch(sobject, batch, method="POST"))
        self._log_writes("create", sobject, results)
        return results

    def update_guarded(self, sobject: str, updates: Sequence[GuardedUpdate]) -> list[WriteResult]:
        """Like `update`, but a record whose SystemModstamp moved since `seen_modstamp`
        (a person edited it) is skipped and reported as kind "stale", not overwritten.

        The check is one query per batch of 200, made right before that batch is written.
        """
        updates = list(updates)
        for u in updates:
            check_id(u.id)  # a non-id must be refused here, not sent as the guard query's value
        results: list[WriteResult] = []
        for batch in _writes.batches(updates):
            check = select(sobject, ["Id", "SystemModstamp"], where=format_soql("Id IN {}", [id18(u.id) for u in batch]))
            current = {r["Id"]: r["SystemModstamp"] for r in self.query(check)}
            verdicts, fresh = _writes.stale_verdicts(batch, current)
            written = iter(self._write_batch(sobject, fresh, method="PATCH") if fresh else ())
            results.extend(v if v is not None else next(written) for v in verdicts)
        self._log_writes("guarded update", sobject, results)
        return results

    def _write_batch(self, sobject: str, records: Sequence[dict[str, Any]], *, method: str) -> list[WriteResult]:
        """One collection call, then again for just the records that failed transiently."""
        with_id = method == "PATCH"
        bodies = _writes.collection_body(sobject, records, with_id=with_id)["records"]
        # Sent on every write (not only Lead): harmless elsewhere, and a Lead write must
        # never let the org's assignment rule replace the owner we set.
        headers = dict(_AUTO_ASSIGN_OFF)
        results: list[WriteResult | None] = [None] * len(records)
        pending = list(range(len(records)))
        for attempt in range(1, self.config.retry.max_attempts + 1):
            payload = {"allOrNone": False, "records": [bodies[i] for i in pending]}
            answer = self._call(
                lambda: self.sf.restful("composite/sobjects", method=method, json=payload, headers=headers),
                f"{method} composite/sobjects {sobject}",
                idempotent=method == "PATCH",  # an insert sent twice creates twice
            )
            if not isinstance(answer, list) or len(answer) != len(pending):
                raise RecordError(
                    Failure("permanent", "UNEXPECTED_RESPONSE",
                            f"composite/sobjects answered {type(answer).__name__} for {len(pending)} records")
                )
            retry: list[int] = []
            for i, save in zip(pending, answer):
                result = _writes.result_of(save, bodies[i].get("id"))
                results[i] = result
                if result.kind == "transient":
                    retry.append(i)
            if not retry or attempt == self.config.retry.max_attempts:
                break
            self.log.warning("records failed transiently, retrying them", count=len(retry), attempt=attempt)
            self._sleep(min(self.config.retry.initial_wait * 2 ** (attempt - 1), self.config.retry.max_wait))
            pending = retry
        return [r for r in results if r is not None]

    def _log_writes(self, what: str, sobject: str, results: Sequence[WriteResult]) -> None:
        report = _writes.WriteReport.of(results)
        self.log.info(
            f"salesforce {what}", sobject=sobject, ok=report.ok, transient=report.transient,
            permanent=report.permanent, stale=report.stale, codes=report.codes or None,
        )

    # --- notifications -------------------------------------------------------------
    def notify(
        self, kind: _notify.NotifyKind, notifications: Sequence[_notify.Notification]
    ) -> list[_notify.NotifyResult]:
        """Send notifications through a standard action in batches; "none" sends nothing."""
        if kind == "none":  # the org notifies with a Flow on the routing status field
            return [_notify.NotifyResult(n, True, "NOT_SENT", "notifications are off") for n in notifications]
        if not notifications:
            return []
        path = _notify.ACTION_PATHS[kind]
        owners: list[int] = []
        inputs: list[dict[str, Any]] = []
        for index, n in enumerate(notifications):
            for item in _notify.action_inputs(kind, n, self.config.notify):
                owners.append(index)
                inputs.append(item)
        per_notification: list[list[dict[str, Any]]] = [[] for _ in notifications]
        for start in range(0, len(inputs), _notify.INPUTS_PER_CALL):
            chunk = inputs[start : start + _notify.INPUTS_PER_CALL]
            try:
                # not idempotent: a call Salesforce carried out whose answer was lost, sent
                # again, messages up to 200 people a second time
                answer = self._call(lambda: self._invoke_action(path, chunk), f"notify {kind}", idempotent=False)
            except TransientError as exc:
                answer = _notify.unanswered(len(chunk), exc)
                unknown = answer[0]["errors"][0]["statusCode"] == _notify.OUTCOME_UNKNOWN
                self.log.warning("notifications_unanswered", kind=kind, notifications=len(chunk),
                                 code=exc.failure.code, outcome="unknown" if unknown else "not sent",
                                 note="not sent again: a person told twice is worse than a lead whose "
                                      "Task says it may not have been told" if unknown else
                                      "Salesforce refused the call; each lead's Task says so")
            for owner, result in zip(owners[start : start + len(chunk)], answer):
                per_notification[owner].append(result)
        results = [_notify.outcome(n, r) for n, r in zip(notifications, per_notification)]
        failed = [r for r in results if not r.ok]
        self.log.info("notifications sent", kind=kind, sent=len(results) - len(failed), failed=len(failed))
        return results


    def _invoke_action(self, path: str, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            return self.sf.restful(path, method="POST", json={"inputs": inputs}) or []
        except SalesforceError as exc:
            # When any input fails, Salesforce answers 400 with the per-input results.
            content = exc.content
            if exc.status == 400 and isinstance(content, list) and content and "actionName" in content[0]:
                return content
            raise


__all__ = [
    "SalesforceClient",
    "GuardedUpdate",
    "WriteResult",
    "ConnectorError",
    "TransientError",
    "classify",
]

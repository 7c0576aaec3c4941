"""The retry policy: tenacity driven by `classify()`, plus one session refresh.

Transient faults are retried with exponential backoff and full jitter, capped by
attempts and by total time (a server's Retry-After is honoured as a floor). An
expired session is renewed and the call repeated, invisibly to the caller: once per
expiry, up to SESSION_RENEWALS in a row, then said with what to check in the org.
Everything else is raised at once as the connector exception for its kind — a
configuration error is never retried, however many attempts are allowed.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Callable, TypeVar, cast

import requests
import structlog
from urllib3.exceptions import NewConnectionError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from .config import RetryConfig
from .errors import ConnectorError, Failure, as_exception, classify

T = TypeVar("T")

# While every call fails after its retries (Salesforce down, a network path gone), the jobs
# keep trying each poll interval: said once when it starts, again this often, and once when a
# call is answered. Before, each try logged every retry, the give-up and the job's failure —
# a dozen lines a minute, for hours.
OUTAGE_REMINDER_SECONDS = 3600.0

# A call whose session ends logs in again and repeats, once per expiry it meets: an admin
# revoking the user's sessions twice, or a session timeout shorter than a long job, ends a
# renewed session too. A session that ends however often it is renewed is the org's policy
# or something revoking it, which another login will not change: given up after this many.
SESSION_RENEWALS = 3
SESSION_KEEPS_ENDING_FIX = (
    "Salesforce ended every session this connector logged in with, right after the login. Check in Setup: "
    "Session Settings ('Lock sessions to the IP address from which they originated' when this host's outgoing "
    "address changes, as behind a NAT pool or proxy; 'Enforce login IP ranges on every request' and the "
    "integration user's profile Login IP Ranges), the session Timeout Value of the user's profile and of the "
    "connected app (Manage Connected Apps → Edit Policies), and whether something revokes the user's sessions "
    "or OAuth tokens (Session Management, Connected Apps OAuth Usage → Revoke, another tool logging in as this "
    "user and revoking its tokens)"
)


def session_keeps_ending(failure: Failure, renewals: int) -> Failure:
    """What to say of a session Salesforce ended again after each of `renewals` logins."""
    return replace(failure, message=f"{failure.message or 'session expired or invalid'} ({renewals + 1} times in a "
                   f"row: the session was ended again after each of {renewals} fresh logins)",
                   fix=SESSION_KEEPS_ENDING_FIX)


def _is_transient(exc: BaseException) -> bool:
    return classify(exc).kind == "transient"


def surely_not_applied(exc: BaseException) -> bool:
    """True when a failed request certainly changed nothing, so even a non-idempotent
    one (an insert) may be sent again: the connection never opened, or the server
    answered that it refused the work (503, 429/420, a row lock)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        return isinstance(reason, NewConnectionError)
    failure = classify(exc)
    return failure.kind == "transient" and (
        failure.status in (420, 429, 503) or failure.code == "UNABLE_TO_LOCK_ROW"
    )


class RetryPolicy:
    def __init__(
        self,
        config: RetryConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        logger: structlog.typing.FilteringBoundLogger | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self._sleep = sleep
        self._log = logger or structlog.get_logger("connector.retry")
        self._jitter = wait_random_exponential(multiplier=config.initial_wait, max=config.max_wait)
        self.retries = 0  # how many times a call was repeated after a transient fault
        self.refreshes = 0
        self._monotonic = monotonic
        # the outage in progress: since when every call gave up (monotonic), how many, when said
        self.failing_since: float | None = None
        self._failed_calls = 0
        self._said_at = 0.0
        self._outage_lock = threading.Lock()  # a stream thread shares the policy with the jobs

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt `attempt + 1` of something that is not one call
        (a dropped event stream resubscribing): the same jittered exponential."""
        # the wait strategy reads nothing of a call's state but its attempt number
        return self._jitter(cast(RetryCallState, SimpleNamespace(attempt_number=attempt)))

    def _wait(self, state: RetryCallState) -> float:
        backoff = self._jitter(state)
        exc = state.outcome.exception() if state.outcome else None
        floor = classify(exc).retry_after if exc else None
        if floor:
            return min(max(backoff, floor), self.config.max_seconds)
        return backoff

    def _before_sleep(self, state: RetryCallState, context: str | None) -> None:
        self.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        failure = classify(exc) if exc else None
        # during a known outage a retry is no news: debug
        log = self._log.debug if self.failing_since is not None else self._log.warning
        if failure is not None and failure.api == "pubsub":
            # the change event stream: its topic loop says when it is down, once (jobs/stream.py)
            log = self._log.info
        log(
            "pubsub call failed, retrying" if failure is not None and failure.api == "pubsub"
            else "salesforce call failed, retrying",
            call=context,
            code=failure.code if failure else None,
            attempt=state.attempt_number,
            wait_s=round(state.next_action.sleep, 3) if state.next_action else None,
        )

    def _retrying(self, idempotent: bool, context: str | None) -> Retrying:
        return Retrying(
            retry=retry_if_exception(_is_transient if idempotent else surely_not_applied),
            stop=stop_after_attempt(self.config.max_attempts) | stop_after_delay(self.config.max_seconds),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=lambda state: self._before_sleep(state, context),
            reraise=True,
        )

    def call(
        self,
        fn: Callable[[], T],
        *,
        refresh: Callable[[], None] | None = None,
        context: str | None = None,
        idempotent: bool = True,
        api: str = "rest",
    ) -> T:
        """Run `fn`; retry transient faults; refresh an expired session, once per expiry
        met and at most SESSION_RENEWALS times.

        With `idempotent=False` (inserts) a fault that leaves the outcome unknown — a
        read timeout, a connection dropped mid-answer, a 500 — is not retried: sending
        again could create the records twice. It is raised as TransientError so the
        caller can look before it tries again.

        `api`: "pubsub" for the Pub/Sub API's unary calls, whose answer does not end an
        outage of the REST API (its failures say which API they came from: classify).
        """
        renewals = 0
        while True:
            try:
                answer = self._retrying(idempotent, context)(fn)
            except ConnectorError:
                raise
            except Exception as exc:
                failure = classify(exc)
                if failure.kind == "session" and refresh is not None:
                    if renewals < SESSION_RENEWALS:
                        renewals += 1
                        self.refreshes += 1
                        self._log.info("salesforce session expired, logging in again", call=context,
                                       renewal=renewals)
                        refresh()
                        continue
                    raise as_exception(session_keeps_ending(failure, renewals), context=context) from exc
                if failure.kind == "transient" and failure.api == "pubsub":
                    # the stream out of reach is not Salesforce unavailable: the REST API may answer
                    # every query meanwhile, and the lead stream is polled (jobs/stream.py says so)
                    self._log.info("pubsub_unreachable", call=context, code=failure.code, fix=failure.fix)
                elif failure.kind == "transient":
                    self._gave_up(context, failure.code)
                raise as_exception(failure, context=context) from exc
            if api == "rest":  # the stream answering says nothing of an outage of the REST API
                self._answered()
            return answer

    @property
    def unavailable(self) -> bool:
        """Every call since `failing_since` gave up after its retries."""
        return self.failing_since is not None

    def outage(self) -> tuple[float, int] | None:
        """The outage in progress, for `leadrouter status`: how many seconds since the first
        call gave up, and how many have given up since (None: Salesforce answers)."""
        with self._outage_lock:
            if self.failing_since is None:
                return None
            return self._monotonic() - self.failing_since, self._failed_calls

    def _gave_up(self, context: str | None, code: str | None) -> None:
        with self._outage_lock:
            now = self._monotonic()
            self._failed_calls += 1
            if self.failing_since is None:
                self.failing_since = self._said_at = now
                self._log.error("salesforce_unavailable", call=context, code=code,
                                note="a call still failed after its retries; the jobs go on trying every poll "
                                     "interval, logged again when Salesforce answers (salesforce_available_again) "
                                     "and hourly while it does not; nothing is lost meanwhile")
            elif now - self._said_at >= OUTAGE_REMINDER_SECONDS:
                self._said_at = now
                self._log.error("salesforce_still_unavailable", call=context, code=code,
                                minutes=round((now - self.failing_since) / 60), failed_calls=self._failed_calls)
            else:
                self._log.debug("salesforce call still failing after retries", call=context, code=code)

    def _answered(self) -> None:
        if self.failing_since is None:
            return
        with self._outage_lock:
            if self.failing_since is None:
                return
            self._log.warning("salesforce_available_again", failed_calls=self._failed_calls,
                              minutes=round((self._monotonic() - self.failing_since) / 60, 1))
            self.failing_since, self._failed_calls = None, 0

"""The retry policy: tenacity driven by `classify()`, plus one session refresh.

Transient faults are retried with exponential backoff and full jitter, capped by
attempts and by total time (a server's Retry-After is honoured as a floor). An
expired session is refreshed once and the call repeated, invisibly to the caller.
Everything else is raised at once as the connector exception for its kind — a
configuration error is never retried, however many attempts are allowed.
"""
from __future__ import annotations

import time
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
from .errors import ConnectorError, as_exception, classify

T = TypeVar("T")


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
    ):
        self.config = config
        self._sleep = sleep
        self._log = logger or structlog.get_logger("connector.retry")
        self._jitter = wait_random_exponential(multiplier=config.initial_wait, max=config.max_wait)
        self.retries = 0  # how many times a call was repeated after a transient fault
        self.refreshes = 0

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
        self._log.warning(
            "salesforce call failed, retrying",
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
    ) -> T:
        """Run `fn`; retry transient faults; refresh an expired session once.

        With `idempotent=False` (inserts) a fault that leaves the outcome unknown — a
        read timeout, a connection dropped mid-answer, a 500 — is not retried: sending
        again could create the records twice. It is raised as TransientError so the
        caller can look before it tries again.
        """
        refreshed = False
        while True:
            try:
                return self._retrying(idempotent, context)(fn)
            except ConnectorError:
                raise
            except Exception as exc:
                failure = classify(exc)
                if failure.kind == "session" and refresh is not None and not refreshed:
                    refreshed = True
                    self.refreshes += 1
                    self._log.info("salesforce session expired, logging in again", call=context)
                    refresh()
                    continue
                if failure.kind == "transient":
                    self._log.error("salesforce call still failing after retries", call=context, code=failure.code)
                raise as_exception(failure, context=context) from exc

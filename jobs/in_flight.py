"""A write batch that may still be on the wire: how long after its sending it may land.

Salesforce finishes a request it has received whether or not the client is still there,
so the batch a killed instance had on the wire can land seconds after the kill. The
outbox's read-back (jobs/outbox.py reconcile) must not judge such a batch before it
has had the connector's request timeout to land: read back too early, its leads look
untouched and are sent twice (RELIABILITY.md, gap 4).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobs.leader import pause
from jobs.timeutil import as_utc

if TYPE_CHECKING:
    from jobs.context import Context


def sent_at(cx: Context, fallback: datetime) -> datetime:
    """When a batch goes on the wire, by Salesforce's clock (a long flush's batches go
    out well after the job's start): what `let_in_flight_land` measures from."""
    clock = getattr(cx, "clock", None)
    return clock.now() if clock is not None else fallback


def in_flight_window(cx: Context) -> float:
    """Seconds after its sending within which a write may still land: the connector's
    request timeout ([salesforce] timeout), after which any live client has given up."""
    config = getattr(getattr(cx, "client", None), "config", None)
    return float(getattr(config, "timeout", None) or 30.0)


IN_FLIGHT_WHY = ("a batch sent moments ago (by an instance that stopped) may still land; reading it back before "
                 "then would send it twice")


def _age(cx: Context, entry: dict[str, Any]) -> float | None:
    clock = getattr(cx, "clock", None)
    if clock is None or entry.get("updated_at") is None:
        return None
    return (clock.now() - as_utc(entry["updated_at"])).total_seconds()


def still_in_flight(cx: Context, sent: list[dict[str, Any]]) -> set[int]:
    """Ids of the `sent` entries whose batch went out less than the in-flight window ago.
    A stamp further ahead of Salesforce's time than the window is no measure (a clock
    that was wrong when it was taken): such an entry is read back, not held for ever."""
    window = in_flight_window(cx)
    return {e["id"] for e in sent if (age := _age(cx, e)) is not None and -window < age < window}


def let_in_flight_land(cx: Context, sent: list[dict[str, Any]]) -> bool:
    """Wait until the youngest `sent` entry is older than the in-flight window.

    Salesforce finishes a request it has received whether or not the client is still
    there: the batch a killed instance had on the wire can land seconds after the kill.
    Read back before it lands, such a lead looks untouched, is sent again, and may move
    on (the partner rejects, the lead is offered to the next one); then the first
    request lands on top and hands the lead back to the partner who rejected it. So
    the read-back waits out the window, measured by Salesforce's clock, in real seconds
    and at most the window once (a simulated clock that stands still cannot hold it
    up). `once` waits here; the service holds such entries for its next outbox run
    instead (`defer_in_flight`) and goes on routing. False if stopping meanwhile."""
    window = in_flight_window(cx)
    ages = [a for e in sent if (a := _age(cx, e)) is not None and a > -window]  # (see still_in_flight)
    wait = min(window, window - min(ages)) if ages else 0.0
    if wait <= 0:
        return True
    cx.log(component="outbox").info("outbox_waiting_for_writes_in_flight", entries=len(sent),
                                    seconds=round(wait, 1), why=IN_FLIGHT_WHY)
    return not pause(cx.stop, wait)  # sleeps: a timed Event.wait hangs under libfaketime (RELIABILITY.md)

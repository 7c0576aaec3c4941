"""The connector's notion of "now" is Salesforce's, from the Date header."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from connector.servertime import ServerClock, parse_http_date

HOST_NOW = datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)  # any instant: the host's view is injected


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(host_offset: timedelta = timedelta(0)) -> tuple[ServerClock, Ticks]:
    ticks = Ticks()
    return ServerClock(host=lambda: HOST_NOW + host_offset + timedelta(seconds=ticks.t - 1000), monotonic=ticks), ticks


def test_before_any_response_the_host_clock_is_all_there_is():
    clock, _ = make()
    assert not clock.known and clock.skew is None
    assert clock.now() == HOST_NOW


def test_the_date_header_sets_the_time_and_monotonic_time_carries_it_on():
    clock, ticks = make(host_offset=timedelta(minutes=10))  # the host runs 10 minutes fast
    clock.observe("Sun, 29 Mar 2026 01:30:00 GMT")
    assert clock.known
    assert clock.skew == timedelta(minutes=-10)
    ticks.t += 42.5
    assert clock.now() == HOST_NOW + timedelta(seconds=42.5)


def test_a_later_header_with_a_truncated_second_does_not_step_time_back():
    clock, ticks = make()
    clock.observe("Sun, 29 Mar 2026 01:30:00 GMT")
    ticks.t += 1.7
    clock.observe("Sun, 29 Mar 2026 01:30:01 GMT")  # the server's 01:30:01.7, cut to the second
    assert clock.now() == HOST_NOW + timedelta(seconds=1.7)


def test_a_jump_of_the_servers_clock_is_followed_both_ways():
    clock, ticks = make()
    clock.observe("Sun, 29 Mar 2026 01:30:00 GMT")
    clock.observe("Sun, 29 Mar 2026 05:30:00 GMT")
    assert clock.now() == HOST_NOW + timedelta(hours=4)
    clock.observe("Sat, 28 Mar 2026 23:00:00 GMT")
    assert clock.now() == HOST_NOW - timedelta(hours=2, minutes=30)


def test_garbled_or_missing_headers_change_nothing():
    clock, _ = make()
    for value in (None, "", "yesterday", "Sun, 99 Foo 2026 99:99:99 GMT"):
        clock.observe(value)
    assert not clock.known
    assert parse_http_date("Sat, 05 Dec 2026 23:59:00 GMT") == datetime(2026, 12, 5, 23, 59, tzinfo=timezone.utc)

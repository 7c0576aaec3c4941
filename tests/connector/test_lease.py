"""The org lease's rules, two connectors' clients on one sandbox org over HTTPS: one wins a
term, a lapsed heartbeat (by the org's clock) can be taken over, a holder that renews in
the gap between a challenger's read and its insert keeps the challenger waiting, a
release or the holder's own state hands over at once."""
from __future__ import annotations

from datetime import timedelta

import structlog

from connector.lease import OBJECT, Holder, OrgLease, ttl_for

ORG = "00D000000000001AAA"


def lease(client, name: str, state: str | None = None) -> OrgLease:
    holder = Holder(instance=f"{name}:1:abc", host=f"host-{name}", pid=100, config_hash="c0ffee",
                    state_key=state or f"state-{name}")
    # the org's clock, as the client was given it (conftest.connect): moved by the test
    return OrgLease(client, ORG, holder, poll_seconds=1, logger=structlog.get_logger("test"), clock=client._clock)


def test_of_two_connectors_inserting_the_same_term_exactly_one_gets_it(connect, org):
    a, b = lease(connect(), "a"), lease(connect(), "b")
    assert a._terms(1) == [] and b._terms(1) == []  # both read: nobody holds the org
    assert a._take(1) is True
    assert b._take(1) is False  # Salesforce refused the second insert: DUPLICATE_VALUE
    assert b.term is None and b.holder_elsewhere() == "a:1:abc (pid 100 on host-a)"
    assert [r["Key__c"] for r in org.org.records(OBJECT)] == [f"{ORG}:1"]


def test_a_live_holder_keeps_the_org_and_a_lapsed_one_is_taken_over_by_the_org_clock(connect, org):
    a, b = lease(connect(), "a"), lease(connect(), "b")
    assert a.try_acquire()
    assert not b.try_acquire()
    org.clock.advance(timedelta(seconds=ttl_for(1) - 5))
    assert not b.try_acquire(), "the heartbeat is not a TTL old yet"
    org.clock.advance(timedelta(seconds=6))
    assert b.try_acquire()
    assert [r["Term__c"] for r in org.org.records(OBJECT) if not r["IsDeleted"]] == [2], "older terms deleted"
    assert a.still_leader() is False, "the lapsed holder finds out at its next heartbeat"


def test_a_holder_renewing_between_the_challengers_read_and_insert_keeps_the_challenger_waiting(connect, org):
    a, b = lease(connect(), "a"), lease(connect(), "b")
    assert a.try_acquire()
    org.clock.advance(timedelta(seconds=ttl_for(1) + 1))
    top = b._terms(1)[0]
    assert b.now() - top.heartbeat > b.ttl  # b has read: lapsed
    assert a.still_leader() is True  # a renews before b's insert: it may lead for TTL − margin
    assert b._take(2) is False, "b holds term 2 but must not lead while a's renewed term may"
    assert b.term is not None and b.term.number == 2
    org.clock.advance(timedelta(seconds=2))
    assert a.still_leader() is False, "a's next heartbeat finds its term gone"
    assert not b.try_acquire()
    org.clock.advance(timedelta(seconds=ttl_for(1)))
    assert b.try_acquire()


def test_a_released_term_or_one_on_the_same_state_database_is_taken_at_once(connect, org):
    a, b = lease(connect(), "a"), lease(connect(), "b")
    assert a.try_acquire()
    a.release()
    assert b.try_acquire(), "released: no wait for the TTL"
    # b is killed (no release); its restart holds the same state's leader lock, so b is dead
    restarted = lease(connect(), "b2", state="state-b")
    assert restarted.try_acquire()
    assert not lease(connect(), "c").try_acquire(), "a stranger still waits for the heartbeat to lapse"


def test_an_org_without_the_object_runs_without_the_lease(connect, org):
    org.org.without_object(OBJECT)
    a = lease(connect(), "a")
    assert a.try_acquire() is True and a.still_leader() is True
    assert a.unavailable is not None and OBJECT in a.unavailable


def test_a_holder_asked_between_heartbeats_makes_no_call(connect, org):
    client = connect()
    a = lease(client, "a")
    assert a.try_acquire()
    calls = client.calls
    for _ in range(50):  # fifty write batches within one poll interval
        assert a.still_leader()
    assert client.calls == calls
    org.clock.advance(timedelta(seconds=1))
    assert a.still_leader() and client.calls == calls + 1, "one heartbeat per poll interval"


def test_a_heartbeat_refused_inside_the_composite_is_no_takeover(connect, org):
    client = connect()
    a = lease(client, "a")
    assert a.try_acquire()
    org.clock.advance(timedelta(seconds=1))
    org.faults.plan("lock", count=1, endpoint="PATCH sobjects/{type}/{id}")  # the heartbeat subrequest only
    assert a.still_leader() is True, "still the newest term, its last heartbeat still valid"
    assert a.term is not None and a.unanswered
    org.clock.advance(timedelta(seconds=1))
    assert a.still_leader() is True and not a.unanswered, "the next heartbeat gets through"

"""A write batch that may still be on the wire (its sender died moments ago) is not read
back until it has had the connector's request timeout to land. `once` waits for it
(tests/jobs/test_crash_e2e.py); the service holds it for a later outbox run and goes on
meanwhile — tested here on the org's simulated clock."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from jobs.state import outbox as ob
from jobs.state.schema import outbox as OB


def _counts(loop, job: str) -> dict[str, int]:
    result = loop.cx.run_job(job)
    assert result.error is None, result.error
    return result.counts


def test_the_service_holds_a_batch_still_on_the_wire_until_it_has_had_time_to_land(loop):
    loop.cycle()  # the org's leads are offered and the writes confirmed
    with loop.cx.store.begin() as conn:
        entry = next(e for e in conn.execute(OB.select().where(OB.c.status == "confirmed")).mappings())
        # as a leader killed mid-request leaves it: marked sent a moment ago, by Salesforce's clock
        conn.execute(update(OB).where(OB.c.id == entry["id"]).values(status="sent", updated_at=loop.cx.clock.now()))
    loop.cx.defer_in_flight = True

    held = _counts(loop, "outbox")
    assert held.get("in_flight_held") == 1 and not any(k.startswith("reconciled_") for k in held), held
    with loop.cx.store.connect() as conn:
        assert ob.status_counts(conn).get("sent") == 1, "left for a later run, not read back yet"

    loop.sb.clock.advance(timedelta(seconds=loop.cx.client.config.timeout + 1))
    settled = _counts(loop, "outbox")
    assert settled.get("reconciled_confirmed") == 1 and "in_flight_held" not in settled, settled
    with loop.cx.store.connect() as conn:
        assert ob.status_counts(conn).get("sent", 0) == 0


def test_a_batch_stamped_ahead_of_salesforces_time_is_read_back_not_held_for_ever(loop):
    """A stamp from a clock that was wrong is no measure of how long a request has had."""
    loop.cycle()
    with loop.cx.store.begin() as conn:
        entry = next(e for e in conn.execute(OB.select().where(OB.c.status == "confirmed")).mappings())
        ahead = loop.cx.clock.now() + timedelta(days=2)
        conn.execute(update(OB).where(OB.c.id == entry["id"]).values(status="sent", updated_at=ahead))
    loop.cx.defer_in_flight = True
    counts = _counts(loop, "outbox")
    assert counts.get("reconciled_confirmed") == 1 and "in_flight_held" not in counts, counts


def test_a_time_written_with_microseconds_is_read_back_as_landed_from_salesforces_milliseconds():
    """A hand-back writes the distributor's offer time as the state database kept it
    (microseconds); Salesforce keeps milliseconds. Read back, it is the value we wrote: taken
    for a write that never landed, it was sent until given up, and the Lead stayed Offered
    while the state said Accepted (tests/reliability/test_faults.py found it)."""
    from jobs.outbox import landed, same_value

    assert same_value("2026-12-07T10:15:30.123Z", "2026-12-07T10:15:30.123456+00:00")
    assert not same_value("2026-12-07T10:15:30.124Z", "2026-12-07T10:15:30.123456+00:00")
    assert landed({"Offered_At__c": "2026-12-07T10:15:30.123+0000"},
                  {"Offered_At__c": "2026-12-07T10:15:30.123999+00:00", "Routing_Status__c": "Accepted"},
                  set(), "Offered_At__c")

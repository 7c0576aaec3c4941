"""Salesforce's clock is the truth: a host clock that is wrong by minutes or hours
loses no lead and dates no deadline.

The org runs `skew` away from this host (the sandbox's clock offset, set before its
first record), and the connector is given NO clock: it takes the time from the `Date`
header of Salesforce's responses, as it does in production.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.timeutil import parse_sf_datetime
from sandbox.simulator import Profile

from .conftest import Loop, build_connector

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
SKEWS = {
    "host 15 min fast": timedelta(minutes=-15),
    "host 15 min slow": timedelta(minutes=15),
    "host 2 h fast": timedelta(hours=-2),
    "host 2 h slow": timedelta(hours=2),
}


def server_timed_loop(sb, tmp_path) -> Loop:
    from .rules_for_tests import write_rules

    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", server_time=True, rules=write_rules(tmp_path))
    return Loop(sb, cx)


@pytest.mark.parametrize("skew", list(SKEWS.values()), ids=list(SKEWS))
def test_no_lead_is_lost_whatever_the_hosts_clock_says(sandbox_factory, tmp_path, skew):
    sb = sandbox_factory(seed="demo", partners=30, leads=40, random_seed=5, clock_offset=skew)
    sb.simulator.set_profile("*", NEVER_ANSWER)
    loop = server_timed_loop(sb, tmp_path)
    try:
        loop.cycle()
        leads = list(sb.org.records("Lead"))
        untouched = [r["Id"] for r in leads if r.get("Routing_Status__c") is None]
        assert untouched == [], "every seeded lead was read and decided"
        skew_seen = loop.cx.client.clock_skew
        assert skew_seen is not None and abs(skew_seen - skew) < timedelta(seconds=3), "the skew is measured"

        # a lead created now, in the org's time, is read in the very next cycle
        statuses = {r.get("Routing_Status__c") for r in leads}
        assert "Offered" in statuses, f"the seed has leads a partner covers (got {statuses})"
        some = next(r for r in sb.org.records("Lead") if r.get("Routing_Status__c") == "Offered")
        new_id = sb.org.create("Lead", {"LastName": "Skewed", "Company": "Skew Ltd", "Country": some["Country"],
                                        "State": some["State"], "PostalCode": some["PostalCode"],
                                        "City": some["City"], "LeadSource": some["LeadSource"]})
        loop.cycle()
        new = sb.org.get("Lead", new_id)
        assert new["Routing_Status__c"] in ("Offered", "Escalated", "Unroutable")
        if new["Routing_Status__c"] == "Offered":
            # the deadline is the org's now + 24 h (the test rules), not the host's
            deadline = parse_sf_datetime(new["Offer_Deadline__c"])
            offered_at = parse_sf_datetime(new["Offered_At__c"])
            assert abs(offered_at - sb.clock.now()) < timedelta(minutes=1)
            assert abs(deadline - offered_at - timedelta(hours=24)) < timedelta(minutes=1)
        # the report, made offline from the state, is dated in the org's time too
        from datetime import datetime, timezone

        from jobs.ops import figures

        dated = datetime.strptime(figures.report_data(loop.cx.store).generated_at, "%Y-%m-%d %H:%M UTC")
        assert abs(dated.replace(tzinfo=timezone.utc) - sb.clock.now()) < timedelta(minutes=2)
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


def test_a_report_made_on_another_host_is_dated_by_salesforces_clock_not_by_either_host(sandbox_factory, tmp_path):
    """The connector ran on a host three hours slow; the report is made later from the same
    state on a host whose clock is right (an operator's machine, or the same host after
    NTP stepped its clock). The skew one host measured says nothing of another's clock:
    added to this host's, it dated the report three hours off Salesforce's time."""
    from datetime import datetime, timezone

    from jobs.ops import figures

    sb = sandbox_factory(seed="demo", partners=10, leads=10, random_seed=5,
                         start_at=datetime(2031, 2, 28, 10, 0, tzinfo=timezone.utc))
    sb.simulator.set_profile("*", NEVER_ANSWER)
    loop = server_timed_loop(sb, tmp_path)
    try:
        slow_host = loop.cx.client.server_clock
        slow_host._host = lambda: datetime.now(timezone.utc) - timedelta(hours=3)  # that host's wall clock
        loop.cycle()
        last_run = sb.clock.now()
        dated = datetime.strptime(figures.report_data(loop.cx.store).generated_at, "%Y-%m-%d %H:%M UTC")
        assert abs(dated.replace(tzinfo=timezone.utc) - last_run) < timedelta(minutes=2), (dated, last_run)
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


def test_a_new_state_is_stamped_with_salesforces_time_not_the_hosts(sandbox_factory, tmp_path):
    """The state dates everything on the org's clock; its schema version's `applied_at`
    was the one time in it taken from the host's: under a host three days fast, a state
    migrated "three days after" its first job ran."""
    from datetime import datetime, timezone

    from sqlalchemy import select

    from jobs.app import Connector
    from jobs.config import load
    from jobs.ops.demo import write_config
    from jobs.state import schema

    from .rules_for_tests import write_rules

    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=5,
                         start_at=datetime(2031, 2, 28, 10, 0, tzinfo=timezone.utc))
    cfg = write_config(tmp_path, sb.connection, write_rules(tmp_path))
    cfg.write_text(cfg.read_text().replace('url = "sqlite:///leadrouter.sqlite"',
                                           f'url = "sqlite:///{tmp_path}/state.sqlite"'))
    cx = Connector.from_config(load(cfg))  # no clock given: Salesforce's, as `once` and `run` run
    try:
        with cx.store.connect() as conn:
            stamped = conn.execute(select(schema.schema_version.c.applied_at)).scalars().all()
        assert stamped and all(abs(at - sb.clock.now()) < timedelta(minutes=2) for at in stamped), \
            (stamped, sb.clock.now())
    finally:
        cx.client.close()
        cx.store.dispose()


def test_an_upgraded_state_dates_the_bars_it_carries_over_with_salesforces_time(sandbox_factory, tmp_path):
    """A version-2 state's routing document kept who declined which lead; the upgrade carries
    each bar into a row dated when it runs: by the org's clock, as the jobs date theirs (the
    partner feedback counts a rejection within its window by that date)."""
    import json
    from datetime import datetime, timezone

    from sqlalchemy import create_engine, select, text

    from jobs.app import Connector
    from jobs.config import load
    from jobs.ops.demo import write_config
    from jobs.state import schema
    from jobs.state.migrations import MIGRATIONS

    from .rules_for_tests import write_rules

    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=5,
                         start_at=datetime(2031, 2, 28, 10, 0, tzinfo=timezone.utc))
    state = tmp_path / "state.sqlite"
    engine = create_engine(f"sqlite:///{state}")
    with engine.begin() as conn:  # as a version-2 leadrouter left it
        for m in MIGRATIONS[:2]:
            m.apply(conn, datetime(2030, 1, 1))
            conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (:v, :n, :at)"),
                         {"v": m.version, "n": m.name, "at": datetime(2030, 1, 1)})
        doc = {"version": 1, "excluded": {"00Q5g0000000001EAA": {"0015g0000000001EAA": "rejected"}}}
        conn.execute(text("INSERT INTO routing_state (id, data, updated_at) VALUES (1, :d, :at)"),
                     {"d": json.dumps(doc), "at": datetime(2030, 1, 1)})
    engine.dispose()
    cfg = write_config(tmp_path, sb.connection, write_rules(tmp_path))
    cfg.write_text(cfg.read_text().replace('url = "sqlite:///leadrouter.sqlite"', f'url = "sqlite:///{state}"'))
    cx = Connector.from_config(load(cfg))  # no clock given: Salesforce's, as `once` and `run` run
    try:
        with cx.store.connect() as conn:
            carried = conn.execute(select(schema.exclusions.c.at)).scalars().all()
        assert len(carried) == 1
        at = carried[0] if carried[0].tzinfo else carried[0].replace(tzinfo=timezone.utc)
        assert abs(at - sb.clock.now()) < timedelta(minutes=2), (at, sb.clock.now())
    finally:
        cx.client.close()
        cx.store.dispose()

"""Streaming first, polling to reconcile: Change Data Capture events drive the lead stream."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from jobs import stream
from jobs.stream import LEADS, Streams


def _wait(condition, timeout=15.0, what="condition"):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def streaming(org, make_loop):
    """A loop whose connector subscribes to the sandbox org's change events."""
    running: list[tuple[Streams, threading.Event]] = []

    def start(loop, **settings) -> Streams:
        streams = Streams(loop.cx)
        stop = threading.Event()
        opened = org.pubsub.service.subscriptions
        streams.make_jobs(stop)
        running.append((streams, stop))
        if settings.get("wait", True):
            _wait(lambda: org.pubsub.service.subscriptions >= opened + 2, what="both subscriptions open")
        return streams

    def stop_all() -> None:
        for streams, stop in running:
            stop.set()
            streams.join()
        running.clear()

    def make(**settings):
        loop = make_loop(org, settings={"stream": {"pubsub_url": org.connection["pubsub_url"], **settings}})
        loop.cycle()  # the seeded backlog is routed first
        return loop

    make.start, make.stop = start, stop_all
    yield make
    stop_all()


def _web_lead(org, company="Streamed Co"):
    """A lead as web-to-lead creates it: by a site user, the org's assignment rule on."""
    template = next(r for r in org.org.records("Lead") if r.get("Routing_Status__c") == "Offered")
    fields = {k: template[k] for k in ("LastName", "Country", "State", "City", "Industry", "Products__c",
                                       "PostalCode", "NumberOfEmployees") if template.get(k) is not None}
    return org.org.create("Lead", {**fields, "Company": company}, as_user=org.org.admin_user_id, auto_assign=True)


def _routed(org, lead_id):
    return org.org.get("Lead", lead_id).get("Routing_Status__c") is not None


def test_a_new_lead_is_routed_from_its_change_event_without_a_poll(org, streaming):
    loop = streaming()
    streams = streaming.start(loop)
    lead_id = _web_lead(org)
    _wait(lambda: _routed(org, lead_id), what="the lead routed from its event")
    _wait(lambda: streams.handled >= 1)
    with streams.lock:  # the write's flush (its alert too) is done
        calls = loop.cx.client.calls

    def lead_row():
        with loop.cx.store.connect() as conn:
            return next(r for r in stream.status(conn) if r["topic"] == LEADS)

    _wait(lambda: lead_row()["events"] >= 2, what="our write's echo")  # the create, then our write
    assert loop.cx.client.calls == calls  # the echo is not read again
    row = lead_row()
    assert row["mode"] == "cdc" and row["connected_since"] is not None and row["replay_id"]
    assert row["lag_s"] is not None and row["lag_s"] < 5


def test_a_gap_event_reads_the_leads_it_names(org, streaming):
    loop = streaming()
    streaming.start(loop)
    org.org.listeners.remove(org.pubsub.bus.on_write)  # a change Salesforce made no event for
    lead_id = _web_lead(org, "Gap Co")
    org.org.listeners.append(org.pubsub.bus.on_write)
    assert not _routed(org, lead_id)
    org.pubsub.bus.publish_gap("Lead", [lead_id], "GAP_CREATE")
    _wait(lambda: _routed(org, lead_id), what="the gap's lead routed")


def test_with_cdc_connected_the_lead_poll_becomes_a_slow_reconciliation(org, streaming):
    loop = streaming(reconcile_seconds=900)
    streams = streaming.start(loop)
    now = loop.cx.clock.now()
    streams.run_job("leads")
    assert not streams.due("leads", now + timedelta(seconds=60))
    assert streams.due("leads", now + timedelta(seconds=900))
    assert streams.due("expire", now + timedelta(seconds=60))  # clock-driven jobs keep their schedule
    streaming.stop()
    _wait(lambda: streams.connected[LEADS] is None)
    assert streams.due("leads", now + timedelta(seconds=60))  # no stream: poll as usual


def test_a_replay_id_past_retention_reconciles_and_finds_every_change(org, streaming):
    loop = streaming()
    streaming.start(loop)
    first = _web_lead(org, "Before")
    _wait(lambda: _routed(org, first))
    streaming.stop()
    missed = [_web_lead(org, f"While down {i}") for i in range(3)]
    org.clock.advance(timedelta(hours=73))  # the stored replay id's event is gone
    streaming.start(loop, wait=False)
    _wait(lambda: all(_routed(org, i) for i in missed), what="the reconciliation read routing the missed leads")

    def finds():
        with loop.cx.store.connect() as conn:
            return next(r for r in stream.status(conn) if r["topic"] == LEADS)["reconcile_finds"]

    _wait(lambda: finds() == len(missed), what="each missed lead counted as a reconciliation find")


def test_auto_mode_without_cdc_polls_and_names_the_setup_step(org, streaming):
    org.pubsub.bus.select()  # nothing selected for Change Data Capture
    loop = streaming(mode="auto")
    streams = streaming.start(loop, wait=False)
    _wait(lambda: not any(t.is_alive() for t in streams.threads), what="the stream threads giving up")
    with loop.cx.store.connect() as conn:
        rows = {r["topic"]: r for r in stream.status(conn)}
    assert rows[LEADS]["mode"] == "poll" and "platformEventChannelMembers" in rows[LEADS]["note"]
    assert streams.due("leads", loop.cx.clock.now())


def test_poll_mode_subscribes_to_nothing(org, streaming):
    loop = streaming(mode="poll")
    opened = org.pubsub.service.subscriptions
    streams = streaming.start(loop, wait=False)
    time.sleep(0.3)
    assert streams.threads == [] and org.pubsub.service.subscriptions == opened


def test_an_account_change_runs_the_partner_sync(org, streaming):
    loop = streaming()
    streams = streaming.start(loop)
    runs = len([1 for _ in range(1)])
    partner = next(r for r in org.org.records("Account") if r.get("IsPartner"))
    before = streams._last_run.get("sync_partners")
    org.org.update("Account", partner["Id"], {"Name": partner["Name"] + " Renamed"})
    _wait(lambda: streams._last_run.get("sync_partners") not in (None, before), what="a partner sync")
    assert runs == 1


def test_status_shows_the_stream(org, streaming):
    from jobs.ops import status as people

    loop = streaming()
    streams = streaming.start(loop)
    lead_id = _web_lead(org)
    _wait(lambda: _routed(org, lead_id))
    _wait(lambda: streams.handled >= 1)
    with loop.cx.store.connect() as conn:
        rows = stream.status(conn)
    text = " ".join(people.render({"state": "x", "schema_version": 1, "stream": rows}).split())
    assert "Stream" in text and "/data/LeadChangeEvent: cdc, connected since" in text
    assert "reconciliation finds 0" in text and "events/min" in text


def test_under_the_flaky_profile_dropped_streams_lose_no_lead_and_offer_none_twice(org, streaming):
    from collections import Counter

    from sqlalchemy import select

    from jobs.state.schema import offers

    loop = streaming()
    streaming.start(loop)
    org.faults.set_profile("flaky", seed=7)  # REST faults, UNAVAILABLE and dropped streams
    org.faults.plan("stream_drop", endpoint="pubsub/Subscribe", count=3, skip=2)  # at least these
    created = []
    for i in range(15):
        created.append(_web_lead(org, f"Flaky {i}"))
        time.sleep(0.05)
    _wait(lambda: all(_routed(org, i) for i in created), timeout=60, what="every lead routed despite the faults")
    assert org.faults.describe()["injected"].get("stream_drop", 0) >= 3
    with loop.cx.store.connect() as conn:
        rows = conn.execute(select(offers.c.lead_id).where(offers.c.lead_id.in_(created), offers.c.kind == "offer"))
        per_lead = Counter(r.lead_id for r in rows)
    assert [lead for lead, n in per_lead.items() if n > 1] == []


def test_only_the_leader_subscribes_and_the_standby_takes_the_subscription_over(org, make_loop, tmp_path):
    from jobs.leader import lock_for
    from jobs.service import Service

    settings = {"stream": {"pubsub_url": org.connection["pubsub_url"]}}
    first = make_loop(org, settings=settings, name="shared")
    first.cycle()
    second = make_loop(org, settings=settings, name="shared")
    url = f"sqlite:///{tmp_path}/shared.sqlite"
    services, threads = [], []
    for loop in (first, second):
        svc = Service(store=loop.cx.store, lock=lock_for(url), poll_seconds=0.2,
                      make_jobs=Streams(loop.cx).make_jobs, misfire_grace=30)
        services.append(svc)
    opened = org.pubsub.service.subscriptions
    try:
        for svc in services:
            threads.append(threading.Thread(target=svc.run, daemon=True))
            threads[-1].start()
            time.sleep(0.5)
        _wait(lambda: org.pubsub.service.subscriptions >= opened + 2, what="the leader subscribing")
        time.sleep(1.0)
        assert org.pubsub.service.subscriptions == opened + 2  # the standby does not subscribe
        leader = next(s for s in services if s.role == "leader")
        standby = next(s for s in services if s is not leader)
        leader.stop.set()  # the leader goes away (SIGTERM): the standby takes the lock over
        _wait(lambda: standby.role == "leader", what="the standby leading")
        _wait(lambda: org.pubsub.service.subscriptions >= opened + 4, what="the new leader subscribing")
        lead_id = _web_lead(org, "After failover")
        _wait(lambda: _routed(org, lead_id), what="the lead routed by the new leader's stream")
    finally:
        for svc in services:
            svc.stop.set()
        _wait(lambda: not any(t.is_alive() for t in threads), what="the services stopping")


def test_a_burst_of_events_is_read_incrementally_not_by_id(org, streaming):
    loop = streaming()
    streams = streaming.start(loop)
    queries = lambda: sum(n for k, n in org.counters.snapshot()["endpoints"].items() if k.startswith("GET query"))  # noqa: E731
    before = queries()
    with org.org.atomic():  # an import: the events arrive together
        created = [_web_lead(org, f"Import {i}") for i in range(stream.BURST + 150)]
    _wait(lambda: all(_routed(org, i) for i in created), timeout=30, what="every imported lead routed")
    time.sleep(1.0)  # the writes' echoes come back as events
    # the first events by id (they came alone), then one incremental read (a page holds
    # 2,000) for the rest; each batch's write-back guarded by one query
    assert streams.burst_reads >= 1 and queries() - before <= 4
    with loop.cx.store.connect() as conn:
        row = next(r for r in stream.status(conn) if r["topic"] == LEADS)
    assert row["reconcile_finds"] == 0

"""The Pub/Sub subscriber against the sandbox org: batches, replay ids, faults, re-auth."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from connector.errors import ConfigError, classify
from connector.pubsub import Batch, PubSubConfig, Subscriber, credentials_from, decode_bitmaps

LEADS = "/data/LeadChangeEvent"


@pytest.fixture
def subscriber(org, client):
    sub = Subscriber(PubSubConfig(url=org.connection["pubsub_url"], ca_bundle=Path(org.connection["ca_file"]), batch_size=10),
                     credentials_from(client), client.policy)
    yield sub
    sub.close()


def _lead(org, **fields):
    return org.org.create("Lead", {"LastName": "Ng", "Company": "Acme", **fields})


def _collect(sub, replay_id, count, *, stop=None, keep=None, timeout=10.0):
    """Events (and reconcile signals) until `count` events were seen; the last replay id handed over."""
    stop = stop or threading.Event()
    events, signals, last = [], [], replay_id
    done = threading.Event()
    _stop_after(timeout, stop, done)
    try:
        for batch in sub.batches(LEADS, replay_id, stop):
            if batch.reconcile:
                signals.append(batch)
            events += batch.events
            if batch.replay_id:
                last = batch.replay_id
            if keep:
                keep(batch)
            if len(events) >= count:
                break
    finally:
        done.set()
    return events, signals, last


def _stop_after(seconds, stop, done=None):
    """threading.Timer, in sleeps (a timed wait hangs under faketime: RELIABILITY.md)."""
    def run():
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if done is not None and done.is_set():
                return
            time.sleep(0.02)
        stop.set()

    threading.Thread(target=run, daemon=True).start()


def _earliest(org):
    """A replay id before every event: the sandbox's first, for subscribing from the start."""
    return org.pubsub.bus.replay_id(0)


def test_events_are_decoded_with_changed_fields_by_name(org, subscriber):
    lead_id = _lead(org, Title="CTO")
    org.org.update("Lead", lead_id, {"Company": "Acme Ltd", "Title": None})
    events, _, _ = _collect(subscriber, _earliest(org), 2)
    create, update = events
    assert (create.entity, create.change_type, create.record_ids) == ("Lead", "CREATE", (lead_id,))
    assert create.values["Company"] == "Acme" and create.commit_user.startswith("005")
    assert update.change_type == "UPDATE" and {"Company", "Title"} <= set(update.changed_fields)
    assert update.nulled_fields == ("Title",)
    assert update.commit_timestamp == org.org.get("Lead", lead_id)["SystemModstamp"].replace(
        microsecond=org.org.get("Lead", lead_id)["SystemModstamp"].microsecond // 1000 * 1000)


def test_nested_bitmaps_name_the_compound_field():
    fields = [{"name": "ChangeEventHeader", "type": "record"},
              {"name": "Name", "type": ["null", {"type": "record", "name": "Name",
                                                 "fields": [{"name": "Salutation"}, {"name": "FirstName"}, {"name": "LastName"}]}]},
              {"name": "Company"}]
    assert decode_bitmaps(fields, ["0x4", "1-0x6"]) == ("Company", "Name.FirstName", "Name.LastName")


def test_a_stored_replay_id_resumes_after_it_and_nothing_is_handed_over_twice(org, subscriber):
    ids = [_lead(org, Company=f"C{i}") for i in range(3)]
    subscriber.config = PubSubConfig(subscriber.config.url, subscriber.config.ca_bundle, batch_size=1)
    first, _, replay = _collect(subscriber, _earliest(org), 1)
    assert len(first) == 1
    rest, _, _ = _collect(subscriber, replay, 2)
    assert [e.record_ids[0] for e in first + rest] == ids


def test_a_dropped_stream_and_unavailable_resubscribe_from_the_last_batch(org, subscriber):
    ids = [_lead(org, Company=f"C{i}") for i in range(4)]
    org.faults.plan("stream_drop", endpoint="pubsub/Subscribe", skip=1)  # the first batch out, then a drop
    org.faults.plan("unavailable", endpoint="pubsub/Subscribe")  # and the resubscribe refused once
    subscriber.config = PubSubConfig(subscriber.config.url, subscriber.config.ca_bundle, batch_size=2)
    events, _, _ = _collect(subscriber, _earliest(org), 4)
    assert [e.record_ids[0] for e in events] == ids
    assert subscriber.resubscribes == 2


def test_replay_id_past_retention_signals_a_reconciliation_then_streams_from_the_earliest(org, subscriber, client):
    _lead(org)
    old, _, replay = _collect(subscriber, _earliest(org), 1)
    org.clock.advance(timedelta(hours=73))
    client._login()  # the session is past its life too
    subscriber._creds = credentials_from(client)(False)
    kept = _lead(org, Company="Within retention")
    events, signals, _ = _collect(subscriber, replay, 1)
    assert len(signals) == 1 and signals[0].replay_id == b""
    assert [e.record_ids[0] for e in events] == [kept]


def test_token_expiry_mid_stream_logs_in_again_and_carries_on(org, subscriber, client):
    first = _lead(org)
    seen = []

    def expire_after_first(batch: Batch) -> None:
        if batch.events and not seen:
            seen.append(1)
            org.auth.expire()  # every session ends, as when an admin revokes them
            _lead(org, Company="After expiry")

    events, _, _ = _collect(subscriber, _earliest(org), 2, keep=expire_after_first)
    assert events[0].record_ids == (first,) and events[1].values["Company"] == "After expiry"
    assert subscriber.refreshes == 1


def test_a_stream_session_ended_again_right_after_its_renewal_logs_in_again_and_carries_on(org, client):
    """As a REST call: one login per expiry, even two in a row (the renewed session is
    ended before the stream uses it)."""
    first = _lead(org)
    login = credentials_from(client)
    renewals = []

    def ended_right_after_the_first_renewal(refresh: bool):
        creds = login(refresh)
        if refresh:
            renewals.append(1)
            if len(renewals) == 1:
                org.auth.expire()  # an admin revoking the user's sessions once more
        return creds

    sub = Subscriber(PubSubConfig(url=org.connection["pubsub_url"], ca_bundle=Path(org.connection["ca_file"]),
                                  batch_size=10), ended_right_after_the_first_renewal, client.policy)
    seen = []

    def expire_after_first(batch: Batch) -> None:
        if batch.events and not seen:
            seen.append(1)
            org.auth.expire()
            _lead(org, Company="After two expiries")

    try:
        events, _, _ = _collect(sub, _earliest(org), 2, keep=expire_after_first)
        assert events[0].record_ids == (first,) and events[1].values["Company"] == "After two expiries"
        assert sub.refreshes == 2
    finally:
        sub.close()


def test_a_topic_not_enabled_is_a_config_error_naming_the_setup_step(org, subscriber):
    org.pubsub.bus.select("Account")
    with pytest.raises(ConfigError) as err:
        subscriber.topic(LEADS)
    assert "Change Data Capture" in str(err.value) and "salesforce/" in err.value.fix


def test_grpc_statuses_are_classified_in_the_one_place(org):
    class Fake(grpc.RpcError):
        def __init__(self, status, error_code=""):
            self._status, self._code = status, error_code

        def code(self):
            return self._status

        def details(self):
            return "x"

        def trailing_metadata(self):
            return (("error-code", self._code),) if self._code else ()

    assert classify(Fake(grpc.StatusCode.UNAVAILABLE)).kind == "transient"
    assert classify(Fake(grpc.StatusCode.UNAUTHENTICATED)).kind == "session"
    assert classify(Fake(grpc.StatusCode.PERMISSION_DENIED)).kind == "config"
    replay = classify(Fake(grpc.StatusCode.INVALID_ARGUMENT, "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.invalid"))
    assert (replay.kind, replay.code) == ("permanent", "REPLAY_ID_UNAVAILABLE")


def test_stop_ends_a_quiet_subscription_promptly(org, subscriber):
    stop = threading.Event()
    _stop_after(0.3, stop)
    began = time.monotonic()
    assert list(subscriber.batches(LEADS, None, stop)) == []
    assert time.monotonic() - began < 3


def test_a_burst_is_handed_over_in_batches_of_at_most_max_batch(org, subscriber):
    ids = [_lead(org, Company=f"C{i}") for i in range(30)]
    subscriber.config = PubSubConfig(subscriber.config.url, subscriber.config.ca_bundle, batch_size=5, max_batch=20)
    sizes = []

    def handle(batch) -> None:  # a consumer busy with each batch, as the connector is: the burst piles up meanwhile
        sizes.append(len(batch.events))
        time.sleep(0.2)

    events, _, _ = _collect(subscriber, _earliest(org), 30, keep=handle)
    assert [e.record_ids[0] for e in events] == ids
    assert max(sizes) <= 20 and sum(sizes) == 30 and len([s for s in sizes if s]) <= 4


def test_a_burst_larger_than_what_salesforce_owes_at_once_still_comes_in_large_batches(org, subscriber):
    """Salesforce owes a Subscribe call at most 100 events, however many are asked for: the
    subscriber asks again as they arrive, so a busy consumer finds more than 100 waiting."""
    ids = [_lead(org, Company=f"C{i}") for i in range(260)]
    subscriber.config = PubSubConfig(subscriber.config.url, subscriber.config.ca_bundle, batch_size=100, max_batch=2000)
    sizes = []

    def handle(batch) -> None:
        sizes.append(len(batch.events))
        time.sleep(1.0)

    asked_before = org.pubsub.service.over_asked
    events, _, _ = _collect(subscriber, _earliest(org), 260, keep=handle, timeout=30)
    assert [e.record_ids[0] for e in events] == ids
    assert sum(sizes) == 260 and max(sizes) > 100
    assert org.pubsub.service.over_asked == asked_before  # nothing asked that Salesforce would ignore


class _RpcFault(grpc.RpcError):
    def __init__(self, status, error_code=""):
        self._status, self._code = status, error_code

    def code(self):
        return self._status

    def details(self):
        return "failed to connect to all addresses"

    def trailing_metadata(self):
        return (("error-code", self._code),) if self._code else ()


def test_a_pub_sub_api_out_of_reach_is_the_stream_unreachable_not_salesforce_unavailable():
    """The stream shares the client's retry policy: a Pub/Sub API that did not answer was
    logged `salesforce_unavailable` and counted as a REST outage (/healthz, `status`'s
    "Salesforce down since"), so an operator could not tell the REST API from the stream."""
    import structlog

    from connector.config import RetryConfig
    from connector.errors import TransientError
    from connector.retry import RetryPolicy

    failure = classify(_RpcFault(grpc.StatusCode.UNAVAILABLE))
    assert (failure.kind, failure.api, failure.code) == ("transient", "pubsub", "UNAVAILABLE"), failure
    assert "pubsub_url" in (failure.fix or "")
    assert classify(requests_error()).api == "rest"

    def down():
        raise _RpcFault(grpc.StatusCode.UNAVAILABLE)

    p = RetryPolicy(RetryConfig(max_attempts=2, initial_wait=0.01, max_wait=0.01), sleep=lambda s: None)
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(TransientError):
            p.call(down, context="pubsub GetTopic /data/LeadChangeEvent")
    events = [e["event"] for e in logs]
    assert not any(e.startswith("salesforce") for e in events), events
    assert "pubsub_unreachable" in events, events
    assert not p.unavailable and p.outage() is None  # the REST API answers: no outage of it


def requests_error():
    import requests

    return requests.ConnectionError("down")

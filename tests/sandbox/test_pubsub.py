"""The sandbox's Pub/Sub API: Change Data Capture as Salesforce serves it, over gRPC + TLS."""
from __future__ import annotations

import queue
import time
from datetime import timedelta

import grpc
import pytest

from eventbus.v1 import pubsub_api_pb2 as pb
from tests.sandbox.pubsub_raw import LEAD_TOPIC, RawPubSub


@pytest.fixture
def org(sandbox_factory):
    sb = sandbox_factory()
    raw = RawPubSub(sb)
    yield sb, raw
    raw.close()


def _lead(sb, **fields):
    return sb.org.create("Lead", {"LastName": "Ng", "Company": "Acme", **fields})


def _wait_for(condition, timeout=5.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.01)


def _bits(raw, schema_id, bitmaps):
    names = raw.field_names(schema_id)
    out = []
    for bitmap in bitmaps:
        value = int(bitmap, 16)
        out += [names[i] for i in range(value.bit_length()) if value >> i & 1]
    return out


def test_topics_of_selected_objects_are_served_with_their_schema(org):
    sb, raw = org
    lead, account = raw.topic(), raw.topic("/data/AccountChangeEvent")
    assert lead.can_subscribe and not lead.can_publish and lead.tenant_guid.startswith("00D")
    assert lead.schema_id != account.schema_id
    info = raw.stub.GetSchema(pb.SchemaRequest(schema_id=lead.schema_id), metadata=raw.metadata)
    assert '"name":"ChangeEventHeader"' in info.schema_json and '"name":"Company"' in info.schema_json
    assert raw.topic("/data/ChangeEvents").can_subscribe


def test_an_object_not_selected_for_change_data_capture_has_no_topic(org):
    sb, raw = org
    sb.pubsub.bus.select("Account")
    with pytest.raises(grpc.RpcError) as err:
        raw.topic(LEAD_TOPIC)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "Change Data Capture" in err.value.details()


def test_create_update_delete_each_publish_a_change_event_with_the_documented_header(org):
    sb, raw = org
    lead_id = _lead(sb, Title="CTO")
    sb.org.update("Lead", lead_id, {"Company": "Acme Ltd", "Title": None})
    sb.org.delete("Lead", lead_id)
    stream = raw.subscribe()
    events = stream.events(3)
    stream.close()
    decoded = [raw.decode(e.event) for e in events]
    headers = [d["ChangeEventHeader"] for d in decoded]
    assert [h["changeType"] for h in headers] == ["CREATE", "UPDATE", "DELETE"]
    assert all(h["entityName"] == "Lead" and h["recordIds"] == [lead_id] for h in headers)
    assert headers[0]["commitNumber"] < headers[1]["commitNumber"] < headers[2]["commitNumber"]
    assert headers[0]["commitUser"].startswith("005") and headers[0]["transactionKey"]
    # a create carries its values; an update only what changed, named by bitmaps
    assert decoded[0]["Company"] == "Acme" and decoded[0]["Title"] == "CTO"
    schema_id = events[1].event.schema_id
    assert set(_bits(raw, schema_id, headers[1]["changedFields"])) >= {"Company", "Title", "LastModifiedDate"}
    assert _bits(raw, schema_id, headers[1]["nulledFields"]) == ["Title"]
    assert headers[1]["changedFields"][0].startswith("0x")
    assert decoded[1]["Company"] == "Acme Ltd" and decoded[1]["LastName"] is None  # unchanged: not sent
    commit = sb.org.get("Lead", lead_id)["SystemModstamp"]
    assert headers[2]["commitTimestamp"] == int(commit.timestamp() * 1000)


def test_a_write_rolled_back_by_all_or_none_publishes_nothing(org):
    sb, raw = org
    with pytest.raises(RuntimeError):
        with sb.org.atomic():
            _lead(sb)
            raise RuntimeError("second record failed")
    kept = _lead(sb, Company="Kept")
    stream = raw.subscribe()
    (event,) = stream.events(1)
    stream.close()
    assert raw.decode(event.event)["ChangeEventHeader"]["recordIds"] == [kept]


def test_flow_control_sends_no_more_than_requested(org):
    sb, raw = org
    for i in range(5):
        _lead(sb, Company=f"C{i}")
    stream = raw.subscribe(num_requested=2)
    first = stream.events(2)
    with pytest.raises(queue.Empty):
        stream.next(timeout=0.5)  # nothing more until asked for
    stream.more(10)
    rest = stream.events(3)
    stream.close()
    assert len(first) == 2 and len(rest) == 3


def test_at_most_100_events_are_outstanding_however_many_are_requested(org):
    """Salesforce: "The maximum number of events that can be requested across all
    FetchRequests in a Subscribe call is 100. If a client requests more than 100 events,
    the server considers the number of requested events to be 100." """
    sb, raw = org
    for i in range(130):
        _lead(sb, Company=f"C{i}")
    stream = raw.subscribe(num_requested=150)
    responses = [stream.next()]
    while sum(len(r.events) for r in responses) < 100:
        responses.append(stream.next())
    with pytest.raises(queue.Empty):
        stream.next(timeout=0.5)  # 100 delivered: nothing more until asked again
    stream.more(500)
    rest = stream.events(30)
    stream.close()
    assert sum(len(r.events) for r in responses) == 100 and len(rest) == 30
    assert responses[-1].pending_num_requested == 0


def test_a_client_that_sends_one_request_and_half_closes_still_gets_what_it_asked_for(org):
    """`stub.Subscribe(iter([FetchRequest(...)]))` ends the client's side of the stream
    after its one request; the events it asked for must still come (gRPC lets the server
    go on sending). The sandbox used to end the stream then, with nothing sent."""
    sb, raw = org
    opened = sb.pubsub.service.subscriptions
    request = pb.FetchRequest(topic_name=LEAD_TOPIC, replay_preset=pb.LATEST, num_requested=1)
    call = raw.stub.Subscribe(iter([request]), metadata=raw.metadata, timeout=10)
    _wait_for(lambda: sb.pubsub.service.subscriptions > opened)
    time.sleep(0.2)  # the half-close has reached the server by now
    lead = _lead(sb)
    events = [e for response in call for e in response.events]  # the stream ends once the 1 is sent
    assert [raw.decode(e.event)["ChangeEventHeader"]["recordIds"] for e in events] == [[lead]]


def test_replay_presets_latest_earliest_and_custom(org):
    sb, raw = org
    ids = [_lead(sb, Company=f"C{i}") for i in range(3)]
    earliest = raw.subscribe()
    events = earliest.events(3)
    earliest.close()
    custom = raw.subscribe(preset=pb.CUSTOM, replay_id=events[0].replay_id)
    after_first = custom.events(2)
    custom.close()
    assert [raw.decode(e.event)["ChangeEventHeader"]["recordIds"][0] for e in after_first] == ids[1:]
    opened = sb.pubsub.service.subscriptions
    latest = raw.subscribe(preset=pb.LATEST)
    _wait_for(lambda: sb.pubsub.service.subscriptions > opened)  # LATEST is the tip when it opens
    newer = _lead(sb, Company="New")
    (only,) = latest.events(1)
    latest.close()
    assert raw.decode(only.event)["ChangeEventHeader"]["recordIds"] == [newer]


def test_keep_alive_carries_the_latest_replay_id(org):
    sb, raw = org
    sb.pubsub.service.keepalive_seconds = 0.3
    _lead(sb)
    stream = raw.subscribe()
    (event,) = stream.events(1)
    keep_alive = stream.next(timeout=5)
    stream.close()
    assert list(keep_alive.events) == [] and keep_alive.latest_replay_id == event.replay_id
    assert keep_alive.pending_num_requested == 99


def test_events_older_than_72_hours_of_org_time_are_gone_and_their_replay_id_is_refused(org):
    sb, raw = org
    _lead(sb)
    stream = raw.subscribe()
    (old,) = stream.events(1)
    stream.close()
    sb.clock.advance(timedelta(hours=72, minutes=1))
    fresh = _lead(sb, Company="Fresh")
    raw = RawPubSub(sb)  # the old session expired too
    stream = raw.subscribe(preset=pb.CUSTOM, replay_id=old.replay_id)
    with pytest.raises(grpc.RpcError) as err:
        stream.next()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "retention" in err.value.details()
    earliest = raw.subscribe()
    (first,) = earliest.events(1)
    earliest.close()
    assert raw.decode(first.event)["ChangeEventHeader"]["recordIds"] == [fresh]


@pytest.mark.parametrize("bad", ["accesstoken", "instanceurl", "tenantid"])
def test_bad_credentials_are_unauthenticated(org, bad):
    sb, raw = org
    raw.metadata = tuple((k, "wrong" if k == bad else v) for k, v in raw.metadata)
    with pytest.raises(grpc.RpcError) as err:
        raw.topic()
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_session_expiring_mid_stream_ends_it_unauthenticated(sandbox_factory):
    sb = sandbox_factory(token_ttl=3600)
    raw = RawPubSub(sb)
    _lead(sb)
    stream = raw.subscribe()
    stream.events(1)
    sb.clock.advance(timedelta(hours=2))
    _lead(sb, Company="After expiry")
    with pytest.raises(grpc.RpcError) as err:
        stream.events(1)
    raw.close()
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_planned_faults_refuse_a_call_and_drop_an_open_stream(org):
    sb, raw = org
    sb.faults.plan("unavailable", endpoint="pubsub/GetTopic")
    with pytest.raises(grpc.RpcError) as err:
        raw.topic()
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert raw.topic().can_subscribe  # only the planned call
    _lead(sb)
    sb.faults.plan("stream_drop", endpoint="pubsub/Subscribe")
    stream = raw.subscribe()
    with pytest.raises(grpc.RpcError) as err:
        stream.events(1)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert sb.faults.describe()["injected"] == {"unavailable": 1, "stream_drop": 1}


def test_stream_faults_leave_the_rest_api_fault_sequence_alone(sandbox_factory):
    sb = sandbox_factory(faults="flaky", random_seed=3)
    before = [sb.faults.decide("query").kinds for _ in range(50)]
    sb.faults.set_profile("flaky", seed=3)
    for _ in range(20):
        sb.faults.decide_stream("pubsub/Subscribe", "batch")
    assert [sb.faults.decide("query").kinds for _ in range(50)] == before


def test_the_org_selects_for_change_data_capture_what_the_salesforce_metadata_selects(org):
    from sandbox.pubsub.bus import selected_entities

    sb, raw = org
    assert set(selected_entities()) == {"Lead", "Account"} == sb.pubsub.bus.selected


def _partner_rep_token(sb) -> str:
    """A partner rep's session (the password grant, as the portal's API users log in)."""
    import requests

    o = sb.org
    account = o.create("Account", {"Name": "Partner P", "IsPartner": True})
    contact = o.create("Contact", {"AccountId": account, "LastName": "Rep"})
    o.create("User", {"Username": "rep@partner.sandbox", "LastName": "Rep", "Email": "rep@partner.test",
                      "UserType": "PowerPartner", "AccountId": account, "ContactId": contact})  # fmt: skip
    c = sb.connection
    with requests.Session() as http:
        http.verify, http.trust_env = c["ca_file"], False
        r = http.post(c["login_url"] + "/services/oauth2/token", data={
            "grant_type": "password", "client_id": c["client_id"], "client_secret": c["client_secret"],
            "username": "rep@partner.sandbox", "password": c["password"]}, timeout=10)  # fmt: skip
    return r.json()["access_token"]


def test_a_partner_rep_cannot_subscribe_to_lead_changes(org):
    """Change Data Capture ignores sharing: an object's channel needs View All on the object
    (or View All Data), which no partner user has. Its GetTopic says it cannot subscribe,
    its Subscribe is refused, and on /data/ChangeEvents (checked per event) it gets no Lead
    or Account event — a rep must not read every other partner's leads off the stream."""
    sb, _ = org
    rep = RawPubSub(sb, token=_partner_rep_token(sb))
    try:
        assert rep.topic().can_subscribe is False
        stream = rep.subscribe()
        with pytest.raises(grpc.RpcError) as err:
            stream.next(timeout=5)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "View All" in err.value.details()
        stream.close()
        everything = rep.subscribe("/data/ChangeEvents", num_requested=10)
        _lead(sb)
        sb.org.create("Account", {"Name": "Elsewhere"})
        time.sleep(0.5)
        assert everything.responses.empty()  # nothing delivered (a keep-alive comes after 270 s)
        everything.close()
    finally:
        rep.close()


def test_an_error_carries_its_rpc_id_as_salesforce_appends_it(org):
    """Salesforce's Pub/Sub errors end their message with `rpcId: …`, the id support asks
    for, besides the `error-code` trailer."""
    sb, raw = org
    with pytest.raises(grpc.RpcError) as err:
        raw.topic("/data/NoSuchChangeEvent")
    details = err.value.details()
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert " rpcId: " in details and len(details.rsplit("rpcId: ", 1)[1].strip()) == 36
    assert dict(err.value.trailing_metadata())["error-code"].startswith("sfdc.platform.eventbus.grpc.")

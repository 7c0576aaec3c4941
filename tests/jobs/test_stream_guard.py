"""The outbox guard while streaming: the change events answer it, a check after the fact
puts back what a person changed while our write was on its way, and without the stream
the REST guard answers as in poll mode (jobs/stream.py). Over the sandbox: HTTPS through
simple-salesforce and its Pub/Sub API."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from jobs import stream
from jobs.state.schema import outbox
from jobs.stream import LEADS

from .test_stream_e2e import _wait, _web_lead
from .test_stream_e2e import streaming as streaming  # noqa: F401  (the fixture)


class GuardReads:
    """The REST guard's reads (queries for the guard's fields only) the client sends."""

    def __init__(self, client, monkeypatch):
        self.soql: list[str] = []
        real = client.query

        def query(soql):
            self.soql.append(soql)
            return real(soql)

        monkeypatch.setattr(client, "query", query)

    def __call__(self) -> int:
        return sum(1 for q in self.soql if q.startswith("SELECT Id, SystemModstamp") and " FROM Lead" in q)


def _entries(loop, lead_id):
    with loop.cx.store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(outbox).where(outbox.c.lead_id == lead_id)
                                                          .order_by(outbox.c.id))]


def _reason(loop, org, lead_id) -> str:
    return org.org.get("Lead", lead_id).get(loop.cx.mappings.writeback_fields()["reason"]) or ""


def _person(org) -> str:
    return org.org.admin_user_id


@pytest.fixture
def held(monkeypatch):
    """Writes wait, as a burst's tail does, until the test has done its part: `held.release()`."""
    import threading

    gate = threading.Event()
    real = stream.Streams._flush

    def flush(self, now, *, hold):
        return real(self, now, hold=hold or not gate.is_set())

    monkeypatch.setattr(stream, "HOLD_SECONDS", 60.0)
    monkeypatch.setattr(stream.Streams, "_flush", flush)
    gate.release = gate.set  # type: ignore[attr-defined]
    return gate


def _decided(loop, lead_id) -> bool:
    return any(e["status"] == "pending" and e["purpose"] == "offer" for e in _entries(loop, lead_id))


def test_a_change_whose_event_comes_before_our_write_stops_it(org, streaming, held, monkeypatch):
    loop = streaming()
    streams = streaming.start(loop)
    lead_id = _web_lead(org, "Taken Before The Write")
    _wait(lambda: _decided(loop, lead_id), what="our offer decided and waiting")
    org.org.update("Lead", lead_id, {"OwnerId": _person(org)}, as_user=_person(org))
    held.release()  # what follows the person's change goes out
    _wait(lambda: org.org.get("Lead", lead_id).get("Routing_Status__c") == "Released", timeout=20,
          what="the lead released to the person")
    rec = org.org.get("Lead", lead_id)
    assert rec["OwnerId"] == _person(org)  # our offer never overwrote it
    assert "taken over by a person" in _reason(loop, org, lead_id)
    offer = next(e for e in _entries(loop, lead_id) if e["purpose"] == "offer")
    assert offer["status"] == "dropped" and offer["attempts"] == 0
    assert streams.guarded_by_events >= 1  # the release write was guarded by the events


def test_a_change_made_while_our_write_is_on_its_way_is_put_back(org, streaming, monkeypatch):
    loop = streaming()
    streams = streaming.start(loop)
    client = loop.cx.client
    real_update = client.update
    raced: list[str] = []

    def update(sobject, records, *args, **kwargs):
        # A person sets the owner after our read, just before our write lands: its
        # event reaches the stream only after the write went out.
        for r in records:
            if r["Id"] == target[0] and not raced:
                org.org.update("Lead", r["Id"], {"OwnerId": _person(org)}, as_user=_person(org))
                raced.append(r["Id"])
        return real_update(sobject, records, *args, **kwargs)

    target = [""]
    monkeypatch.setattr(client, "update", update)
    guard_reads = GuardReads(client, monkeypatch)
    target[0] = _web_lead(org, "Taken While Written")
    lead_id = target[0]
    _wait(lambda: raced == [lead_id], what="our write racing the person's change")
    _wait(lambda: org.org.get("Lead", lead_id).get("Routing_Status__c") == "Released", timeout=20,
          what="the overwritten change put back")
    rec = org.org.get("Lead", lead_id)
    assert rec["OwnerId"] == _person(org)
    reason = _reason(loop, org, lead_id)
    assert "a person changed" in reason and "Lead Owner" in reason and "OwnerId" not in reason and "put back" in reason
    assert streams.overwrites_undone == 1
    assert guard_reads() == 0  # the events guarded, not the REST API


def test_without_the_stream_the_rest_guard_answers(org, streaming, held, monkeypatch):
    loop = streaming()
    streams = streaming.start(loop)
    lead_id = _web_lead(org, "Guarded Without Events")
    _wait(lambda: _decided(loop, lead_id), what="our offer decided and waiting")
    org.pubsub.stop()  # the Pub/Sub API is gone: no event will tell of what follows
    _wait(lambda: streams.connected[LEADS] is None, timeout=60, what="the lead topic disconnected")
    org.org.update("Lead", lead_id, {"OwnerId": _person(org)}, as_user=_person(org))
    guard_reads = GuardReads(loop.cx.client, monkeypatch)
    held.release()
    streams.run_job("outbox")  # the held write goes out now, guarded by Salesforce
    assert guard_reads() >= 1
    rec = org.org.get("Lead", lead_id)
    assert rec["OwnerId"] == _person(org) and rec["Routing_Status__c"] == "Released"
    assert "taken over by a person" in _reason(loop, org, lead_id)
    offer = next(e for e in _entries(loop, lead_id) if e["purpose"] == "offer")
    assert offer["status"] == "dropped" and offer["attempts"] == 0

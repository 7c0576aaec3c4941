"""A burst is written while it is still being read: decided pages go out from a
background writer, in lanes that never share an owner, and a lead a person changes
while its decision waits is not overwritten."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jobs.state.schema import outbox
from jobs.writer import by_owner

pytestmark = pytest.mark.e2e

LEADS = 5_000


def test_a_burst_is_written_while_read_once_per_lead_and_a_persons_change_stands(sandbox_factory, make_loop):
    sb = sandbox_factory(seed="demo", partners=40, leads=LEADS, random_seed=5)
    loop = make_loop(sb)
    sb.clock.advance(timedelta(minutes=3))
    cx = loop.cx
    admin = next(u["Id"] for u in sb.org.records("User") if u["Name"] == "Sandbox Admin")
    real_update = cx.client.update
    in_flight: set[str] = set()
    guard = threading.Lock()
    seen = {"calls": 0, "overlap": [], "taken": None, "threads": set()}

    def update(sobject, records):
        owners = {r.get("OwnerId") for r in records if r.get("OwnerId")}
        with guard:
            seen["calls"] += 1
            seen["threads"].add(threading.current_thread().name)
            seen["overlap"] += sorted(owners & in_flight)
            in_flight.update(owners)
            if seen["taken"] is None:
                # a person takes a lead whose decision is still waiting to be written
                with cx.store.connect() as conn:
                    ids = {r["Id"] for r in records}
                    waiting = [r.lead_id for r in conn.execute(
                        select(outbox.c.lead_id).where(outbox.c.status == "pending").order_by(outbox.c.id.desc())
                        .limit(50)) if r.lead_id not in ids]
                if waiting:
                    seen["taken"] = waiting[0]
                    sb.org.update("Lead", waiting[0], {"OwnerId": admin}, as_user=admin)
        try:
            return real_update(sobject, records)
        finally:
            with guard:
                in_flight.difference_update(owners)

    cx.client.update = update
    result = loop.cycle(partners_act=False)["leads"]
    counts = result.counts

    assert counts.get("flush_written_while_reading", 0) > 0, counts
    assert any(name.startswith("leadrouter-write") for name in seen["threads"]), seen["threads"]
    assert seen["overlap"] == [], "two calls in flight updated leads of the same owner"
    taken = seen["taken"]
    assert taken is not None
    lead = loop.lead(taken)
    assert lead["OwnerId"] == admin, "the person's owner stands"
    assert lead["Routing_Status__c"] == "Released" and "person" in lead["Routing_Reason__c"]
    with cx.store.connect() as conn:
        per_lead = dict(conn.execute(select(outbox.c.lead_id, func.count()).where(outbox.c.status == "confirmed")
                                     .group_by(outbox.c.lead_id)).all())
        open_left = conn.execute(select(func.count()).where(outbox.c.status.in_(("pending", "sent")))).scalar()
    assert open_left == 0
    routed = [i for i, n in per_lead.items() if i != taken]
    assert len(routed) == LEADS - 1 and all(per_lead[i] == 1 for i in routed), "every lead written exactly once"


def test_lanes_hold_whole_owners_and_balance():
    entries = [{"id": i, "payload": {"OwnerId": f"005{i % 7}"}} for i in range(100)]
    lanes = by_owner(entries, 3)
    owners = [{e["payload"]["OwnerId"] for e in lane} for lane in lanes]
    assert sum(len(lane) for lane in lanes) == 100
    assert all(not (a & b) for i, a in enumerate(owners) for b in owners[i + 1:])
    assert max(map(len, lanes)) - min(map(len, lanes)) <= 15
    assert all([e["id"] for e in lane] == sorted(e["id"] for e in lane) for lane in lanes)

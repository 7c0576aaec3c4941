"""A rebuilt state reads every live lead once more, to take in the answers partners gave
while the state was gone. It reads and handles them a batch at a time, in the order the
answers were given, so an org with hundreds of thousands of accepted leads is not held in
memory at once — and it decides exactly as it does reading them all at once."""
from __future__ import annotations

from datetime import timedelta

import pytest

from jobs import leads as lead_stream
from jobs.state import schema

pytestmark = pytest.mark.e2e


def _rebuilt(org, make_loop, name: str) -> tuple[dict, dict, list[int]]:
    from jobs import recovery

    fresh = make_loop(org, name=name)
    sizes: list[int] = []
    read = fresh.cx.client.read_by_ids

    def counted(sobject, fields, ids):
        ids = list(ids)
        if sobject == "Lead":
            sizes.append(len(ids))
        return read(sobject, fields, ids)

    fresh.cx.client.read_by_ids = counted
    recovery.ensure(fresh.cx, org.clock.now())
    with fresh.cx.store.connect() as conn:
        offers = {(r.lead_id, r.partner_id, r.kind): r.status for r in conn.execute(schema.offers.select())}
        states = {r.lead_id: r.state for r in conn.execute(schema.leads.select())}
    return offers, states, sizes


def test_answers_given_while_the_state_was_gone_are_taken_in_a_batch_at_a_time(org, make_loop, monkeypatch):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    org.clock.advance(timedelta(hours=3))
    org.simulator.step(org.clock.now())  # partners answer; nobody reads it: the state file is lost
    org.clock.advance(timedelta(seconds=2))
    live = len(loop.live())
    assert live >= 20

    whole_offers, whole_states, whole_sizes = _rebuilt(org, make_loop, "whole")
    assert max(whole_sizes) >= live - 5  # every live lead in one read (the refresh's)

    monkeypatch.setattr(lead_stream, "REFRESH_BATCH", 7)
    batch_offers, batch_states, batch_sizes = _rebuilt(org, make_loop, "batched")
    assert max(batch_sizes) <= 7, batch_sizes
    assert batch_offers == whole_offers
    assert batch_states == whole_states
    taken = {k for k, v in batch_offers.items() if v in ("accepted", "rejected")}
    assert taken, "some answers given meanwhile were taken in"

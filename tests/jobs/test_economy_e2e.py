"""API economy: 10,000 new leads through the whole loop for at most 8 calls per 1,000.

Counted by the sandbox org (what Salesforce's daily limit would count), over two full
cycles: the one that routes and writes, and the next, which reads back the echo of
those writes in the lead stream and finds nothing left to do.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

LEADS = 10_000


def test_ten_thousand_new_leads_cost_at_most_eight_calls_per_thousand(sandbox_factory, make_loop):
    sb = sandbox_factory(seed="demo", partners=60, leads=LEADS, random_seed=11)
    loop = make_loop(sb)
    sb.clock.advance(timedelta(minutes=10))  # the leads arrived over time, not this very second
    sb.counters.reset()
    started = time.monotonic()
    first = loop.cycle(partners_act=False)
    second = loop.cycle(partners_act=False)
    seconds = time.monotonic() - started
    calls = sb.counters.snapshot()["api_calls"]
    routed = sum(v for k, v in first["leads"].counts.items() if k.startswith("routed_"))
    print(f"\n{routed} leads routed and written back: {calls} API calls "
          f"({calls / (LEADS / 1000):.1f} per 1,000), {seconds:.1f} s; "
          f"per job: { {k: r.api_calls for k, r in {**first, **{f'2:{k}': v for k, v in second.items()}}.items()} }")
    assert routed == LEADS
    assert first["leads"].counts.get("flush_confirmed") == LEADS
    assert calls <= 8 * LEADS / 1000
    assert sum(r.api_calls for r in first.values()) + sum(r.api_calls for r in second.values()) == calls

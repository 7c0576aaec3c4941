"""The org's API usage above the pause threshold for the rest of its day: the non-urgent
jobs are held back, said once as a warning by the budget when it starts (and once when it
ends), not as a warning from every held run of every job at every interval."""
from __future__ import annotations

import pytest
import structlog

pytestmark = [pytest.mark.e2e]


def test_jobs_held_back_by_the_budget_are_said_once_not_at_every_run(org, make_loop):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    org.limit.set(maximum=10_000, used=9_900)  # other integrations spent the org's day
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            results = loop.cycle(partners_act=False)
    assert results["sync_partners"].counts == {"skipped_budget": 1}, results["sync_partners"].counts
    warnings = [e["event"] for e in logs if e["log_level"] in ("warning", "error")]
    assert warnings == ["api budget: holding back non-urgent jobs"], warnings
    assert sum(1 for e in logs if e["event"] == "job_held_back") >= 6, "each held run is still in the log, as info"

"""Routing before any partner sync has succeeded is an outage the log explains in one
line (the sync's own failure says why; routing waits), not a bug with a traceback; and
the first cycle after the sync works routes the leads that waited."""
from __future__ import annotations

import io
import json
import logging

from jobs.logging import configure
from jobs.partners import NoPartnersYet


def test_routing_before_the_first_partner_sync_waits_in_one_line_then_routes_once_the_sync_works(org, loop):
    attempts = loop.cx.client.config.retry.max_attempts
    # the org answers the partner sync's first query (the partner Accounts) with a 500 each try
    org.faults.plan("500", count=attempts, endpoint="GET query")
    buf = io.StringIO()
    configure("json", "info", stream=buf)
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, logging.StreamHandler) and h.stream is buf]
    try:
        first = loop.cycle(raise_errors=False)
    finally:
        for h in ours:
            root.removeHandler(h)

    assert first["sync_partners"].error, "the partner sync failed"
    assert org.faults.injected.get("500") == attempts, "the faults met the partner query, none was left over"
    assert first["leads"].error and first["leads"].error.startswith("NoPartnersYet: "), first["leads"]
    text = buf.getvalue()
    assert "Traceback" not in text, text
    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    failed = [x for x in lines if x["event"] == "job_failed" and x.get("job") == "leads"]
    assert len(failed) == 1 and failed[0]["error"].startswith("NoPartnersYet: "), failed
    assert "exception" not in failed[0], failed[0]
    said = failed[0]["error"]
    assert "sync_partners" in said and "job_failed" in said and "next" in said, said
    assert not loop.live(), "nothing can be offered without partners"

    second = loop.cycle()
    assert all(r.error is None for r in second.values()), {k: r.error for k, r in second.items()}
    routed = {k: v for k, v in second["leads"].counts.items() if k.startswith("routed_") and k != "routed_unroutable"}
    assert sum(routed.values()) > 0, second["leads"].counts
    assert loop.live(), "the leads that waited are offered once the partners are known"


def test_the_error_names_what_failed_and_what_happens_next():
    said = str(NoPartnersYet())
    assert "no partners" in said and "sync_partners" in said and "next" in said, said
    assert isinstance(NoPartnersYet(), RuntimeError)

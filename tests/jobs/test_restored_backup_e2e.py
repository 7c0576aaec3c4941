"""A state restored from a backup does not know the leads routed after the backup was
taken. They are ours (LeadHistory says our integration user wrote their routing status),
but acting on them could act twice when the state that routed them is still running (a
second connector on the org with its own state), so they are left alone — and said, once
per run, with the count and the fix, instead of silently: their offers would lapse with
nobody following up."""
from __future__ import annotations

import shutil

import pytest
import structlog

from sandbox.seed import add_leads

pytestmark = pytest.mark.e2e


def test_leads_routed_after_a_restored_backup_are_named_with_the_fix(org, make_loop, tmp_path):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    loop.cx.store.dispose()
    shutil.copy(tmp_path / "state.sqlite", tmp_path / "restored.sqlite")  # the backup
    new = add_leads(org.org, 30, random_seed=5)
    loop.cycle(partners_act=False)  # routed after the backup was taken
    live = {i for i in new if org.org.get("Lead", i).get("Routing_Status__c") in ("Offered", "Accepted")}
    assert live
    by_a_person = add_leads(org.org, 1, random_seed=6)[0]
    org.org.update("Lead", by_a_person, {"Routing_Status__c": "Offered"})  # not ours: no warning for it

    restored = make_loop(org, name="restored")
    with structlog.testing.capture_logs() as logs:
        results = restored.cycle(partners_act=False)
    said = [e for e in logs if e["event"] == "routed_leads_unknown_to_state"]
    assert len(said) == 1 and said[0]["count"] == len(live), said
    assert "state rebuild" in said[0]["fix"] and said[0]["log_level"] == "warning"
    assert results["leads"].counts["unknown_routed"] == len(live)
    assert not restored.live().keys() & set(new)  # left alone: the state that routed them may still run

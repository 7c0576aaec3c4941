"""A NUL character typed into the org (a partner's decline reason pasted from another
system) on a PostgreSQL state: PostgreSQL's text columns refuse a NUL byte, so the first
insert carrying it failed the whole lead job — at every run, since the answer is read
again — and every other lead behind it waited. SQLite takes it; both must route on."""
from __future__ import annotations

from pathlib import Path

import pytest

import tests.badinput.harness as harness
from tests.jobs.pg import temp_database

from .lead_cases import BASE

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


@pytest.fixture
def rig(tmp_path: Path, monkeypatch):
    with temp_database() as url:
        plain = harness.config_text
        monkeypatch.setattr(harness, "config_text", lambda *a, **k: plain(*a, **k).replace(
            'url = "sqlite:///state.sqlite"', f'url = "{url}"'))
        r = harness.start_rig(tmp_path / "rig")
        try:
            yield r
        finally:
            r.close()


def test_a_decline_reason_with_a_nul_is_stored_and_the_batch_goes_on(rig):
    org = rig.sb.org
    leads = [org.create("Lead", {**BASE, "LastName": f"Nul {i}"}, as_user=org.admin_user_id) for i in range(2)]
    rig.cycle()
    assert [rig.lead(i)["Routing_Status__c"] for i in leads] == ["Offered", "Offered"]
    declined, accepted = leads
    org.update("Lead", declined, {"Partner_Response__c": "Rejected", "Rejection_Reason__c": "No\x00capacity"})
    org.update("Lead", accepted, {"Partner_Response__c": "Accepted"})
    results = rig.cycle()
    assert {n: r.error for n, r in results.items() if r.error} == {}
    assert rig.lead(accepted)["Routing_Status__c"] == "Accepted"
    after = rig.lead(declined)
    assert after["Routing_Status__c"] == "Offered" and after["Routing_Reason__c"].startswith("offer 1 was rejected")
    assert [o["status"] for o in rig.offers(declined)][:1] == ["rejected"]

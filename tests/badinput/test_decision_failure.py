"""One lead whose decision meets a defect does not stop the leads behind it, and the lead
says so where an admin looks."""
from __future__ import annotations

import pytest

from rules.router import Router

from .harness import start_rig
from .lead_cases import BASE

pytestmark = pytest.mark.e2e


def poison_company(monkeypatch, company: str):
    """The engine meets a defect on the leads of this company only; returns the sound decide."""
    decide = Router.decide

    def flaky(self, lead, *args, **kwargs):
        if lead.company == company:
            raise KeyError("a defect the engine meets on this lead only")
        return decide(self, lead, *args, **kwargs)

    monkeypatch.setattr(Router, "decide", flaky)
    return decide


def test_a_decision_that_fails_parks_its_lead_as_unroutable_and_the_others_are_routed(tmp_path, monkeypatch):
    rig = start_rig(tmp_path / "rig")
    try:
        org = rig.sb.org
        make = dict(BASE)  # a San Francisco lead the corpus rules offer
        ids = [org.create("Lead", {**make, "Company": name}, as_user=org.admin_user_id)
               for name in ("Before GmbH", "Poison GmbH", "After GmbH")]
        decide = poison_company(monkeypatch, "Poison GmbH")
        results = rig.cycle()
        assert all(r.get("ok", True) for r in results.values() if isinstance(r, dict)), results
        before, poison, after = (rig.lead(i) for i in ids)
        assert before["Routing_Status__c"] == after["Routing_Status__c"] == "Offered", (before, after)
        assert poison["Routing_Status__c"] == "Unroutable"
        assert "routing this lead failed on a defect in leadrouter (KeyError" in poison["Routing_Reason__c"]
        assert "Pending" in poison["Routing_Reason__c"]
        failed = [e for e in rig.logs.events() if e.get("event") == "decision_failed"]
        assert [e["lead_id"] for e in failed] == [ids[1]] and failed[0]["error"] == "KeyError"

        monkeypatch.setattr(Router, "decide", decide)  # the defect fixed: the admin asks again
        org.update("Lead", ids[1], {"Routing_Status__c": "Pending"}, as_user=org.admin_user_id)
        rig.cycle()
        assert rig.lead(ids[1])["Routing_Status__c"] == "Offered"
    finally:
        rig.close()


def test_a_redistribution_that_fails_escalates_the_lead_saying_why_and_the_poll_goes_on(tmp_path, monkeypatch):
    rig = start_rig(tmp_path / "rig")
    try:
        org = rig.sb.org
        ids = [org.create("Lead", {**BASE, "Company": name}, as_user=org.admin_user_id)
               for name in ("Poison GmbH", "Fine GmbH")]
        rig.cycle()
        leads = [dict(rig.lead(i)) for i in ids]  # as they were (the org hands out its live rows)
        assert [v["Routing_Status__c"] for v in leads] == ["Offered", "Offered"], leads
        poison_company(monkeypatch, "Poison GmbH")
        for v in leads:  # both partners' reps say no: each lead is decided again
            org.update("Lead", v["Id"], {"Partner_Response__c": "Rejected", "Rejection_Reason__c": "No capacity"},
                       as_user=v["OwnerId"])
        results = rig.cycle()
        assert all(r.get("ok", True) for r in results.values() if isinstance(r, dict)), results
        poison, fine = (rig.lead(i) for i in ids)
        assert poison["Routing_Status__c"] in ("Escalated", "Unroutable"), poison
        assert "routing this lead failed on a defect in leadrouter (KeyError" in poison["Routing_Reason__c"], poison
        assert fine["Routing_Status__c"] in ("Offered", "Escalated") and fine["Routing_Attempt__c"] == 2, fine
        assert fine["PartnerAccountId"] != leads[1]["PartnerAccountId"] or fine["Routing_Status__c"] == "Escalated"
    finally:
        rig.close()

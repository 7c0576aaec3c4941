"""A lead `leadrouter undo --apply` put back is let go of in the state, and a let-go lead
quiet for `[state] retention_days` is pruned from it. Its Routing Status is empty, as a new
lead's: when a person then edited it, `once` read it as a new lead and routed it — and
emailed a rep — though the Lead still said `Put back by leadrouter undo --run …`. `once`
reads that reason as dry-run and explain do (jobs/route.not_ours) and leaves it alone."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs import housekeeping
from jobs.state.schema import leads as LEADS
from tests.jobs.test_undo_survives_rebuild_e2e import _last_leads_run, _undo

pytestmark = pytest.mark.e2e


def test_a_lead_undo_put_back_stays_put_back_once_the_state_has_pruned_it(org, make_loop):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    put_back = _undo(loop, _last_leads_run(loop))
    assert len(put_back) >= 3
    later = loop.cx.clock.now() + timedelta(days=loop.cx.settings.state.retention_days + 1)
    assert housekeeping.run(loop.cx, later).get("ended_leads_pruned", 0) >= len(put_back)
    with loop.cx.store.connect() as conn:
        assert not conn.execute(select(LEADS.c.lead_id).where(LEADS.c.lead_id.in_(put_back))).all()
    edited = put_back[:3]
    for lead_id in edited:  # a person works them: the next run reads them again
        org.org.update("Lead", lead_id, {"Description": "called, call back in spring"})
    before = {i: (loop.lead(i)["Routing_Status__c"], loop.lead(i)["OwnerId"]) for i in edited}
    org.notifications.clear()

    loop.cycle(partners_act=False)

    assert {i: (loop.lead(i)["Routing_Status__c"], loop.lead(i)["OwnerId"]) for i in edited} == before
    assert not org.notifications.all("emailSimple") and not org.notifications.all("customNotificationAction")

"""What `leadrouter undo --apply` put back stays put back when the state is lost: the
leads it gave back to their queue (Routing Status empty again, the reason saying
`Put back by leadrouter undo --run …`) were routed again — and their reps emailed — by the
first run on a rebuilt state, which took them for new leads. With the state kept they are
left alone; a person sets Pending to route one again."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from jobs.ops import undo
from jobs.state.schema import job_runs
from jobs.state.schema import leads as LEADS

pytestmark = pytest.mark.e2e


def _last_leads_run(loop) -> str:
    with loop.cx.store.connect() as conn:
        return conn.execute(select(job_runs.c.run_id).where(job_runs.c.job == "leads")
                            .order_by(job_runs.c.id.desc())).scalar()


def _undo(loop, run_id: str) -> list[str]:
    store, cx = loop.cx.store, loop.cx
    window = undo.run_window(store, run_id)
    items = undo.plan(cx.client, cx.mappings, undo.decided_leads(store, window), window)
    undo.apply(cx, items, run_id, cx.clock.now(), store)
    return [i.lead_id for i in items if i.written]


@pytest.mark.parametrize("lose_state", [False, True], ids=["state kept", "state lost"])
def test_leads_put_back_by_undo_are_not_routed_again_by_a_rebuilt_state(org, make_loop, lose_state):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    run_id = _last_leads_run(loop)
    put_back = _undo(loop, run_id)
    assert len(put_back) >= 10
    before = {i: (loop.lead(i)["Routing_Status__c"], loop.lead(i)["OwnerId"]) for i in put_back}
    assert {status for status, _ in before.values()} == {None}
    org.notifications.clear()

    if lose_state:
        loop = make_loop(org, name="rebuilt")
    loop.cycle(partners_act=False)

    after = {i: (loop.lead(i)["Routing_Status__c"], loop.lead(i)["OwnerId"]) for i in put_back}
    assert after == before, "leads undo put back were routed again"
    assert not org.notifications.all("emailSimple") and not org.notifications.all("customNotificationAction")
    with loop.cx.store.connect() as conn:
        states = {r.state for r in conn.execute(LEADS.select().where(LEADS.c.lead_id.in_(put_back)))}
    assert states == {"released"}

"""Partner feedback outlives a lost state: the answers it is counted from come back from
the org. The rejection reason is a history-tracked field, so a state rebuilt from the org
(a deleted file, a new database) holds each partner's declines with their reasons, and
the throttle or the stop they caused is in force again — not handed back to a partner
that said "No capacity" twice, or "Out of territory" three times, an hour before."""
from __future__ import annotations

import pytest

from jobs import feedback

from .test_feedback_territory_e2e import _partner_sharing_its_area
from .test_portal_answer_e2e import answer_as_rep

pytestmark = pytest.mark.e2e


def _decline(loop, offers: list[dict], code: str, words: str) -> None:
    for o in offers:
        answer_as_rep(loop.sb, o["lead_id"], o["rep_id"], {
            "Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": code,
            "Rejection_Reason__c": f"{code}: {words}"})


def test_a_throttle_after_no_capacity_is_in_force_again_in_a_new_state(org, make_loop):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    pid, offers = loop.busiest_partner()
    declared = loop.cx.routing().partners[pid].capacity
    assert declared and declared > 1 and len(offers) >= 2
    _decline(loop, offers[:2], feedback.NO_CAPACITY, "two reps on leave")
    loop.cycle(partners_act=False)  # the declines are taken in, the leads offered elsewhere
    loop.cx.snapshot_changed()
    inferred = loop.cx.routing().feedback.capacity[pid]
    assert inferred[0] < declared

    fresh = make_loop(org, name="fresh")  # the state file is gone: a new one
    fresh.cycle(partners_act=False)
    fresh.cx.snapshot_changed()
    assert fresh.cx.routing().feedback.capacity[pid] == inferred
    declined = {o["lead_id"] for o in offers[:2]}
    with fresh.cx.store.connect() as conn:
        from sqlalchemy import select

        from jobs.state.schema import exclusions, offers as offer_rows

        rows = conn.execute(select(offer_rows.c.lead_id, offer_rows.c.close_reason)
                            .where(offer_rows.c.partner_id == pid, offer_rows.c.status == "rejected")).all()
        bars = conn.execute(select(exclusions.c.lead_id, exclusions.c.outcome)
                            .where(exclusions.c.partner_id == pid)).all()
    assert {r.lead_id for r in rows} == declined
    assert all(r.close_reason.startswith(feedback.NO_CAPACITY) for r in rows)
    assert {(lid, "rejected") for lid in declined} <= set(bars)  # still barred from the leads it declined


def test_an_area_stopped_by_out_of_territory_declines_stays_stopped_in_a_new_state(org, make_loop):
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    pid, offers = _partner_sharing_its_area(loop)
    first = loop.lead(offers[0]["lead_id"])
    area = {k: first.get(k) for k in ("Country", "State", "PostalCode", "City")}
    for o in offers[1:]:
        loop.sb.org.update("Lead", o["lead_id"], area)
    where = feedback.area_of(loop.cx.mappings.lead_converter()(first))
    _decline(loop, offers, feedback.OUT_OF_TERRITORY, "we do not work there")
    loop.cycle(partners_act=False)
    loop.cx.snapshot_changed()
    assert loop.cx.routing().feedback.stopped == {pid: {where: feedback.STOP_AFTER}}

    fresh = make_loop(org, name="fresh")
    fresh.cycle(partners_act=False)
    fresh.cx.snapshot_changed()
    assert fresh.cx.routing().feedback.stopped == {pid: {where: feedback.STOP_AFTER}}


def test_our_own_clearing_of_the_reason_is_not_a_decline(org, make_loop):
    """The connector clears the reason when it offers the lead again; LeadHistory has
    that change too, by our integration user, and it must not count as an answer."""
    loop = make_loop(org)
    loop.cycle(partners_act=False)
    pid, offers = loop.busiest_partner()
    _decline(loop, offers[:1], feedback.NO_CAPACITY, "full")
    loop.cycle(partners_act=False)
    lead = loop.lead(offers[0]["lead_id"])
    assert not lead.get("Rejection_Reason__c"), "re-offered: the reason is cleared for the next partner"
    history = [r for r in loop.sb.org.records("LeadHistory")
               if r["LeadId"] == offers[0]["lead_id"] and r["Field"] == "Rejection_Reason__c"]
    assert [bool(r["NewValue"]) for r in history] == [True, False]

    fresh = make_loop(org, name="fresh")
    fresh.cycle(partners_act=False)
    with fresh.cx.store.connect() as conn:
        from sqlalchemy import func, select

        from jobs.state.schema import offers as offer_rows

        n = conn.execute(select(func.count()).select_from(offer_rows)
                         .where(offer_rows.c.status == "rejected")).scalar()
    assert n == 1

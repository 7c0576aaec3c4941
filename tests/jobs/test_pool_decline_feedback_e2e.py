"""A pool member's decline counts in that partner's feedback as a pushed offer's decline
does: its "Out of territory" counts against the lead's area for that partner (so enough
of them stop the area), and the decline is on the partner's track record. The pool offer
still stands for the other members: one member's decline moves nothing away from them."""
from __future__ import annotations

import pytest

from jobs import feedback

from .test_outsider_answer_e2e import save_as
from .test_pool_answers_e2e import pooled  # noqa: F401  (the fixture)
from .test_portal_answer_e2e import ANSWERS

pytestmark = pytest.mark.e2e


def test_a_pool_members_decline_counts_in_its_feedback_and_the_pool_offer_stands(org, pooled):  # noqa: F811
    loop, lead_id, offer, (declined_partner, decliner), (other_partner, _) = pooled
    answer = ANSWERS["reject_out_of_territory"]["fields"]
    assert feedback.code_of(answer["Rejection_Reason__c"]) == feedback.OUT_OF_TERRITORY

    assert save_as(org, decliner, lead_id, answer).status_code == 204
    loop.cycle(partners_act=False)

    loop.cx.snapshot_changed()  # feedback is gathered afresh with the routing build
    fb = loop.cx.routing().feedback
    area = feedback.area_of(loop.cx.mappings.lead_converter()(loop.lead(lead_id)))
    assert area
    assert fb.territory.get(declined_partner, {}).get(area) == 1, fb.territory
    assert other_partner not in fb.territory or area not in fb.territory[other_partner]
    # the track record reads it as a decline, as it reads a pushed offer's
    with loop.cx.store.begin() as conn:
        from jobs import lifecycle

        state = lifecycle.load_state(conn, [lead_id])
    assert state.performance[declined_partner].rejected >= 1, state.performance.get(declined_partner)

    # the pool offer stands for the other members
    lead = loop.lead(lead_id)
    assert (lead["OwnerId"], lead["Routing_Status__c"]) == (offer["queue_id"], "Offered")
    assert loop.live()[lead_id]["id"] == offer["id"]


def test_a_pool_members_decline_is_rebuilt_with_the_state(org, pooled, make_loop):  # noqa: F811
    """The state is lost after a member declined the pool lead: the rebuilt state bars that
    member (its pick-up is undone, as live), counts the decline in its feedback and on its
    track record, and leaves the pool offer to the others."""
    loop, lead_id, offer, (declined_partner, decliner), (other_partner, _) = pooled
    assert save_as(org, decliner, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)

    rebuilt = make_loop(org, pools=True, name="rebuilt")  # the state file is gone
    rebuilt.cycle(partners_act=False)
    from jobs import lifecycle

    with rebuilt.cx.store.begin() as conn:
        state = lifecycle.load_state(conn, [lead_id])
    assert state.excluded.get(lead_id, {}).get(declined_partner) == "rejected", state.excluded.get(lead_id)
    assert other_partner not in state.excluded.get(lead_id, {})
    assert state.performance[declined_partner].rejected >= 1, state.performance.get(declined_partner)
    rebuilt.cx.snapshot_changed()
    area = feedback.area_of(rebuilt.cx.mappings.lead_converter()(rebuilt.lead(lead_id)))
    assert rebuilt.cx.routing().feedback.territory.get(declined_partner, {}).get(area) == 1
    assert rebuilt.live()[lead_id]["kind"] == "pool"
    # the member that declined does not get it after all: its pick-up is undone, as live
    assert save_as(org, decliner, lead_id, {**ANSWERS["accept"], "OwnerId": decliner}).status_code == 204
    rebuilt.cycle(partners_act=False)
    assert rebuilt.lead(lead_id)["OwnerId"] == offer["queue_id"]

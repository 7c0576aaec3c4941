"""A rating of lead quality (`Lead_Quality_Rating__c`) counts for whoever set it, not for
whoever holds the lead when the connector reads it: the partner whose rep rated a lead and
then rejected it keeps its rating when the lead moves on to the next partner, and a rating
set by a person of the org is the org's own, no partner's. LeadHistory of the field (tracked
as shipped) says who set it; where it is not tracked the rating is credited to the partner
holding the lead, and `leadrouter feedback` says so. Every save goes over HTTPS with the
user's own session."""
from __future__ import annotations

import pytest

from jobs import ratings
from jobs.ops import feedback as feedback_command
from sandbox.simulator import Profile

from .test_feedback_rating_e2e import _loop
from .test_portal_answer_e2e import ANSWERS, answer_as_rep

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))


@pytest.fixture
def rated_loop(org, tmp_path):
    """Offers made under a rule that reads ratings (the lead score, `lead_quality_ratings`)."""
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop = _loop(org, tmp_path)
    loop.cycle(partners_act=False)
    yield loop
    loop.cx.client.close()
    loop.cx.store.dispose()


def _rebuilt(loop):
    loop.cx.snapshot_changed()
    return loop.cx.routing()


def _rate_then_reject(loop, offer: dict, stars: str) -> None:
    """The offered rep rates the lead, then rejects it: it goes on to the next partner."""
    answer_as_rep(loop.sb, offer["lead_id"], offer["rep_id"], {ratings.RATING_FIELD: stars})
    answer_as_rep(loop.sb, offer["lead_id"], offer["rep_id"], ANSWERS["reject_out_of_territory"]["fields"])
    loop.cycle(partners_act=False)
    after = loop.lead(offer["lead_id"])
    assert after["PartnerAccountId"] != offer["partner_id"], "the lead moved on from the partner that rated it"
    return after


def test_a_rating_counts_for_the_partner_whose_rep_set_it_after_the_lead_moved_on(rated_loop):
    loop = rated_loop
    offer = next(o for _, o in sorted(loop.live().items()) if o["kind"] == "offer")
    after = _rate_then_reject(loop, offer, "1")
    routing = _rebuilt(loop)
    assert routing.feedback.quality.get(offer["partner_id"]) == (1.0, 1)
    holder = after["PartnerAccountId"]
    assert holder is None or holder not in routing.feedback.quality  # the lead's new partner rated nothing
    assert routing.partners[offer["partner_id"]].extra["lead_quality"] == 1.0
    text = feedback_command.render(routing.feedback.to_dict())
    assert "credited to the partner holding" not in text


def test_a_rating_set_by_a_person_of_the_org_is_the_orgs_not_the_holding_partners(org, rated_loop):
    loop = rated_loop
    offer = next(o for _, o in sorted(loop.live().items()) if o["kind"] == "offer")
    answer_as_rep(org, offer["lead_id"], org.org.admin_user_id, {ratings.RATING_FIELD: "5"})
    loop.cycle(partners_act=False)
    routing = _rebuilt(loop)
    assert offer["partner_id"] not in routing.feedback.quality
    data = routing.feedback.to_dict()
    assert data["org_lead_quality"] == {"average_rating": 5.0, "ratings": 1}
    assert "the org's own people rate leads 5.0 of 5" in feedback_command.render(data)


def test_without_history_of_the_field_a_rating_is_credited_to_the_holding_partner_and_said(
        org, rated_loop, monkeypatch):
    monkeypatch.setattr(org.org.schema.object("Lead").field(ratings.RATING_FIELD), "track_history", False)
    loop = rated_loop
    offer = next(o for _, o in sorted(loop.live().items()) if o["kind"] == "offer")
    after = _rate_then_reject(loop, offer, "2")
    routing = _rebuilt(loop)
    assert offer["partner_id"] not in routing.feedback.quality
    if after["PartnerAccountId"]:
        assert routing.feedback.quality[after["PartnerAccountId"]] == (2.0, 1)
    data = routing.feedback.to_dict()
    assert data["ratings_credited_to_holder"] == 1
    text = feedback_command.render(data)
    assert "1 rating credited to the partner holding the lead" in text and "history" in text

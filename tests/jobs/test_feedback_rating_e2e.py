"""The partner's rating of lead quality (issue 17, item 3), end to end over the sandbox: reps
rate leads they were offered on `Lead_Quality_Rating__c` with their own session; at the
next routing build leads like the ones rated low score lower than leads like the ones rated
high, the partner's average rating is its `lead_quality` fact, and `leadrouter feedback`
shows it. Without the field in the org routing goes on and says so."""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from jobs import ratings
from jobs.ops import feedback as feedback_command
from rules.predictive import segment_of

from .conftest import Loop, build_connector
from .rules_for_tests import BASE
from .test_portal_answer_e2e import answer_as_rep

pytestmark = pytest.mark.e2e

RULES = BASE + """
[[ruleset]]
name = "Everyone"

  [[ruleset.rule]]
  name = "Promising leads, best predicted fit"
  when = "score >= 0"
  partners = "lead_quality_ratings >= 0"
  match = { geography = true }
  distribute = "predictive"
  otherwise = "escalate"
"""


def _loop(sb, tmp_path: Path) -> Loop:
    rules = tmp_path / "rated.toml"
    rules.write_text(RULES)
    cx = build_connector(sb, f"sqlite:///{tmp_path}/state.sqlite", rules=rules)
    return Loop(sb, cx)


def test_ratings_on_leads_move_the_score_by_segment_and_are_the_partners_lead_quality(org, tmp_path):
    loop = _loop(org, tmp_path)
    try:
        loop.cycle(partners_act=False)
        offers = [o for o in loop.live().values() if o["kind"] == "offer"]
        by_source: dict[str, list[dict]] = {}
        for o in offers:
            by_source.setdefault(loop.lead(o["lead_id"]).get("LeadSource") or "", []).append(o)
        low, high = sorted((s for s in by_source if s), key=lambda s: (-len(by_source[s]), s))[:2]
        rated = [(o, "1") for o in by_source[low][:3]] + [(o, "5") for o in by_source[high][:3]]
        routing = loop.cx.routing()
        learner = routing.learning.learner
        sample = loop.cx.mappings.lead_converter()(loop.lead(by_source[low][0]["lead_id"]))
        as_low, as_high = dataclasses.replace(sample, source=low), dataclasses.replace(sample, source=high)
        assert learner.rating_lift(segment_of(as_low)) == learner.rating_lift(segment_of(as_high)) == 0.0

        for o, stars in rated:  # the rep of the partner that got the lead rates it
            answer_as_rep(loop.sb, o["lead_id"], o["rep_id"], {ratings.RATING_FIELD: stars})
        loop.cycle(partners_act=False)
        loop.cx.snapshot_changed()
        routing = loop.cx.routing()
        assert routing.learning.learner is learner  # the same learner, told the ratings afresh
        assert learner.score(as_low) < learner.score(as_high)
        # the sample's other keys (its country, industry…) are the low-rated leads' too: only its source differs
        assert learner.rating_lift(segment_of(as_low)) < min(0.0, learner.rating_lift(segment_of(as_high)))

        # the partner's average rating of the leads it got is a fact rules can name
        pid = rated[0][0]["partner_id"]
        mine = [int(stars) for o, stars in rated if o["partner_id"] == pid]
        facts = routing.partners[pid].extra
        assert (facts["lead_quality"], facts["lead_quality_ratings"]) == (round(sum(mine) / len(mine), 2), len(mine))
        assert routing.feedback.quality[pid] == (facts["lead_quality"], len(mine))
        text = feedback_command.render(routing.feedback.to_dict())
        assert f"rates its leads {facts['lead_quality']:.1f} of 5" in text

        # ratings changed or taken back are read afresh: nothing is counted twice
        for o, _ in rated:
            answer_as_rep(loop.sb, o["lead_id"], o["rep_id"], {ratings.RATING_FIELD: None})
        loop.cycle(partners_act=False)
        loop.cx.snapshot_changed()
        routing = loop.cx.routing()
        assert learner.rating_lift(segment_of(as_low)) == 0.0 and pid not in routing.feedback.quality
        assert routing.partners[pid].extra["lead_quality"] is None
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


def test_an_org_without_the_rating_field_routes_without_ratings(org, tmp_path):
    loop = _loop(org, tmp_path)
    try:
        with org.org.lock:  # an org where salesforce/ was deployed before the field existed (its own schema:
            schema = copy.deepcopy(org.org.schema)  # the default one is shared by every org of the process)
            lead = schema.object("Lead")
            lead.fields.pop(ratings.RATING_FIELD)
            lead._reindex()
            org.org.schema = schema
        assert ratings.ratings(loop.cx.client, loop.cx.clock.now()) is None
        loop.cycle(partners_act=False)
        routing = loop.cx.routing()
        assert routing.feedback.rated is None and loop.live()
        assert "ratings not read" in feedback_command.render(routing.feedback.to_dict())
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()

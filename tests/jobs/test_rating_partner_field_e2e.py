"""A partner's rating of lead quality, where LeadHistory does not say who set it, is
credited to the partner holding the lead. That partner was read from Lead.PartnerAccountId
alone: in an org that keeps its lead partner in its own lookup (Vertriebspartner__c), or
keeps none on the Lead, every such rating was credited to nobody, and `leadrouter feedback`
showed no partner's lead quality. The holder is the mapped partner field's, or with none
the partner that accepted the lead in our offers."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from jobs import ratings

from .test_partner_field_elsewhere_e2e import _holder, alpen  # noqa: F401 — the fixture, both partner mappings

pytestmark = pytest.mark.e2e


def test_an_untracked_rating_counts_for_the_partner_holding_the_lead_in_the_orgs_own_field(alpen, monkeypatch):  # noqa: F811
    from jobs.cli import main

    a = alpen
    monkeypatch.setattr(a.org.schema.object("Lead").field(ratings.RATING_FIELD), "track_history", False)
    lead = a.new_lead("Bewertet GmbH", "DE")
    a.once(init=True)
    holder = _holder(a, lead)
    assert holder in ("isar", "donau") and a.lead(lead)["PartnerAccountId"] is None
    a.accept(lead)
    a.once(hours=1)
    assert a.lead(lead)["Zuweisung__c"] == "Angenommen"
    a.answer(lead, {ratings.RATING_FIELD: "2"})  # the partner's rep rates it
    a.once(hours=1)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["feedback", "--config", str(a.config), "--json"]) == 0
    data = json.loads(buf.getvalue())
    quality = {q["partner_id"]: (q["average_rating"], q["ratings"]) for q in data["lead_quality"]}
    assert quality == {a.partners[holder]: (2.0, 1)}, data
    assert data["ratings_credited_to_holder"] == 1

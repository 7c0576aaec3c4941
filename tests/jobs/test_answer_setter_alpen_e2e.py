"""`answer_not_taken` names who set the refused answer (`saved_by`): LeadHistory of the
org's own answer field (Partner_Antwort__c, Angenommen/Abgelehnt) read once per read batch,
not the lead's LastModifiedById — the last person who saved the lead, who here is the
offered rep saving it after an outsider answered. Alpen Systeme, whose lead partner is its
own lookup or not kept on the Lead at all."""
from __future__ import annotations

import json

import pytest

from .test_partner_field_elsewhere_e2e import _holder, alpen  # noqa: F401 — the fixture, both partner mappings

pytestmark = pytest.mark.e2e


def test_a_refused_answer_is_logged_as_set_by_the_rep_who_answered_not_by_who_saved_last(alpen, capfd):  # noqa: F811
    a = alpen
    a.org.lead_sharing_external = "ReadWrite"  # every partner user reaches every lead
    lead = a.new_lead("Fremdantwort GmbH", "DE")
    a.once(init=True)
    offered = _holder(a, lead)
    assert offered in ("isar", "donau")
    outsider = a.reps[({"isar", "donau"} - {offered}).pop()]
    a.answer(lead, {"Partner_Antwort__c": "Angenommen"}, as_user=outsider)  # a rep of a partner not offered it
    a.answer(lead, {"Title": "Einkaufsleitung"}, as_user=a.reps[offered])  # the offered rep saves it after
    assert a.lead(lead)["LastModifiedById"] == a.reps[offered]
    capfd.readouterr()
    a.once(hours=1)
    logs = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    seen = a.lead(lead)
    assert (seen["Zuweisung__c"], seen["OwnerId"], seen["Partner_Antwort__c"]) == ("Angeboten", a.reps[offered], None)
    assert "was not taken; the offer stands" in seen["Routing_Reason__c"], seen["Routing_Reason__c"]
    [logged] = [e for e in logs if e["event"] == "answer_not_taken"]
    assert (logged["saved_by"], logged["last_saved_by"]) == (outsider, a.reps[offered]), logged

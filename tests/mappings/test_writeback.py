"""Decisions written back onto the lead: field names from writeback.toml, JSON-ready values."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import load_mappings
from rules.model import Decision, DecisionKind, Response, RoutingStatus

from .helpers import LEAD_ID, load

NOW = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
REP = "0055g0000000001AAA"
PARTNER = "0015g0000000001AAA"
QUEUE = "00G5g0000000001EAA"


@pytest.fixture(scope="module")
def ms():
    return load_mappings()


def test_values_become_salesforce_fields_with_json_ready_values(ms):
    out = ms.writeback({"owner_id": "0055g0000000001", "routing_status": RoutingStatus.OFFERED, "attempt": 2,
                        "offered_at": NOW, "deadline": NOW.astimezone(timezone(timedelta(hours=2))),
                        "response": None})
    assert out == {"OwnerId": REP, "Routing_Status__c": "Offered", "Routing_Attempt__c": 2,
                   "Offered_At__c": "2024-05-01T10:00:00.123+0000", "Offer_Deadline__c": "2024-05-01T10:00:00.123+0000",
                   "Partner_Response__c": None}


def test_a_long_reason_is_cut_to_the_field_length_with_an_ellipsis(ms):
    out = ms.writeback({"reason": "x" * 300, "rule": "r" * 81, "rejection_reason": "short"})
    assert out["Routing_Reason__c"] == "x" * 254 + "…" and len(out["Routing_Reason__c"]) == 255
    assert len(out["Routing_Rule__c"]) == 80
    assert out["Rejection_Reason__c"] == "short"


def test_an_unknown_attribute_names_the_nearest_one(ms):
    with pytest.raises(KeyError, match="unknown write-back attribute 'reson' \\(did you mean 'reason'\\?\\)"):
        ms.writeback({"reson": "x"})


def test_a_naive_datetime_is_refused_rather_than_guessed(ms):
    with pytest.raises(ValueError, match="naive datetime"):
        ms.writeback({"deadline": datetime(2024, 5, 1, 10, 0)})


def test_an_attribute_the_org_does_not_keep_is_skipped(tmp_path):
    ms = load(tmp_path, '[writeback]\nsobject = "Lead"\n[writeback.fields]\nowner_id = "OwnerId"\n'
                        'routing_status = { field = "Stage__c", map = { offered = "With Partner" } }\n'
                        '[writeback.extra]\nruleset = { field = "Ruleset__c", length = 5 }\n', "writeback.toml")
    out = ms.writeback({"owner_id": QUEUE, "reason": "not kept here", "routing_status": "Offered",
                        "ruleset": "standard"})
    assert out == {"OwnerId": QUEUE, "Stage__c": "With Partner", "Ruleset__c": "stan…"}
    assert ms.writeback_fields() == {"owner_id": "OwnerId", "routing_status": "Stage__c", "ruleset": "Ruleset__c"}


def test_an_offer_sets_owner_partner_deadline_and_clears_the_previous_answer(ms):
    decision = Decision(lead_id=LEAD_ID, kind=DecisionKind.OFFER, reason="Gold partner covering US-CA", rule="west",
                        partner_id=PARTNER, rep_id=REP, offered_at=NOW, deadline=NOW + timedelta(hours=48), attempt=2,
                        calendar="America/Los_Angeles; Mon Tue Wed Thu Fri; 09:00-17:00")
    assert ms.decision_writeback(decision, RoutingStatus.OFFERED) == {
        "Routing_Status__c": "Offered", "Routing_Reason__c": "Gold partner covering US-CA", "Routing_Rule__c": "west",
        "Routing_Attempt__c": 2, "OwnerId": REP, "PartnerAccountId": PARTNER,
        "Offered_At__c": "2024-05-01T10:00:00.123+0000", "Offer_Deadline__c": "2024-05-03T10:00:00.123+0000",
        "Offer_Calendar__c": "America/Los_Angeles; Mon Tue Wed Thu Fri; 09:00-17:00",
        "Partner_Response__c": None, "Rejection_Reason__c": None, "Rejection_Reason_Code__c": None,
    }


def test_a_pool_decision_gives_the_lead_to_the_queue_and_no_single_partner(ms):
    decision = Decision(lead_id=LEAD_ID, kind=DecisionKind.POOL, reason="pool NA", queue_id=QUEUE, offered_at=NOW,
                        deadline=NOW + timedelta(days=1))
    out = ms.decision_writeback(decision, "Offered")
    assert (out["OwnerId"], out["PartnerAccountId"], out["Partner_Response__c"]) == (QUEUE, None, None)


def test_an_escalation_clears_the_partner_the_deadline_and_its_calendar_so_nothing_lapses(ms):
    decision = Decision(lead_id=LEAD_ID, kind=DecisionKind.ESCALATE, reason="rejected by 3 partners", queue_id=QUEUE,
                        attempt=4)
    out = ms.decision_writeback(decision, RoutingStatus.ESCALATED)
    assert out == {"Routing_Status__c": "Escalated", "Routing_Reason__c": "rejected by 3 partners", "Routing_Rule__c": None,
                   "Routing_Attempt__c": 4, "OwnerId": QUEUE, "PartnerAccountId": None, "Offer_Deadline__c": None,
                   "Offer_Calendar__c": None}


def test_an_unroutable_decision_leaves_owner_and_partner_alone(ms):
    decision = Decision(lead_id=LEAD_ID, kind=DecisionKind.UNROUTABLE, reason="Country: unknown country 'Narnia'")
    out = ms.decision_writeback(decision, RoutingStatus.UNROUTABLE)
    assert "OwnerId" not in out and "PartnerAccountId" not in out
    assert out["Routing_Status__c"] == "Unroutable" and out["Routing_Reason__c"].startswith("Country:")


def test_response_enum_values_are_written_as_picklist_values(ms):
    assert ms.writeback({"response": Response.REJECTED}) == {"Partner_Response__c": "Rejected"}


@settings(max_examples=100, deadline=None)
@given(reason=st.text(max_size=400))
def test_any_reason_fits_routing_reason_and_short_ones_are_untouched(ms, reason):
    out = ms.writeback({"reason": reason})["Routing_Reason__c"]
    assert len(out) <= 255
    assert out == reason if len(reason) <= 255 else out.endswith("…") and reason.startswith(out[:-1])


def test_a_status_written_to_one_field_and_read_from_another_is_warned_about(tmp_path):
    """writeback.toml's own example sends routing_status to Stage__c; with lead.toml still
    reading Routing_Status__c the connector never saw its status again (nor a person's
    Pending there), and nothing said so."""
    import shutil

    from mappings import load_mappings
    from mappings.loader import DEFAULTS_DIR

    folder = tmp_path / "mappings"
    shutil.copytree(DEFAULTS_DIR, folder)
    wb = folder / "writeback.toml"
    wb.write_text(wb.read_text().replace('routing_status = "Routing_Status__c"',
                                         'routing_status = { field = "Stage__c", map = { Offered = "With partner" } }'))
    [warning] = [w for w in load_mappings(folder).warnings if w.key == "writeback.fields.routing_status"]
    assert "written to Stage__c but read back from Routing_Status__c" in warning.message, warning
    assert 'routing_status = "Stage__c"' in warning.fix and warning.line
    lead = folder / "lead.toml"
    lead.write_text(lead.read_text().replace('routing_status = "Routing_Status__c"',
                                             'routing_status = { field = "Stage__c", map = { "With partner" = "Offered" } }'))
    assert not [w for w in load_mappings(folder).warnings if w.key == "writeback.fields.routing_status"]
    assert not load_mappings(None).warnings  # the shipped files read back what they write

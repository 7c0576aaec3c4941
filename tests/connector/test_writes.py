from datetime import datetime, timezone

import pytest

from connector.writes import BATCH_SIZE, WriteReport, batches, collection_body, result_of


def test_collection_body_is_allornone_false_with_typed_records():
    body = collection_body(
        "Lead",
        [{"Id": "00Q000000000001AAA", "OwnerId": "005000000000001AAA",
          "Offered_At__c": datetime(2024, 5, 1, 10, tzinfo=timezone.utc)}],
        with_id=True,
    )
    assert body == {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Lead"}, "id": "00Q000000000001AAA",
                     "OwnerId": "005000000000001AAA", "Offered_At__c": "2024-05-01T10:00:00.000+0000"}],
    }


def test_an_update_without_id_is_refused():
    with pytest.raises(ValueError, match="needs an 'Id'"):
        collection_body("Lead", [{"Company": "x"}], with_id=True)


def test_a_field_name_that_is_not_an_identifier_is_refused():
    with pytest.raises(ValueError, match="not a valid Salesforce API name"):
        collection_body("Lead", [{"Id": "00Q000000000001AAA", "Company\"": "x"}], with_id=True)


def test_more_than_200_records_cannot_go_in_one_call():
    with pytest.raises(ValueError, match="limit is 200"):
        collection_body("Lead", [{"Id": "00Q000000000001AAA"}] * 201, with_id=True)


def test_batches_are_200_records():
    assert [len(b) for b in batches(list(range(1001)))] == [200, 200, 200, 200, 200, 1]
    assert BATCH_SIZE == 200


def test_save_results_map_to_ok_transient_and_permanent():
    ok = result_of({"id": "a", "success": True, "errors": []}, "a")
    locked = result_of({"id": None, "success": False,
                        "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []}]}, "b")
    invalid = result_of({"success": False, "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                                       "message": "Reason required", "fields": ["Routing_Reason__c"]}]},
                        "c")
    assert (ok.ok, ok.kind) == (True, "ok")
    assert (locked.id, locked.kind, locked.code) == ("b", "transient", "UNABLE_TO_LOCK_ROW")
    assert (invalid.kind, invalid.code, invalid.message, invalid.fields) == (
        "permanent", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Reason required", ("Routing_Reason__c",))
    assert invalid.fix and "validation rule" in invalid.fix
    report = WriteReport.of([ok, locked, invalid])
    assert (report.ok, report.transient, report.permanent) == (1, 1, 1)


def test_stale_verdicts_skip_changed_and_deleted_records_and_keep_the_rest():
    from connector.writes import GuardedUpdate, stale_verdicts

    seen = "2024-05-01T10:00:00.000+0000"
    batch = [
        GuardedUpdate("001A0000006Vm9r", {"OwnerId": "005000000000001AAA"}, seen),  # 15-char id, unchanged
        GuardedUpdate("00Q000000000002AAA", {"OwnerId": "005000000000001AAA"}, seen),  # a person edited it
        GuardedUpdate("00Q000000000003AAA", {"OwnerId": "005000000000001AAA"}, seen),  # deleted
    ]
    current = {"001A0000006Vm9rIAC": "2024-05-01T10:00:00Z", "00Q000000000002AAA": "2024-05-01T10:00:01.000+0000"}
    verdicts, fresh = stale_verdicts(batch, current)
    assert verdicts[0] is None
    assert (verdicts[1].kind, verdicts[1].code) == ("stale", "CHANGED_SINCE_DECISION")
    assert (verdicts[2].kind, verdicts[2].code) == ("stale", "ENTITY_IS_DELETED")
    assert fresh == [{"Id": "001A0000006Vm9r", "OwnerId": "005000000000001AAA"}]


def test_a_save_result_without_usable_errors_is_still_reported():
    odd = result_of({"id": "x", "success": False, "errors": ["locked?"]}, "x")
    none = result_of({"id": "y", "success": False}, "y")
    assert (odd.kind, odd.code, odd.message) == ("permanent", "UNKNOWN", "['locked?']")
    assert (none.kind, none.code) == ("permanent", "UNKNOWN")

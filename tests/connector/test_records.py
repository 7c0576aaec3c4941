from datetime import datetime, timezone

from connector.records import id18, parse_sf_datetime, strip_attributes


def test_id18_adds_the_case_checksum():
    # Salesforce's documented example pair
    assert id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert id18("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"


def test_salesforce_datetime_forms_parse_to_the_same_instant():
    want = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert parse_sf_datetime("2024-05-01T10:00:00.000+0000") == want
    assert parse_sf_datetime("2024-05-01T10:00:00Z") == want
    assert parse_sf_datetime("2024-05-01T12:00:00.000+0200") == want
    assert parse_sf_datetime(want) is want


def test_attributes_are_stripped_through_relationships_and_subqueries():
    rec = {
        "attributes": {"type": "Lead"},
        "Id": "1",
        "Owner": {"attributes": {"type": "User"}, "IsActive": True},
        "Partner": None,
        "Users": {"totalSize": 1, "done": True, "records": [{"attributes": {"type": "User"}, "Id": "2"}]},
    }
    assert strip_attributes(rec) == {
        "Id": "1",
        "Owner": {"IsActive": True},
        "Partner": None,
        "Users": {"totalSize": 1, "done": True, "records": [{"Id": "2"}]},
    }

"""connector.bulk.UpdateRows: update records as Bulk API 2.0 CSV, cut under the upload limit."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from connector import bulk
from connector.bulk import UpdateRows

LEAD = "00Q5g0000000001EAA"


def parse(upload) -> list[list[str]]:
    data = upload.read()
    upload.seek(0)
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def test_values_are_written_as_salesforce_reads_them_and_none_clears_a_field():
    rows = UpdateRows(["Id", "Rating", "Offer_Deadline__c", "Do_Not_Route__c", "Routing_Reason__c"])
    assert rows.add({"Id": LEAD[:15], "Rating": None, "Do_Not_Route__c": True, "Routing_Reason__c": 'a "quoted", text',
                     "Offer_Deadline__c": datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)}) is None  # fmt: skip
    assert parse(rows.finish()) == [
        ["Id", "Rating", "Offer_Deadline__c", "Do_Not_Route__c", "Routing_Reason__c"],
        [LEAD, "#N/A", "2026-03-01T09:30:00.000+0000", "true", 'a "quoted", text'],
    ]


def test_a_field_a_record_does_not_name_is_left_unchanged():
    rows = UpdateRows(["Id", "Rating", "OwnerId"])
    rows.add({"Id": LEAD, "Rating": "Hot"})
    assert parse(rows.finish())[1] == [LEAD, "Hot", ""]


def test_uploads_are_cut_before_the_limit_and_every_record_lands_in_exactly_one(monkeypatch):
    monkeypatch.setattr(bulk, "MAX_UPLOAD_BYTES", 100)
    rows = UpdateRows(["Id", "Rating"])
    ids = [f"00Q5g{n:010d}" for n in range(10)]
    uploads, seen = [], []
    for i in ids:
        full = rows.add({"Id": i, "Rating": "Warm"})
        if full:
            uploads.append(full)
            seen += rows.done_ids
    uploads.append(rows.finish())
    seen += rows.done_ids
    sizes = [len(u.read()) for u in uploads]
    _ = [u.seek(0) for u in uploads]
    assert len(uploads) > 1 and all(size <= 100 + len("Id,Rating\n") for size in sizes)
    assert [r[0] for u in uploads for r in parse(u)[1:]] == seen and len(seen) == 10


def test_a_record_without_an_id_or_with_a_bad_one_is_refused():
    rows = UpdateRows(["Id", "Rating"])
    with pytest.raises(ValueError, match="needs an 'Id'"):
        rows.add({"Rating": "Hot"})
    with pytest.raises(ValueError):
        rows.add({"Id": "00Q' OR Id != '", "Rating": "Hot"})


def test_a_column_that_is_not_a_field_name_is_refused():
    with pytest.raises(ValueError):
        UpdateRows(["Id", "Rating,OwnerId"])


def test_a_batch_is_written_as_its_records_one_by_one_would_be():
    columns = ["Id", "Rating", "Offer_Deadline__c", "Do_Not_Route__c", "Routing_Reason__c"]
    records = [{"Id": LEAD[:15], "Rating": None, "Do_Not_Route__c": True, "Routing_Reason__c": 'a "quoted", text',
                "Offer_Deadline__c": datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)},
               {"id": "00Q5g0000000002EAA", "Rating": "", "Routing_Reason__c": "line\nbreak"}]  # fmt: skip
    one, batch = UpdateRows(columns), UpdateRows(columns)
    for record in records:
        one.add(record)
    batch.add_many(records)
    assert batch.ids == one.ids == [LEAD, "00Q5g0000000002EAA"]
    assert parse(batch.finish()) == parse(one.finish())


def test_a_batch_that_would_cross_the_upload_limit_is_refused_whole(monkeypatch):
    monkeypatch.setattr(bulk, "MAX_UPLOAD_BYTES", 100)
    rows = UpdateRows(["Id", "Rating"])
    rows.add_many([{"Id": LEAD, "Rating": "Hot"}])
    with pytest.raises(ValueError, match="finish"):
        rows.add_many([{"Id": LEAD, "Rating": "x" * 60}, {"Id": LEAD, "Rating": "Warm"}])
    assert rows.ids == [LEAD] and len(parse(rows.finish())) == 2


def test_rows_given_as_an_id_and_a_rendered_tail_are_the_bytes_of_a_batch():
    columns = ["Id", "Rating", "Offer_Deadline__c", "Do_Not_Route__c", "Routing_Reason__c", "OwnerId"]
    fields = [{"Rating": None, "Do_Not_Route__c": True, "Routing_Reason__c": 'a "quoted", text',
               "Offer_Deadline__c": datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)},
              {"Rating": "", "Routing_Reason__c": "line\nbreak", "OwnerId": None}]  # fmt: skip
    ids = [LEAD[:15], "00Q5g0000000002EAA", "00Q5g0000000003EAA"]
    records = [{"Id": i, **fields[n % 2]} for n, i in enumerate(ids)]
    batch, tails = UpdateRows(columns), UpdateRows(columns)
    batch.add_many(records)
    rendered = [tails.tail(f) for f in fields]
    tails.add_tails((i, rendered[n % 2]) for n, i in enumerate(ids))
    assert tails.ids == batch.ids == [LEAD, *ids[1:]] and tails.size == batch.size
    assert tails.finish().read() == batch.finish().read()
    with pytest.raises(ValueError):
        tails.add_tails([("00Q' OR Id != '", rendered[0])])

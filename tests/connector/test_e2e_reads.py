"""Reads against the sandbox over HTTPS: paging, incremental windows, ids, deleted rows."""
from __future__ import annotations

from datetime import timedelta

import pytest

from connector.records import parse_sf_datetime

pytestmark = pytest.mark.e2e


def add_leads(org, n, **fields):
    return [
        org.org.create("Lead", {"LastName": f"Lead {i}", "Company": f"Co {i}", **fields}) for i in range(n)
    ]


def test_10000_leads_are_read_in_5_calls(org, client):
    add_leads(org, 10_000)
    client.calls = 0
    seen = {r["Id"] for r in client.query("SELECT Id, Company FROM Lead")}
    assert len(seen) >= 10_000
    assert client.calls == 5


def test_records_come_back_without_attributes_with_nested_relationships(org, client):
    add_leads(org, 1)
    record = next(client.query("SELECT Id, Company, Owner.Name FROM Lead"))
    assert "attributes" not in record
    assert "attributes" not in record["Owner"] and record["Owner"]["Name"]


def test_count_fetches_no_rows(org, client):
    add_leads(org, 30, Country="DE")
    assert client.count("SELECT COUNT() FROM Lead WHERE Country = 'DE'") == 30


def test_incremental_read_covers_the_lookback_window_and_stops_before_run_start(org, client):
    old = add_leads(org, 3)
    org.clock.advance(timedelta(hours=2))
    watermark = org.clock.now()
    org.clock.advance(timedelta(minutes=1))
    recent = add_leads(org, 3)
    org.clock.advance(timedelta(minutes=1))
    run_start = org.clock.now()
    org.clock.advance(timedelta(minutes=1))
    after = add_leads(org, 2)

    got = list(client.read_incremental("Lead", ["Company"], watermark=watermark, until=run_start,
                                       lookback=timedelta(minutes=5)))
    ids = [r["Id"] for r in got]
    assert set(ids) == set(recent)
    assert not set(ids) & (set(old) | set(after))
    stamps = [(parse_sf_datetime(r["SystemModstamp"]), r["Id"]) for r in got]
    assert stamps == sorted(stamps)  # oldest first: a caller can advance its watermark as it goes

    backfill = {r["Id"] for r in client.read_incremental("Lead", ["Company"], watermark=None,
                                                          until=run_start, lookback=timedelta(0))}
    assert set(old) | set(recent) <= backfill and not backfill & set(after)


def test_incremental_lookback_rereads_the_boundary(org, client):
    first = add_leads(org, 2)
    org.clock.advance(timedelta(seconds=30))
    watermark = org.clock.now()
    org.clock.advance(timedelta(seconds=30))
    run_start = org.clock.now()
    none = list(client.read_incremental("Lead", ["Id"], watermark=watermark, until=run_start,
                                        lookback=timedelta(0)))
    again = {r["Id"] for r in client.read_incremental("Lead", ["Id"], watermark=watermark, until=run_start,
                                                       lookback=timedelta(minutes=2))}
    assert none == [] and set(first) <= again


def test_read_by_ids_fetches_2000_leads_in_few_calls(org, client):
    ids = add_leads(org, 2000)
    client.calls = 0
    got = {r["Id"] for r in client.read_by_ids("Lead", ["Company", "OwnerId"], ids)}
    assert got == set(ids)
    assert client.calls <= 5, client.calls


def test_read_by_ids_accepts_15_character_ids(org, client):
    lead = add_leads(org, 1)[0]
    got = list(client.read_by_ids("Lead", ["Company"], [lead[:15]]))
    assert [r["Id"] for r in got] == [lead]


def test_deleted_rows_come_from_query_all(org, client):
    start = org.clock.now()
    keep, gone = add_leads(org, 2)
    org.clock.advance(timedelta(seconds=1))
    org.org.delete("Lead", gone)
    org.clock.advance(timedelta(seconds=1))
    assert client.deleted("Lead", start, org.clock.now()) == [gone]
    assert gone not in {r["Id"] for r in client.query("SELECT Id FROM Lead")}
    assert gone in {r["Id"] for r in client.query_all("SELECT Id FROM Lead")}

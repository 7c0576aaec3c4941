"""Bulk API 2.0 in the sandbox, driven by simple-salesforce's `sf.bulk2` as a client would."""
from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceOperationError


def add_leads(org, n: int) -> list[str]:
    return [org.create("Lead", {"LastName": f"Lead {i:03d}", "Company": "Acme"}) for i in range(n)]


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_query_pages_every_lead_once_with_a_header_on_each_page(sandbox, sf):
    lead_ids = add_leads(sandbox.org, 25)
    pages = list(sf.bulk2.Lead.query("SELECT Id, LastName FROM Lead ORDER BY LastName", max_records=10, wait=0))
    assert [len(rows(p)) for p in pages] == [10, 10, 5]
    assert [r["Id"] for p in pages for r in rows(p)] == lead_ids
    assert all(p.startswith('"Id","LastName"') for p in pages)


def test_bulk_query_writes_parents_as_dotted_columns_and_nulls_as_empty(sandbox, sf):
    add_leads(sandbox.org, 1)
    (page,) = sf.bulk2.Lead.query("SELECT Id, Owner.Name, Rating, IsConverted, CreatedDate FROM Lead", wait=0)
    (row,) = rows(page)
    assert row["Owner.Name"] == "LeadRouter Integration"
    assert row["Rating"] == "" and row["IsConverted"] == "false"
    assert row["CreatedDate"].endswith("Z") and "T" in row["CreatedDate"]


def test_bulk_update_writes_every_row_without_running_the_assignment_rule(sandbox, sf):
    lead_ids = add_leads(sandbox.org, 30)
    owners = {i: sandbox.org.get("Lead", i)["OwnerId"] for i in lead_ids}
    (result,) = sf.bulk2.Lead.update(records=[{"Id": i, "Rating": "Hot"} for i in lead_ids], wait=0)
    assert result["numberRecordsProcessed"] == 30 and result["numberRecordsFailed"] == 0
    assert all(sandbox.org.get("Lead", i)["Rating"] == "Hot" for i in lead_ids)
    assert all(sandbox.org.get("Lead", i)["OwnerId"] == owners[i] for i in lead_ids)


def test_bulk_insert_reports_created_ids_in_successful_results(sandbox, sf):
    (result,) = sf.bulk2.Lead.insert(records=[{"LastName": f"N{i}", "Company": "Beta"} for i in range(3)], wait=0)
    ok = rows(sf.bulk2.Lead.get_successful_records(result["job_id"]))
    assert [r["sf__Created"] for r in ok] == ["true"] * 3
    assert {sandbox.org.get("Lead", r["sf__Id"])["LastName"] for r in ok} == {"N0", "N1", "N2"}


def test_bulk_row_refused_by_the_org_is_in_failed_results_with_its_code(sandbox, sf):
    good, deleted = add_leads(sandbox.org, 2)
    sandbox.org.delete("Lead", deleted)
    (result,) = sf.bulk2.Lead.update(records=[{"Id": good, "Rating": "Hot"}, {"Id": deleted, "Rating": "Hot"}], wait=0)
    assert result["numberRecordsFailed"] == 1
    (failed,) = rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))
    assert failed["sf__Id"] == deleted and failed["sf__Error"].startswith("ENTITY_IS_DELETED:")


def test_planned_row_locks_fail_the_chosen_rows_only(sandbox, sf):
    lead_ids = add_leads(sandbox.org, 5)
    sandbox.faults.plan("record_failures", endpoint="jobs/ingest", records=[1, 3])
    (result,) = sf.bulk2.Lead.update(records=[{"Id": i, "Rating": "Warm"} for i in lead_ids], wait=0)
    failed = rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))
    assert sorted(r["sf__Id"] for r in failed) == sorted([lead_ids[1], lead_ids[3]])
    assert all(r["sf__Error"].startswith("UNABLE_TO_LOCK_ROW:") for r in failed)
    assert [sandbox.org.get("Lead", i)["Rating"] for i in lead_ids] == ["Warm", None, "Warm", None, "Warm"]


def test_a_failed_job_is_reported_and_keeps_its_unwritten_rows(sandbox, sf):
    lead_ids = add_leads(sandbox.org, 10)
    sandbox.faults.plan("job_failed", share=0.4)
    with pytest.raises(SalesforceOperationError, match="processing stopped after 4 of 10"):
        sf.bulk2.Lead.update(records=[{"Id": i, "Rating": "Cold"} for i in lead_ids], wait=0)
    (job,) = sandbox.bulk.all("ingest")
    assert job.state == "Failed"
    written = [i for i in lead_ids if sandbox.org.get("Lead", i)["Rating"] == "Cold"]
    assert len(written) == 4
    left = rows(sf.bulk2.Lead.get_unprocessed_records(job.id))
    assert {r["Id"] for r in left} == set(lead_ids) - set(written)

"""Bulk API 2.0 over raw HTTPS: exact states, headers, status codes and error shapes."""
from __future__ import annotations

import time

import pytest

from tests.sandbox.raw import Raw

CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def raw(sandbox):
    sandbox.bulk.polls_in_progress = 1
    client = Raw(sandbox)
    yield client
    client.close()


def add_leads(org, n: int) -> list[str]:
    return [org.create("Lead", {"LastName": f"Lead {i:03d}", "Company": "Acme"}) for i in range(n)]


def finished(raw: Raw, path: str, seconds: float = 10.0) -> dict:
    """The job's status once it leaves InProgress, polled as a client does: the org works on
    it in the background, and on a busy machine that takes more than one read."""
    deadline = time.monotonic() + seconds
    while True:
        info = raw.get(path).json()
        if info["state"] != "InProgress" or time.monotonic() > deadline:
            return info
        time.sleep(0.05)


def test_query_job_goes_upload_complete_in_progress_job_complete(sandbox, raw):
    add_leads(sandbox.org, 3)
    job = raw.post("jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead"}).json()
    assert job["state"] == "UploadComplete" and job["id"].startswith("750") and job["jobType"] == "V2Query"
    early = raw.get(f"jobs/query/{job['id']}/results")
    assert early.status_code == 400 and early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert raw.get(f"jobs/query/{job['id']}").json()["state"] == "InProgress"
    done = finished(raw, f"jobs/query/{job['id']}")
    assert done["state"] == "JobComplete" and done["numberRecordsProcessed"] == 3


def test_results_page_by_locator_and_end_with_locator_null(sandbox, raw):
    lead_ids = add_leads(sandbox.org, 5)
    sandbox.bulk.polls_in_progress = 0
    job = raw.post("jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead ORDER BY Id"}).json()
    raw.get(f"jobs/query/{job['id']}")
    seen, locator, numbers = [], None, []
    while locator != "null":
        params = {"maxRecords": 2, **({"locator": locator} if locator else {})}
        page = raw.get(f"jobs/query/{job['id']}/results", params=params)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/csv")
        lines = page.text.splitlines()
        assert lines[0] == '"Id"'
        numbers.append(int(page.headers["Sforce-NumberOfRecords"]))
        seen += [line.strip('"') for line in lines[1:]]
        locator = page.headers["Sforce-Locator"]
    assert numbers == [2, 2, 1] and seen == sorted(lead_ids)


def test_a_locator_can_be_read_again_while_the_job_exists(sandbox, raw):
    add_leads(sandbox.org, 4)
    sandbox.bulk.polls_in_progress = 0
    job = raw.post("jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead"}).json()
    raw.get(f"jobs/query/{job['id']}")
    first = raw.get(f"jobs/query/{job['id']}/results", params={"maxRecords": 2})
    locator = first.headers["Sforce-Locator"]
    again = [raw.get(f"jobs/query/{job['id']}/results", params={"maxRecords": 2, "locator": locator}).text for _ in range(2)]
    assert again[0] == again[1] and again[0] != first.text


def test_bad_query_job_requests_name_the_problem(sandbox, raw):
    r = raw.post("jobs/query", json={"operation": "insert", "query": "SELECT Id FROM Lead"})
    assert r.status_code == 400 and "query or queryAll" in r.json()[0]["message"]
    r = raw.post("jobs/query", json={"operation": "query", "query": "SELECT COUNT() FROM Lead"})
    assert r.status_code == 400 and "COUNT()" in r.json()[0]["message"]
    # what the REST query resource answers, a query job refuses (Salesforce's documented limits)
    r = raw.post("jobs/query", json={"operation": "query", "query": "SELECT Country, COUNT(Id) FROM Lead GROUP BY Country"})
    assert r.status_code == 400 and "GROUP BY" in r.json()[0]["message"] and r.json()[0]["errorCode"] == "INVALIDJOB"
    r = raw.get("jobs/query/7505g0000000999AAA")
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "NOT_FOUND"
    sandbox.bulk.polls_in_progress = 0
    job = raw.post("jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead"}).json()
    raw.get(f"jobs/query/{job['id']}")
    r = raw.get(f"jobs/query/{job['id']}/results", params={"maxRecords": "0"})
    assert r.status_code == 400 and "maxRecords" in r.json()[0]["message"]


def test_ingest_job_upload_answers_201_and_close_moves_it_on(sandbox, raw):
    (lead_id,) = add_leads(sandbox.org, 1)
    job = raw.post("jobs/ingest", json={"object": "Lead", "operation": "update"}).json()
    assert job["state"] == "Open" and job["contentUrl"].endswith(f"/jobs/ingest/{job['id']}/batches")
    put = raw.request("PUT", f"jobs/ingest/{job['id']}/batches", headers=CSV, data=f"Id,Rating\n{lead_id},Hot\n")
    assert put.status_code == 201 and put.content == b""
    again = raw.request("PUT", f"jobs/ingest/{job['id']}/batches", headers=CSV, data=f"Id,Rating\n{lead_id},Hot\n")
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    closed = raw.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).json()
    assert closed["state"] == "UploadComplete"
    assert raw.get(f"jobs/ingest/{job['id']}").json()["state"] == "InProgress"
    done = finished(raw, f"jobs/ingest/{job['id']}")
    assert (done["state"], done["numberRecordsProcessed"], done["numberRecordsFailed"]) == ("JobComplete", 1, 0)
    ok = raw.get(f"jobs/ingest/{job['id']}/successfulResults")
    assert ok.text.splitlines() == ['"sf__Id","sf__Created","Id","Rating"', f'"{lead_id}","false","{lead_id}","Hot"']


def test_an_aborted_open_job_writes_nothing_and_lists_every_row_unprocessed(sandbox, raw):
    (lead_id,) = add_leads(sandbox.org, 1)
    job = raw.post("jobs/ingest", json={"object": "Lead", "operation": "update"}).json()
    raw.request("PUT", f"jobs/ingest/{job['id']}/batches", headers=CSV, data=f"Id,Rating\n{lead_id},Hot\n")
    assert raw.patch(f"jobs/ingest/{job['id']}", json={"state": "Aborted"}).json()["state"] == "Aborted"
    assert sandbox.org.get("Lead", lead_id)["Rating"] is None
    assert raw.get(f"jobs/ingest/{job['id']}/unprocessedrecords").text.splitlines()[1] == f'"{lead_id}","Hot"'
    r = raw.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALIDJOBSTATE"


def test_ingest_refuses_what_salesforce_refuses(sandbox, raw):
    r = raw.post("jobs/ingest", json={"object": "Lead", "operation": "merge"})
    assert r.status_code == 400 and "operation must be one of" in r.json()[0]["message"]
    r = raw.post("jobs/ingest", json={"object": "Nope__c", "operation": "update"})
    assert r.status_code == 404
    job = raw.post("jobs/ingest", json={"object": "Lead", "operation": "update"}).json()
    r = raw.request("PUT", f"jobs/ingest/{job['id']}/batches", headers={"Content-Type": "application/json"}, data="{}")
    assert r.status_code == 400 and "text/csv" in r.json()[0]["message"]
    r = raw.get(f"jobs/ingest/{job['id']}/successfulResults")
    assert r.status_code == 400 and "Open" in r.json()[0]["message"]


def test_unknown_column_fails_the_whole_job(sandbox, raw):
    (lead_id,) = add_leads(sandbox.org, 1)
    sandbox.bulk.polls_in_progress = 0
    job = raw.post("jobs/ingest", json={"object": "Lead", "operation": "update"}).json()
    raw.request("PUT", f"jobs/ingest/{job['id']}/batches", headers=CSV, data=f"Id,Ratng\n{lead_id},Hot\n")
    raw.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    info = raw.get(f"jobs/ingest/{job['id']}").json()
    assert info["state"] == "Failed" and "Ratng" in info["errorMessage"]


def test_bulk_calls_count_against_the_daily_api_limit_and_meet_request_faults(sandbox, raw):
    sandbox.counters.reset()
    sandbox.faults.plan("503", endpoint="jobs/query")
    r = raw.post("jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead"})
    assert r.status_code == 503 and r.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert raw.post("jobs/query", json={"operation": "query", "query": "SELECT Id FROM Lead"}).status_code == 200
    assert sandbox.counters.snapshot()["api_calls"] == 2


def test_aborting_a_running_job_keeps_what_it_wrote_and_lists_the_rest_unprocessed(sandbox, raw):
    lead_ids = add_leads(sandbox.org, 300)
    job = raw.post("jobs/ingest", json={"object": "Lead", "operation": "update"}).json()
    data = "Id,Rating\n" + "".join(f"{i},Hot\n" for i in lead_ids)
    raw.request("PUT", f"jobs/ingest/{job['id']}/batches", headers=CSV, data=data)
    raw.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert raw.patch(f"jobs/ingest/{job['id']}", json={"state": "Aborted"}).json()["state"] == "Aborted"
    sandbox.bulk.get(job["id"], "ingest").worker.join(10)
    ok = [line.split(",")[0].strip('"') for line in raw.get(f"jobs/ingest/{job['id']}/successfulResults").text.splitlines()[1:]]
    left = [line.split(",")[0].strip('"') for line in raw.get(f"jobs/ingest/{job['id']}/unprocessedrecords").text.splitlines()[1:]]
    assert sorted(ok + left) == sorted(lead_ids)  # every row once: written or left, never both
    assert {i for i in lead_ids if sandbox.org.get("Lead", i)["Rating"] == "Hot"} == set(ok)


def test_a_job_is_deleted_only_once_it_can_no_longer_take_data(sandbox, raw):
    job = raw.post("jobs/ingest", json={"object": "Lead", "operation": "update"}).json()
    r = raw.delete(f"jobs/ingest/{job['id']}")
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    raw.patch(f"jobs/ingest/{job['id']}", json={"state": "Aborted"})
    assert raw.delete(f"jobs/ingest/{job['id']}").status_code == 204
    assert raw.get(f"jobs/ingest/{job['id']}").status_code == 404

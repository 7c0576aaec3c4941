"""connector.bulk end to end against the sandbox: Bulk API 2.0 above the threshold, REST
below it, the same records either way, and no lead written twice across a crash."""
from __future__ import annotations

import time

import pytest

from connector import ConfigError, TransientError
from connector.bulk import BulkClient

FIELDS = "Id, LastName, Company, Rating, AnnualRevenue, NumberOfEmployees, IsConverted, CreatedDate, Owner.Name, PartnerAccount.Name"  # fmt: skip


def add_leads(org, n: int) -> list[str]:
    return [org.create("Lead", {"LastName": f"Lead {i:03d}", "Company": "Acme", "AnnualRevenue": 1000.5 * i,
                                "NumberOfEmployees": i}) for i in range(n)]  # fmt: skip


@pytest.fixture
def quick(org):
    org.bulk.polls_in_progress = 1
    return org


def bulk_for(client, **kwargs) -> BulkClient:
    return BulkClient(client, threshold=kwargs.pop("threshold", 5), poll_interval=0, **kwargs)


def test_bulk_read_gives_the_same_records_as_rest(quick, client):
    add_leads(quick.org, 12)
    soql = f"SELECT {FIELDS} FROM Lead ORDER BY LastName"
    rest = list(client.query(soql))
    quick.counters.reset()
    bulk = list(bulk_for(client, page_records=5).query(soql, expected=12))
    assert bulk == rest
    endpoints = quick.counters.snapshot()["endpoints"]
    assert endpoints["GET jobs/query/{id}/results"] == 3 and "GET query" not in endpoints


def test_below_the_threshold_reads_and_writes_stay_on_rest(quick, client):
    lead_ids = add_leads(quick.org, 3)
    quick.counters.reset()
    bulk = bulk_for(client)
    assert len(list(bulk.query("SELECT Id FROM Lead", expected=3))) == 3
    assert all(r.ok for r in bulk.update("Lead", [{"Id": i, "Rating": "Hot"} for i in lead_ids]))
    assert not [e for e in quick.counters.snapshot()["endpoints"] if "jobs/" in e]


def test_bulk_update_writes_each_lead_once_and_answers_in_order(quick, client):
    lead_ids = add_leads(quick.org, 20)
    quick.counters.reset()
    seen_jobs: list[str] = []
    results = bulk_for(client).update("Lead", [{"Id": i, "Rating": "Warm", "Description": None} for i in lead_ids],
                                      on_job=seen_jobs.append)  # fmt: skip
    assert [r.id for r in results] == lead_ids and all(r.ok for r in results)
    assert len(seen_jobs) == 1 and quick.counters.snapshot()["records_written"] == 20
    assert all(quick.org.get("Lead", i)["Rating"] == "Warm" for i in lead_ids)


def test_every_bulk_request_is_counted_and_budgeted_like_rest(quick, client):
    lead_ids = add_leads(quick.org, 10)
    before = client.calls
    quick.counters.reset()
    bulk_for(client).update("Lead", [{"Id": i, "Rating": "Hot"} for i in lead_ids])
    # create, put, close, the polls until the org has done the job (it works in the
    # background: one or two on an idle machine, more on a loaded one), the successful
    # results (the job's figures say the failed and unprocessed files are empty: not read)
    polls = quick.counters.count("GET jobs/ingest/{id}")
    assert polls >= 1 and [k for k in quick.counters.snapshot()["endpoints"] if "Results" in k or "unprocessed" in k] \
        == ["GET jobs/ingest/{id}/successfulResults"]
    assert client.calls - before == quick.counters.snapshot()["api_calls"] == 4 + polls
    assert client.budget.spent >= 4 + polls


def test_locked_rows_are_written_again_and_only_they(quick, client):
    lead_ids = add_leads(quick.org, 10)
    quick.faults.plan("record_failures", endpoint="jobs/ingest", records=[2, 7])
    quick.counters.reset()
    results = bulk_for(client).update("Lead", [{"Id": i, "Rating": "Cold"} for i in lead_ids])
    assert all(r.ok for r in results)
    assert quick.counters.snapshot()["records_written"] == 10  # 8 by the job, 2 again by REST
    assert quick.counters.count("PATCH composite/sobjects") == 1


def test_a_job_never_closed_is_aborted_on_resume_and_nothing_is_written(quick, connect):
    lead_ids = add_leads(quick.org, 6)
    first = connect()
    jobs: list[str] = []
    quick.faults.plan("drop", endpoint="PATCH jobs/ingest")
    with pytest.raises(TransientError):
        bulk_for(first).update("Lead", [{"Id": i, "Rating": "Hot"} for i in lead_ids], on_job=jobs.append)
    # a restart: a new process, a new client, only the job id it persisted
    outcome = bulk_for(connect()).resume(jobs[0])
    assert outcome.state == "Aborted" and outcome.ok_ids == set()
    assert outcome.retry_ids == set(lead_ids)
    assert all(quick.org.get("Lead", i)["Rating"] is None for i in lead_ids)


def test_a_job_whose_close_answer_was_lost_is_read_not_written_again(quick, connect):
    lead_ids = add_leads(quick.org, 6)
    impatient = connect(timeout=0.3)
    jobs: list[str] = []
    quick.faults.plan("latency", endpoint="PATCH jobs/ingest", latency_ms=800)
    with pytest.raises(TransientError):
        bulk_for(impatient).update("Lead", [{"Id": i, "Rating": "Hot"} for i in lead_ids], on_job=jobs.append)
    time.sleep(1.0)  # the org carries on with the job after our read timed out
    assert quick.counters.snapshot()["records_written"] == 6
    quick.counters.reset()
    outcome = bulk_for(connect()).resume(jobs[0])
    assert outcome.state == "JobComplete" and outcome.ok_ids == set(lead_ids) and outcome.retry_ids == set()
    assert quick.counters.snapshot()["records_written"] == 0


def test_a_job_that_wrote_every_uploaded_row_says_so_without_handing_out_each_id(quick, client):
    lead_ids = add_leads(quick.org, 8)
    bulk = bulk_for(client)
    job_id = bulk.start_update_job("Lead", ("Id,Rating\n" + "".join(f"{i},Warm\n" for i in lead_ids)).encode())
    quick.counters.reset()
    handed: list[str] = []
    outcome = bulk.resume(job_id, on_ok=handed.append, uploaded=8)
    assert outcome.all_ok and outcome.succeeded == 8 and not outcome.results and not handed
    assert quick.counters.count("GET jobs/ingest/{id}/successfulResults") == 1  # the rows are still counted
    # the caller's count is not the job's: each id is handed out as usual
    again = bulk.resume(job_id, on_ok=handed.append, uploaded=9)
    assert not again.all_ok and sorted(handed) == sorted(lead_ids)


def test_a_job_with_a_failed_row_is_never_all_ok(quick, client):
    lead_ids = add_leads(quick.org, 6)
    quick.faults.plan("record_failures", endpoint="jobs/ingest", records=[3])
    bulk = bulk_for(client)
    job_id = bulk.start_update_job("Lead", ("Id,Rating\n" + "".join(f"{i},Warm\n" for i in lead_ids)).encode())
    handed: list[str] = []
    outcome = bulk.resume(job_id, on_ok=handed.append, uploaded=6)
    assert not outcome.all_ok and len(handed) == 5 and [r.code for r in outcome.results] == ["UNABLE_TO_LOCK_ROW"]


def test_a_job_failed_part_way_reports_what_it_wrote_and_the_rest_is_sent_again(quick, client):
    lead_ids = add_leads(quick.org, 10)
    quick.faults.plan("job_failed", share=0.5)
    quick.counters.reset()
    results = bulk_for(client).update("Lead", [{"Id": i, "Rating": "Hot"} for i in lead_ids])
    assert all(r.ok for r in results)
    assert quick.counters.snapshot()["records_written"] == 10


def test_an_unknown_column_is_a_config_error_naming_the_field(quick, client):
    lead_ids = add_leads(quick.org, 6)
    with pytest.raises(ConfigError) as info:
        bulk_for(client).update("Lead", [{"Id": i, "Ratng__c": "Hot"} for i in lead_ids])
    assert "Ratng__c" in str(info.value) and "mapping" in info.value.fix


def test_a_bad_job_id_is_refused_before_any_call(client):
    with pytest.raises(ValueError):
        bulk_for(client).resume("750' OR 1=1")


def test_guarded_bulk_write_leaves_a_lead_a_person_edited_since_the_read(quick, client):
    from connector import GuardedUpdate

    lead_ids = add_leads(quick.org, 8)
    read = {r["Id"]: r["SystemModstamp"] for r in client.query("SELECT Id, SystemModstamp FROM Lead")}
    read_started = quick.clock.now()
    time.sleep(0.01)
    quick.org.update("Lead", lead_ids[3], {"Rating": "Cold"})  # a person, after our read
    quick.counters.reset()
    results = bulk_for(client).update_guarded(
        "Lead", [GuardedUpdate(i, {"Rating": "Hot"}, read[i]) for i in lead_ids], changed_since=read_started)
    assert [r.kind for r in results] == ["ok"] * 3 + ["stale"] + ["ok"] * 4
    assert results[3].code == "CHANGED_SINCE_DECISION"
    assert quick.org.get("Lead", lead_ids[3])["Rating"] == "Cold"  # the person's edit wins
    assert quick.counters.snapshot()["records_written"] == 7
    assert quick.counters.count("GET query") == 1  # one guard query for the whole backlog

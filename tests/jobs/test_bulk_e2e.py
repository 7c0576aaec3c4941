"""Bulk API 2.0 in the jobs: a first run over the threshold reads through one query job,
decides exactly as the REST read does, and writes back through ingest jobs; failed rows
are settled like REST failures and unprocessed ones sent again, each lead written once.
End to end over HTTPS against the sandbox, the threshold lowered to fit a test's org."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from jobs import bulk_writeback
from jobs.state import outbox as ob
from jobs.state.schema import decisions, leads

pytestmark = [pytest.mark.e2e]

LEADS = 240


def bulk_from(loop, threshold: int) -> None:
    """[salesforce] bulk_threshold, as the config file would set it."""
    client = loop.cx.client
    client.config = client.config.model_copy(update={"bulk_threshold": threshold})


def org_view(sb) -> dict[str, tuple]:
    return {r["Id"]: (r.get("Routing_Status__c"), r.get("OwnerId"), r.get("PartnerAccountId"))
            for r in sb.org.records("Lead")}


def state_view(cx) -> tuple[dict[str, list[tuple]], dict[str, str], Counter]:
    with cx.store.connect() as conn:
        decided: dict[str, list[tuple]] = {}
        for r in conn.execute(select(decisions).order_by(decisions.c.id)):
            decided.setdefault(r.lead_id, []).append((r.kind, r.rule, r.partner_id, r.attempt))
        states = {r.lead_id: r.state for r in conn.execute(select(leads.c.lead_id, leads.c.state))}
        return decided, states, Counter(ob.status_counts(conn))


def first_run(sandbox_factory, make_loop, threshold: int, name: str):
    sb = sandbox_factory(seed="demo", partners=40, leads=LEADS, random_seed=8)
    loop = make_loop(sb, name=name)
    bulk_from(loop, threshold)
    sb.counters.reset()
    written_before = sb.counters.snapshot()["records_written"]
    run = loop.cycle(partners_act=False)
    return sb, loop, run, sb.counters.snapshot()["records_written"] - written_before


def test_a_first_run_over_the_threshold_goes_through_bulk_jobs_and_decides_as_rest_does(sandbox_factory, make_loop):
    rest_sb, rest, _, rest_written = first_run(sandbox_factory, make_loop, 1_000_000, "rest")
    bulk_sb, bulk, run, bulk_written = first_run(sandbox_factory, make_loop, 100, "bulk")

    calls = bulk_sb.counters.snapshot()["endpoints"]
    assert calls.get("POST jobs/query") == 1, calls
    assert calls.get("POST jobs/ingest") == 1, calls
    assert not calls.get("PATCH composite/sobjects"), "every decision went out in the ingest job"
    assert not rest_sb.counters.snapshot()["endpoints"].get("POST jobs/query"), "below the threshold: REST"
    lead_counts = run["leads"].counts
    assert lead_counts["bulk_read"] == LEADS and lead_counts["flush_bulk_jobs"] == 1

    # the same decisions, state rows and Lead fields as the REST read made
    rest_decided, rest_states, rest_outbox = state_view(rest.cx)
    bulk_decided, bulk_states, bulk_outbox = state_view(bulk.cx)
    assert len(bulk_decided) == LEADS
    assert bulk_decided == rest_decided
    assert bulk_states == rest_states
    assert bulk_outbox == rest_outbox and set(bulk_outbox) == {"confirmed"}
    assert org_view(bulk_sb) == org_view(rest_sb)
    assert bulk_written == rest_written == LEADS, "each lead written once"
    with bulk.cx.store.connect() as conn:
        jobs = conn.execute(select(bulk_writeback.bulk_jobs)).mappings().all()
    assert {j["state"] for j in jobs} == {"settled"} and all(j["job_id"] for j in jobs)

    # the next run is a small incremental read again: REST, no job
    bulk_sb.counters.reset()
    bulk.cycle(partners_act=False)
    assert not bulk_sb.counters.snapshot()["endpoints"].get("POST jobs/query")


def test_rows_the_job_fails_or_leaves_are_settled_like_rest_failures_and_each_lead_written_once(
        sandbox_factory, make_loop):
    sb = sandbox_factory(seed="demo", partners=40, leads=LEADS, random_seed=8)
    loop = make_loop(sb)
    bulk_from(loop, 100)
    # rows 0-4 hit a row lock (transient); the job then stops half-way (the rest unprocessed)
    sb.faults.plan("record_failures", endpoint="jobs/ingest", records=[0, 1, 2, 3, 4])
    sb.counters.reset()
    run = loop.cycle(partners_act=False)
    counts = run["leads"].counts
    assert counts["flush_transient"] == 5, counts  # back to pending: sent again by the REST flush that follows
    assert sb.counters.snapshot()["endpoints"].get("PATCH composite/sobjects", 0) >= 1

    sb2 = sandbox_factory(seed="demo", partners=40, leads=LEADS, random_seed=8)
    loop2 = make_loop(sb2, name="failed_job")
    bulk_from(loop2, 100)
    sb2.faults.plan("job_failed", share=0.5)
    sb2.counters.reset()
    run2 = loop2.cycle(partners_act=False)
    counts2 = run2["leads"].counts
    assert counts2["flush_bulk_unprocessed"] == LEADS - LEADS // 2, counts2

    for org, lp in ((sb, loop), (sb2, loop2)):
        decided, _, outbox = state_view(lp.cx)
        assert set(outbox) == {"confirmed"}, outbox
        assert org.counters.snapshot()["records_written"] == LEADS, "no lead written twice"
        shown = org_view(org)
        assert all(shown[lead_id][0] for lead_id in decided), "every decision shows on its Lead"


def test_a_permanent_row_failure_leaves_the_lead_unroutable_with_salesforce_words(sandbox_factory, make_loop):
    sb = sandbox_factory(seed="demo", partners=40, leads=LEADS, random_seed=8)
    loop = make_loop(sb)
    bulk_from(loop, 100)
    sb.faults.plan("record_failures", endpoint="jobs/ingest", records=[7], code="FIELD_CUSTOM_VALIDATION_EXCEPTION")
    run = loop.cycle(partners_act=False)
    counts = run["leads"].counts
    assert counts["flush_refused"] == 1, counts
    with loop.cx.store.connect() as conn:
        refused = conn.execute(select(ob.OB.c.lead_id).where(ob.OB.c.purpose == "refused")).scalars().all()
    assert len(refused) == 1, "the refusal itself is written to the Lead, once"
    lead_id = refused[0]
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in (loop.lead(lead_id)["Routing_Reason__c"] or "")
    assert loop.lead(lead_id)["Routing_Status__c"] == "Unroutable"


def test_a_job_that_could_not_be_created_puts_its_rows_back_and_the_next_run_writes_them(sandbox_factory, make_loop):
    sb = sandbox_factory(seed="demo", partners=40, leads=LEADS, random_seed=8)
    loop = make_loop(sb)
    bulk_from(loop, 100)
    sb.faults.plan("503", endpoint="POST jobs/ingest", count=10)  # more than the retry policy's attempts
    run = loop.cycle(partners_act=False, raise_errors=False)
    assert run["leads"].error, "the job could not be created: the run says so"
    with loop.cx.store.connect() as conn:
        uploads = conn.execute(select(bulk_writeback.bulk_jobs).order_by(bulk_writeback.bulk_jobs.c.id)).mappings().all()
        assert ob.status_counts(conn).get("sent") == LEADS
    # the cycle's outbox job put the first attempt's rows back and failed the same way
    assert [u["state"] for u in uploads] == ["settled", "preparing"] and not any(u["job_id"] for u in uploads)
    sb.faults.clear()

    again = loop.cycle(partners_act=False)
    assert again["outbox"].counts["bulk_resumed_unsent"] == LEADS  # nothing was uploaded: back to pending
    assert again["outbox"].counts["confirmed"] == LEADS  # and out again, through a new job
    _, _, outbox = state_view(loop.cx)
    assert set(outbox) == {"confirmed"}
    assert sb.counters.snapshot()["records_written"] == LEADS


def test_a_job_the_org_no_longer_knows_leaves_its_rows_to_the_outbox_read_back(sandbox_factory, make_loop):
    sb = sandbox_factory(seed="demo", partners=40, leads=LEADS, random_seed=8)
    loop = make_loop(sb)
    bulk_from(loop, 100)
    # the job runs in the org, but every state read fails: the run ends with the job unsettled
    sb.faults.plan("503", endpoint="GET jobs/ingest/{id}", count=10)
    run = loop.cycle(partners_act=False, raise_errors=False)
    assert run["leads"].error
    with loop.cx.store.connect() as conn:
        (job,) = conn.execute(select(bulk_writeback.bulk_jobs)).mappings().all()
    assert job["state"] == "running"
    sb.faults.clear()
    while sb.bulk.get(job["job_id"], "ingest").worker.is_alive():
        sb.bulk.get(job["job_id"], "ingest").worker.join(1)
    sb.bulk.remove(job["job_id"])  # Salesforce keeps jobs 7 days

    again = loop.cycle(partners_act=False)
    counts = again["outbox"].counts
    assert counts["reconciled_confirmed"] == LEADS, counts  # read back by id: every row had landed
    with loop.cx.store.connect() as conn:
        (job,) = conn.execute(select(bulk_writeback.bulk_jobs)).mappings().all()
    assert job["state"] == "orphaned"
    assert sb.counters.snapshot()["records_written"] == LEADS, "nothing written twice"


def test_the_bulk_first_run_keeps_its_bookkeeping_in_a_postgresql_state_too(sandbox_factory, tmp_path):
    from .conftest import Loop, build_connector
    from .pg import temp_database
    from .rules_for_tests import write_rules

    sb = sandbox_factory(seed="demo", partners=40, leads=LEADS, random_seed=8)
    with temp_database() as url:
        cx = build_connector(sb, url, rules=write_rules(tmp_path))
        try:
            loop = Loop(sb, cx)
            bulk_from(loop, 100)
            run = loop.cycle(partners_act=False)
            assert run["leads"].counts["bulk_read"] == LEADS and run["leads"].counts["flush_confirmed"] == LEADS
            decided, _, outbox = state_view(cx)
            assert len(decided) == LEADS and set(outbox) == {"confirmed"}
            with cx.store.connect() as conn:
                (job,) = conn.execute(select(bulk_writeback.bulk_jobs)).mappings().all()
            assert job["state"] == "settled" and len(job["entries"]) == LEADS
        finally:
            cx.client.close()
            cx.store.dispose()
    assert sb.counters.snapshot()["records_written"] == LEADS

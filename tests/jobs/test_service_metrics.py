"""/metrics while a job is in flight: a scrape that lands while a failing job retries
must still say its last run failed (it said 0 — the run in flight, which has no error
yet, was read as the latest — so `leadrouter_job_last_run_failed == 1` flapped)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests
from prometheus_client.parser import text_string_to_metric_families

from jobs.metrics import serve
from jobs.state import Store
from jobs.state import store as st

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def last_run_failed(url: str) -> dict[str, float]:
    text = requests.get(url + "/metrics", timeout=10).text
    return {s.labels["job"]: s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == "leadrouter_job_last_run_failed"}


def test_a_job_in_flight_does_not_hide_that_its_last_run_failed(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")
    with store.begin() as conn:
        failed = st.start_job_run(conn, "r1", "leads", "a", T0)
        st.finish_job_run(conn, failed, T0 + timedelta(seconds=5), {}, 5, "TransientError: query: refused")
        ok = st.start_job_run(conn, "r2", "expire", "a", T0)
        st.finish_job_run(conn, ok, T0 + timedelta(seconds=1), {}, 0, None)
        st.start_job_run(conn, "r3", "leads", "a", T0 + timedelta(seconds=60))  # retrying now, not finished
    server = serve("127.0.0.1:0", store, now=lambda: T0 + timedelta(seconds=61), role=lambda: "leader",
                   instance="a")
    try:
        assert last_run_failed(server.url) == {"leads": 1.0, "expire": 0.0}
        with store.begin() as conn:
            st.finish_job_run(conn, st.start_job_run(conn, "r4", "leads", "a", T0 + timedelta(seconds=120)),
                              T0 + timedelta(seconds=121), {}, 1, None)
        assert last_run_failed(server.url) == {"leads": 0.0, "expire": 0.0}
    finally:
        server.stop()
        store.dispose()

"""Several clients at once, as the connector's jobs and the simulator are."""
from __future__ import annotations

import threading
import time

from tests.sandbox.raw import Raw


def test_parallel_composite_writers_each_get_their_own_results_and_stamps_stay_unique(sandbox):
    leads = [sandbox.org.create("Lead", {"LastName": f"L{i}", "Company": "C"}) for i in range(800)]
    chunks = [leads[i : i + 200] for i in range(0, 800, 200)]
    results: dict[int, list] = {}

    def write(n: int, chunk: list[str]) -> None:
        client = Raw(sandbox)
        try:
            r = client.patch("composite/sobjects", headers={"Sforce-Auto-Assign": "FALSE"}, json={
                "records": [{"attributes": {"type": "Lead"}, "id": i, "Rating": "Warm"} for i in chunk]})  # fmt: skip
            results[n] = r.json()
        finally:
            client.close()

    threads = [threading.Thread(target=write, args=(n, c)) for n, c in enumerate(chunks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for n, chunk in enumerate(chunks):
        assert [r["id"] for r in results[n]] == chunk
    stamps = [sandbox.org.get("Lead", i)["SystemModstamp"] for i in leads]
    assert len(set(stamps)) == len(stamps)


def test_autosave_writes_the_org_while_it_runs(sandbox_factory):
    sb = sandbox_factory(autosave=0.05)
    sb.org.create("Lead", {"LastName": "Saved", "Company": "C"})
    deadline = time.monotonic() + 5
    while not (sb.data_dir / "org.pickle").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (sb.data_dir / "org.pickle").exists()


def test_stop_closes_idle_keep_alive_connections_promptly(sandbox_factory):
    sb = sandbox_factory()
    client = Raw(sb)
    assert client.get("limits").status_code == 200  # leaves a keep-alive connection open
    began = time.monotonic()
    sb.stop()
    assert time.monotonic() - began < 2
    client.close()

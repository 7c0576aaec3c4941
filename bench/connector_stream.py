"""Streaming memory benchmark: read N leads through SalesforceClient.query and print RSS.

The sandbox org runs in a child process so that its in-memory tables do not count
against the reader. The reader samples its resident set every 10,000 records; a flat
series (growth of a few MB, independent of N) shows that records are streamed page by
page rather than accumulated.

    .venv/bin/python bench/connector_stream.py [--leads 100000]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _serve(data_dir: str, leads: int, ready: mp.Queue, stop: mp.Event) -> None:
    import sandbox

    with sandbox.start(Path(data_dir)) as sb:
        org = sb.org
        for n in range(leads):
            org.create("Lead", {"LastName": f"Stream {n}", "Company": f"Company {n % 997}",
                                "Country": "US", "Status": "Open - Not Contacted"})
        ready.put(dict(sb.connection))
        stop.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    args = parser.parse_args()

    from connector import ConnectorConfig, SalesforceClient

    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    with tempfile.TemporaryDirectory() as data_dir:
        child = ctx.Process(target=_serve, args=(data_dir, args.leads, ready, stop), daemon=True)
        child.start()
        try:
            t0 = time.perf_counter()
            conn = ready.get(timeout=900)
            print(f"sandbox seeded with {args.leads} leads in {time.perf_counter() - t0:.1f}s")
            os.environ["BENCH_SF_SECRET"] = conn["client_secret"]
            config = ConnectorConfig.model_validate({
                "login_url": conn["login_url"],
                "ca_bundle": conn["ca_file"],
                "auth": {"method": "client_credentials", "client_id": conn["client_id"],
                         "client_secret_env": "BENCH_SF_SECRET"},
            })
            client = SalesforceClient.connect(config)
            fields = ["Id", "FirstName", "LastName", "Company", "Country", "Status", "OwnerId", "SystemModstamp"]
            soql = "SELECT " + ", ".join(fields) + " FROM Lead"
            base = _rss_mb()
            samples: list[tuple[int, float]] = []
            t0 = time.perf_counter()
            n = 0
            for n, _record in enumerate(client.query(soql), start=1):
                if n % 10_000 == 0:
                    samples.append((n, _rss_mb()))
            elapsed = time.perf_counter() - t0
            print(f"streamed {n} records in {elapsed:.1f}s ({n / elapsed:,.0f}/s) over {client.calls} API calls")
            print(f"rss before streaming: {base:.1f} MB")
            for count, rss in samples:
                print(f"  after {count:>7,} records: rss {rss:.1f} MB")
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            growth = max(r for _, r in samples) - samples[0][1] if samples else 0.0
            print(f"peak rss: {peak:.1f} MB; growth from first to highest sample: {growth:.1f} MB")
            client.close()
        finally:
            stop.set()
            child.join(timeout=30)
            if child.is_alive():
                child.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

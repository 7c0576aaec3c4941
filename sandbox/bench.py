"""Sandbox speed figures: `python -m sandbox.bench [--leads N] [--page-leads N]`.

Prints one line per figure; the bar (issue 2) is: demo seed of 200 partners and
10,000 leads ready in < 5 s, a 10,000-lead query in 5 pages of 2,000, and >= 1,000
composite-updated records/s, so benchmarks measure the connector, not the sandbox.
Uses simple-salesforce over real HTTPS, as the connector does.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import requests
from simple_salesforce import Salesforce

import sandbox


def _client(sb) -> Salesforce:
    c = sb.connection
    session = requests.Session()
    session.verify = c["ca_file"]
    session.trust_env = False
    token = session.post(c["login_url"] + "/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]}).json()  # fmt: skip
    return Salesforce(instance_url=c["instance_url"], session_id=token["access_token"], session=session, version="62.0")


def _page_all(sf: Salesforce, soql: str) -> tuple[int, list[int]]:
    page = sf.query(soql)
    sizes = [len(page["records"])]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        sizes.append(len(page["records"]))
    return sum(sizes), sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.bench")
    parser.add_argument("--partners", type=int, default=200)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--page-leads", type=int, default=0,
                        help="also page through an org with this many leads (e.g. 1000000)")  # fmt: skip
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        sb = sandbox.start(Path(tmp) / "empty", autosave=None)
        print(f"start empty org: {time.perf_counter() - began:.3f} s (includes the once-per-process JWT key)")
        sb.stop()
        began = time.perf_counter()
        sb = sandbox.start(Path(tmp) / "empty2", autosave=None)
        print(f"start empty org, warm process: {time.perf_counter() - began:.3f} s")
        sb.stop()

        began = time.perf_counter()
        sb = sandbox.start(Path(tmp) / "demo", seed="demo", partners=args.partners, leads=args.leads, autosave=None)
        print(f"start demo org ({args.partners} partners, {args.leads} leads): {time.perf_counter() - began:.2f} s")
        with sb:
            sf = _client(sb)
            began = time.perf_counter()
            total, sizes = _page_all(sf, "SELECT Id, Company, Country, State, OwnerId, SystemModstamp FROM Lead "
                                         "ORDER BY SystemModstamp, Id")  # fmt: skip
            elapsed = time.perf_counter() - began
            print(f"query {total} leads: {len(sizes)} pages {sizes[:3]}{'...' if len(sizes) > 3 else ''} "
                  f"in {elapsed:.2f} s ({total / elapsed:,.0f} records/s)")  # fmt: skip

            lead_ids = [r["Id"] for r in sb.org.records("Lead")][:10_000]
            queue = sb.org.queue_ids["Unassigned_Partner_Leads"]
            sb.counters.reset()
            began = time.perf_counter()
            for i in range(0, len(lead_ids), 200):
                batch = [{"attributes": {"type": "Lead"}, "id": lid, "OwnerId": queue, "Routing_Status__c": "Offered",
                          "Routing_Attempt__c": 1} for lid in lead_ids[i : i + 200]]  # fmt: skip
                results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": batch},
                                     headers={"Sforce-Auto-Assign": "FALSE"})  # fmt: skip
                assert all(r["success"] for r in results), results[:3]
            elapsed = time.perf_counter() - began
            calls = sb.counters.count("PATCH composite/sobjects")
            print(f"composite update {len(lead_ids)} leads in {calls} requests: {elapsed:.2f} s "
                  f"({len(lead_ids) / elapsed:,.0f} records/s)")  # fmt: skip
            began = time.perf_counter()
            sb.save()
            print(f"save org to disk: {time.perf_counter() - began:.2f} s")
        began = time.perf_counter()
        sb = sandbox.start(Path(tmp) / "demo", autosave=None)
        print(f"restart demo org from disk: {time.perf_counter() - began:.2f} s")
        sb.stop()

        if args.page_leads:
            sb = sandbox.start(Path(tmp) / "big", autosave=None)
            with sb:
                began = time.perf_counter()
                for i in range(args.page_leads):
                    sb.org.create("Lead", {"LastName": f"L{i}", "Company": "Bulk Co", "Country": "US"})
                print(f"store {args.page_leads:,} leads directly: {time.perf_counter() - began:.1f} s")
                sf = _client(sb)
                sb.counters.reset()
                began = time.perf_counter()
                total, sizes = _page_all(sf, "SELECT Id, Company, SystemModstamp FROM Lead ORDER BY SystemModstamp, Id")
                elapsed = time.perf_counter() - began
                first = sb.counters.requests("GET query")[0].elapsed_ms
                per_page = statistics.median(r.elapsed_ms for r in sb.counters.requests("GET query/{locator}"))
                print(f"query {total:,} leads: {len(sizes)} pages in {elapsed:.1f} s ({total / elapsed:,.0f} records/s "
                      f"with an in-process client); server: first page {first:.0f} ms (runs the query), "
                      f"then {per_page:.1f} ms per page of 2,000")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How fast `execute` is on a big org: `python -m sandbox.soql.bench [--leads 100000]`.

Builds an org through the store's own `create` (so records look like real ones),
then times typical connector queries, best of three, and prints one line each.
The target from the issue: a filtered, ordered query over 100,000 leads well under 1 s.
"""
from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta

from sandbox.soql import execute
from sandbox.store import Org

PRODUCTS = ["Cloud Migration", "Data Platform", "Security Suite", "Analytics", "Networking"]
STATUSES = ["Pending", "Offered", "Accepted", "Escalated", "Unroutable", None]


def build(leads: int, seed: int = 7) -> Org:
    rnd = random.Random(seed)
    org = Org()
    accounts = [
        org.create("Account", {"Name": f"Partner {i}", "IsPartner": i % 3 != 0, "BillingCountry": "US"})
        for i in range(200)
    ]
    owners = [org.integration_user_id, *org.queue_ids.values()]
    start = org.clock.now() - timedelta(days=40)
    for i in range(leads):
        org.create(
            "Lead",
            {
                "LastName": f"Lead{i}",
                "Company": rnd.choice(["Acme", "Globex", "Initech", "Umbrella"]) + f" {i % 977}",
                "Country": rnd.choice(["US", "DE", "FR", "JP", None]),
                "Routing_Status__c": rnd.choice(STATUSES),
                "Products__c": ";".join(rnd.sample(PRODUCTS, rnd.randint(0, 2))) or None,
                "PartnerAccountId": rnd.choice(accounts) if i % 2 else None,
                "OwnerId": rnd.choice(owners),
                "Offer_Deadline__c": start + timedelta(minutes=rnd.randint(0, 60 * 24 * 60)),
                "Deal_Amount__c": rnd.randint(0, 500_000),
            },
            system=True,
        )
    return org


def timed(org: Org, soql: str, render: bool = False) -> tuple[float, int]:
    best = float("inf")
    size = 0
    for _ in range(3):
        t0 = time.perf_counter()
        result = execute(soql, org)
        if render:
            for i in range(0, len(result.rows), 2000):
                [result.render(r) for r in result.rows[i : i + 2000]]
        best = min(best, time.perf_counter() - t0)
        size = result.total_size
    return best, size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    org = build(args.leads)
    print(f"built org with {args.leads} leads in {time.perf_counter() - t0:.1f} s")
    lo = (org.clock.now() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    queries = {
        "incremental (SystemModstamp window, ORDER BY SystemModstamp, Id)": (
            "SELECT Id, LastName, Company, Country, OwnerId, SystemModstamp FROM Lead "
            "WHERE SystemModstamp >= 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id"
        ),
        "offered past deadline, ordered": (
            "SELECT Id, Offer_Deadline__c FROM Lead WHERE Routing_Status__c = 'Offered' "
            f"AND Offer_Deadline__c < {lo} ORDER BY Offer_Deadline__c DESC NULLS LAST"
        ),
        "IN + LIKE + 2-direction ORDER BY, LIMIT 2000": (
            "SELECT Id, Company FROM Lead WHERE Country IN ('US', 'de') AND Company LIKE 'acme%' "
            "ORDER BY Company DESC NULLS LAST, Id LIMIT 2000"
        ),
        "relationship filter + relationship order": (
            "SELECT Id, PartnerAccount.Name FROM Lead WHERE PartnerAccount.IsPartner = true "
            "AND Products__c INCLUDES ('Analytics', 'Networking;Security Suite') ORDER BY PartnerAccount.Name"
        ),
        "COUNT() with date literal": "SELECT COUNT() FROM Lead WHERE Offer_Deadline__c = LAST_N_DAYS:30",
        "polymorphic Owner.Type filter": "SELECT Id FROM Lead WHERE Owner.Type = 'Queue' ORDER BY Owner.Name",
        "GROUP BY status, COUNT/SUM (aggregate)": (
            "SELECT Routing_Status__c, COUNT(Id), SUM(Deal_Amount__c) FROM Lead GROUP BY Routing_Status__c"
        ),
        "GROUP BY partner name, top 3 (aggregate)": (
            "SELECT PartnerAccount.Name, COUNT(Id) c FROM Lead WHERE PartnerAccountId != null "
            "GROUP BY PartnerAccount.Name ORDER BY COUNT(Id) DESC LIMIT 3"
        ),
    }
    for label, soql in queries.items():
        seconds, size = timed(org, soql)
        print(f"{seconds * 1000:8.1f} ms  {size:7d} rows  {label}")
    soql = "SELECT Id, Name, Company, Owner.Name, PartnerAccount.Name, SystemModstamp FROM Lead LIMIT 10000"
    seconds, size = timed(org, soql, render=True)
    print(f"{seconds * 1000:8.1f} ms  {size:7d} rows  execute + render 10,000 rows as 5 pages of 2,000")


if __name__ == "__main__":
    main()

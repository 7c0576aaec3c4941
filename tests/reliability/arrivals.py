"""New leads arriving in the org while the connector runs (web forms, imports).

Each new lead copies the business fields of a lead the seed made, so it is as
routable as the seed's leads are, and arrives untouched: no owner of ours, no
routing status.
"""
from __future__ import annotations

import random
from typing import Any

COPIED = ("FirstName", "LastName", "Company", "Title", "Email", "Phone", "Website", "Street", "City", "State",
          "PostalCode", "Country", "Latitude", "Longitude", "Industry", "LeadSource", "Rating",
          "NumberOfEmployees", "AnnualRevenue", "Products__c", "Deal_Amount__c", "Expected_Close_Date__c",
          "Preferred_Language__c")


class Arrivals:
    def __init__(self, org: Any, seed: int):
        self.org = org
        self.rng = random.Random(f"arrivals:{seed}")
        with org.lock:
            self.templates = [
                {k: r.get(k) for k in COPIED if r.get(k) is not None}
                for r in org.records("Lead")
                if not r.get("IsConverted") and not r.get("Do_Not_Route__c") and not r.get("Routing_Status__c")
            ]
        if not self.templates:
            raise ValueError("the org has no untouched lead to copy new leads from; seed it with leads first")
        self.created: list[str] = []

    def arrive(self, n: int) -> list[str]:
        made = []
        for _ in range(n):
            fields = dict(self.rng.choice(self.templates))
            fields["LastName"] = f"{fields.get('LastName', 'Lead')} {len(self.created) + len(made) + 1}"
            made.append(self.org.create("Lead", fields))
        self.created.extend(made)
        return made

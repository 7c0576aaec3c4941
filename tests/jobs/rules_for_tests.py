"""A small, readable rule file for the lifecycle tests: plain clock hours, one rotation."""
from __future__ import annotations

from pathlib import Path

BASE = """
[settings]
escalation_queue = "Channel_Escalations"
max_attempts = 3
offer_hours = 24
business_hours = false
max_open_offers = 1000
max_offers_per_day = 1000
deal_registration = false

[[gate]]
when = "not do_not_route"
reason = "Do_Not_Route__c: ticked by a person"

[[gate]]
when = 'country != null and country != ""'
reason = "Country: missing"
"""

POOL = """
[territories]
NA = ["US", "CA", "MX"]

[[ruleset]]
name = "North America to the pool"
when = 'country in ["US", "CA", "MX"]'

  [[ruleset.rule]]
  name = "North America pool"
  match = { territories = ["NA"], geography = true }
  pool = "Partner_Pool_NA"
  offer_hours = 24
"""

ROTATION = """
[[ruleset]]
name = "Everyone"

  [[ruleset.rule]]
  name = "Covering partner, fair rotation"
  match = { geography = true }
  distribute = "round_robin"
  otherwise = "escalate"
"""


def write_rules(tmp_path: Path, *, pools: bool = False, business_hours: bool = False) -> Path:
    p = tmp_path / f"rules-{int(pools)}{int(business_hours)}.toml"
    base = BASE
    if business_hours:
        base = base.replace("offer_hours = 24\nbusiness_hours = false",
                            "offer_hours = 8\nbusiness_hours = true\nworkday = [9, 17]\nweekdays = [0, 1, 2, 3, 4]")
    p.write_text(base + (POOL + ROTATION if pools else ROTATION))
    return p

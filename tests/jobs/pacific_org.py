"""Pacific Edge: a small org, not the demo seed, shaped unlike it — three partner accounts
at both ends of the date line, coverage by postal prefix only or by radius only, tier names
the shipped rules never mention, a partner without any rep, no daily caps, and rules ending
in `otherwise = "escalate"` rather than a pool or the fallback queue.

* Kiritimati Atoll IT (Pacific/Kiritimati, UTC+14): covers US postal prefixes 94 and 95 only;
  tier "Diamond".
* Pago Pago Networks (Pacific/Pago_Pago, UTC-11): no coverage at all, a 100 km service
  radius around San Francisco; tier "Elite".
* Ghost Partner: covers the US, has no rep.

Built on tests/jobs/kestrel_org.py's `Kestrel` helper (once, view, explain, answers as reps),
with this org's own partners and rules; the sandbox's clock starts at a fixed moment.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tests.jobs.kestrel_org import Kestrel, _rep

UTC = timezone.utc
# Tuesday 10 June 2031, 20:00 UTC: 09:00 Tuesday in Pago Pago, 10:00 Wednesday on Kiritimati
START = datetime(2031, 6, 10, 20, 0, tzinfo=UTC)

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
max_attempts = 3
offer_hours = 24
business_hours = true

[[gate]]
when = 'company != null and company != ""'
reason = "Company: missing"

[[ruleset]]
name = "All"

  [[ruleset.rule]]
  name = "Postal coverage"
  match = { geography = true }
  distribute = "round_robin"

  [[ruleset.rule]]
  name = "Nearby"
  match = { within_km = 50, partner_radius = true }
  distribute = "nearest"
  otherwise = "escalate"
"""

PARTNERS: list[tuple[str, str, dict]] = [
    ("kiri", "Kiritimati Atoll IT", {"Coverage__c": "US:94; US:95", "Partner_Tier__c": "Diamond",
                                     "Time_Zone__c": "Pacific/Kiritimati"}),
    ("pago", "Pago Pago Networks", {"BillingLatitude": 37.77, "BillingLongitude": -122.42,
                                    "Service_Radius_Km__c": 100.0, "Partner_Tier__c": "Elite",
                                    "Time_Zone__c": "Pacific/Pago_Pago"}),
    ("ghost", "Ghost Partner", {"Coverage__c": "US"}),
]


def build(sb, work: Path, rules: str = RULES) -> Kestrel:
    from jobs.ops.demo import write_config

    org = sb.org
    integration = org.integration_user_id
    k = Kestrel(sb=sb, work=work, admin=org.admin_user_id)
    for short, name, fields in PARTNERS:
        k.partners[short] = org.create("Account", {"Name": name, "IsPartner": True, "OwnerId": integration, **fields},
                                       as_user=integration)
        if short != "ghost":
            k.reps[short] = _rep(org, integration, short, k.partners[short], 0, fields["Time_Zone__c"])
    for dev in ("Channel_Escalations", "Unassigned_Partner_Leads", "Inside_Sales"):
        k.queues[dev] = org.queue_ids[dev]
    path = work / "rules.toml"
    path.write_text(rules)
    k.config = write_config(work, sb.connection, path)
    return k


def pacific_fixture(sandbox_factory, tmp_path):
    sb = sandbox_factory(start_at=START)
    work = tmp_path / "pacific"
    work.mkdir()
    k = build(sb, work)
    yield k
    k.close()

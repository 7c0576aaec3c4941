"""Kestrel Networks: an APAC + EMEA vendor's org, not the demo seed, built the way an ops
person reads the docs (README.md, rules/defaults/rules.toml, mappings/defaults).

The org's Default Time Zone is Australia/Sydney and its fiscal year starts in July (an
Australian company). Its channel:

* ANZ: two distributors (Southern Cross in Sydney, Pacific Rim in Auckland), each with
  resellers (Harbour IT and Outback Systems under Southern Cross; Kiwi Cloud under Pacific
  Rim), offers counted in each partner's working hours (Time_Zone__c);
* Singapore: three resellers weighted 3 : 2 : 1 (Routing_Weight__c), one with a daily cap;
* Japan: a pull pool (Partner_Pool_JP) that two partners' reps pull from;
* the UK: partners with coordinates and service radii (proximity), and deal registrations
  (approved, expired, rejected) for named companies;
* India: "closing this quarter" (fiscal) to a Gold partner, later deals to a Silver one.

The connector runs as `leadrouter once` (in-process `jobs.cli.main`) over HTTPS against
the sandbox; time moves only on the sandbox's clock, which starts at a fixed moment
(never today). `Kestrel.view()` reads a Lead as an admin does, through simple-salesforce.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

UTC = timezone.utc
# Monday 3 March 2031, 09:30 in Sydney (AEDT, UTC+11): a working morning in ANZ
START = datetime(2031, 3, 2, 22, 30, tzinfo=UTC)

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
max_attempts = 4
offer_hours = 24
business_hours = false
workday = [9, 17]
weekdays = [0, 1, 2, 3, 4]
max_open_offers = 1000
max_offers_per_day = 1000
time_zone = "Australia/Sydney"
fiscal_year_start_month = 7

[settings.certifications_for_products]
"Security Suite" = ["Security"]
"Data Platform" = ["Data Analytics"]
"Cloud Migration" = ["AWS Migration", "Azure Migration"]
"ERP Connector" = ["SAP"]

[territories]
ANZ = ["AU", "NZ"]

[[gate]]
when = "not do_not_route"
reason = "Do_Not_Route__c: ticked by a person"

[[ruleset]]
name = "Japan"
when = 'country == "JP"'

  [[ruleset.rule]]
  name = "Japan pull pool"
  match = { geography = true }
  pool = "Partner_Pool_JP"
  offer_hours = 24
  otherwise = "escalate"

[[ruleset]]
name = "ANZ two-tier"
when = 'country in ["AU", "NZ"]'

  [[ruleset.rule]]
  name = "ANZ distributor"
  match = { territories = ["ANZ"], role = "Distributor" }
  distribute = "round_robin"
  offer_hours = 8
  business_hours = true
  otherwise = "escalate"

    [ruleset.rule.hand_down]
    match = { geography = true }
    distribute = "round_robin"
    offer_hours = 8
    business_hours = true

[[ruleset]]
name = "Singapore"
when = 'country == "SG"'

  [[ruleset.rule]]
  name = "Singapore weighted"
  match = { geography = true }
  distribute = "weighted"
  weight_by = "weight"
  otherwise = "escalate"

[[ruleset]]
name = "Gulf"
when = 'country == "AE"'

  [[ruleset.rule]]
  name = "Hot referral to a Preferred Platinum"
  when = 'source == "Partner Referral" and rating == "Hot" and amount >= 100000'
  match = { geography = true, min_tier = "Platinum", programs = ["Preferred"] }
  distribute = "round_robin"

  [[ruleset.rule]]
  name = "Certified for the products"
  when = 'not products.is_empty and "Managed Services" not in products'
  match = { geography = true, certified_for_products = true }
  distribute = "round_robin"

  [[ruleset.rule]]
  name = "Industry specialist"
  match = { geography = true, industry = true }
  distribute = "least_loaded"

  [[ruleset.rule]]
  name = "Anyone in the Gulf"
  match = { geography = true }
  distribute = "round_robin"
  otherwise = "escalate"

[[ruleset]]
name = "United Kingdom"
when = 'country == "GB"'

  [[ruleset.rule]]
  name = "Nearest UK partner"
  when = "lat != null and lon != null"
  match = { within_km = 25, widen_km = [100], partner_radius = true }
  distribute = "nearest"

  [[ruleset.rule]]
  name = "UK rotation"
  match = { geography = true }
  distribute = "round_robin"
  otherwise = "escalate"

[[ruleset]]
name = "India"
when = 'country == "IN"'

  [[ruleset.rule]]
  name = "Closing this quarter to Gold"
  when = "close_date >= quarter_start and close_date <= quarter_end"
  match = { geography = true, min_tier = "Gold" }
  distribute = "round_robin"

  [[ruleset.rule]]
  name = "Later deals to Silver"
  match = { geography = true, tiers = ["Silver"] }
  distribute = "round_robin"
  otherwise = "escalate"
"""


@dataclass
class Kestrel:
    sb: Any
    work: Path
    partners: dict[str, str] = field(default_factory=dict)  # short name -> Account id
    reps: dict[str, str] = field(default_factory=dict)  # short name -> its (first) rep's User id
    queues: dict[str, str] = field(default_factory=dict)
    admin: str = ""
    config: Path = Path()
    _sf: Any = None

    @property
    def org(self):
        return self.sb.org

    # ------------------------------------------------------------------ the org's people
    def name_of(self, partner_id: str | None) -> str | None:
        return next((k for k, v in self.partners.items() if v == partner_id), None)

    def rep_of(self, short: str) -> str:
        return self.reps[short]

    def new_lead(self, company: str, country: str, **extra: Any) -> str:
        fields = {"LastName": "Buyer", "Company": company, "Country": country, "LeadSource": "Web",
                  "Status": "Open - Not Contacted", "OwnerId": self.queues["Inside_Sales"], **extra}
        return self.org.create("Lead", fields, as_user=self.admin)

    def save_as(self, rep: str, lead_id: str, fields: dict) -> Any:
        """The rep saves the Lead with their own session over HTTPS, as the portal's offer
        component does (Salesforce's sharing applies): the response."""
        from tests.jobs.test_outsider_answer_e2e import save_as

        return save_as(self.sb, rep, lead_id, fields)

    def answer(self, lead_id: str, fields: dict, *, as_user: str | None = None) -> None:
        """A partner rep answers in the portal (the Lead's owner, unless told)."""
        rep = as_user or self.org.get("Lead", lead_id)["OwnerId"]
        r = self.save_as(rep, lead_id, fields)
        assert r.status_code == 204, r.text

    def accept(self, lead_id: str, *, as_user: str | None = None) -> None:
        self.answer(lead_id, {"Partner_Response__c": "Accepted"}, as_user=as_user)

    def reject(self, lead_id: str, code: str = "No capacity", *, as_user: str | None = None) -> None:
        self.answer(lead_id, {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": code,
                              "Rejection_Reason__c": f"{code}: not for us"}, as_user=as_user)

    def take_from_pool(self, lead_id: str, rep: str) -> Any:
        """A pool member's rep clicks Accept in the portal: the rep takes ownership. The
        response: a rep who came too late may be refused by Salesforce's sharing."""
        return self.save_as(rep, lead_id, {"OwnerId": rep, "Partner_Response__c": "Accepted"})

    # ------------------------------------------------------------------ time and the connector
    def now(self) -> datetime:
        return self.sb.clock.now()

    def at(self, when: datetime) -> None:
        assert when >= self.now(), f"the org's clock never goes back: {when} < {self.now()}"
        self.sb.clock.set(when)

    def once(self, *, hours: float = 0, init: bool = False) -> None:
        """`leadrouter once` after the org's clock moved on `hours` (and two seconds, so every
        change lies inside the read window: SOQL datetimes have whole seconds)."""
        from jobs.cli import main

        self.sb.clock.advance(timedelta(hours=hours, seconds=2))
        args = ["once", "--config", str(self.config)] + (["--init"] if init else [])
        code = main(args)
        assert code == 0, f"leadrouter once exited {code}"
        self.sb.clock.advance(timedelta(seconds=2))

    def explain(self, lead_id: str) -> dict:
        from jobs.cli import main

        out = self.work / "explain.json"
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["explain", lead_id, "--config", str(self.config), "--json"])
        assert code == 0, f"explain exited {code}: {buf.getvalue()[-2000:]}"
        out.write_text(buf.getvalue())
        return json.loads(buf.getvalue())

    def dry_run(self) -> dict[str, dict]:
        import contextlib
        import io

        from jobs.cli import main

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["dry-run", "--config", str(self.config), "--format", "json"])
        assert code == 0, f"dry-run exited {code}: {buf.getvalue()[-2000:]}"
        return {r["lead_id"]: r for r in json.loads(buf.getvalue())}

    # ------------------------------------------------------------------ what an admin sees
    def view(self, lead_id: str) -> dict:
        """The Lead as an admin reads it (over HTTPS, SOQL; a new session each time, as the
        org's clock may have moved past the last one's lifetime)."""
        from tests.conftest import salesforce_client

        if self._sf is not None:
            self._sf.session.close()
        self._sf = salesforce_client(self.sb)
        row = self._sf.query(
            "SELECT OwnerId, PartnerAccountId, Routing_Status__c, Routing_Rule__c, Routing_Reason__c, "
            f"Routing_Attempt__c, Partner_Response__c, Offer_Deadline__c FROM Lead WHERE Id = '{lead_id}'"
        )["records"][0]
        row.pop("attributes", None)
        row["partner"] = self.name_of(row["PartnerAccountId"])
        return row

    def close(self) -> None:
        if self._sf is not None:
            self._sf.session.close()


def _rep(org: Any, integration: str, short: str, account: str, n: int, tz: str) -> str:
    email = f"rep{n}@{short}.example"
    contact = org.create("Contact", {"AccountId": account, "FirstName": f"Rep{n}", "LastName": short.title(),
                                     "Email": email}, as_user=integration)
    return org.create("User", {"Username": f"rep{n}@{short}.example.partner", "FirstName": f"Rep{n}",
                               "LastName": short.title(), "Email": email, "Alias": f"{short[:5]}{n}",
                               "IsActive": True, "UserType": "PowerPartner", "AccountId": account,
                               "ContactId": contact, "TimeZoneSidKey": tz, "LanguageLocaleKey": "en_US"},
                      as_user=integration)


# short, name, fields
PARTNERS: list[tuple[str, str, dict]] = [
    # ANZ two-tier: distributors, then their resellers (ParentId filled in below)
    ("southern", "Southern Cross Distribution Pty", {"BillingCountry": "Australia", "Coverage__c": "AU; NZ",
     "Partner_Role__c": "Distributor", "Partner_Tier__c": "Platinum", "Time_Zone__c": "Australia/Sydney"}),
    ("pacific", "Pacific Rim Distribution Ltd", {"BillingCountry": "New Zealand", "Coverage__c": "AU; NZ",
     "Partner_Role__c": "Distributor", "Partner_Tier__c": "Platinum", "Time_Zone__c": "Pacific/Auckland"}),
    ("harbour", "Harbour IT Pty", {"BillingCountry": "Australia", "Coverage__c": "AU", "Partner_Role__c": "Reseller",
     "Time_Zone__c": "Australia/Sydney", "_parent": "southern"}),
    ("outback", "Outback Systems Pty", {"BillingCountry": "Australia", "Coverage__c": "AU", "Partner_Role__c": "Reseller",
     "Time_Zone__c": "Australia/Perth", "_parent": "southern"}),
    ("kiwi", "Kiwi Cloud Ltd", {"BillingCountry": "New Zealand", "Coverage__c": "NZ; AU", "Partner_Role__c": "Reseller",
     "Time_Zone__c": "Pacific/Auckland", "_parent": "pacific"}),
    # Singapore: weighted 3 : 2 : 1
    ("lion", "Lion City IT Pte", {"BillingCountry": "Singapore", "Coverage__c": "SG", "Routing_Weight__c": 3.0,
     "Time_Zone__c": "Asia/Singapore"}),
    ("straits", "Straits Digital Pte", {"BillingCountry": "Singapore", "Coverage__c": "SG", "Routing_Weight__c": 2.0,
     "Time_Zone__c": "Asia/Singapore"}),
    ("merlion", "Merlion Systems Pte", {"BillingCountry": "Singapore", "Coverage__c": "SG", "Routing_Weight__c": 1.0,
     "Time_Zone__c": "Asia/Singapore"}),
    # Japan: two pool members
    ("sakura", "Sakura Solutions KK", {"BillingCountry": "Japan", "Coverage__c": "JP", "Time_Zone__c": "Asia/Tokyo"}),
    ("fuji", "Fuji Networks KK", {"BillingCountry": "Japan", "Coverage__c": "JP", "Time_Zone__c": "Asia/Tokyo"}),
    # the UK: coordinates and service radii
    ("thames", "Thames Analytics Ltd", {"BillingCountry": "United Kingdom", "Coverage__c": "GB",
     "BillingLatitude": 51.5072, "BillingLongitude": -0.1276, "Service_Radius_Km__c": 40.0,
     "Time_Zone__c": "Europe/London"}),
    ("mersey", "Mersey Managed Services Ltd", {"BillingCountry": "United Kingdom", "Coverage__c": "GB",
     "BillingLatitude": 53.4084, "BillingLongitude": -2.9916, "Service_Radius_Km__c": 60.0,
     "Time_Zone__c": "Europe/London"}),
    ("pennine", "Pennine Networks Ltd", {"BillingCountry": "United Kingdom", "Coverage__c": "GB",
     "BillingLatitude": 53.4808, "BillingLongitude": -2.2426, "Service_Radius_Km__c": 60.0,
     "Time_Zone__c": "Europe/London"}),
    # India: a Gold and a Silver partner
    ("ganges", "Ganges Cloud Pvt", {"BillingCountry": "India", "Coverage__c": "IN", "Partner_Tier__c": "Gold",
     "Time_Zone__c": "Asia/Kolkata"}),
    ("deccan", "Deccan Data Pvt", {"BillingCountry": "India", "Coverage__c": "IN", "Partner_Tier__c": "Silver",
     "Time_Zone__c": "Asia/Kolkata"}),
    # the Gulf: criteria of the lead (source, rating, amount, products, industry) and the
    # partner (tier, programs, certifications, industries)
    ("dune", "Dune Digital FZ-LLC", {"BillingCountry": "United Arab Emirates", "Coverage__c": "AE",
     "Partner_Tier__c": "Platinum", "Partner_Programs__c": "Preferred;MSP", "Certifications__c": "Security",
     "Industries__c": "Banking", "Time_Zone__c": "Asia/Dubai"}),
    ("oasis", "Oasis Technology LLC", {"BillingCountry": "United Arab Emirates", "Coverage__c": "AE",
     "Partner_Tier__c": "Gold", "Partner_Programs__c": "Cloud", "Certifications__c": "Data Analytics;AWS Migration",
     "Industries__c": "Retail", "Time_Zone__c": "Asia/Dubai"}),
    ("falcon", "Falcon IT Services LLC", {"BillingCountry": "United Arab Emirates", "Coverage__c": "AE",
     "Partner_Tier__c": "Platinum", "Time_Zone__c": "Asia/Dubai"}),
]


def build(sb, work: Path) -> Kestrel:
    """Fill an empty sandbox org (started at START) with Kestrel's channel; write the
    config and rule file an ops person would, into `work`."""
    from jobs.ops.demo import write_config
    from sandbox.bootstrap import add_queue

    org = sb.org
    integration = org.integration_user_id
    k = Kestrel(sb=sb, work=work, admin=org.admin_user_id)
    org.update("Organization", org.organization_id,
               {"TimeZoneSidKey": "Australia/Sydney", "FiscalYearStartMonth": 7}, system=True)
    for short, name, fields in PARTNERS:
        fields = dict(fields)
        parent = fields.pop("_parent", None)
        base = {"Name": name, "IsPartner": True, "OwnerId": integration, "Partner_Tier__c": "Silver",
                "Partner_Role__c": "Reseller", "Capacity__c": 1000.0, "Daily_Cap__c": 1000.0,
                "Routing_Weight__c": 1.0}
        if parent:
            base["ParentId"] = k.partners[parent]
        k.partners[short] = org.create("Account", {**base, **fields}, as_user=integration)
        k.reps[short] = _rep(org, integration, short, k.partners[short], 0, fields.get("Time_Zone__c", "GMT"))
    for dev in ("Channel_Escalations", "Unassigned_Partner_Leads", "Inside_Sales"):
        k.queues[dev] = org.queue_ids[dev]
    k.queues["Partner_Pool_JP"] = add_queue(org, "Partner_Pool_JP", "Partner Pool Japan")
    for short in ("sakura", "fuji"):
        org.create("GroupMember", {"GroupId": k.queues["Partner_Pool_JP"], "UserOrGroupId": k.reps[short]},
                   as_user=integration)

    rules = work / "rules.toml"
    rules.write_text(RULES)
    k.config = write_config(work, sb.connection, rules)
    type_id = next(r["Id"] for r in org.records("CustomNotificationType"))
    k.config.write_text(k.config.read_text() + (
        "\n[notifications]\nmode = \"custom\"\n"
        f"custom_notification_type_id = \"{type_id}\"\noffer_alert = \"custom\"\n"))
    return k


def register_deal(k: Kestrel, short: str, company: str, *, status: str = "Approved",
                  expires: date | None = None, domain: str | None = None) -> str:
    """A deal registration, as the shipped dealreg mapping reads it (Opportunity fields)."""
    today = k.now().date()
    return k.org.create("Opportunity", {
        "Name": f"{company} - registration", "PartnerAccountId": k.partners[short], "StageName": "Qualification",
        "CloseDate": today + timedelta(days=90), "Deal_Registration_Status__c": status,
        "Registration_Expires__c": expires or today + timedelta(days=30), "Registered_Company__c": company,
        "Registered_Email_Domain__c": domain,
    }, as_user=k.org.integration_user_id)


def kestrel_fixture(sandbox_factory, tmp_path):
    """A fresh Kestrel org on a sandbox whose clock starts at START."""
    sb = sandbox_factory(start_at=START)
    work = tmp_path / "kestrel"
    work.mkdir()
    k = build(sb, work)
    yield k
    k.close()

"""Alpen Systeme: a German-speaking vendor's org, not the demo seed, set up from the docs
by an admin who kept the routing lifecycle on the org's own German picklists.

* The routing status lives in `Zuweisung__c` (Ausstehend, Angeboten, Angenommen, …) and the
  partner's answer in `Partner_Antwort__c` (Angenommen / Abgelehnt), both history-tracked;
  the mappings map the router's words to these (mappings/README.md: `map` in
  writeback.toml, read back mapped the other way in lead.toml).
* "Keep this lead in house" is the checkbox `Nicht_Routen__c`, not Do_Not_Route__c.
* The partner tier is `Partner_Stufe__c` ("Stufe 1…3"), the territory `Vertriebsgebiet__c`.
* The org's Default Time Zone is Europe/Berlin; partners in DE, AT and CH.

The connector runs as `leadrouter once` (in-process `jobs.cli.main`) over HTTPS against the
sandbox, on the sandbox's clock, which starts at a fixed moment (never today).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sandbox.schema import default_sfdx_dir

UTC = timezone.utc
# Tuesday 4 March 2031, 09:00 in Berlin (CET, UTC+1)
START = datetime(2031, 3, 4, 8, 0, tzinfo=UTC)

# the router's words -> the org's
STATUS = {"Pending": "Ausstehend", "Offered": "Angeboten", "Accepted": "Angenommen", "Escalated": "Eskaliert",
          "Fallback": "Warteschlange", "Unroutable": "Nicht routbar", "Released": "Freigegeben",
          "Closed": "Abgeschlossen"}
ANSWER = {"Accepted": "Angenommen", "Rejected": "Abgelehnt"}
LEVELS = {"Stufe 1": "Registered", "Stufe 2": "Silver", "Stufe 3": "Gold"}

_FIELD = """<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>{name}</fullName>
    <label>{label}</label>
    <required>false</required>
    <trackHistory>{track}</trackHistory>
    <type>{type}</type>{extra}
</CustomField>
"""


def _picklist(values: list[str], restricted: bool = True) -> str:
    items = "".join(
        f"\n            <value><fullName>{v}</fullName><default>false</default><label>{v}</label></value>"
        for v in values)
    return (f"\n    <valueSet>\n        <restricted>{str(restricted).lower()}</restricted>\n"
            f"        <valueSetDefinition>\n            <sorted>false</sorted>{items}\n"
            "        </valueSetDefinition>\n    </valueSet>")


FIELDS: dict[str, list[tuple[str, str, str, bool]]] = {
    "Lead": [
        ("Zuweisung__c", "Picklist", _picklist(list(STATUS.values())), True),
        ("Partner_Antwort__c", "Picklist", _picklist(list(ANSWER.values())), True),
        ("Nicht_Routen__c", "Checkbox", "\n    <defaultValue>false</defaultValue>", False),  # "keep it in house"
        # what a test maps partner_id to, for an org whose PartnerAccountId is not writable
        ("Vertriebspartner__c", "Lookup", "\n    <referenceTo>Account</referenceTo>\n    <relationshipName>"
                                          "Partner_Leads</relationshipName>\n    <deleteConstraint>SetNull</deleteConstraint>",
         True),
    ],
    "Account": [
        ("Partner_Stufe__c", "Picklist", _picklist(list(LEVELS), restricted=False), False),
        ("Vertriebsgebiet__c", "Text", "\n    <length>255</length>", False),
        ("Zeitzone__c", "Text", "\n    <length>40</length>", False),  # what a test maps time_zone to
        ("Arbeitstage__c", "Text", "\n    <length>80</length>", False),  # what a test maps working_days to
        # the two-tier channel: a reseller names its distributor here, not in ParentId
        ("Partnertyp__c", "Picklist", _picklist(["Großhändler", "Händler"], restricted=False), False),
        ("Distributor__c", "Lookup", "\n    <referenceTo>Account</referenceTo>\n    <relationshipName>Haendler</relationshipName>"
                                     "\n    <deleteConstraint>SetNull</deleteConstraint>", False),
    ],
}


# the labels the admin gave the org's fields (what the Lead's page shows); the others read as their API names
LABELS = {"Zuweisung__c": "Zuweisungsstatus", "Nicht_Routen__c": "Nicht routen", "Partner_Antwort__c": "Partner-Antwort"}


def alpen_sfdx(directory: Path) -> Path:
    """The shipped metadata (an admin deploys salesforce/) plus the org's own fields."""
    objects = directory / "force-app/main/default/objects"
    shutil.copytree(default_sfdx_dir() / "force-app/main/default/objects", objects)
    for sobject, fields in FIELDS.items():
        for name, type_, extra, track in fields:
            (objects / sobject / "fields").mkdir(parents=True, exist_ok=True)
            (objects / sobject / "fields" / f"{name}.field-meta.xml").write_text(_FIELD.format(
                name=name, label=LABELS.get(name) or name.removesuffix("__c").replace("_", " "), type=type_, extra=extra,
                track=str(track).lower()))
    return directory


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}: the shipped file changed, update this edit"
    path.write_text(text.replace(old, new, 1))


def _toml_map(m: dict[str, str]) -> str:
    return "{ " + ", ".join(f'"{k}" = "{v}"' for k, v in m.items()) + " }"


def write_mappings(directory: Path) -> Path:
    """The shipped mappings copied and edited as mappings/README.md says, for this org's fields."""
    from mappings import loader

    shutil.copytree(Path(loader.__file__).parent / "defaults", directory)
    lead, partner, wb = directory / "lead.toml", directory / "partner.toml", directory / "writeback.toml"
    back = {v: k for k, v in STATUS.items()}
    _edit(lead, 'routing_status = "Routing_Status__c"',
          f'routing_status = {{ field = "Zuweisung__c", map = {_toml_map(back)} }}')
    _edit(lead, 'response = "Partner_Response__c"',
          f'response = {{ field = "Partner_Antwort__c", map = {_toml_map({v: k for k, v in ANSWER.items()})} }}')
    _edit(wb, 'routing_status = "Routing_Status__c"', f'routing_status = {{ field = "Zuweisung__c", map = {_toml_map(STATUS)} }}')
    _edit(wb, 'response = "Partner_Response__c"', f'response = {{ field = "Partner_Antwort__c", map = {_toml_map(ANSWER)} }}')
    _edit(lead, 'do_not_route = { field = "Do_Not_Route__c", default = false }',
          'do_not_route = { field = "Nicht_Routen__c", default = false }')
    _edit(partner, 'tier = "Partner_Tier__c"', f'tier = {{ field = "Partner_Stufe__c", map = {_toml_map(LEVELS)} }}')
    _edit(partner, 'role = { field = "Partner_Role__c", default = "Reseller" }',
          'role = { field = "Partnertyp__c", map = { "Großhändler" = "Distributor", "Händler" = "Reseller" }, '
          'default = "Reseller" }')
    _edit(partner, 'parent_id = "ParentId"', 'parent_id = "Distributor__c"')
    _edit(partner, 'coverage = { field = "Coverage__c", transforms = ["coverage"] }',
          'coverage = { field = "Vertriebsgebiet__c", transforms = ["coverage"] }')
    return directory


RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
max_attempts = 3
offer_hours = 24
business_hours = false
time_zone = "Europe/Berlin"

[[gate]]
when = "not do_not_route"
reason = "Nicht_Routen__c: von Hand angekreuzt"

[[ruleset]]
name = "DACH"

  [[ruleset.rule]]
  name = "Gold first"
  when = 'source == "Partner Referral"'
  match = { geography = true, min_tier = "Gold" }
  distribute = "round_robin"

  [[ruleset.rule]]
  name = "Anyone covering"
  match = { geography = true }
  distribute = "round_robin"
  otherwise = "escalate"
"""


@dataclass
class Alpen:
    sb: Any
    work: Path
    partners: dict[str, str] = field(default_factory=dict)
    reps: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    admin: str = ""
    config: Path = Path()

    @property
    def org(self):
        return self.sb.org

    def name_of(self, partner_id: str | None) -> str | None:
        return next((k for k, v in self.partners.items() if v == partner_id), None)

    def new_lead(self, company: str, country: str, **extra: Any) -> str:
        fields = {"LastName": "Kunde", "Company": company, "Country": country, "LeadSource": "Web",
                  "Status": "Open - Not Contacted", "OwnerId": self.queues["Inside_Sales"], **extra}
        return self.org.create("Lead", fields, as_user=self.admin)

    def answer(self, lead_id: str, fields: dict, *, as_user: str | None = None) -> None:
        from tests.jobs.test_outsider_answer_e2e import save_as

        rep = as_user or self.org.get("Lead", lead_id)["OwnerId"]
        r = save_as(self.sb, rep, lead_id, fields)
        assert r.status_code == 204, r.text

    def accept(self, lead_id: str) -> None:
        self.answer(lead_id, {"Partner_Antwort__c": "Angenommen"})

    def reject(self, lead_id: str, code: str = "No capacity") -> None:
        self.answer(lead_id, {"Partner_Antwort__c": "Abgelehnt", "Rejection_Reason_Code__c": code,
                              "Rejection_Reason__c": f"{code}: nicht für uns"})

    def now(self) -> datetime:
        return self.sb.clock.now()

    def once(self, *, hours: float = 0, init: bool = False) -> None:
        from jobs.cli import main

        self.sb.clock.advance(timedelta(hours=hours, seconds=2))
        code = main(["once", "--config", str(self.config)] + (["--init"] if init else []))
        assert code == 0, f"leadrouter once exited {code}"
        self.sb.clock.advance(timedelta(seconds=2))

    def lead(self, lead_id: str) -> dict:
        row = dict(self.org.get("Lead", lead_id))
        row["partner"] = self.name_of(row.get("PartnerAccountId"))
        return row


def _rep(org: Any, integration: str, short: str, account: str, tz: str) -> str:
    email = f"vertrieb@{short}.example"
    contact = org.create("Contact", {"AccountId": account, "FirstName": "Rep", "LastName": short.title(),
                                     "Email": email}, as_user=integration)
    return org.create("User", {"Username": f"vertrieb@{short}.example.partner", "FirstName": "Rep",
                               "LastName": short.title(), "Email": email, "Alias": short[:8],
                               "IsActive": True, "UserType": "PowerPartner", "AccountId": account,
                               "ContactId": contact, "TimeZoneSidKey": tz, "LanguageLocaleKey": "de"},
                      as_user=integration)


PARTNERS: list[tuple[str, str, dict]] = [
    ("isar", "Isar Informatik GmbH", {"BillingCountry": "Deutschland", "Vertriebsgebiet__c": "DE; AT",
                                      "Partner_Stufe__c": "Stufe 3", "Time_Zone__c": "Europe/Berlin"}),
    ("donau", "Donau Daten GmbH", {"BillingCountry": "Österreich", "Vertriebsgebiet__c": "AT; DE",
                                   "Partner_Stufe__c": "Stufe 2", "Time_Zone__c": "Europe/Vienna"}),
    ("rhein", "Rhein Netz AG", {"BillingCountry": "Schweiz", "Vertriebsgebiet__c": "CH; DE",
                                "Partner_Stufe__c": "Stufe 1", "Time_Zone__c": "Europe/Zurich"}),
]


def build(sb: Any, work: Path) -> Alpen:
    from jobs.ops.demo import write_config

    org = sb.org
    integration = org.integration_user_id
    a = Alpen(sb=sb, work=work, admin=org.admin_user_id)
    org.update("Organization", org.organization_id, {"TimeZoneSidKey": "Europe/Berlin"}, system=True)
    for short, name, fields in PARTNERS:
        a.partners[short] = org.create("Account", {"Name": name, "IsPartner": True, "OwnerId": integration,
                                                   "Partner_Role__c": "Reseller", **fields}, as_user=integration)
        a.reps[short] = _rep(org, integration, short, a.partners[short], fields["Time_Zone__c"])
    for dev in ("Channel_Escalations", "Unassigned_Partner_Leads", "Inside_Sales"):
        a.queues[dev] = org.queue_ids[dev]
    rules = work / "rules.toml"
    rules.write_text(RULES)
    write_mappings(work / "mappings")
    a.config = write_config(work, sb.connection, rules)
    a.config.write_text(a.config.read_text() + '\n[mappings]\ndir = "mappings"\n\n[notifications]\nmode = "none"\n'
                        'offer_alert = "off"\n')
    return a


def alpen_fixture(sandbox_factory, tmp_path, monkeypatch):
    """A fresh Alpen org on a sandbox whose clock starts at START."""
    from sandbox import schema as schema_module

    from sandbox import sharing

    monkeypatch.setattr(schema_module, "_default_schema", schema_module.load_schema(alpen_sfdx(tmp_path / "sfdx")))
    # the admin added the org's two answer fields to LeadRouter_Partner_Rep, as reps set them
    readable, editable = sharing.partner_field_access()
    ours = frozenset({"Zuweisung__c", "Partner_Antwort__c"})
    monkeypatch.setattr(sharing, "partner_field_access", lambda: (readable | ours, editable | {"Partner_Antwort__c"}))
    sb = sandbox_factory(start_at=START)
    work = tmp_path / "alpen"
    work.mkdir()
    return build(sb, work)

"""The lead lifecycle as an admin watches it, on an org built here (not the demo seed).

A small org of its own: Dutch resellers in a round robin, a Belgian distributor with two
resellers, a French pool two partners pull from, German partners weighted 3:1, a deal
registration. The connector runs through its real entry point (`run_cycle`, every job
in cycle order) over HTTPS against the sandbox; partner reps answer the way the portal
component does (a PATCH of the Lead as the rep). After each step the test reads the Lead
as an admin would: owner, partner account, Routing_Status__c, rule and reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from tests.jobs.conftest import Loop, build_connector, is_reminder

pytestmark = pytest.mark.e2e

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
max_attempts = 3
offer_hours = 24
business_hours = false
max_open_offers = 1000
max_offers_per_day = 1000

[[gate]]
when = "not do_not_route"
reason = "Do_Not_Route__c: ticked by a person"

[[ruleset]]
name = "France"
when = 'country == "FR"'

  [[ruleset.rule]]
  name = "French pool"
  match = { geography = true }
  pool = "Partner_Pool_EMEA"
  offer_hours = 24

[[ruleset]]
name = "Belgium"
when = 'country == "BE"'

  [[ruleset.rule]]
  name = "Belgian distributor"
  match = { geography = true, role = "Distributor" }
  distribute = "round_robin"
  otherwise = "escalate"

[[ruleset]]
name = "Germany"
when = 'country == "DE"'

  [[ruleset.rule]]
  name = "German weighted"
  match = { geography = true }
  distribute = "weighted"
  weight_by = "weight"
  otherwise = "escalate"

[[ruleset]]
name = "Netherlands"

  [[ruleset.rule]]
  name = "Dutch rotation"
  match = { geography = true }
  distribute = "round_robin"
  otherwise = "escalate"
"""

@dataclass
class ScenarioOrg:
    sb: object
    partners: dict[str, str] = field(default_factory=dict)  # short name -> Account id
    reps: dict[str, list[str]] = field(default_factory=dict)  # short name -> its reps' User ids
    pool: str = ""
    inside_sales: str = ""
    admin: str = ""

    @property
    def org(self):
        return self.sb.org

    def partner_of(self, rep_id: str) -> str:
        return self.org.get("User", rep_id)["AccountId"]

    def name_of(self, partner_id: str) -> str:
        return next(k for k, v in self.partners.items() if v == partner_id)

    def new_lead(self, company: str, country: str = "NL", **extra) -> str:
        fields = {"LastName": "Visser", "Company": company, "Country": country, "LeadSource": "Web",
                  "Email": f"info@{company.lower().replace(' ', '')}.example", "OwnerId": self.inside_sales,
                  "Status": "Open - Not Contacted", **extra}
        return self.org.create("Lead", fields, as_user=self.admin)


def build_org(sb) -> ScenarioOrg:
    from sandbox.bootstrap import add_queue

    org = sb.org
    s = ScenarioOrg(sb=sb, admin=org.admin_user_id, inside_sales=org.queue_ids["Inside_Sales"])
    integration = org.integration_user_id

    def partner(short: str, name: str, coverage: str, *, reps: int = 1, **fields) -> str:
        pid = org.create("Account", {"Name": name, "IsPartner": True, "OwnerId": integration,
                                     "Partner_Tier__c": "Gold", "Partner_Role__c": "Reseller",
                                     "Coverage__c": coverage, "Capacity__c": 100.0, "Daily_Cap__c": 100.0,
                                     "Routing_Weight__c": 1.0, **fields}, as_user=integration)
        s.partners[short] = pid
        s.reps[short] = []
        for k in range(reps):
            contact = org.create("Contact", {"AccountId": pid, "FirstName": f"Rep{k}", "LastName": short.title(),
                                             "Email": f"rep{k}@{short}.example"}, as_user=integration)
            user = org.create("User", {"Username": f"rep{k}@{short}.example.sandbox", "FirstName": f"Rep{k}",
                                       "LastName": short.title(), "Email": f"rep{k}@{short}.example",
                                       "Alias": f"{short[:5]}{k}", "IsActive": True, "UserType": "PowerPartner",
                                       "AccountId": pid, "ContactId": contact, "TimeZoneSidKey": "Europe/Amsterdam",
                                       "LanguageLocaleKey": "en_US"}, as_user=integration)
            s.reps[short].append(user)
        return pid

    # the Netherlands: three resellers in a round robin
    partner("anker", "Anker ICT B.V.", "NL", reps=2)
    partner("brug", "Brug Systemen B.V.", "NL")
    partner("dijk", "Dijk Digitaal B.V.", "NL")
    # Belgium: a distributor and its two resellers
    dist = partner("maas", "Maas Distributie N.V.", "BE", Partner_Role__c="Distributor")
    partner("schelde", "Schelde IT BV", "BE", ParentId=dist)
    partner("leie", "Leie Networks BV", "BE", ParentId=dist)
    # France: two partners pulling from a pool
    partner("loire", "Loire Informatique SAS", "FR")
    partner("rhone", "Rhone Services SAS", "FR")
    # Germany: weighted 3:1
    partner("elbe", "Elbe Systemhaus GmbH", "DE", Routing_Weight__c=3.0)
    partner("isar", "Isar IT GmbH", "DE", Routing_Weight__c=1.0)
    s.pool = add_queue(org, "Partner_Pool_EMEA", "Partner Pool EMEA")
    for short in ("loire", "rhone"):
        org.create("GroupMember", {"GroupId": s.pool, "UserOrGroupId": s.reps[short][0]}, as_user=integration)
    # a registration for a Dutch company, by the partner the rotation would reach last
    today = sb.clock.now().date()
    org.create("Opportunity", {"Name": "Zeeland Logistics - Analytics", "PartnerAccountId": s.partners["dijk"],
                               "StageName": "Qualification", "CloseDate": today + timedelta(days=60),
                               "Deal_Registration_Status__c": "Approved",
                               "Registration_Expires__c": today + timedelta(days=30),
                               "Registered_Company__c": "Zeeland Logistics",
                               "Registered_Email_Domain__c": "zeelandlogistics.example"}, as_user=integration)
    return s


class Scenario(Loop):
    """A Loop on the scenario org; `restart()` builds a new connector on the same state
    file (or, with `lose_state`, on a new empty one)."""

    def __init__(self, so: ScenarioOrg, tmp: Path):
        self.so, self.tmp, self.n = so, tmp, 0
        self.rules = tmp / "scenario-rules.toml"
        self.rules.write_text(RULES)
        self.state = tmp / "scenario-state.sqlite"
        super().__init__(so.sb, build_connector(so.sb, f"sqlite:///{self.state}", rules=self.rules))

    def restart(self, *, lose_state: bool = False) -> None:
        self.cx.client.close()
        self.cx.store.dispose()
        if lose_state:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.state}{suffix}").unlink(missing_ok=True)
        self.cx = build_connector(self.sb, f"sqlite:///{self.state}", rules=self.rules)

    def close(self) -> None:
        self.cx.client.close()
        self.cx.store.dispose()

    def step(self, *, hours: float = 0) -> None:
        self.cycle(hours=hours, partners_act=False)

    def answer(self, lead_id: str, fields: dict, *, as_user: str | None = None) -> None:
        """The rep (the Lead's owner, unless told) answers in the portal."""
        rep = as_user or self.lead(lead_id)["OwnerId"]
        self.sb.org.update("Lead", lead_id, fields, as_user=rep)

    def accept(self, lead_id: str) -> None:
        self.answer(lead_id, {"Partner_Response__c": "Accepted"})

    def reject(self, lead_id: str, code: str = "No capacity", words: str = "fully booked this month") -> None:
        self.answer(lead_id, {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": code,
                              "Rejection_Reason__c": f"{code}: {words}"})

    def view(self, lead_id: str) -> dict:
        """What an admin sees on the Lead."""
        lead = self.lead(lead_id)
        return {k: lead.get(k) for k in ("OwnerId", "PartnerAccountId", "Routing_Status__c", "Routing_Rule__c",
                                         "Routing_Reason__c", "Routing_Attempt__c", "Partner_Response__c")}


@pytest.fixture
def so(sandbox_factory):
    return build_org(sandbox_factory())


@pytest.fixture
def sc(so, tmp_path):
    s = Scenario(so, tmp_path)
    yield s
    s.close()


def offered_partner(sc: Scenario, lead_id: str) -> str:
    v = sc.view(lead_id)
    assert v["Routing_Status__c"] == "Offered", v
    assert v["OwnerId"] and v["OwnerId"].startswith("005"), v
    assert sc.so.partner_of(v["OwnerId"]) == v["PartnerAccountId"], v
    return v["PartnerAccountId"]


# ---------------------------------------------------------------------------- push offers
def test_push_offer_accepted_shows_accepted_with_the_reps_ownership(so, sc):
    lead = so.new_lead("Haven Bakkerij")
    sc.step()
    v = sc.view(lead)
    pid = offered_partner(sc, lead)
    assert v["Routing_Rule__c"] == "Dutch rotation" and v["Routing_Reason__c"] and v["Routing_Attempt__c"] == 1
    rep = v["OwnerId"]
    sc.accept(lead)
    sc.step(hours=1)
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == ("Accepted", rep, pid), v
    sc.step(hours=30)  # long past the old deadline: nothing moves
    assert sc.view(lead)["Routing_Status__c"] == "Accepted" and sc.view(lead)["OwnerId"] == rep


def test_rejection_moves_the_lead_to_the_next_partner_and_never_back(so, sc):
    lead = so.new_lead("Polder Pompen")
    sc.step()
    tried = [offered_partner(sc, lead)]
    sc.reject(lead, "Out of territory", "we only do Groningen")
    sc.step(hours=1)
    v = sc.view(lead)
    second = offered_partner(sc, lead)
    assert second not in tried and v["Routing_Attempt__c"] == 2, v
    assert v["Partner_Response__c"] is None and sc.lead(lead)["Rejection_Reason__c"] is None
    assert v["Routing_Rule__c"] == "Dutch rotation" and v["Routing_Reason__c"], v
    # the Lead says why it moved on, naming no partner (the next partner's reps read it)
    assert v["Routing_Reason__c"].startswith("offer 1 was rejected; "), v
    assert so.name_of(tried[0]) not in v["Routing_Reason__c"].lower()
    tried.append(second)
    sc.reject(lead)
    sc.step(hours=1)
    third = offered_partner(sc, lead)
    assert third not in tried and sc.view(lead)["Routing_Attempt__c"] == 3
    tried.append(third)
    assert sorted(tried) == sorted(so.partners[k] for k in ("anker", "brug", "dijk"))
    # every Dutch partner has said no: the lead ends in the escalation queue, saying why
    sc.reject(lead, "Other", "not for us")
    sc.step(hours=1)
    v = sc.view(lead)
    assert v["Routing_Status__c"] == "Escalated" and v["OwnerId"] == sc.queue_id("Channel_Escalations"), v
    assert v["Routing_Reason__c"] and "3" in v["Routing_Reason__c"], v
    for _ in range(3):
        sc.step(hours=30)
    assert sc.view(lead)["Routing_Status__c"] == "Escalated"
    assert len(sc.offers(lead)) == 3


def test_every_partner_rejecting_before_max_attempts_still_ends_escalated_with_why(so, sc):
    # Belgium has only one distributor: once it says no there is nobody left
    lead = so.new_lead("Gent Glas", country="BE")
    sc.step()
    assert offered_partner(sc, lead) == so.partners["maas"]
    sc.reject(lead, "Not our product/industry", "no glass")
    sc.step(hours=1)
    v = sc.view(lead)
    assert v["Routing_Status__c"] == "Escalated" and v["OwnerId"] == sc.queue_id("Channel_Escalations"), v
    assert "rejected" in v["Routing_Reason__c"], v
    assert v["PartnerAccountId"] in (None, so.partners["maas"])


def test_lapsed_offer_is_reminded_then_redistributed_and_the_lead_says_so(so, sc):
    lead = so.new_lead("Tulp Transport")
    sc.step()
    first = offered_partner(sc, lead)
    first_rep = sc.view(lead)["OwnerId"]
    sc.step(hours=21)  # 3 h left: the reminder goes to the rep
    reminders = [n for n in sc.sb.notifications.all("customNotificationAction") if n.inputs["targetId"] == lead
                 and is_reminder(n.inputs["title"])]
    assert [n.inputs["recipientIds"] for n in reminders] == [[first_rep]]
    assert sc.view(lead)["PartnerAccountId"] == first
    sc.step(hours=4)  # past the deadline
    v = sc.view(lead)
    second = offered_partner(sc, lead)
    assert second != first and v["Routing_Attempt__c"] == 2, v
    assert v["Routing_Reason__c"].startswith("offer 1 lapsed unanswered; "), v
    sc.step(hours=25)
    third = offered_partner(sc, lead)
    assert third not in (first, second)
    sc.step(hours=25)
    v = sc.view(lead)
    assert v["Routing_Status__c"] == "Escalated", v
    assert "laps" in v["Routing_Reason__c"].lower(), v


# ---------------------------------------------------------------------------- pools
def test_pool_two_partners_take_the_same_lead_the_first_keeps_it_the_second_is_told(so, sc):
    lead = so.new_lead("Lyon Lumiere", country="FR")
    sc.step()
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"]) == ("Offered", so.pool), v
    loire, rhone = so.reps["loire"][0], so.reps["rhone"][0]
    sc.sb.org.update("Lead", lead, {"OwnerId": loire}, as_user=loire)
    sc.step()
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == ("Accepted", loire, so.partners["loire"])
    sc.sb.org.update("Lead", lead, {"OwnerId": rhone}, as_user=rhone)
    sc.step()
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == ("Accepted", loire, so.partners["loire"])
    assert "undone" in v["Routing_Reason__c"] and "Rhone" not in v["Routing_Reason__c"], v
    sc.step(hours=30)
    assert sc.view(lead)["OwnerId"] == loire


def test_pool_lead_nobody_takes_lapses_to_escalation_with_why(so, sc):
    lead = so.new_lead("Nantes Navires", country="FR")
    sc.step()
    assert sc.view(lead)["OwnerId"] == so.pool
    sc.step(hours=25)
    v = sc.view(lead)
    # the rule set has nothing after the pool: its fallback queue, saying why
    assert v["Routing_Status__c"] == "Fallback" and v["OwnerId"] == sc.queue_id("Unassigned_Partner_Leads"), v
    assert "laps" in v["Routing_Reason__c"], v
    # a rep of the pool taking it from the fallback queue now is a person's move, not a pick-up
    rhone = so.reps["rhone"][0]
    sc.sb.org.update("Lead", lead, {"OwnerId": rhone}, as_user=so.admin)
    sc.step()
    v = sc.view(lead)
    assert v["OwnerId"] == rhone and v["Routing_Status__c"] == "Released", v


# ---------------------------------------------------------------------------- hand-down
def test_distributor_accepts_and_hands_down_then_the_reseller_accepts(so, sc):
    lead = so.new_lead("Brugge Brouwerij", country="BE")
    sc.step()
    assert offered_partner(sc, lead) == so.partners["maas"]
    sc.accept(lead)
    sc.step()
    v = sc.view(lead)
    reseller = offered_partner(sc, lead)
    assert reseller in (so.partners["schelde"], so.partners["leie"]), v
    assert v["Routing_Attempt__c"] == 2 and v["Partner_Response__c"] is None, v
    sc.reject(lead, "No capacity", "busy")
    sc.step()
    v = sc.view(lead)
    other = offered_partner(sc, lead)
    assert other in (so.partners["schelde"], so.partners["leie"]) and other != reseller, v
    assert v["Routing_Attempt__c"] == 3
    rep = v["OwnerId"]
    sc.accept(lead)
    sc.step()
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["OwnerId"], v["PartnerAccountId"]) == ("Accepted", rep, other), v


# ---------------------------------------------------------------------------- deal registration
def test_deal_registration_wins_over_the_rotation(so, sc):
    # the rotation goes anker, brug, dijk...: a registered company goes to dijk at once
    first = so.new_lead("Amstel Auto")
    lead = so.new_lead("Zeeland Logistics B.V.", Email="jan@zeelandlogistics.example")
    sc.step()
    v = sc.view(lead)
    assert v["PartnerAccountId"] == so.partners["dijk"] and v["Routing_Rule__c"] == "Deal registration", v
    assert offered_partner(sc, first) == so.partners["anker"]
    # and the registration does not count as the rotation's turn
    nxt = so.new_lead("Rotterdam Rederij")
    sc.step()
    assert offered_partner(sc, nxt) == so.partners["brug"]
    # the registrant declines: the lead goes on by the rules, never back to it
    sc.reject(lead, "Existing customer", "already ours via another contract")
    sc.step()
    v = sc.view(lead)
    assert offered_partner(sc, lead) != so.partners["dijk"] and v["Routing_Rule__c"] == "Dutch rotation", v


def test_a_handed_down_offer_lapses_in_the_rule_files_offer_window_and_moves_on(so, sc):
    # [settings] offer_hours = 24 in clock hours: the reseller's offer lapses like any other
    lead = so.new_lead("Antwerpen Assurantie", country="BE")
    sc.step()
    sc.accept(lead)
    sc.step()
    first = offered_partner(sc, lead)
    offer = sc.offers(lead)[-1]
    assert offer["deadline"] - offer["offered_at"] == timedelta(hours=24), offer
    sc.step(hours=25)
    v = sc.view(lead)
    second = offered_partner(sc, lead)
    assert second != first and v["Routing_Attempt__c"] == 3 and v["Routing_Rule__c"] == "Hand-down to a reseller", v
    sc.step(hours=25)  # the last reseller lets it lapse too: back to the distributor's rep, accepted
    v = sc.view(lead)
    assert (v["Routing_Status__c"], v["PartnerAccountId"], v["OwnerId"]) == \
        ("Accepted", so.partners["maas"], so.reps["maas"][0]), v
    assert "Back to the distributor" in v["Routing_Reason__c"], v

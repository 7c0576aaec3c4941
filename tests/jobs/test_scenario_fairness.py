"""Fair distribution as a channel manager reads the README, on an org built here.

One rule, "Covering partner", rotates leads among the partners covering the lead's
country. The org's partners are Dutch and German, created interleaved (as Account ids
come: a Dutch one, a German one, two more Dutch), and leads from both countries arrive
mixed. The connector runs through its real entry point over HTTPS against the sandbox;
the test reads each Lead as an admin would and counts who got what.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from tests.jobs.conftest import Loop, build_connector

pytestmark = pytest.mark.e2e

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fallback_queue = "Unassigned_Partner_Leads"
offer_hours = 24
business_hours = false
max_open_offers = 1000
max_offers_per_day = 1000

[[ruleset]]
name = "France"
when = 'country == "FR"'

  [[ruleset.rule]]
  name = "French pool"
  match = { geography = true }
  pool = "Partner_Pool_EMEA"

[[ruleset]]
name = "Everything"

  [[ruleset.rule]]
  name = "Covering partner"
  match = { geography = true }
  distribute = "round_robin"
  otherwise = "escalate"

[hand_down]
match = { geography = true }
distribute = "round_robin"
"""


class Org:
    def __init__(self, sb):
        self.sb, self.org = sb, sb.org
        self.partners: dict[str, str] = {}
        self.admin = sb.org.admin_user_id
        self.inside_sales = sb.org.queue_ids["Inside_Sales"]
        self.n = 0
        self.pool = ""

    def partner(self, short: str, country: str, **fields) -> str:
        org, integration = self.org, self.org.integration_user_id
        pid = org.create("Account", {"Name": f"{short.title()} Partners", "IsPartner": True, "OwnerId": integration,
                                     "Partner_Tier__c": "Gold", "Partner_Role__c": "Reseller", "Coverage__c": country,
                                     "Capacity__c": 500.0, "Daily_Cap__c": 500.0, **fields}, as_user=integration)
        contact = org.create("Contact", {"AccountId": pid, "LastName": short.title(),
                                         "Email": f"rep@{short}.example"}, as_user=integration)
        org.create("User", {"Username": f"rep@{short}.example.sandbox", "LastName": short.title(),
                            "Email": f"rep@{short}.example", "Alias": short[:8], "IsActive": True,
                            "UserType": "PowerPartner", "AccountId": pid, "ContactId": contact,
                            "TimeZoneSidKey": "Europe/Amsterdam", "LanguageLocaleKey": "en_US"}, as_user=integration)
        self.partners[short] = pid
        return pid

    def short(self, partner_id: str | None) -> str | None:
        return next((k for k, v in self.partners.items() if v == partner_id), None)

    def rep(self, short: str) -> str:
        return next(u["Id"] for u in self.org.records("User") if u.get("AccountId") == self.partners[short])

    def leads(self, countries: str) -> list[str]:
        """One new lead per letter: N a Dutch one, D a German one, F a French one, B a Belgian one."""
        out = []
        for c in countries:
            self.n += 1
            out.append(self.org.create("Lead", {
                "LastName": "Buyer", "Company": f"Company {self.n}",
                "Country": {"N": "NL", "D": "DE", "F": "FR", "B": "BE"}[c],
                "LeadSource": "Web", "Email": f"buyer@company{self.n}.example", "OwnerId": self.inside_sales,
                "Status": "Open - Not Contacted"}, as_user=self.admin))
        return out


class Scenario(Loop):
    def __init__(self, org: Org, tmp: Path):
        self.o, self.tmp = org, tmp
        self.rules = tmp / "fairness-rules.toml"
        self.rules.write_text(RULES)
        self.state = tmp / "fairness-state.sqlite"
        super().__init__(org.sb, build_connector(org.sb, f"sqlite:///{self.state}", rules=self.rules))

    def restart(self, *, lose_state: bool = False) -> None:
        self.close()
        if lose_state:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.state}{suffix}").unlink(missing_ok=True)
        self.cx = build_connector(self.sb, f"sqlite:///{self.state}", rules=self.rules)

    def close(self) -> None:
        self.cx.client.close()
        self.cx.store.dispose()

    def route(self, countries: str) -> list[tuple[str, str | None]]:
        """New leads in one cycle: (country letter, short name of the partner offered it)."""
        ids = self.o.leads(countries)
        self.cycle(partners_act=False)
        out = []
        for c, lead_id in zip(countries, ids):
            lead = self.lead(lead_id)
            assert lead["Routing_Status__c"] == "Offered", lead
            out.append((c, self.o.short(lead["PartnerAccountId"])))
        return out


@pytest.fixture
def o(sandbox_factory):
    from sandbox.bootstrap import add_queue

    o = Org(sandbox_factory())
    o.pool = add_queue(o.org, "Partner_Pool_EMEA", "Partner Pool EMEA")
    o.partner("anker", "NL")
    o.partner("elbe", "DE")
    o.partner("brug", "NL")
    o.partner("dijk", "NL")
    return o


@pytest.fixture
def sc(o, tmp_path):
    s = Scenario(o, tmp_path)
    yield s
    s.close()


def dutch(routed: list[tuple[str, str | None]]) -> list[str | None]:
    return [p for c, p in routed if c == "N"]


def test_dutch_leads_rotate_evenly_among_dutch_partners_while_german_leads_come_in_between(sc):
    # one rotation per rule sent the Dutch lead after each German one to the Dutch partner
    # after the German's id: brug got nearly all, anker one, dijk none
    got = Counter(dutch(sc.route("ND" * 12)))
    assert got == {"anker": 4, "brug": 4, "dijk": 4}


def test_a_partner_back_from_a_pause_takes_its_turn_and_is_not_flooded_to_catch_up(o, sc):
    o.org.update("Account", o.partners["brug"], {"Routing_Paused__c": True}, as_user=o.admin)
    sc.cycle(partners_act=False)
    assert set(dutch(sc.route("NDNDNDND"))) == {"anker", "dijk"}
    o.org.update("Account", o.partners["brug"], {"Routing_Paused__c": False}, as_user=o.admin)
    sc.cycle(hours=1, partners_act=False)
    # six more Dutch leads: two each, brug owed nothing for the weeks it was paused
    assert Counter(dutch(sc.route("NDNDNDNDNDND"))) == {"anker": 2, "brug": 2, "dijk": 2}


def test_the_rotation_goes_on_where_it_stood_after_the_state_is_lost(sc):
    before = dutch(sc.route("NDNDND"))  # the Dutch rotation has gone once round
    assert sorted(before) == ["anker", "brug", "dijk"]
    sc.restart(lose_state=True)
    sc.cycle(partners_act=False)  # rebuilt from the Leads
    after = dutch(sc.route("NDN"))
    # the next Dutch turns follow the last Dutch offer, whatever the German leads did
    order = ["anker", "brug", "dijk"]
    last = order.index(before[-1])
    assert after == [order[(last + 1) % 3], order[(last + 2) % 3]]


def test_a_new_partner_mid_month_gets_its_turn_in_the_rotation_not_the_backlog(o, sc):
    first = Counter(dutch(sc.route("ND" * 9)))
    assert first == {"anker": 3, "brug": 3, "dijk": 3}
    o.partner("eems", "NL")  # joins mid-month
    sc.cycle(hours=1, partners_act=False)
    got = Counter(dutch(sc.route("ND" * 8)))
    assert got == {"anker": 2, "brug": 2, "dijk": 2, "eems": 2}


# ---------------------------------------------------------------------------- load and pools
@pytest.fixture
def seine(o):
    """A partner pushed Belgian leads (Capacity__c 1) whose rep also pulls French ones from a pool."""
    pid = o.partner("seine", "FR;BE", Capacity__c=1.0)
    o.org.create("GroupMember", {"GroupId": o.pool, "UserOrGroupId": o.rep("seine")}, as_user=o.org.integration_user_id)
    return pid


def test_a_pool_lead_a_partner_took_counts_against_its_capacity_until_it_is_done(o, sc, seine):
    french, = o.leads("F")
    sc.cycle(partners_act=False)
    assert sc.lead(french)["Routing_Status__c"] == "Offered"  # in the pool
    o.org.update("Lead", french, {"OwnerId": o.rep("seine")}, as_user=o.rep("seine"))
    sc.cycle(partners_act=False)
    assert (sc.lead(french)["Routing_Status__c"], sc.lead(french)["PartnerAccountId"]) == ("Accepted", seine)
    # seine works one lead, its Capacity__c: a Belgian lead is not pushed on top
    belgian, = o.leads("B")
    sc.cycle(partners_act=False)
    b = sc.lead(belgian)
    assert b["Routing_Status__c"] == "Escalated" and "cap" in b["Routing_Reason__c"], b
    # the French lead converts: seine has room again, and the next Belgian lead is its
    o.org.update("Lead", french, {"IsConverted": True, "Status": "Closed - Converted"}, system=True)
    sc.cycle(hours=1, partners_act=False)
    second, = o.leads("B")
    sc.cycle(partners_act=False)
    assert sc.lead(second)["PartnerAccountId"] == seine and sc.lead(second)["Routing_Status__c"] == "Offered"


def test_a_converted_pool_lead_does_not_free_room_the_partner_is_still_using(o, sc, seine):
    belgian, = o.leads("B")
    sc.cycle(partners_act=False)
    assert sc.lead(belgian)["PartnerAccountId"] == seine
    o.org.update("Lead", belgian, {"Partner_Response__c": "Accepted"}, as_user=o.rep("seine"))
    french, = o.leads("F")
    sc.cycle(partners_act=False)
    o.org.update("Lead", french, {"OwnerId": o.rep("seine")}, as_user=o.rep("seine"))
    sc.cycle(partners_act=False)
    o.org.update("Lead", french, {"IsConverted": True, "Status": "Closed - Converted"}, system=True)
    sc.cycle(hours=1, partners_act=False)
    # seine still works the accepted Belgian lead, its Capacity__c of 1: the next one is not its
    nxt, = o.leads("B")
    sc.cycle(partners_act=False)
    assert sc.lead(nxt)["Routing_Status__c"] == "Escalated", sc.lead(nxt)


def test_an_accepted_lead_the_partner_closes_unconverted_frees_its_place_under_capacity(o, sc, seine):
    belgian, = o.leads("B")
    sc.cycle(partners_act=False)
    assert sc.lead(belgian)["PartnerAccountId"] == seine
    o.org.update("Lead", belgian, {"Partner_Response__c": "Accepted"}, as_user=o.rep("seine"))
    sc.cycle(partners_act=False)
    full, = o.leads("B")  # seine works one lead, its Capacity__c
    sc.cycle(partners_act=False)
    assert sc.lead(full)["Routing_Status__c"] == "Escalated", sc.lead(full)
    # the rep disqualifies it: the partner's work on it is done (it held the place for good before)
    o.org.update("Lead", belgian, {"Status": "Closed - Not Converted"}, as_user=o.rep("seine"))
    sc.cycle(hours=1, partners_act=False)
    nxt, = o.leads("B")
    sc.cycle(partners_act=False)
    assert sc.lead(nxt)["PartnerAccountId"] == seine and sc.lead(nxt)["Routing_Status__c"] == "Offered"
    # the Lead it closed is the partner's as it left it, and not a conversion on its record
    assert (sc.lead(belgian)["Routing_Status__c"], sc.lead(belgian)["OwnerId"]) == ("Accepted", o.rep("seine"))
    with sc.cx.store.connect() as conn:
        from jobs import lifecycle

        assert lifecycle.load_state(conn).perf(seine).closed == 0


def test_a_lost_state_does_not_count_a_closed_unconverted_lead_against_capacity(o, sc, seine):
    belgian, = o.leads("B")
    sc.cycle(partners_act=False)
    o.org.update("Lead", belgian, {"Partner_Response__c": "Accepted"}, as_user=o.rep("seine"))
    sc.cycle(partners_act=False)
    o.org.update("Lead", belgian, {"Status": "Closed - Not Converted"}, as_user=o.rep("seine"))
    sc.restart(lose_state=True)
    sc.cycle(hours=1, partners_act=False)
    nxt, = o.leads("B")
    sc.cycle(partners_act=False)
    assert sc.lead(nxt)["PartnerAccountId"] == seine and sc.lead(nxt)["Routing_Status__c"] == "Offered"


# ---------------------------------------------------------------------------- deal registration
def register(o: Org, short: str, company: str, *, domain: str | None = None, days: int = 30,
             status: str = "Approved") -> str:
    today = o.sb.clock.now().date()
    return o.org.create("Opportunity", {
        "Name": f"{company} - deal", "PartnerAccountId": o.partners[short], "StageName": "Qualification",
        "CloseDate": today + timedelta(days=60), "Deal_Registration_Status__c": status,
        "Registration_Expires__c": today + timedelta(days=days), "Registered_Company__c": company,
        "Registered_Email_Domain__c": domain}, as_user=o.org.integration_user_id)


def new_lead(o: Org, company: str, **fields) -> str:
    return o.org.create("Lead", {"LastName": "Buyer", "Company": company, "Country": "NL", "LeadSource": "Web",
                                 "OwnerId": o.inside_sales, "Status": "Open - Not Contacted", **fields},
                        as_user=o.admin)


def test_a_registration_is_matched_by_name_whatever_the_punctuation_case_and_legal_form(o, sc):
    register(o, "dijk", "ACME, Inc.")
    lead = new_lead(o, "Acme Inc", Email="jo@gmail.com")  # a free mail domain: the name decides
    sc.cycle(partners_act=False)
    v = sc.lead(lead)
    assert (v["PartnerAccountId"], v["Routing_Rule__c"]) == (o.partners["dijk"], "Deal registration"), v
    # the reason says why this partner, naming no other
    assert "registered deal" in v["Routing_Reason__c"], v
    assert not any(n in v["Routing_Reason__c"] for n in ("Anker", "Brug", "Elbe")), v
    register(o, "brug", "Zuid Zuivel B.V.")  # as a Dutch registration is written
    typed = new_lead(o, "ZUID ZUIVEL BV", Email="info@hotmail.com")
    sc.cycle(hours=1, partners_act=False)
    assert sc.lead(typed)["PartnerAccountId"] == o.partners["brug"], sc.lead(typed)


def test_a_registration_is_matched_by_the_website_domain(o, sc):
    register(o, "brug", "Noordzee Visserij", domain="noordzee-vis.example")
    lead = new_lead(o, "NZV", Website="https://www.noordzee-vis.example/contact")
    sc.cycle(partners_act=False)
    assert sc.lead(lead)["PartnerAccountId"] == o.partners["brug"], sc.lead(lead)


def test_an_expired_registration_does_not_win_and_two_live_ones_escalate_naming_both(o, sc):
    register(o, "dijk", "Veluwe Verf", days=-1)  # expired yesterday
    expired = new_lead(o, "Veluwe Verf B.V.")
    sc.cycle(partners_act=False)
    v = sc.lead(expired)
    assert v["Routing_Rule__c"] == "Covering partner" and v["PartnerAccountId"] == o.partners["anker"], v
    register(o, "anker", "Twente Textiel")
    register(o, "brug", "twente textiel bv")
    both = new_lead(o, "Twente Textiel")
    sc.cycle(hours=1, partners_act=False)
    v = sc.lead(both)
    assert v["Routing_Status__c"] == "Escalated" and v["OwnerId"] == sc.queue_id("Channel_Escalations"), v
    assert "Anker Partners" in v["Routing_Reason__c"] and "Brug Partners" in v["Routing_Reason__c"], v


# ---------------------------------------------------------------------------- multi-tier
def test_a_distributor_whose_resellers_do_not_cover_the_lead_keeps_it_and_the_lead_says_why(o, sc):
    rijn = o.partner("rijn", "NL;DE", Partner_Role__c="Distributor")
    o.partner("ruhr", "DE", ParentId=rijn)  # its only reseller: German
    o.org.update("Account", o.partners["anker"], {"Routing_Paused__c": True}, as_user=o.admin)
    o.org.update("Account", o.partners["brug"], {"Routing_Paused__c": True}, as_user=o.admin)
    o.org.update("Account", o.partners["dijk"], {"Routing_Paused__c": True}, as_user=o.admin)
    lead, = o.leads("N")
    sc.cycle(partners_act=False)
    assert sc.lead(lead)["PartnerAccountId"] == rijn
    o.org.update("Lead", lead, {"Partner_Response__c": "Accepted"}, as_user=o.rep("rijn"))
    sc.cycle(partners_act=False)
    v = sc.lead(lead)
    assert (v["Routing_Status__c"], v["PartnerAccountId"], v["OwnerId"]) == ("Accepted", rijn, o.rep("rijn")), v
    assert "no reseller" in v["Routing_Reason__c"] and "Ruhr" not in v["Routing_Reason__c"], v


def test_a_lead_back_with_its_distributor_counts_against_the_distributors_capacity(o, sc):
    rijn = o.partner("rijn", "NL", Partner_Role__c="Distributor", Capacity__c=1.0)
    ruhr = o.partner("ruhr", "NL", ParentId=rijn)
    for short in ("anker", "brug", "dijk"):
        o.org.update("Account", o.partners[short], {"Routing_Paused__c": True}, as_user=o.admin)
    lead, = o.leads("N")
    sc.cycle(partners_act=False)
    o.org.update("Lead", lead, {"Partner_Response__c": "Accepted"}, as_user=o.rep("rijn"))
    sc.cycle(partners_act=False)
    assert sc.lead(lead)["PartnerAccountId"] == ruhr
    o.org.update("Lead", lead, {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "No capacity",
                                "Rejection_Reason__c": "No capacity: full"}, as_user=o.rep("ruhr"))
    sc.cycle(partners_act=False)
    v = sc.lead(lead)
    assert (v["Routing_Status__c"], v["PartnerAccountId"]) == ("Accepted", rijn), v
    # the distributor's reps read why it is back, naming no reseller nor quoting its words
    assert v["Routing_Reason__c"].startswith("Back to the distributor: offer 2 was rejected; "), v
    assert "Ruhr" not in v["Routing_Reason__c"] and "full" not in v["Routing_Reason__c"], v
    # rijn works it again, its Capacity__c of 1: the next Dutch lead is not pushed on top
    o.org.update("Account", ruhr, {"Routing_Paused__c": True}, as_user=o.admin)
    nxt, = o.leads("N")
    sc.cycle(partners_act=False)
    assert sc.lead(nxt)["Routing_Status__c"] == "Escalated", sc.lead(nxt)


# ---------------------------------------------------------------------------- daily caps
def test_a_daily_cap_turns_at_midnight_where_the_org_is_and_a_rejected_offer_counts(o, tmp_path):
    from datetime import datetime, timezone

    o.sb.clock.set(datetime(2026, 11, 24, 7, 30, tzinfo=timezone.utc))  # 23:30 the day before in Los Angeles
    for short in ("brug", "dijk"):
        o.org.update("Account", o.partners[short], {"Routing_Paused__c": True}, as_user=o.admin)
    o.org.update("Account", o.partners["anker"], {"Daily_Cap__c": 1.0}, as_user=o.admin)
    rules = tmp_path / "la.toml"
    rules.write_text(RULES.replace('business_hours = false', 'business_hours = false\ntime_zone = "America/Los_Angeles"'))
    s = Scenario(o, tmp_path)
    s.close()
    s.rules = rules
    s.cx = build_connector(o.sb, f"sqlite:///{s.state}", rules=rules)
    try:
        first, = o.leads("N")
        s.cycle(partners_act=False)
        assert s.lead(first)["PartnerAccountId"] == o.partners["anker"]
        o.org.update("Lead", first, {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "Other",
                                     "Rejection_Reason__c": "Other: no"}, as_user=o.rep("anker"))
        second, = o.leads("N")  # the rejected offer was today's one
        s.cycle(hours=0.25, partners_act=False)
        assert s.lead(second)["Routing_Status__c"] == "Escalated", s.lead(second)
        assert "daily cap" in s.lead(second)["Routing_Reason__c"], s.lead(second)
        s.cycle(hours=0.5, partners_act=False)  # 00:17 in Los Angeles, still 24 November in UTC
        third, = o.leads("N")
        s.cycle(partners_act=False)
        assert s.lead(third)["PartnerAccountId"] == o.partners["anker"], s.lead(third)
    finally:
        s.close()

"""`prefer_incumbent = true`: a lead of a company a partner already works goes to that
partner, through `leadrouter once` on Kestrel's org (tests/jobs/kestrel_org.py), whose
Singapore rule is made to prefer incumbents here.

A partner works a company when its rep accepted a lead of it, or when the org has an
Opportunity of that company (its Account) with the partner on it (PartnerAccountId) that
is open or was won in the last year. When two partners do, the latest wins. The state is a
cache of the org: lost and rebuilt, it picks the same incumbent.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.jobs.kestrel_org import RULES, kestrel_fixture

pytestmark = pytest.mark.e2e

WEIGHTED = '  name = "Singapore weighted"\n'
DISTRIBUTOR = '  name = "ANZ distributor"\n'
assert WEIGHTED in RULES and DISTRIBUTOR in RULES


@pytest.fixture
def kestrel(sandbox_factory, tmp_path):
    for k in kestrel_fixture(sandbox_factory, tmp_path):
        (k.work / "rules.toml").write_text(RULES.replace(WEIGHTED, WEIGHTED + "  prefer_incumbent = true\n")
                                        .replace(DISTRIBUTOR, DISTRIBUTOR + "  prefer_incumbent = true\n"))
        yield k


def customer(k, name: str, website: str | None = None) -> str:
    return k.org.create("Account", {"Name": name, "Website": website, "OwnerId": k.org.integration_user_id},
                        as_user=k.org.integration_user_id)


def opportunity(k, short: str, account: str, stage: str = "Prospecting", close_in_days: int = 60) -> str:
    return k.org.create("Opportunity", {
        "Name": "Renewal", "AccountId": account, "PartnerAccountId": k.partners[short], "StageName": stage,
        "CloseDate": k.now().date() + timedelta(days=close_in_days)}, as_user=k.org.integration_user_id)


def offered_to(k, lead: str) -> tuple[str | None, str]:
    v = k.view(lead)
    assert v["Routing_Status__c"] == "Offered", v
    return v["partner"], v["Routing_Reason__c"] or ""


def accepted_lead(k, company: str, **extra) -> tuple[str, str]:
    """A lead of `company` offered (the weighted rule's draw) and accepted: (lead, partner)."""
    lead = k.new_lead(company, "SG", **extra)
    k.once()
    partner, _ = offered_to(k, lead)
    k.accept(lead)
    k.once(hours=1)
    assert k.view(lead)["Routing_Status__c"] == "Accepted"
    return lead, partner


def test_a_partner_that_accepted_a_lead_of_a_company_is_offered_its_next_leads(kestrel):
    k = kestrel
    k.once(init=True)
    _, partner = accepted_lead(k, "Marina Bay Freight Pte Ltd")
    for typed in ("MARINA BAY FREIGHT", "Marina Bay Freight Pte. Ltd.", "marina bay freight"):
        lead = k.new_lead(typed, "SG")
        k.once(hours=1)
        got, reason = offered_to(k, lead)
        assert got == partner, (typed, got, reason)
        name = k.org.get("Account", k.partners[partner])["Name"]
        assert f"{name} — incumbent: already works this company" in reason, reason
        assert "accepted one of its leads as of 2031-03-03" in reason, reason  # the org's date: Sydney


def test_a_partner_on_an_open_opportunity_of_the_company_is_its_incumbent(kestrel):
    k = kestrel
    opportunity(k, "merlion", customer(k, "Raffles Robotics Pte Ltd", "https://www.rafflesrobotics.example"))
    k.once(init=True)
    lead = k.new_lead("Raffles Robotics", "SG")
    by_mail = k.new_lead("RR (Singapore)", "SG", Email="cto@rafflesrobotics.example")
    k.once()
    for one in (lead, by_mail):
        got, reason = offered_to(k, one)
        assert got == "merlion", (got, reason)
        assert "Merlion Systems Pte — incumbent: already works this company" in reason, reason
        assert "on an opportunity of it" in reason, reason


def test_a_lost_or_long_ago_won_opportunity_makes_no_incumbent(kestrel):
    k = kestrel
    opportunity(k, "merlion", customer(k, "Sentosa Shipping"), stage="Closed Lost", close_in_days=-10)
    opportunity(k, "merlion", customer(k, "Changi Chemicals"), stage="Closed Won", close_in_days=-400)
    opportunity(k, "merlion", customer(k, "Jurong Joinery"), stage="Closed Won", close_in_days=-30)
    k.once(init=True)
    leads = {c: k.new_lead(c, "SG") for c in ("Sentosa Shipping", "Changi Chemicals", "Jurong Joinery")}
    k.once()
    reasons = {c: offered_to(k, lead)[1] for c, lead in leads.items()}
    assert "incumbent" not in reasons["Sentosa Shipping"], reasons
    assert "incumbent" not in reasons["Changi Chemicals"], reasons
    assert "Merlion Systems Pte — incumbent: already works this company" in reasons["Jurong Joinery"], reasons


def test_when_two_partners_work_the_company_the_latest_wins_and_the_reason_says_so(kestrel):
    k = kestrel
    acme = customer(k, "Orchard Optics Pte Ltd")
    opportunity(k, "merlion", acme)
    k.once(init=True)
    k.once(hours=24)
    # a day later another partner's rep accepts a lead of the same company (merlion is
    # paused meanwhile, so the weighted draw gives the lead to someone else)
    k.org.update("Account", k.partners["merlion"], {"Routing_Paused__c": True}, as_user=k.admin)
    first = k.new_lead("Orchard Optics", "SG")
    k.once()
    other, reason = offered_to(k, first)
    assert other != "merlion", (other, reason)
    k.accept(first)
    k.once(hours=1)
    k.org.update("Account", k.partners["merlion"], {"Routing_Paused__c": False}, as_user=k.admin)
    lead = k.new_lead("Orchard Optics", "SG")
    k.once(hours=1)
    got, reason = offered_to(k, lead)
    assert got == other, (got, reason)
    assert "of the partners on it, the latest: accepted one of its leads" in reason, reason


def test_an_incumbent_that_is_paused_is_passed_over_and_the_rule_decides(kestrel):
    k = kestrel
    opportunity(k, "merlion", customer(k, "Tanjong Textiles"))
    k.once(init=True)
    k.org.update("Account", k.partners["merlion"], {"Routing_Paused__c": True}, as_user=k.admin)
    lead = k.new_lead("Tanjong Textiles", "SG")
    k.once(hours=1)
    got, reason = offered_to(k, lead)
    assert got != "merlion" and "incumbent" not in reason, (got, reason)
    [trial] = k.explain(lead)["history"][-1]["decision"]["explanation"]["rules"]
    assert "incumbent Merlion Systems Pte works this company but is paused: the rule decides" in trial["notes"], trial


def test_a_lost_state_rebuilt_from_the_org_picks_the_same_incumbents(kestrel):
    k = kestrel
    opportunity(k, "merlion", customer(k, "Bugis Bakeries"))
    k.once(init=True)
    _, partner = accepted_lead(k, "Clarke Quay Clinics", Email="admin@clarkequay.example")
    before = {}
    for company, email in (("Bugis Bakeries", None), ("Clarke Quay Clinics", None), ("CQC", "it@clarkequay.example")):
        lead = k.new_lead(company, "SG", Email=email)
        k.once(hours=1)
        before[company] = offered_to(k, lead)
    assert before["Bugis Bakeries"][0] == "merlion" and before["Clarke Quay Clinics"][0] == partner, before
    assert before["CQC"][0] == partner, before

    lose_the_state(k)
    k.once(hours=1)  # the state is gone: rebuilt from the org before anything routes
    for company, email in (("Bugis Bakeries", None), ("Clarke Quay Clinics", None), ("CQC", "it@clarkequay.example")):
        lead = k.new_lead(company, "SG", Email=email)
        k.once(hours=1)
        got, reason = offered_to(k, lead)
        assert got == before[company][0], (company, got, reason, before[company])
        assert "already works this company" in reason, reason


def test_the_opportunities_cost_one_query_per_partner_sync_and_none_without_a_rule_that_prefers_incumbents(kestrel):
    k = kestrel
    for n in range(3):
        opportunity(k, "merlion", customer(k, f"Customer {n}"))
    rules = k.work / "rules.toml"
    preferring = rules.read_text()

    def opportunity_reads(text: str) -> int:
        """Queries of Opportunities (and their next pages) in one `leadrouter once`."""
        rules.write_text(text)
        before = len(k.sb.counters.requests())
        k.once(hours=1)
        return sum(1 for r in k.sb.counters.requests()[before:] if r.soql and "isclosed" in r.soql.lower())

    k.once(init=True)
    assert opportunity_reads(preferring) == 1
    assert opportunity_reads(RULES) == 0


def lose_the_state(k) -> None:
    states = list(k.work.glob("*.sqlite*"))
    assert states, list(k.work.iterdir())
    for f in states:
        f.unlink()


def test_a_distributor_that_accepted_and_handed_the_lead_down_stays_the_incumbent_through_a_rebuild(kestrel):
    k = kestrel
    k.once(init=True)
    first = k.new_lead("Bondi Brewing Pty Ltd", "AU", State="NSW")
    k.once()
    distributor, _ = offered_to(k, first)
    assert distributor in ("southern", "pacific")
    k.accept(first)
    k.once(hours=1)
    assert offered_to(k, first)[0] not in ("southern", "pacific"), "handed down to a reseller"
    picks = []
    for rebuilt in (False, True):
        if rebuilt:
            lose_the_state(k)
            k.once(hours=1)
        lead = k.new_lead("Bondi Brewing", "AU", State="NSW")
        k.once(hours=1)
        picks.append(offered_to(k, lead))
    assert [p for p, _ in picks] == [distributor, distributor], picks
    assert all("incumbent: already works this company" in why for _, why in picks), picks

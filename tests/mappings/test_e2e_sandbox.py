"""The shipped mappings against the sandbox org, over HTTPS through simple-salesforce."""
from __future__ import annotations

import pytest

from mappings import Unroutable, load_mappings
from rules.model import Lead, Partner

from .helpers import LEAD, load

pytestmark = pytest.mark.e2e

OBJECTS = ("Lead", "Account", "User", "Group", "GroupMember", "Opportunity")


def org_describe(sf) -> dict[str, dict]:
    return {name: getattr(sf, name).describe() for name in OBJECTS}


def test_shipped_defaults_validate_cleanly_against_the_sandbox_org(sf):
    assert load_mappings().validate(org_describe(sf)) == []


def test_a_typo_fails_naming_the_file_the_key_and_the_nearest_real_field(sf, tmp_path):
    ms = load(tmp_path, LEAD + 'company = "Compnay"\n[lead.extra]\ntier = "PartnerAccount.Partner_Teir__c"\n')
    found = ms.validate(lambda name: getattr(sf, name).describe())
    assert [(p.file, p.key, p.line, p.message, p.fix.split(" If not, ")[0]) for p in found] == [
        (str(tmp_path / "lead.toml"), "lead.fields.company.field", 6, "Lead has no field 'Compnay'",
         "did you mean 'Company'?"),
        (str(tmp_path / "lead.toml"), "lead.extra.tier.field", 8,
         "Account has no field 'Partner_Teir__c'", "did you mean 'Partner_Tier__c'?"),
    ]


def test_seeded_records_read_with_the_mapped_fields_convert(sandbox_factory, sf_for):
    sb = sandbox_factory(seed="demo", partners=30, leads=300)
    sf = sf_for(sb)
    ms = load_mappings()

    def read(kind):
        where = f" WHERE {ms.filter(kind)}" if ms.filter(kind) else ""
        soql = f"SELECT {', '.join(ms.soql_fields(kind))} FROM {ms.sobject(kind)}{where}"
        return [{k: v for k, v in r.items() if k != "attributes"} for r in sf.query_all(soql)["records"]]

    leads = [ms.lead_converter()(r) for r in read("lead")]
    assert len(leads) == 300
    unroutable = [x for x in leads if isinstance(x, Unroutable)]
    assert unroutable == []  # the seed's messy leads are messy, not broken
    routable = [x for x in leads if isinstance(x, Lead)]
    assert all(x.country is None or len(x.country) == 2 for x in routable)
    assert sum(x.country is not None for x in routable) > 250
    assert all(x.state is None or x.state.startswith(f"{x.country}-") for x in routable if x.country)

    partners = [ms.partner_converter()(r) for r in read("partner")]
    assert len(partners) == 30 and all(isinstance(p, Partner) for p in partners)
    assert all(p.coverage for p in partners)

    reps = [ms.rep_converter()(r) for r in read("rep")]
    pools = ms.pool_builder(read("pool"), read("pool_member"), reps)
    assert {p.developer_name for p in pools} == {"Partner_Pool_NA", "Partner_Pool_EMEA", "Partner_Pool_APAC"}
    assert all(p.member_partner_ids for p in pools)

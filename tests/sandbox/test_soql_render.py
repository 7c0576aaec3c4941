"""`QueryResult.render`: each row in the JSON shape Salesforce's REST /query returns."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from sandbox.soql import execute
from sandbox.store import Org


@pytest.fixture
def org() -> Org:
    return Org()


def one(org: Org, soql: str, **kw) -> dict:
    result = execute(soql, org, **kw)
    assert result.total_size == 1, result
    return result.render(result.rows[0])


def test_attributes_carry_type_and_versioned_url(org):
    a = org.create("Lead", {"LastName": "Doe", "Company": "Acme"})
    row = one(org, "SELECT Id FROM Lead", version="59.0")
    assert row == {"attributes": {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{a}"}, "Id": a}


def test_url_has_the_id_even_when_id_is_not_selected(org):
    a = org.create("Lead", {"LastName": "Doe", "Company": "Acme"})
    row = one(org, "SELECT Company FROM Lead")
    assert row == {"attributes": {"type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{a}"}, "Company": "Acme"}


def test_field_keys_come_back_in_canonical_case_in_select_order(org):
    org.create("Lead", {"LastName": "Doe", "Company": "Acme", "Country": "US"})
    row = one(org, "select COUNTRY, lastname, company from lead")
    assert list(row) == ["attributes", "Country", "LastName", "Company"]


def test_values_use_salesforce_json_formats(org):
    org.create(
        "Lead",
        {"LastName": "Doe", "Company": "Acme", "Offered_At__c": datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=timezone.utc),
         "Expected_Close_Date__c": date(2024, 6, 30), "Deal_Amount__c": 1250.5, "Routing_Attempt__c": 2,
         "Do_Not_Route__c": True},
    )  # fmt: skip
    row = one(org, "SELECT Offered_At__c, Expected_Close_Date__c, Deal_Amount__c, Routing_Attempt__c, "
                   "Do_Not_Route__c, City FROM Lead")  # fmt: skip
    assert row["Offered_At__c"] == "2024-05-01T10:00:00.123+0000"
    assert row["Expected_Close_Date__c"] == "2024-06-30"
    assert row["Deal_Amount__c"] == 1250.5
    assert row["Routing_Attempt__c"] == 2
    assert row["Do_Not_Route__c"] is True
    assert row["City"] is None


def test_parent_fields_nest_under_the_relationship_name(org):
    parent = org.create("Account", {"Name": "Holding"})
    partner = org.create("Account", {"Name": "Reseller", "IsPartner": True, "ParentId": parent})
    org.create("Lead", {"LastName": "Doe", "Company": "Acme", "PartnerAccountId": partner})
    row = one(org, "SELECT Id, PartnerAccount.Name, PartnerAccount.IsPartner, PartnerAccount.Parent.Name FROM Lead")
    base = "/services/data/v62.0/sobjects/Account/"
    assert row["PartnerAccount"] == {
        "attributes": {"type": "Account", "url": base + partner},
        "Name": "Reseller",
        "IsPartner": True,
        "Parent": {"attributes": {"type": "Account", "url": base + parent}, "Name": "Holding"},
    }


def test_a_missing_parent_renders_as_null(org):
    partner = org.create("Account", {"Name": "Reseller", "IsPartner": True})
    org.create("Lead", {"LastName": "Doe", "Company": "Acme", "PartnerAccountId": partner})
    org.create("Lead", {"LastName": "Roe", "Company": "Acme"})
    result = execute("SELECT LastName, PartnerAccount.Parent.Name FROM Lead ORDER BY LastName", org)
    with_partner, without = (result.render(r) for r in result.rows)
    assert with_partner["PartnerAccount"]["Parent"] is None
    assert without["PartnerAccount"] is None


def test_polymorphic_owner_renders_as_the_name_object_pointing_at_the_real_record(org):
    queue = org.queue_ids["Inside_Sales"]
    org.create("Lead", {"LastName": "Queued", "Company": "Acme", "OwnerId": queue})
    org.create("Lead", {"LastName": "Owned", "Company": "Acme"})
    result = execute("SELECT LastName, Owner.Name, Owner.Type, Owner.Username FROM Lead ORDER BY LastName", org)
    owned, queued = (result.render(r) for r in result.rows)
    assert queued["Owner"] == {
        "attributes": {"type": "Name", "url": f"/services/data/v62.0/sobjects/Group/{queue}"},
        "Name": "Inside Sales",
        "Type": "Queue",
        "Username": None,
    }
    assert owned["Owner"]["attributes"]["url"].endswith(f"/sobjects/User/{org.integration_user_id}")
    assert owned["Owner"]["Type"] == "User"
    assert owned["Owner"]["Username"] == "integration@leadrouter.sandbox"


def test_object_name_may_qualify_its_own_fields(org):
    org.create("Lead", {"LastName": "Doe", "Company": "Acme"})
    row = one(org, "SELECT Lead.Company FROM Lead WHERE Lead.LastName = 'Doe'")
    assert row["Company"] == "Acme"


def test_render_reads_the_record_as_it_is_now(org):
    a = org.create("Lead", {"LastName": "Doe", "Company": "Acme"})
    result = execute("SELECT Company FROM Lead", org)
    org.update("Lead", a, {"Company": "Renamed"})
    assert result.render(result.rows[0])["Company"] == "Renamed"


def test_a_parent_in_the_recycle_bin_reads_as_no_parent(org):
    partner = org.create("Account", {"Name": "Gone Partners", "IsPartner": True})
    org.create("Lead", {"LastName": "Doe", "Company": "Acme", "PartnerAccountId": partner})
    org.delete("Account", partner)
    assert one(org, "SELECT PartnerAccount.Name FROM Lead")["PartnerAccount"] is None
    assert execute("SELECT Id FROM Lead WHERE PartnerAccount.IsPartner = true", org).total_size == 0

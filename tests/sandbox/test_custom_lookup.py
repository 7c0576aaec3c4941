"""A custom lookup deployed into a sandbox org has Salesforce's two relationship names: the
parent side is named after the field (`Referring_Account__c` -> `Referring_Account__r`, what
describe gives as the field's relationshipName and what `SELECT Referring_Account__r.Name
FROM Lead` walks), the child side after the metadata's <relationshipName> (`Referred_Leads`
-> `Referred_Leads__r`, in the parent's childRelationships and its subqueries)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox import schema as schema_module
from sandbox.metadata import parse_field
from sandbox.schema import default_sfdx_dir, load_schema
from tests.conftest import salesforce_client

LOOKUP = """<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Referring_Account__c</fullName>
    <deleteConstraint>SetNull</deleteConstraint>
    <externalId>false</externalId>
    <label>Referring Account</label>
    <referenceTo>Account</referenceTo>
    <relationshipLabel>Referred Leads</relationshipLabel>
    <relationshipName>Referred_Leads</relationshipName>
    <required>false</required>
    <trackHistory>false</trackHistory>
    <type>Lookup</type>
</CustomField>
"""


@pytest.fixture
def sfdx_with_lookup(tmp_path: Path) -> Path:
    """The shipped metadata plus the lookup, as an admin's project would deploy them."""
    objects = tmp_path / "sfdx" / "force-app/main/default/objects"
    shutil.copytree(default_sfdx_dir() / "force-app/main/default/objects", objects)
    (objects / "Lead/fields/Referring_Account__c.field-meta.xml").write_text(LOOKUP)
    return tmp_path / "sfdx"


@pytest.fixture
def org_with_lookup(sfdx_with_lookup, sandbox_factory, monkeypatch):
    # the org's schema is the default one: this org's is the shipped metadata plus the lookup
    monkeypatch.setattr(schema_module, "_default_schema", load_schema(sfdx_with_lookup))
    sb = sandbox_factory()
    sf = salesforce_client(sb)
    yield sb, sf
    sf.session.close()


def test_the_metadata_names_the_parent_side_after_the_field_and_the_child_side_after_relationship_name(
        sfdx_with_lookup):
    f = parse_field(sfdx_with_lookup / "force-app/main/default/objects/Lead/fields/Referring_Account__c.field-meta.xml")
    assert (f.type, f.reference_to) == ("reference", ["Account"])
    assert (f.relationship_name, f.child_relationship_name) == ("Referring_Account__r", "Referred_Leads__r")
    lead = load_schema(sfdx_with_lookup).object("Lead")
    assert lead.relationship("referring_account__r") is lead.field("Referring_Account__c")
    assert lead.relationship("Referred_Leads__r") is None


def test_describe_and_soql_follow_both_sides_of_a_deployed_lookup(org_with_lookup):
    _, sf = org_with_lookup
    account = sf.Account.create({"Name": "Fabrikam Referrals"})["id"]
    lead = sf.Lead.create({"LastName": "Okafor", "Company": "Contoso", "Referring_Account__c": account})["id"]

    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert fields["Referring_Account__c"]["relationshipName"] == "Referring_Account__r"
    assert fields["Referring_Account__c"]["referenceTo"] == ["Account"]
    children = [c for c in sf.Account.describe()["childRelationships"] if c["field"] == "Referring_Account__c"]
    assert [(c["childSObject"], c["relationshipName"]) for c in children] == [("Lead", "Referred_Leads__r")]

    (row,) = sf.query(f"SELECT Id, Referring_Account__r.Name FROM Lead WHERE Id = '{lead}'")["records"]
    assert row["Referring_Account__r"]["Name"] == "Fabrikam Referrals"
    (parent,) = sf.query(f"SELECT Name, (SELECT Id, LastName FROM Referred_Leads__r) FROM Account "
                         f"WHERE Id = '{account}'")["records"]
    assert [r["LastName"] for r in parent["Referred_Leads__r"]["records"]] == ["Okafor"]

    with pytest.raises(SalesforceMalformedRequest, match="Referred_Leads__r"):
        sf.query("SELECT Referred_Leads__r.Name FROM Lead")  # the child side is not the parent's
    with pytest.raises(SalesforceMalformedRequest, match="Referring_Account__r"):
        sf.query("SELECT Name, (SELECT Id FROM Referring_Account__r) FROM Account")

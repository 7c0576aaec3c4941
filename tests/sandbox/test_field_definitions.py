"""FieldDefinition over REST /query, as a client asks which Lead fields the org tracks in
LeadHistory: answered from the fields the org serves and the history it records, with
Salesforce's limits on that object (a filter on the object, equals only, no OR)."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.conftest import salesforce_client

TRACKED = ("SELECT QualifiedApiName, IsFieldHistoryTracked FROM FieldDefinition "
           "WHERE EntityDefinition.QualifiedApiName = 'Lead'")


def tracked(sf) -> dict[str, bool]:
    return {r["QualifiedApiName"]: r["IsFieldHistoryTracked"] for r in sf.query_all(TRACKED)["records"]}


def test_the_lead_fields_history_tracked_are_those_the_metadata_and_the_org_track(sandbox_factory):
    sf = salesforce_client(sandbox_factory())
    fields = tracked(sf)
    # standard fields the sandbox tracks, custom ones whose shipped metadata says <trackHistory>true
    assert fields["OwnerId"] and fields["PartnerAccountId"] and fields["Routing_Status__c"]
    assert fields["Rejection_Reason__c"] and fields["Partner_Response__c"]
    assert fields["Routing_Reason__c"] is False and fields["Company"] is False  # metadata says false / untracked
    assert "Industries__c" not in fields  # an Account field


def test_an_org_that_does_not_track_owner_says_so_and_keeps_no_owner_history(sandbox_factory):
    sb = sandbox_factory(history_untracked=("OwnerId",))
    sf = salesforce_client(sb)
    fields = tracked(sf)
    assert fields["OwnerId"] is False and fields["PartnerAccountId"] is True
    lead = sb.org.create("Lead", {"LastName": "Untracked", "Company": "Acme"})
    sf.Lead.update(lead, {"OwnerId": sb.org.queue_ids["Inside_Sales"], "Status": "Working - Contacted"},
                   headers={"Sforce-Auto-Assign": "FALSE"})
    rows = sf.query(f"SELECT Field FROM LeadHistory WHERE LeadId = '{lead}'")["records"]
    assert [r["Field"] for r in rows] == ["Status"]  # the owner change left no row


def test_one_field_and_its_record_shape(sandbox_factory):
    sf = salesforce_client(sandbox_factory())
    (row,) = sf.query("SELECT QualifiedApiName, IsFieldHistoryTracked, EntityDefinition.QualifiedApiName "
                      "FROM FieldDefinition WHERE EntityDefinitionId = 'Lead' AND QualifiedApiName = 'OwnerId'"
                      )["records"]
    assert row["attributes"]["type"] == "FieldDefinition"
    assert row["IsFieldHistoryTracked"] is True and row["EntityDefinition"]["QualifiedApiName"] == "Lead"


@pytest.mark.parametrize("soql, said", [
    ("SELECT QualifiedApiName FROM FieldDefinition", "a filter on a reified column is required"),
    ("SELECT QualifiedApiName FROM FieldDefinition WHERE EntityDefinitionId = 'Lead' OR DurableId = 'x'",
     "Disjunctions not supported"),
    ("SELECT QualifiedApiName FROM FieldDefinition WHERE EntityDefinitionId != 'Lead'",
     "Only equals comparisons permitted"),
    ("SELECT Nope FROM FieldDefinition WHERE EntityDefinitionId = 'Lead'", "No such column 'Nope'"),
])
def test_what_salesforce_refuses_on_field_definition_is_refused(sandbox_factory, soql, said):
    sf = salesforce_client(sandbox_factory())
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query(soql)
    assert said in info.value.content[0]["message"]


def test_a_user_without_setup_access_is_refused_field_definition(sandbox_factory):
    sb = sandbox_factory()
    sb.org.field_definitions_refused = True
    with pytest.raises(SalesforceMalformedRequest) as info:
        salesforce_client(sb).query(TRACKED)
    assert info.value.content[0]["errorCode"] == "INVALID_TYPE"

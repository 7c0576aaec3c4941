"""Task, the activity the connector leaves on a Lead, as Salesforce describes and keeps it:
WhoId polymorphic (Lead or Contact), defaults and IsClosed kept by the org, queryable
with SOQL through the relationship, over REST as any client reaches it."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


@pytest.fixture
def lead_id(sandbox):
    return sandbox.org.create("Lead", {"LastName": "Hopper", "Company": "Navy"})


def test_describe_names_the_standard_fields_with_their_salesforce_types(sf):
    d = sf.Task.describe()
    fields = {f["name"]: f for f in d["fields"]}
    assert d["keyPrefix"] == "00T" and d["createable"] and d["queryable"]
    who = fields["WhoId"]
    assert (who["type"], who["relationshipName"], sorted(who["referenceTo"]), who["polymorphicForeignKey"]) == \
        ("reference", "Who", ["Contact", "Lead"], True)
    assert fields["WhatId"]["relationshipName"] == "What" and fields["WhatId"]["polymorphicForeignKey"]
    assert fields["Subject"]["type"] == "combobox" and fields["Subject"]["length"] == 255
    assert fields["Description"]["type"] == "textarea" and fields["Description"]["length"] == 32000
    assert fields["ActivityDate"]["type"] == "date"
    status = fields["Status"]
    assert [v["value"] for v in status["picklistValues"] if v["defaultValue"]] == ["Not Started"]
    assert "Completed" in [v["value"] for v in status["picklistValues"]] and not status["nillable"]
    assert [v["value"] for v in fields["Priority"]["picklistValues"]] == ["High", "Normal", "Low"]
    assert fields["TaskSubtype"]["createable"] and not fields["TaskSubtype"]["updateable"]
    assert not fields["IsClosed"]["createable"] and fields["OwnerId"]["type"] == "reference"
    children = {(c["childSObject"], c["field"]): c["relationshipName"] for c in sf.Lead.describe()["childRelationships"]}
    assert children[("Task", "WhoId")] == "Tasks"


def test_a_task_on_a_lead_takes_the_orgs_defaults_and_is_found_through_who(sandbox, sf, lead_id):
    made = sf.Task.create({"WhoId": lead_id, "Subject": "Offer reminder sent", "ActivityDate": "2024-05-01"})
    task = sf.Task.get(made["id"])
    assert (task["Status"], task["Priority"], task["IsClosed"]) == ("Not Started", "Normal", False)
    assert task["OwnerId"] == sandbox.org.integration_user_id, "the creating user owns it"
    sf.Task.update(made["id"], {"Status": "Completed"})
    assert sf.Task.get(made["id"])["IsClosed"] is True
    rows = sf.query(f"SELECT Subject, Who.Name, ActivityDate, IsClosed FROM Task "
                    f"WHERE WhoId = '{lead_id}' AND IsClosed = true")["records"]
    assert [(r["Subject"], r["Who"]["Name"], r["ActivityDate"]) for r in rows] == \
        [("Offer reminder sent", "Hopper", "2024-05-01")]


def test_any_text_is_a_subject_but_status_and_subtype_are_kept_to_salesforces_rules(sf, lead_id):
    assert sf.Task.create({"WhoId": lead_id, "Subject": "Anything at all", "TaskSubtype": "Task"})["success"]
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.Task.create({"WhoId": lead_id, "Subject": "x", "Status": "Done-ish"})
    assert bad.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    made = sf.Task.create({"WhoId": lead_id, "Subject": "x", "TaskSubtype": "Call"})
    with pytest.raises(SalesforceMalformedRequest) as ro:
        sf.Task.update(made["id"], {"TaskSubtype": "Task"})
    assert ro.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    account = sf.Account.create({"Name": "Acme"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as who:
        sf.Task.create({"WhoId": account, "Subject": "x"})
    assert who.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"

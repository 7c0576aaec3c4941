"""Standard actions that would notify people are recorded, checked, never sent."""
from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from tests.sandbox.raw import Raw


def notification_type_id(sf) -> str:
    """The query salesforce/README.md gives an admin, for the type the deploy creates."""
    return sf.query("SELECT Id FROM CustomNotificationType WHERE DeveloperName = 'LeadRouter_Offer'")["records"][0]["Id"]


def test_the_org_has_the_notification_type_the_shipped_metadata_deploys(sf):
    """The sandbox is an org the metadata in salesforce/ was deployed to: its notification
    type is the shipped one, by name and label, as the README's query finds it."""
    [row] = sf.query("SELECT DeveloperName, MasterLabel FROM CustomNotificationType")["records"]
    assert (row["DeveloperName"], row["MasterLabel"]) == ("LeadRouter_Offer", "LeadRouter Offer")


def test_custom_notification_is_recorded_with_salesforces_answer(sandbox, sf):
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    inputs = {"customNotifTypeId": notification_type_id(sf), "recipientIds": [sandbox.org.admin_user_id],
              "title": "New lead offered", "body": "Acme is yours until Friday", "targetId": lead_id}  # fmt: skip
    client = Raw(sandbox)
    try:
        r = client.post("actions/standard/customNotificationAction", json={"inputs": [inputs]})
    finally:
        client.close()
    assert r.status_code == 200
    assert r.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert r.json() == [{"actionName": "customNotificationAction", "errors": None, "isSuccess": True,
                         "outputValues": {"SuccessMessage": "Your custom notification is processed successfully."}}]  # fmt: skip
    (sent,) = sandbox.notifications.all("customNotificationAction")
    assert sent.inputs == inputs and sent.user_id == sandbox.org.integration_user_id


def test_email_simple_is_recorded(sandbox, sf):
    result = sf.restful("actions/standard/emailSimple", method="POST", json={"inputs": [
        {"emailAddresses": "rep@partner.example", "emailSubject": "Reminder", "emailBody": "Offer lapses soon"}]})  # fmt: skip
    assert result == [{"actionName": "emailSimple", "errors": None, "isSuccess": True, "outputValues": None}]
    assert [n.inputs["emailSubject"] for n in sandbox.notifications.all("emailSimple")] == ["Reminder"]


def test_missing_inputs_fail_that_input_with_400(sandbox, sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("actions/standard/emailSimple", method="POST", json={"inputs": [{"emailBody": "hi"}]})
    (result,) = info.value.content
    assert result["isSuccess"] is False
    assert [e["message"] for e in result["errors"]] == [
        "Missing required input parameter: emailSubject",
        "Missing required input parameter: one of emailAddresses, emailAddressesArray, recipientId",
    ]
    assert len(sandbox.notifications) == 0


def test_unknown_notification_type_is_refused(sandbox, sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("actions/standard/customNotificationAction", method="POST", json={"inputs": [
            {"customNotifTypeId": "0ML000000000000AAA", "recipientIds": [sandbox.org.admin_user_id], "title": "t",
             "body": "b", "targetPageRef": "{}"}]})  # fmt: skip
    assert info.value.content[0]["errors"][0]["statusCode"] == "INVALID_ID_FIELD"


def test_unknown_action_is_404(sf):
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("actions/standard/postToChatter", method="POST", json={"inputs": [{}]})


def test_action_list_names_both_actions(sf):
    names = [a["name"] for a in sf.restful("actions/standard")["actions"]]
    assert names == ["customNotificationAction", "emailSimple"]


def test_a_custom_notification_to_a_deactivated_user_is_accepted_and_reaches_nobody(sandbox, sf):
    """customNotificationAction sends to a user "if this user is active" (Actions Developer
    Guide): the call succeeds, and the stand-in records the inactive recipient as not told."""
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    gone = sandbox.org.admin_user_id
    sandbox.org.update("User", gone, {"IsActive": False})
    sf.restful("actions/standard/customNotificationAction", method="POST", json={"inputs": [
        {"customNotifTypeId": notification_type_id(sf), "recipientIds": [gone], "title": "t", "body": "b",
         "targetId": lead_id}]})
    (sent,) = sandbox.notifications.all("customNotificationAction")
    assert sent.extra["not_delivered"] == [gone]


def test_a_task_assigned_to_a_deactivated_user_is_refused(sandbox, sf):
    """A Task's OwnerId must be an active user, as a Lead's: INACTIVE_OWNER_OR_USER."""
    lead_id = sandbox.org.create("Lead", {"LastName": "L", "Company": "C"})
    gone = sandbox.org.admin_user_id
    sandbox.org.update("User", gone, {"IsActive": False})
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Task.create({"WhoId": lead_id, "Subject": "Follow up", "OwnerId": gone})
    assert refused.value.content[0]["errorCode"] == "INACTIVE_OWNER_OR_USER"

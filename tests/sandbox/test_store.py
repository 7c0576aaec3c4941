"""The in-memory org validates and stamps writes as Salesforce does."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sandbox import ids
from sandbox.errors import SalesforceError
from sandbox.store import Org


@pytest.fixture
def org() -> Org:
    return Org()


def new_lead(org: Org, **fields) -> str:
    return org.create("Lead", {"LastName": "Lovelace", "Company": "Analytical Engines", **fields})


def error(call, *args, **kwargs) -> SalesforceError:
    with pytest.raises(SalesforceError) as info:
        call(*args, **kwargs)
    return info.value


def test_empty_org_has_integration_user_admin_and_the_contract_queues(org: Org):
    user = org.get("User", org.integration_user_id)
    assert (user["Name"], user["Username"], user["UserType"]) == (
        "LeadRouter Integration", "integration@leadrouter.sandbox", "Standard")
    assert set(org.queue_ids) == {"Inside_Sales", "Channel_Escalations", "Unassigned_Partner_Leads"}
    for queue_id in org.queue_ids.values():
        assert org.get("Group", queue_id)["Type"] == "Queue"
        assert any(q["QueueId"] == queue_id and q["SobjectType"] == "Lead" for q in org.records("QueueSobject"))


def test_created_record_gets_an_18_char_id_with_prefix_and_checksum_and_audit_fields(org: Org):
    lead_id = new_lead(org)
    assert len(lead_id) == 18 and lead_id.startswith("00Q") and ids.is_valid(lead_id)
    lead = org.get("Lead", lead_id)
    assert lead["Status"] == "Open - Not Contacted"
    assert lead["OwnerId"] == org.integration_user_id == lead["CreatedById"] == lead["LastModifiedById"]
    assert lead["IsDeleted"] is False and lead["Do_Not_Route__c"] is False
    assert lead["CreatedDate"] == lead["LastModifiedDate"] == lead["SystemModstamp"]
    assert lead["CreatedDate"].tzinfo is timezone.utc


def test_fifteen_char_ids_are_accepted_on_input(org: Org):
    lead_id = new_lead(org)
    org.update("Lead", lead_id[:15], {"Title": "Countess"})
    assert org.get("Lead", lead_id[:15])["Title"] == "Countess"
    assert org.lookup(lead_id[:15])[0] == "Lead"


def test_system_modstamp_strictly_increases_even_when_the_clock_stands_still(org: Org):
    frozen = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    org.clock.set(frozen)
    org.clock.now = lambda: frozen  # a clock that does not move at all
    stamps = [org.get("Lead", new_lead(org))["SystemModstamp"] for _ in range(50)]
    assert all(a < b for a, b in zip(stamps, stamps[1:]))


def test_update_moves_last_modified_but_not_created(org: Org):
    lead_id = new_lead(org)
    created = org.get("Lead", lead_id)["CreatedDate"]
    org.clock.advance(timedelta(minutes=5))
    org.update("Lead", lead_id, {"Rating": "Hot"})
    lead = org.get("Lead", lead_id)
    assert lead["CreatedDate"] == created
    assert lead["LastModifiedDate"] >= created + timedelta(minutes=5)


def test_unknown_field_is_invalid_field(org: Org):
    e = error(new_lead, org, Colour__c="red")
    assert (e.status, e.error_code, e.fields) == (400, "INVALID_FIELD", ["Colour__c"])
    assert e.message == "No such column 'Colour__c' on sobject of type Lead"


def test_read_only_field_is_invalid_field_for_insert_update(org: Org):
    e = error(org.update, "Lead", new_lead(org), {"SystemModstamp": "2024-01-01T00:00:00Z", "Name": "x"})
    assert e.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert e.fields == ["SystemModstamp", "Name"]


def test_malformed_reference_id_is_malformed_id(org: Org):
    e = error(new_lead, org, OwnerId="not-an-id")
    assert (e.error_code, e.fields) == ("MALFORMED_ID", ["OwnerId"])


def test_reference_to_a_missing_or_wrong_type_record_is_invalid_cross_reference_key(org: Org):
    missing_user = ids.make_id("005", 999)
    assert error(new_lead, org, OwnerId=missing_user).error_code == "INVALID_CROSS_REFERENCE_KEY"
    other_lead = new_lead(org)
    e = error(new_lead, org, PartnerAccountId=other_lead)
    assert (e.error_code, e.fields) == ("INVALID_CROSS_REFERENCE_KEY", ["PartnerAccountId"])


def test_bad_value_for_a_restricted_picklist_is_refused(org: Org):
    e = error(new_lead, org, Routing_Status__c="Maybe")
    assert e.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert e.message == "Routing Status: bad value for restricted picklist field: Maybe"


def test_unrestricted_picklists_take_new_values_like_salesforce(org: Org):
    assert org.get("Lead", new_lead(org, LeadSource="Trade Show"))["LeadSource"] == "Trade Show"


def test_missing_required_fields_are_listed(org: Org):
    e = error(org.create, "Lead", {"FirstName": "Ada"})
    assert (e.error_code, e.fields) == ("REQUIRED_FIELD_MISSING", ["LastName", "Company"])
    assert e.message == "Required fields are missing: [LastName, Company]"


def test_writing_a_deleted_record_is_entity_is_deleted(org: Org):
    lead_id = new_lead(org)
    org.delete("Lead", lead_id)
    e = error(org.update, "Lead", lead_id, {"Rating": "Cold"})
    assert (e.status, e.error_code) == (404, "ENTITY_IS_DELETED")


def test_delete_is_soft_and_kept_for_query_all(org: Org):
    lead_id = new_lead(org)
    org.delete("Lead", lead_id)
    assert org.get("Lead", lead_id)["IsDeleted"] is True
    assert lead_id not in {r["Id"] for r in org.records("Lead")}
    assert lead_id in {r["Id"] for r in org.records("Lead", include_deleted=True)}


def test_values_are_stored_as_python_types(org: Org):
    lead_id = new_lead(
        org, Offered_At__c="2024-05-01T10:00:00.000+0000", Expected_Close_Date__c="2024-06-30",
        Routing_Attempt__c=2, NumberOfEmployees="120", Products__c="Analytics;Networking", Do_Not_Route__c=True,
    )  # fmt: skip
    lead = org.get("Lead", lead_id)
    assert lead["Offered_At__c"] == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert lead["Expected_Close_Date__c"] == date(2024, 6, 30)
    assert lead["Routing_Attempt__c"] == 2.0 and isinstance(lead["Routing_Attempt__c"], float)
    assert lead["NumberOfEmployees"] == 120
    assert lead["Products__c"] == "Analytics;Networking"


def test_text_longer_than_the_field_is_string_too_long(org: Org):
    e = error(new_lead, org, Routing_Rule__c="r" * 81)
    assert (e.error_code, e.fields) == ("STRING_TOO_LONG", ["Routing_Rule__c"])


def test_number_beyond_its_precision_is_outside_valid_range(org: Org):
    assert error(new_lead, org, Routing_Attempt__c=1000).error_code == "NUMBER_OUTSIDE_VALID_RANGE"


def test_unparseable_date_is_a_json_parser_error(org: Org):
    assert error(new_lead, org, Offered_At__c="next tuesday").error_code == "JSON_PARSER_ERROR"


def test_owner_can_be_a_lead_queue_but_not_an_inactive_user(org: Org):
    lead_id = new_lead(org, OwnerId=org.queue_ids["Channel_Escalations"])
    assert org.get("Lead", lead_id)["OwnerId"] == org.queue_ids["Channel_Escalations"]
    gone = org.create("User", {"Username": "gone@p.example", "LastName": "Gone", "Email": "gone@p.example",
                               "IsActive": False})  # fmt: skip
    assert error(org.update, "Lead", lead_id, {"OwnerId": gone}).error_code == "INACTIVE_OWNER_OR_USER"


def test_converted_leads_cannot_be_updated(org: Org):
    lead_id = new_lead(org, IsConverted=True)
    assert error(org.update, "Lead", lead_id, {"Rating": "Hot"}).error_code == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_assignment_rule_takes_the_owner_unless_the_caller_opts_out(org: Org):
    queue = org.queue_ids["Channel_Escalations"]
    kept = org.create("Lead", {"LastName": "A", "Company": "B", "OwnerId": queue}, auto_assign=False)
    lost = org.create("Lead", {"LastName": "A", "Company": "B", "OwnerId": queue}, auto_assign=True)
    assert org.get("Lead", kept)["OwnerId"] == queue
    assert org.get("Lead", lost)["OwnerId"] == org.queue_ids["Inside_Sales"]


def test_owner_partner_status_and_routing_status_changes_land_in_lead_history(org: Org):
    account = org.create("Account", {"Name": "Partner One", "IsPartner": True})
    lead_id = new_lead(org)
    rep_owner = org.queue_ids["Unassigned_Partner_Leads"]
    org.update("Lead", lead_id, {"OwnerId": rep_owner, "PartnerAccountId": account, "Status": "Working - Contacted",
                                 "Routing_Status__c": "Offered", "Routing_Reason__c": "untracked"})  # fmt: skip
    history = [h for h in org.records("LeadHistory") if h["LeadId"] == lead_id]
    changes = {h["Field"]: (h["OldValue"], h["NewValue"]) for h in history}
    assert changes == {
        "Owner": (org.integration_user_id, rep_owner),
        "PartnerAccount": (None, account),
        "Status": ("Open - Not Contacted", "Working - Contacted"),
        "Routing_Status__c": (None, "Offered"),
    }
    assert all(h["CreatedById"] == org.admin_user_id for h in history)  # no user named: a person's edit


def test_history_names_the_user_who_made_the_change(org: Org):
    lead_id = new_lead(org)
    org.update("Lead", lead_id, {"Status": "Working - Contacted"}, as_user=org.integration_user_id)
    (entry,) = [h for h in org.records("LeadHistory") if h["LeadId"] == lead_id and h["Field"] == "Status"]
    assert entry["CreatedById"] == org.integration_user_id
    assert org.get("Lead", lead_id)["LastModifiedById"] == org.integration_user_id


def test_atomic_block_takes_every_write_back_when_it_fails(org: Org):
    kept = new_lead(org)
    before = dict(org.get("Lead", kept))
    heard = []
    org.listeners.append(lambda *event: heard.append(event))
    with pytest.raises(SalesforceError):
        with org.atomic():
            org.update("Lead", kept, {"Routing_Status__c": "Offered"})
            new_lead(org)
            new_lead(org, Routing_Status__c="Nope")
    assert org.get("Lead", kept) == before
    assert len(list(org.records("Lead"))) == 1
    assert not [h for h in org.records("LeadHistory") if h["LeadId"] == kept]
    assert heard == []


def test_system_writers_may_set_audit_dates_but_modstamp_stays_the_orgs(org: Org):
    long_ago = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    lead_id = org.create("Lead", {"LastName": "Old", "Company": "Co", "CreatedDate": long_ago}, system=True)
    lead = org.get("Lead", lead_id)
    assert lead["CreatedDate"] == long_ago
    assert lead["SystemModstamp"] > long_ago
    assert error(org.create, "Lead", {"LastName": "x", "Company": "y", "CreatedDate": long_ago}).error_code == (
        "INVALID_FIELD_FOR_INSERT_UPDATE")


def test_snapshot_and_restore_rebuild_the_same_org(org: Org):
    lead_id = new_lead(org)
    copy = Org(bootstrap=False)
    copy.restore(org.snapshot())
    assert copy.get("Lead", lead_id) == org.get("Lead", lead_id)
    assert copy.queue_ids == org.queue_ids
    assert new_lead(copy) != lead_id


def test_users_are_deactivated_not_deleted(org: Org):
    e = error(org.delete, "User", org.admin_user_id)
    assert (e.error_code, e.message) == ("INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted: User")
    org.update("User", org.admin_user_id, {"IsActive": False})
    assert org.get("User", org.admin_user_id)["IsActive"] is False


def test_a_unique_field_refuses_a_second_record_with_its_value_as_salesforce_words_it():
    from sandbox.errors import SalesforceError

    org = Org()
    first = org.create("LeadRouter_Lease__c", {"Name": "k:1", "Key__c": "k:1", "Term__c": 1})
    with pytest.raises(SalesforceError) as refused:
        org.create("LeadRouter_Lease__c", {"Name": "k:1", "Key__c": "k:1", "Term__c": 1})
    assert refused.value.to_json() == {
        "message": f"duplicate value found: Key__c duplicates value on record with id: {first}",
        "errorCode": "DUPLICATE_VALUE", "fields": []}
    # case-sensitive: another case is another value; an update onto a taken value is refused too
    other = org.create("LeadRouter_Lease__c", {"Name": "K:1", "Key__c": "K:1", "Term__c": 1})
    with pytest.raises(SalesforceError, match="DUPLICATE_VALUE"):
        org.update("LeadRouter_Lease__c", other, {"Key__c": "k:1"})

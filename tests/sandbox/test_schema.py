"""The schema: standard objects as Salesforce describes them, custom fields from the
SFDX metadata an admin deploys - one source, so the sandbox cannot drift from it."""
from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import ids
from sandbox.metadata import parse_field
from sandbox.schema import default_sfdx_dir, load_schema

FIELDS_DIR = default_sfdx_dir() / "force-app/main/default/objects"

# docs/CONTRACTS.md §1, verbatim: object -> field -> describe type
CONTRACT_CUSTOM_FIELDS = {
    "Lead": {
        "Routing_Status__c": "picklist", "Routing_Rule__c": "string", "Routing_Reason__c": "string",
        "Routing_Attempt__c": "double", "Offered_At__c": "datetime", "Offer_Deadline__c": "datetime",
        "Offer_Seconds_Left__c": "double",
        "Partner_Response__c": "picklist", "Rejection_Reason__c": "string", "Offer_Calendar__c": "string", "Do_Not_Route__c": "boolean",
        "Rejection_Reason_Code__c": "picklist", "Lead_Quality_Rating__c": "picklist",
        "Products__c": "multipicklist", "Deal_Amount__c": "currency", "Expected_Close_Date__c": "date",
        "Preferred_Language__c": "picklist",
    },
    "Account": {
        "Partner_Tier__c": "picklist", "Partner_Programs__c": "multipicklist", "Partner_Role__c": "picklist",
        "Certifications__c": "multipicklist", "Industries__c": "multipicklist", "Products__c": "multipicklist",
        "Languages__c": "multipicklist", "Coverage__c": "textarea", "Capacity__c": "double",
        "Daily_Cap__c": "double", "Routing_Weight__c": "double", "Routing_Paused__c": "boolean",
        "Service_Radius_Km__c": "double", "Enterprise_Team__c": "boolean", "Time_Zone__c": "string",
        "Working_Days__c": "multipicklist",
        "Routing_Feedback_Review__c": "textarea", "Routing_Feedback__c": "textarea",
    },
    "Opportunity": {
        "Deal_Registration_Status__c": "picklist", "Registration_Expires__c": "date",
        "Registered_Company__c": "string", "Registered_Email_Domain__c": "string",
    },
}  # fmt: skip


def test_every_contract_custom_field_has_one_metadata_file_and_the_right_type():
    schema = load_schema()
    for obj_name, fields in CONTRACT_CUSTOM_FIELDS.items():
        on_disk = {p.name.removesuffix(".field-meta.xml") for p in (FIELDS_DIR / obj_name / "fields").glob("*.xml")}
        assert on_disk == set(fields), obj_name
        for name, ftype in fields.items():
            f = schema.object(obj_name).field(name)
            assert (f.type, f.custom) == (ftype, True), name


def test_routing_status_is_a_restricted_picklist_with_the_contract_values():
    f = load_schema().object("Lead").field("Routing_Status__c")
    assert f.restricted_picklist
    assert f.picklist_values == ["Pending", "Offered", "Accepted", "Escalated", "Unroutable", "Fallback", "Released",
                                 "Closed"]
    assert f.track_history


def test_number_and_text_sizes_come_from_the_metadata():
    lead = load_schema().object("Lead")
    assert (lead.field("Routing_Attempt__c").precision, lead.field("Routing_Attempt__c").scale) == (3, 0)
    assert lead.field("Routing_Rule__c").length == 80
    assert (lead.field("Deal_Amount__c").precision, lead.field("Deal_Amount__c").scale) == (16, 2)
    assert load_schema().object("Account").field("Coverage__c").length == 32768


def test_lookups_are_case_insensitive_by_field_and_relationship_name():
    lead = load_schema().object("lead")
    assert lead.field("routing_status__C").name == "Routing_Status__c"
    assert lead.relationship("owner").name == "OwnerId"
    assert lead.field("OwnerId").reference_to == ["Group", "User"]
    assert lead.relationship("PartnerAccount").reference_to == ["Account"]


def test_standard_lead_picklists_are_salesforces():
    lead = load_schema().object("Lead")
    assert lead.field("Status").picklist_values == [
        "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]
    assert lead.field("Status").default == "Open - Not Contacted"
    assert len(lead.field("Industry").picklist_values) == 32
    assert lead.field("Rating").picklist_values == ["Hot", "Warm", "Cold"]


def test_every_object_has_read_only_audit_fields_and_its_id_prefix():
    schema = load_schema()
    for name, obj in schema.objects.items():
        # custom objects are numbered a00, a01, … in name order, as an org numbers its own
        assert obj.key_prefix == (ids.PREFIXES[name] if not obj.custom else obj.key_prefix), name
        assert not obj.custom or (name.endswith("__c") and obj.key_prefix[0] == "a"), name
        for audit in ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                      "SystemModstamp"):
            f = obj.field(audit)
            assert f is not None and not f.createable and not f.updateable, (name, audit)
    assert schema.object_for_id(ids.make_id("00Q", 7)).name == "Lead"


def test_an_unknown_metadata_field_type_is_refused_naming_the_file(tmp_path: Path):
    path = tmp_path / "Geo__c.field-meta.xml"
    path.write_text(
        '<?xml version="1.0"?><CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<fullName>Geo__c</fullName><label>Geo</label><type>Location</type></CustomField>"
    )
    with pytest.raises(ValueError, match=r"Geo__c.field-meta.xml: field type 'Location' is not emulated"):
        parse_field(path)


def test_metadata_for_an_object_the_sandbox_lacks_is_an_error(tmp_path: Path):
    fields = tmp_path / "force-app/main/default/objects/Case/fields"
    fields.mkdir(parents=True)
    (fields / "X__c.field-meta.xml").write_text(
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>X__c</fullName>'
        "<label>X</label><type>Checkbox</type></CustomField>"
    )
    with pytest.raises(ValueError, match="fields on Case, which the sandbox does not emulate"):
        load_schema(tmp_path)


def test_a_custom_object_comes_from_its_metadata_with_the_standard_fields_and_its_unique_key():
    lease = load_schema().object("LeadRouter_Lease__c")
    assert lease is not None and lease.custom and lease.key_prefix == "a00"
    assert {"Id", "OwnerId", "Name", "LastModifiedDate"} <= set(lease.fields)
    key = lease.field("Key__c")
    assert key.unique and key.case_sensitive and key.external_id and key.required

"""Mappings checked against the org's describe(), with the file, key, line and nearest field."""
from __future__ import annotations

import pytest

from mappings import load_mappings

from .helpers import LEAD, load
from .org import contract_org, field_of, without


def errors(found):
    return [p for p in found if p.is_error]


def test_shipped_defaults_validate_cleanly_against_the_contract_org():
    assert load_mappings().validate(contract_org()) == []


def test_describe_may_be_a_function_called_once_per_object():
    org = contract_org()
    asked = []

    def describe(name):
        asked.append(name)
        return org[name]

    assert load_mappings().validate(describe) == []
    assert sorted(set(asked)) == sorted(asked)  # each object described once
    assert {"Lead", "Account", "User", "Group", "GroupMember", "Opportunity"} <= set(asked)


def test_a_describe_that_raises_for_an_unknown_object_is_reported_not_raised():
    org = contract_org()

    def describe(name):
        if name == "Opportunity":
            raise LookupError("NOT_FOUND: The requested resource does not exist")
        return org[name]

    found = load_mappings().validate(describe)
    assert [p.key for p in found] == ["dealreg.sobject"]


def test_a_typo_in_a_field_names_the_file_the_key_the_line_and_the_nearest_field(tmp_path):
    ms = load(tmp_path, LEAD + 'company = "Compnay"\n')
    problem, = ms.validate(contract_org())
    assert problem.file == str(tmp_path / "lead.toml")
    assert (problem.line, problem.key) == (6, "lead.fields.company.field")
    assert problem.message == "Lead has no field 'Compnay'"
    assert problem.fix.startswith("did you mean 'Company'? If not, ") and "API name" in problem.fix, problem


def test_a_field_spelled_in_the_wrong_case_is_an_error_because_records_would_miss_it(tmp_path):
    ms = load(tmp_path, LEAD + 'email = "email"\n')
    problem, = ms.validate(contract_org())
    assert problem.message == "Lead field is spelled 'Email', not 'email'; records come back keyed by 'Email'"


def test_relationship_paths_are_followed_to_the_referenced_object(tmp_path):
    ms = load(tmp_path, LEAD + '[lead.extra]\nowner_active = { field = "Owner.IsActive", type = "bool" }\n'
                               'owner_name = "Owner.Nmae"\npartner_tier = "PartnerAccount.Partner_Tier__c"\n'
                               'x = "Ownr.Name"\n')
    found = ms.validate(contract_org())
    assert [(p.key, p.message, p.fix.split(" If not, ")[0]) for p in found] == [
        ("lead.extra.owner_name.field", "User has no field 'Nmae'", "did you mean 'Name'?"),
        ("lead.extra.x.field", "Lead has no relationship 'Ownr' (in 'Ownr.Name')", "did you mean 'Owner'?"),
    ]


def test_a_relationship_to_an_object_not_described_is_a_warning(tmp_path):
    ms = load(tmp_path, LEAD + '[lead.extra]\nprofile = "Owner.Profile.Name"\n')
    problem, = ms.validate(contract_org())
    assert problem.severity == "warning" and "no describe of Profile" in problem.message


def test_an_object_the_org_does_not_have(tmp_path):
    ms = load(tmp_path, '[dealreg]\nsobject = "Deal_Registraton__c"\n[dealreg.fields]\nid = "Id"\n'
                        'partner_id = "Partner__c"\n', "dealreg.toml")
    org = contract_org() | {"Deal_Registration__c": {"name": "Deal_Registration__c", "fields": []}}
    problem, = ms.validate(org)
    assert problem.key == "dealreg.sobject" and problem.line == 2
    assert "the org has no object 'Deal_Registraton__c'" in problem.message
    assert problem.fix.startswith("did you mean 'Deal_Registration__c'? If not, check the API name"), problem


def test_filter_fields_are_checked_too(tmp_path):
    ms = load(tmp_path, '[partner]\nsobject = "Account"\nfilter = "IsPartnr = true AND Name != \'Test\'"\n'
                        '[partner.fields]\nid = "Id"\nname = "Name"\n', "partner.toml")
    problem, = ms.validate(contract_org())
    assert (problem.key, problem.line) == ("partner.filter", 3)
    assert problem.message == "Account has no field 'IsPartnr'" and problem.fix.startswith("did you mean 'IsPartner'?")


def test_a_text_field_read_as_a_number_is_a_warning(tmp_path):
    ms = load(tmp_path, LEAD + 'employees = "Title"\n')
    problem, = ms.validate(contract_org())
    assert problem.severity == "warning" and "Title is a string field but employees is int" in problem.message


def test_map_keys_that_are_not_picklist_values_are_named_with_the_nearest(tmp_path):
    ms = load(tmp_path, LEAD + 'rating = { field = "Rating", map = { Hott = "A", warm = "B" } }\n')
    problem, = ms.validate(contract_org())
    assert (problem.severity, problem.key) == ("warning", "lead.fields.rating.map.Hott")
    assert problem.message == "'Hott' is not a value of Rating"
    assert problem.fix.startswith("did you mean 'Hot'? If not, values: Hot, Warm, Cold"), problem


def test_a_response_picklist_with_values_the_router_does_not_know_asks_for_a_map(tmp_path):
    org = contract_org()
    field_of(org, "Lead", "Partner_Response__c")["picklistValues"].append({"value": "Declined", "active": True})
    ms = load(tmp_path, LEAD + 'response = "Partner_Response__c"\n')
    problem, = ms.validate(org)
    assert "'Declined' mean nothing to the router" in problem.message
    assert problem.fix.startswith('add map = { "Declined" = ')
    mapped = load(tmp_path, LEAD + 'response = { field = "Partner_Response__c", map = { Declined = "Rejected" } }\n')
    assert mapped.validate(org) == []


def test_a_writeback_field_the_integration_user_cannot_update(tmp_path):
    org = contract_org()
    field_of(org, "Lead", "PartnerAccountId")["updateable"] = False
    problem, = errors(load_mappings().validate(org))
    assert problem.key == "writeback.fields.partner_id.field"
    assert problem.message == "Lead.PartnerAccountId is not updateable for the integration user"
    assert "remove partner_id" in problem.fix


def test_a_writeback_field_missing_from_the_org(tmp_path):
    problem, = errors(load_mappings().validate(without(contract_org(), "Lead", "Offer_Deadline__c")))
    assert problem.key == "writeback.fields.deadline.field"
    assert "Lead has no field 'Offer_Deadline__c'" in problem.message
    assert problem.file.endswith("writeback.toml") and problem.line is not None


def test_routing_status_values_the_router_writes_must_exist_in_the_picklist(tmp_path):
    org = contract_org()
    values = field_of(org, "Lead", "Routing_Status__c")["picklistValues"]
    values[:] = [v for v in values if v["value"] != "Escalated"] + [{"value": "Escalate", "active": True}]
    problem, = errors(load_mappings().validate(org))
    assert problem.key == "writeback.fields.routing_status"
    assert problem.message == "Routing_Status__c has no picklist value 'Escalated', which the router writes"
    assert problem.fix.startswith("did you mean 'Escalate'? If not, deploy this leadrouter's salesforce/"), problem
    assert "or add it to the picklist" in problem.fix, problem


def test_a_writeback_map_onto_the_orgs_own_picklist_values_validates(tmp_path):
    org = contract_org()
    field_of(org, "Lead", "Routing_Status__c")["picklistValues"] = [
        {"value": v, "active": True} for v in ["New", "With Partner", "Won", "Escalated", "Fallback", "Unroutable",
                                               "Released", "Closed"]]
    ms = load(tmp_path, """
        [writeback]
        sobject = "Lead"
        [writeback.fields]
        routing_status = { field = "Routing_Status__c", map = { Pending = "New", Offered = "With Partner", Accepted = "Won" } }
    """, "writeback.toml")
    assert errors(ms.validate(org)) == []


def test_a_writeback_length_longer_than_the_field(tmp_path):
    ms = load(tmp_path, '[writeback]\nsobject = "Lead"\n[writeback.fields]\nrule = { field = "Routing_Rule__c", length = 100 }\n',
              "writeback.toml")
    problem, = ms.validate(contract_org())
    assert (problem.key, problem.line) == ("writeback.fields.rule.length", 4)
    assert problem.fix == "write length = 80"


def test_without_a_length_the_writeback_learns_it_from_the_org(tmp_path):
    ms = load(tmp_path, '[writeback]\nsobject = "Lead"\n[writeback.fields]\nrule = "Routing_Rule__c"\n', "writeback.toml")
    assert len(ms.writeback({"rule": "r" * 500})["Routing_Rule__c"]) == 500
    assert ms.validate(contract_org()) == []
    assert ms.writeback({"rule": "r" * 500})["Routing_Rule__c"] == "r" * 79 + "…"


def test_a_writeback_into_a_field_of_another_type(tmp_path):
    ms = load(tmp_path, '[writeback]\nsobject = "Lead"\n[writeback.fields]\ndeadline = "Expected_Close_Date__c"\n',
              "writeback.toml")
    problem, = ms.validate(contract_org())
    assert problem.message == "Expected_Close_Date__c is a date field; deadline writes datetime"


@pytest.mark.parametrize("sobject", ["Lead", "Account", "User", "Group", "GroupMember", "Opportunity"])
def test_each_object_the_defaults_read_is_needed(sobject):
    org = contract_org()
    del org[sobject]
    found = errors(load_mappings().validate(org))
    assert any(f"the org has no object {sobject!r}" in p.message for p in found)


def test_start_up_stops_on_errors_and_hands_back_warnings(tmp_path):
    from mappings import MappingError

    broken = load(tmp_path, LEAD + 'company = "Compnay"\nrating = { field = "Rating", map = { Hott = "A" } }\n')
    with pytest.raises(MappingError) as caught:
        broken.ensure_valid(contract_org())
    assert "Lead has no field 'Compnay' — fix: did you mean 'Company'?" in str(caught.value)
    only_warned = load(tmp_path, LEAD + 'rating = { field = "Rating", map = { Hott = "A" } }\n')
    warning, = only_warned.ensure_valid(contract_org())
    assert warning.severity == "warning"

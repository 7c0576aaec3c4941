"""What the engine refuses before reading rows: Salesforce's error codes and wording."""
from __future__ import annotations

import pytest

from sandbox.errors import SalesforceError
from sandbox.soql import SoqlError, execute
from sandbox.store import Org

FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)


@pytest.fixture(scope="module")
def org() -> Org:
    return Org()


def refused(org: Org, soql: str, code: str) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        execute(soql, org)
    assert info.value.error_code == code, info.value.message
    return info.value


def last_line(err: SoqlError) -> str:
    return err.message.rsplit("\n", 1)[-1]


def test_errors_are_salesforce_errors_the_rest_layer_answers_with_400(org):
    err = refused(org, "SELECT Id FROM Nope__c", "INVALID_TYPE")
    assert isinstance(err, SalesforceError) and err.status == 400
    assert err.to_json()["errorCode"] == "INVALID_TYPE"


def test_unknown_object_is_invalid_type_with_salesforce_wording(org):
    err = refused(org, "SELECT Id FROM Foo", "INVALID_TYPE")
    assert last_line(err) == (
        "sObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to "
        "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
        "appropriate names."
    )
    assert "ERROR at Row:1:Column:16" in err.message


def test_unknown_field_is_invalid_field_naming_field_and_entity(org):
    err = refused(org, "SELECT Id, Foo FROM Lead", "INVALID_FIELD")
    assert last_line(err) == f"No such column 'Foo' on entity 'Lead'. {FIELD_HINT}"
    assert err.message.startswith("\nSELECT Id, Foo FROM Lead\n           ^\nERROR at Row:1:Column:12\n")


def test_field_of_another_object_is_invalid_field(org):
    err = refused(org, "SELECT Id FROM Lead WHERE IsPartner = true", "INVALID_FIELD")
    assert last_line(err) == f"No such column 'IsPartner' on entity 'Lead'. {FIELD_HINT}"


def test_unknown_field_behind_a_relationship_names_the_parent_entity(org):
    err = refused(org, "SELECT PartnerAccount.Nmae FROM Lead", "INVALID_FIELD")
    assert last_line(err) == f"No such column 'Nmae' on entity 'Account'. {FIELD_HINT}"
    assert "Column:23" in err.message  # points at Nmae, not at PartnerAccount


def test_unknown_relationship_is_invalid_field(org):
    err = refused(org, "SELECT Account.Name FROM Lead", "INVALID_FIELD")
    assert last_line(err) == (
        "Didn't understand relationship 'Account' in field path. If you are attempting to use a custom "
        "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
        "your WSDL or the describe call for the appropriate names."
    )


def test_polymorphic_owner_only_offers_the_name_object_fields(org):
    err = refused(org, "SELECT Owner.TimeZoneSidKey FROM Lead", "INVALID_FIELD")
    assert last_line(err) == f"No such column 'TimeZoneSidKey' on entity 'Name'. {FIELD_HINT}"


def test_errors_in_order_by_are_reported_too(org):
    refused(org, "SELECT Id FROM Lead ORDER BY Nope", "INVALID_FIELD")
    err = refused(org, "SELECT Id FROM Lead ORDER BY Products__c", "INVALID_FIELD")
    assert last_line(err) == "field 'Products__c' can not be sorted in a query call"


def test_long_text_area_cannot_be_filtered(org):
    err = refused(org, "SELECT Id FROM Lead WHERE Description = 'x'", "INVALID_FIELD")
    assert last_line(err) == "field 'Description' can not be filtered in a query call"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("Company = 5", "value of filter criterion for field 'Company' must be of type string and should be enclosed in quotes"),
        ("Do_Not_Route__c = 'true'", "value of filter criterion for field 'Do_Not_Route__c' must be of type boolean and should not be enclosed in quotes"),
        ("Deal_Amount__c > '5'", "value of filter criterion for field 'Deal_Amount__c' must be of type double and should not be enclosed in quotes"),
        ("NumberOfEmployees = '5'", "value of filter criterion for field 'NumberOfEmployees' must be of type integer and should not be enclosed in quotes"),
        ("CreatedDate > 2024-05-01", "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"),
        ("Expected_Close_Date__c = 2024-05-01T00:00:00Z", "value of filter criterion for field 'Expected_Close_Date__c' must be of type date and should not be enclosed in quotes"),
        ("CreatedDate = '2024-05-01T00:00:00Z'", "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"),
        ("Company = TODAY", "value of filter criterion for field 'Company' must be of type string and should be enclosed in quotes"),
    ],
)  # fmt: skip
def test_literal_of_the_wrong_type_for_its_field(org, where, message):
    err = refused(org, f"SELECT Id FROM Lead WHERE {where}", "INVALID_FIELD")
    assert last_line(err) == message


def test_malformed_id_literal_is_refused(org):
    err = refused(org, "SELECT Id FROM Lead WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR")
    assert last_line(err) == "invalid ID field: not-an-id"
    refused(org, "SELECT Id FROM Lead WHERE OwnerId IN ('005000000000001', '00Qxx')", "INVALID_QUERY_FILTER_OPERATOR")


@pytest.mark.parametrize(
    "where",
    [
        "Deal_Amount__c LIKE '5%'",
        "Company INCLUDES ('Acme')",
        "Do_Not_Route__c > false",
        "Products__c IN ('Analytics')",
        "Products__c LIKE 'Ana%'",
    ],
)
def test_operator_the_field_type_does_not_support(org, where):
    refused(org, f"SELECT Id FROM Lead WHERE {where}", "INVALID_QUERY_FILTER_OPERATOR")


def test_includes_on_a_plain_field_says_it_needs_a_multipicklist(org):
    err = refused(org, "SELECT Id FROM Lead WHERE Country INCLUDES ('US')", "INVALID_QUERY_FILTER_OPERATOR")
    assert last_line(err) == "includes or excludes operator only valid on multipicklist field"


def test_offset_beyond_two_thousand_is_out_of_range(org):
    err = refused(org, "SELECT Id FROM Lead ORDER BY Id LIMIT 10 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE")
    assert err.message == "Maximum SOQL offset allowed is 2000"
    assert execute("SELECT Id FROM Lead ORDER BY Id OFFSET 2000", org).total_size == 0


def test_selecting_a_field_twice_is_refused(org):
    err = refused(org, "SELECT Id, Name, name FROM Lead", "MALFORMED_QUERY")
    assert last_line(err) == "duplicate field selected: Name"


def test_syntax_errors_surface_through_execute_as_malformed_query(org):
    err = refused(org, "SELECT Id FROM Lead WHERE Name = ", "MALFORMED_QUERY")
    assert last_line(err) == "unexpected token: <EOF>"


def test_history_values_of_any_type_can_be_selected_but_not_filtered_or_sorted(org):
    assert execute("SELECT OldValue, NewValue FROM LeadHistory", org).total_size >= 0
    err = refused(org, "SELECT Id FROM LeadHistory WHERE NewValue = 'x'", "INVALID_FIELD")
    assert last_line(err) == "field 'NewValue' can not be filtered in a query call"
    refused(org, "SELECT Id FROM LeadHistory ORDER BY OldValue", "INVALID_FIELD")

"""Write-back fields the org may lack: `optional = true` in [writeback.fields]. Parsing and
its mistakes (file, line, key), the org check that leaves such a field out of every write
with one warning, and the answer cleared as one (response, reason, code)."""
from __future__ import annotations

import pytest

from mappings import MappingError, load_mappings

from .helpers import load, problems
from .org import contract_org, field_of, without

WRITEBACK = """
[writeback]
sobject = "Lead"

[writeback.fields]
owner_id = "OwnerId"
routing_status = "Routing_Status__c"
response = "Partner_Response__c"
rejection_reason = "Rejection_Reason__c"
{line}
"""
CODE = "Rejection_Reason_Code__c"


def writeback(tmp_path, line: str):
    return load(tmp_path, WRITEBACK.format(line=line), "writeback.toml")


def errors(found):
    return [p for p in found if p.is_error]


def warnings(found):
    return [p for p in found if not p.is_error]


def test_the_shipped_mapping_writes_the_code_optionally_and_clears_it_with_the_answer():
    ms = load_mappings()
    assert ms.writeback_fields()["rejection_code"] == CODE
    assert ms.cleared_answer() == {"Partner_Response__c": None, "Rejection_Reason__c": None, CODE: None}


@pytest.mark.parametrize("written", ["true", '"yes"', '"Yes"', '"on"'])
def test_optional_is_read_as_yes_in_the_ways_people_write_it(tmp_path, written):
    ms = writeback(tmp_path, f'rejection_code = {{ field = "{CODE}", optional = {written} }}')
    assert ms._writeback.optional == {"rejection_code"}


def test_if_present_is_read_as_optional(tmp_path):
    ms = writeback(tmp_path, f'rejection_code = {{ field = "{CODE}", If_Present = true }}')
    assert ms._writeback.optional == {"rejection_code"}


def test_a_misspelt_optional_flag_names_the_key_the_file_the_line_and_the_word_meant(tmp_path):
    problem, = problems(tmp_path, WRITEBACK.format(line=f'rejection_code = {{ field = "{CODE}", optinal = true }}'),
                        "writeback.toml")
    assert problem.file.endswith("writeback.toml") and problem.line == 9
    assert problem.key == "writeback.fields.rejection_code.optinal"
    assert problem.message == "unknown key 'optinal'"
    assert problem.fix.startswith("did you mean 'optional'? If not, keys allowed here:"), problem


def test_an_optional_flag_that_is_not_yes_or_no_says_how_to_write_it(tmp_path):
    problem, = problems(tmp_path, WRITEBACK.format(line=f'rejection_code = {{ field = "{CODE}", optional = "maybe" }}'),
                        "writeback.toml")
    assert (problem.key, problem.line) == ("writeback.fields.rejection_code.optional", 9)
    assert "'maybe'" in problem.message
    assert problem.fix.startswith("write optional = true")


def test_optional_on_a_field_that_is_read_is_refused_naming_why(tmp_path):
    problem, = problems(tmp_path, '[lead]\nsobject = "Lead"\n[lead.fields]\nid = "Id"\n'
                                  'rating = { field = "Rating", optional = true }\n')
    assert (problem.key, problem.line) == ("lead.fields.rating.optional", 5)
    assert "only applies to write-back fields" in problem.message and "a read naming a missing field fails" \
        in problem.message


def test_an_optional_field_the_org_lacks_is_one_warning_with_the_fix_and_is_not_written():
    ms = load_mappings()
    found = ms.validate(without(contract_org(), "Lead", CODE))
    assert errors(found) == []
    warning, = warnings(found)
    assert warning.key == "writeback.fields.rejection_code.field"
    assert warning.file.endswith("writeback.toml") and warning.line is not None
    assert warning.message == (f"Lead.{CODE} is not in the org (or field-level security hides it from the integration "
                               "user); rejection_code is optional, so leadrouter runs without writing it")
    assert "deploy the field (salesforce/" in warning.fix and "LeadRouter_Integration" in warning.fix
    assert ms.writeback_left_out() == {"rejection_code"}
    assert CODE not in ms.cleared_answer() and "rejection_code" not in ms.writeback_fields()
    assert ms.writeback({"rejection_code": None, "response": None}) == {"Partner_Response__c": None}


def test_an_optional_field_the_integration_user_cannot_edit_is_a_warning_naming_the_permission_set():
    org = contract_org()
    field_of(org, "Lead", CODE)["updateable"] = False
    ms = load_mappings()
    warning, = ms.validate(org)
    assert warning.severity == "warning" and warning.key == "writeback.fields.rejection_code.field"
    assert warning.message == (f"Lead.{CODE} is not editable by the integration user; rejection_code is optional, "
                               "so leadrouter runs without writing it")
    assert "LeadRouter_Integration" in warning.fix
    assert CODE not in ms.cleared_answer()


def test_a_required_field_missing_from_the_org_still_stops_the_start():
    ms = load_mappings()
    with pytest.raises(MappingError) as exc:
        ms.ensure_valid(without(contract_org(), "Lead", "Rejection_Reason__c"))
    assert "Lead has no field 'Rejection_Reason__c'" in str(exc.value)


def test_an_optional_field_spelt_in_another_case_is_still_an_error(tmp_path):
    ms = writeback(tmp_path, 'rejection_code = { field = "rejection_reason_code__c", optional = true }')
    problem, = errors(ms.validate(contract_org()))
    assert "spelled 'Rejection_Reason_Code__c'" in problem.message


def test_the_org_having_the_field_again_writes_it_again():
    ms = load_mappings()
    ms.validate(without(contract_org(), "Lead", CODE))
    assert ms.validate(contract_org()) == []
    assert ms.writeback_left_out() == frozenset() and CODE in ms.cleared_answer()


def test_the_start_check_of_optional_fields_alone_describes_only_the_written_object():
    asked = []
    org = without(contract_org(), "Lead", CODE)

    def describe(name):
        asked.append(name)
        return org[name]

    ms = load_mappings()
    warning, = ms.ensure_optional_fields(describe)
    assert warning.key == "writeback.fields.rejection_code.field" and asked == ["Lead"]
    assert ms.writeback_left_out() == {"rejection_code"}


def test_without_an_optional_field_the_start_check_asks_nothing(tmp_path):
    ms = writeback(tmp_path, "")

    def describe(name):
        raise AssertionError(f"described {name}")

    assert ms.ensure_optional_fields(describe) == []


def test_a_refusal_naming_an_optional_field_leaves_it_out_and_one_naming_any_other_changes_nothing():
    ms = load_mappings()
    assert ms.leave_out_fields(["Rejection_Reason__c"]) == frozenset()
    assert ms.leave_out_fields([CODE, "OwnerId"]) == frozenset()
    assert ms.writeback_left_out() == frozenset()
    assert ms.leave_out_fields(["rejection_reason_code__c"]) == {"rejection_code"}
    assert ms.writeback_left_out() == {"rejection_code"} and ms.writeback_dropped_fields() == {CODE}
    assert CODE not in ms.cleared_answer()

"""Loading forgives what people write and names everything else: file, line, key, fix."""
from __future__ import annotations

import pytest

from mappings import MappingError, load_mappings
from mappings.loader import DEFAULTS_DIR

from .helpers import LEAD, LEAD_ID, lead_with, load, problems, write


def one(found):
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def test_shipped_defaults_load_without_problems():
    ms = load_mappings()
    assert ms.warnings == []
    assert {ms.sobject(k) for k in ("lead", "partner", "rep", "pool", "pool_member", "dealreg")} == \
        {"Lead", "Account", "User", "Group", "GroupMember", "Opportunity"}
    assert ms.filter("partner") == "IsPartner = true"


def test_a_directory_with_only_lead_toml_keeps_the_other_defaults(tmp_path):
    ms = lead_with(tmp_path, 'company = "Company"\n')
    assert ms.soql_fields("lead") == ["Id", "Company"]
    assert ms.file("lead").startswith(str(tmp_path))
    assert ms.file("partner").startswith(str(DEFAULTS_DIR))


# -- forgiven ------------------------------------------------------------------------

def test_a_bare_field_name_a_list_and_a_table_all_mean_an_attribute(tmp_path):
    ms = lead_with(tmp_path, """
        company = "Company"
        email = ["Email", "Alt_Email__c"]
        city = { field = "City" }
    """)
    assert ms.soql_fields("lead") == ["Id", "Company", "Email", "Alt_Email__c", "City"]


def test_key_and_type_names_in_any_case_and_common_synonyms(tmp_path):
    ms = lead_with(tmp_path, """
        employees = { Field = "NumberOfEmployees", TYPE = "Integer" }
        do_not_route = { fields = "Do_Not_Route__c", type = "Checkbox", Required = "yes" }
        [lead.extra]
        segments = { field = "Segments__c", type = "MultiPicklist", transform = "trim" }
        marketing_score = { field = "Score__c", type = "double" }
    """)
    types = ms.lead_attribute_types()
    assert types["segments"] is frozenset and types["marketing_score"] is float
    got = ms.lead_converter()({"Id": LEAD_ID, "Segments__c": "a; b", "Do_Not_Route__c": True, "NumberOfEmployees": 3})
    assert got.extra["segments"] == frozenset({"a", "b"}) and got.employees == 3


def test_fields_written_as_rows_and_a_map_written_as_pairs(tmp_path):
    ms = load(tmp_path, """
        [lead]
        sobject = "Lead"
        [[lead.fields]]
        attribute = "id"
        field = "Id"
        [[lead.fields]]
        attribute = "rating"
        field = "Rating"
        map = [["Hot", "A"], ["Cold", "C"]]
    """)
    assert ms.lead_converter()({"Id": LEAD_ID, "Rating": "hot"}).rating == "A"


def test_extra_attributes_are_typed_for_rule_expressions(tmp_path):
    ms = lead_with(tmp_path, """
        [lead.extra]
        segment = "Segment__c"
        seats = { field = "Seats__c", type = "int" }
        renewal = { field = "Renewal__c", type = "date" }
    """)
    types = ms.lead_attribute_types()
    assert (types["segment"], types["seats"], types["country"]) == (str, int, str)
    assert types["renewal"].__name__ == "date"
    assert ms.attribute_problem("lead", "seat") == "unknown lead attribute 'seat' (did you mean 'seats'?)"
    assert ms.attribute_problem("lead", "segment") is None


# -- rejected, each with where and how to fix ------------------------------------------

CASES = {
    "toml_syntax": (LEAD + 'company = "Company\n', 6, "", "not valid TOML"),
    "unknown_section": (LEAD + '[leads.extra]\n', 6, "leads", "unknown section [leads] (did you mean 'lead'?)"),
    "unknown_object_key": ('[lead]\nsobject = "Lead"\nfliter = "x = 1"\n[lead.fields]\nid = "Id"\n', 3,
                           "lead.fliter", "unknown key 'fliter' (did you mean 'filter'?)"),
    "unknown_attribute_key": (LEAD + 'company = { field = "Company", trasnforms = ["trim"] }\n', 6,
                              "lead.fields.company.trasnforms", "unknown key 'trasnforms' (did you mean 'transforms'?)"),
    "unknown_transform": (LEAD + 'company = { field = "Company", transforms = ["trim", "lowercse"] }\n', 6,
                          "lead.fields.company.transforms.1", "unknown transform 'lowercse' (did you mean 'lower'?)"),
    "unknown_type": (LEAD + '[lead.extra]\nseats = { field = "Seats__c", type = "integr" }\n', 7,
                     "lead.extra.seats.type", "unknown type 'integr' (did you mean 'int'?)"),
    "unknown_standard_attribute": (LEAD + 'compnay = "Company"\n', 6, "lead.fields.compnay",
                                   "'compnay' is not a standard lead attribute (did you mean 'company'?)"),
    "type_that_does_not_fit": (LEAD + 'employees = { field = "NumberOfEmployees", type = "date" }\n', 6,
                               "lead.fields.employees.type", "type 'date' does not fit employees, which is int"),
    "extra_not_an_identifier": (LEAD + '[lead.extra]\n"Deal Size" = "Deal_Size__c"\n', 7, "lead.extra.Deal Size",
                                "must be a lower-case identifier"),
    "extra_named_like_a_standard_one": (LEAD + '[lead.extra]\ncountry = "Country"\n', 7, "lead.extra.country",
                                        "'country' is a standard lead attribute"),
    "no_source": (LEAD + 'company = { type = "string" }\n', 6, "lead.fields.company", "exactly one of"),
    "two_sources": (LEAD + 'company = { field = "Company", constant = "x" }\n', 6, "lead.fields.company", "exactly one of"),
    "not_a_field_name": (LEAD + 'company = "Company Name"\n', 6, "lead.fields.company.field", "is not a Salesforce field name"),
    "a_number_instead_of_a_field": (LEAD + 'company = 5\n', 6, "lead.fields.company", "does not say where the value comes from"),
    "map_default_without_map": (LEAD + 'rating = { field = "Rating", map_default = "x" }\n', 6,
                                "lead.fields.rating.map_default", "map_default without a map"),
    "default_of_the_wrong_type": (LEAD + 'employees = { field = "NumberOfEmployees", default = "many" }\n', 6,
                                  "lead.fields.employees.default", "does not fit type int"),
    "constant_of_the_wrong_type": (LEAD + 'employees = { constant = "many" }\n', 6,
                                   "lead.fields.employees.constant", "does not fit"),
    "date_format_that_cannot_parse": (LEAD + '[lead.extra]\nd = { field = "D__c", type = "date", transforms = [{ date = "%Q" }] }\n',
                                      7, "lead.extra.d.transforms.0", "cannot be parsed back"),
    "transform_option_it_does_not_take": (LEAD + 'company = { field = "Company", transforms = [{ split = ",", wide = 1 }] }\n',
                                          6, "lead.fields.company.transforms.0", "does not take wide"),
    "subdivision_without_a_country": (LEAD + 'state = { field = "State", transforms = ["subdivision"] }\n', 6,
                                      "lead.fields.state.transforms.0", "attribute 'country', which is not mapped"),
    "empty_filter": ('[lead]\nsobject = "Lead"\nfilter = " "\n[lead.fields]\nid = "Id"\n', 3, "lead.filter", "filter is empty"),
    "filter_with_open_bracket": ('[lead]\nsobject = "Lead"\nfilter = "(IsConverted = false"\n[lead.fields]\nid = "Id"\n', 3,
                                 "lead.filter", "brackets ( ) do not balance"),
    "filter_with_where": ('[lead]\nsobject = "Lead"\nfilter = "WHERE IsConverted = false"\n[lead.fields]\nid = "Id"\n', 3,
                          "lead.filter", "without WHERE"),
    "missing_id": ('[lead]\nsobject = "Lead"\n[lead.fields]\ncompany = "Company"\n', 3, "lead.fields", "id must be mapped"),
    "length_on_a_read_attribute": (LEAD + 'company = { field = "Company", length = 10 }\n', 6,
                                   "lead.fields.company.length", "only applies to write-back"),
    "sobject_with_spaces": ('[lead]\nsobject = "Lead Object"\n[lead.fields]\nid = "Id"\n', 2, "lead.sobject",
                            "is not an sObject API name"),
}


@pytest.mark.parametrize("text, line, key, message", CASES.values(), ids=CASES.keys())
def test_a_mistake_is_named_with_file_line_key_and_fix(tmp_path, text, line, key, message):
    problem = one(problems(tmp_path, text))
    assert problem.file == str(tmp_path / "lead.toml")
    assert problem.line == line
    assert problem.key == key
    what, _, hint = message.partition(" (did you mean ")  # what is wrong in the message, the name meant in the fix
    assert what in problem.message and "did you mean" not in problem.message
    assert not hint or (problem.fix or "").startswith(f"did you mean {hint[:-1]} If not, "), problem
    assert problem.is_error


def test_writeback_mistakes(tmp_path):
    found = problems(tmp_path, """
        [writeback]
        sobject = "Lead"
        [writeback.fields]
        reason = { field = "Routing_Reason__c", transforms = ["trim"] }
        owner_id = "Owner.Id"
        rule = { field = "Routing_Rule__c", required = true }
        rejection_reason = { field = "Rejection_Reason__c", length = 0 }
        [writeback.extra]
        ruleset = "Routing_Ruleset__c"
    """, name="writeback.toml")
    assert [(p.line, p.key, p.message) for p in found] == [
        (4, "writeback.fields.reason.transforms", "write-back takes no transforms, only a value map"),
        (5, "writeback.fields.owner_id.field", "cannot write through a relationship path (Owner.Id)"),
        (6, "writeback.fields.rule", "required/default do not apply to write-back"),
        (7, "writeback.fields.rejection_reason.length", "length must be at least 1"),
    ]


def test_a_section_defined_twice_is_named_in_both_files(tmp_path):
    write(tmp_path, LEAD, "a.toml")
    write(tmp_path, LEAD, "b.toml")
    problem = one(problems(tmp_path, LEAD, "a.toml"))
    assert problem.file.endswith("b.toml") and "also defined in" in problem.message and "a.toml" in problem.message


def test_rep_takes_no_extra_attributes(tmp_path):
    problem = one(problems(tmp_path, '[rep]\nsobject = "User"\n[rep.fields]\nid = "Id"\npartner_id = "AccountId"\n'
                                     '[rep.extra]\nbadge = "Badge__c"\n', "partner.toml"))
    assert problem.key == "rep.extra.badge" and problem.message == "rep has no extra attributes"


def test_a_file_that_cannot_be_read_is_named(tmp_path):
    with pytest.raises(MappingError) as caught:
        load_mappings([tmp_path / "nope.toml"])
    assert "cannot read the mapping file" in str(caught.value) and "nope.toml" in str(caught.value)


def test_all_problems_are_reported_at_once_in_line_order(tmp_path):
    found = problems(tmp_path, LEAD + (
        'compnay = "Company"\n'
        'email = { field = "Email", transforms = ["lowr"] }\n'
        'employees = { field = "NumberOfEmployees", type = "strng" }\n'
        '[lead.extra]\n'
        'segment = { field = "Segment__c", typ = "string" }\n'
    ))
    assert [p.line for p in found] == [6, 7, 8, 10]
    assert [p.key for p in found] == ["lead.fields.compnay", "lead.fields.email.transforms.0",
                                      "lead.fields.employees.type", "lead.extra.segment.typ"]
    text = str(MappingError(found))
    assert text.startswith("4 problems in the field mappings:")
    assert ("lead.toml:6: error: lead.fields.compnay: 'compnay' is not a standard lead attribute — fix: did you mean "
            "'company'? If not, ") in text


# -- the router's own vocabularies (tiers, roles, routing statuses, responses) --------

def test_enum_values_in_any_case_become_the_routers_names(tmp_path):
    ms = load(tmp_path, '[partner]\nsobject = "Account"\n[partner.fields]\nid = "Id"\nname = "Name"\n'
                        'tier = "Level__c"\nrole = { field = "Kind__c", default = "distributor" }\n', "partner.toml")
    partner = ms.partner_converter()({"Id": "0015g0000000001AAA", "Name": "N", "Level__c": "PLATINUM"})
    assert (partner.tier, partner.role) == ("Platinum", "Distributor")
    lead = load_mappings().lead_converter()({"Id": LEAD_ID, "Partner_Response__c": "rejected",
                                             "Routing_Status__c": "offered"})
    assert (lead.response, lead.routing_status) == ("Rejected", "Offered")


def test_a_map_onto_a_tier_the_router_does_not_know_is_a_warning_with_the_nearest(tmp_path):
    ms = load(tmp_path, '[partner]\nsobject = "Account"\n[partner.fields]\nid = "Id"\nname = "Name"\n'
                        'tier = { field = "Level__c", map = { "Level 3" = "Goldd", "Level 4" = "Platinum" } }\n',
              "partner.toml")
    warning, = ms.warnings
    assert (warning.severity, warning.key, warning.line) == ("warning", "partner.fields.tier.map.Level 3", 6)
    assert warning.message == "'Goldd' is not a tier the router knows"
    assert warning.fix.startswith("did you mean 'Gold'? If not, the router knows: Registered"), warning


def test_a_writeback_map_key_the_router_never_writes_is_an_error(tmp_path):
    problem = one(problems(tmp_path, '[writeback]\nsobject = "Lead"\n[writeback.fields]\n'
                                     'routing_status = { field = "Stage__c", map = { Offerd = "With Partner" } }\n',
                           "writeback.toml"))
    assert problem.key == "writeback.fields.routing_status.map.Offerd"
    assert problem.message == "the router never writes 'Offerd' as routing_status"
    assert problem.fix.startswith("did you mean 'Offered'? If not, map keys are the router's values"), problem


def test_a_map_value_that_does_not_fit_the_attribute_type(tmp_path):
    problem = one(problems(tmp_path, LEAD + 'employees = { field = "Size__c", map = { small = 10, large = "many" } }\n'))
    assert problem.key == "lead.fields.employees.map.large"
    assert "map value 'many' does not fit type int" in problem.message


def test_an_empty_directory_warns_that_the_defaults_apply(tmp_path):
    ms = load_mappings(tmp_path)
    warning, = ms.warnings
    assert warning.severity == "warning" and "no .toml mapping files here" in warning.message


def test_a_value_map_transform_written_as_pairs(tmp_path):
    ms = lead_with(tmp_path, '[lead.extra]\nx = { field = "Rating", transforms = [{ map = [["Hot", "A"]] }] }\n')
    assert ms.lead_converter()({"Id": LEAD_ID, "Rating": "hot"}).extra["x"] == "A"


def test_values_of_the_wrong_shape_say_what_to_write(tmp_path):
    found = problems(tmp_path, LEAD + 'company = { field = "Company", transforms = 5 }\n'
                                      'rating = { field = "Rating", map = "Hot" }\n'
                                      'email = { field = "Email", required = "perhaps" }\n')
    assert [(p.key, p.message, p.fix) for p in found] == [
        ("lead.fields.company.transforms", "Input should be a list (got 5)", 'write a list, e.g. transforms = ["trim", "lower"]'),
        ("lead.fields.rating.map", "Input should be a table (got 'Hot')", 'write a table, e.g. map = { Hot = "A", Cold = "C" }'),
        ("lead.fields.email.required", "Input should be a valid boolean, unable to interpret input (got 'perhaps')",
         "write required = true or required = false"),
    ]


def test_a_mistyped_transform_on_country_is_one_problem_not_one_more_for_the_state_reading_it(tmp_path):
    """state's subdivision transform reads country: a typo in country's own transforms
    made it 'not mapped (did you mean amount?)' — a second error the reader cannot fix."""
    found = problems(tmp_path, LEAD + (
        'country = { field = "Country", transforms = ["countries"] }\n'
        'state = { field = "State", transforms = [{ subdivision = "country" }] }\n'))
    assert "unknown transform 'countries'" in one(found).message

"""The lead half of the bad-input corpus: one small, named mutation of a routable lead each.

Every case starts from BASE — a lead in San Francisco from a source the shipped rules
send to a covering partner in fair rotation — and changes one thing:

- `fields`: what a person or an integration can store through the API;
- `raw`: what the API itself would refuse but an org still hands back (person-account
  orgs without Company, formula or custom fields of another type than the mapping
  expects, values pasted through a spreadsheet): written straight into the org's
  table after the lead is created, so the connector reads exactly these values.

`expect` says what the connector must make of it:
- Unroutable(field, words): Routing_Status__c = 'Unroutable' on the Lead in
  Salesforce, Routing_Reason__c names the field and says why (all `words` appear);
- Routed(keep): offered to an active rep of a covering partner, the fields in `keep`
  still exactly as written (an unusual value is data, not damage);
- LeftAlone(words): the connector must not write to this lead; its own state says why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BASE: dict[str, Any] = {
    "FirstName": "Casey",
    "LastName": "Corpus",
    "Company": "Corpus Trading",
    "Country": "US",
    "State": "CA",
    "City": "San Francisco",
    "PostalCode": "94105",
    "LeadSource": "Other",
}
BIG = 100_000  # characters: "100 KB strings"
DELETE = object()  # in `fields`: leave the field out of the create


@dataclass(frozen=True)
class Unroutable:
    field: str
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Routed:
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeftAlone:
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeadCase:
    id: str
    expect: Unroutable | Routed | LeftAlone
    fields: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False  # moved to the recycle bin before the connector ever reads it

    def create_fields(self) -> dict[str, Any]:
        out = {**BASE, **self.fields}
        return {k: v for k, v in out.items() if v is not DELETE}


def _id_with_wrong_checksum(id18: str) -> str:
    last = id18[-1]
    return id18[:-1] + ("B" if last != "B" else "C")


# Values that need the org (an id to write) are filled in by the test from these markers.
INTEGRATION_USER_15 = "<integration user id, 15 chars>"
INTEGRATION_USER_CASE_CHANGED = "<integration user id, 18 chars, case changed>"
PARTNER_15 = "<a partner account id, 15 chars>"
PARTNER_BAD_CHECKSUM = "<a partner account id, 18 chars, wrong checksum>"


def resolve_markers(value: Any, *, integration_user: str, partner: str) -> Any:
    if value == INTEGRATION_USER_15:
        return integration_user[:15]
    if value == INTEGRATION_USER_CASE_CHANGED:
        return integration_user[:15].swapcase() + integration_user[15:]
    if value == PARTNER_15:
        return partner[:15]
    if value == PARTNER_BAD_CHECKSUM:
        return _id_with_wrong_checksum(partner)
    return value


CASES: list[LeadCase] = [
    # ---------------------------------------------------------------- missing and null
    LeadCase("null_company_is_unroutable_naming_company", Unroutable("Company", ("missing",)),
             raw={"Company": None}),
    LeadCase("blank_company_is_unroutable_naming_company", Unroutable("Company", ("missing",)),
             fields={"Company": "   "}),
    LeadCase("missing_country_is_unroutable_naming_country", Unroutable("Country", ("missing",)),
             fields={"Country": DELETE, "State": DELETE}),
    LeadCase("blank_country_is_unroutable_naming_country", Unroutable("Country", ("missing",)),
             fields={"Country": "  ", "State": DELETE}),
    LeadCase("unknown_country_is_unroutable_naming_country", Unroutable("Country", ("recognised",)),
             fields={"Country": "Narnia", "State": DELETE}),
    LeadCase("numeric_country_is_unroutable_naming_country", Unroutable("Country", ("recognised",)),
             fields={"Country": "12345", "State": DELETE}),
    LeadCase("every_mapped_field_null_is_unroutable_not_a_crash", Unroutable("Company", ("missing",)),
             raw={k: None for k in ("FirstName", "LastName", "Company", "Email", "Website", "Street", "City", "State",
                                    "PostalCode", "Country", "Latitude", "Longitude", "Industry", "LeadSource",
                                    "Rating", "Status", "NumberOfEmployees", "AnnualRevenue", "OwnerId",
                                    "PartnerAccountId", "CreatedDate", "Do_Not_Route__c", "IsConverted",
                                    "Products__c", "Deal_Amount__c", "Expected_Close_Date__c",
                                    "Preferred_Language__c", "Routing_Attempt__c")}),
    LeadCase("only_name_company_and_country_is_routed", Routed(),
             fields={"FirstName": DELETE, "State": DELETE, "City": DELETE, "PostalCode": DELETE}),
    LeadCase("null_last_name_is_routed", Routed(), raw={"LastName": None}),
    LeadCase("null_status_is_routed", Routed(), raw={"Status": None}),
    LeadCase("null_owner_is_routed", Routed(), raw={"OwnerId": None}),
    LeadCase("null_do_not_route_reads_as_unticked", Routed(), raw={"Do_Not_Route__c": None}),
    # ---------------------------------------------------------------- wrong types
    LeadCase("employees_as_words_is_unroutable_naming_the_field",
             Unroutable("NumberOfEmployees", ("whole number", "lots")), raw={"NumberOfEmployees": "lots"}),
    LeadCase("latitude_as_words_is_unroutable_naming_the_field", Unroutable("Latitude", ("number", "north")),
             raw={"Latitude": "north"}),
    LeadCase("infinite_amount_is_unroutable_naming_the_field", Unroutable("Deal_Amount__c", ("finite",)),
             raw={"Deal_Amount__c": "1e400"}),
    LeadCase("amount_as_a_list_is_unroutable_naming_the_field", Unroutable("Deal_Amount__c", ("number",)),
             raw={"Deal_Amount__c": [1, 2]}),
    LeadCase("close_date_in_words_is_unroutable_naming_the_field",
             Unroutable("Expected_Close_Date__c", ("date", "next week")), raw={"Expected_Close_Date__c": "next week"}),
    LeadCase("do_not_route_maybe_is_unroutable_naming_the_field", Unroutable("Do_Not_Route__c", ("checkbox",)),
             raw={"Do_Not_Route__c": "maybe"}),
    LeadCase("products_as_a_number_is_unroutable_naming_the_field", Unroutable("Products__c", ("list",)),
             raw={"Products__c": 42}),
    LeadCase("longitude_as_an_object_is_unroutable_naming_the_field", Unroutable("Longitude", ("number",)),
             raw={"Longitude": {"degrees": 12, "minutes": 30}}),
    LeadCase("attempt_as_words_is_unroutable_naming_the_field", Unroutable("Routing_Attempt__c", ("whole number",)),
             raw={"Routing_Attempt__c": "two"}),
    LeadCase("created_date_in_words_is_unroutable_naming_the_field", Unroutable("CreatedDate", ("date-time",)),
             raw={"CreatedDate": "yesterday"}),
    LeadCase("language_as_a_list_is_unroutable_naming_the_field", Unroutable("Preferred_Language__c", ("text",)),
             raw={"Preferred_Language__c": ["en"]}),
    LeadCase("company_as_an_object_is_unroutable_naming_the_field", Unroutable("Company", ("text",)),
             raw={"Company": {"Name": "Nested Ltd"}}),
    LeadCase("revenue_as_a_checkbox_is_unroutable_naming_the_field", Unroutable("AnnualRevenue", ("number",)),
             raw={"AnnualRevenue": True}),
    # ---------------------------------------------------------------- 15- and 18-char ids
    LeadCase("owner_as_15_char_id_is_routed", Routed(), raw={"OwnerId": INTEGRATION_USER_15}),
    LeadCase("partner_account_as_15_char_id_is_routed", Routed(), raw={"PartnerAccountId": PARTNER_15}),
    LeadCase("owner_id_with_case_changed_is_unroutable_naming_owner",
             Unroutable("OwnerId", ("not a Salesforce id",)), raw={"OwnerId": INTEGRATION_USER_CASE_CHANGED}),
    LeadCase("partner_id_with_wrong_checksum_is_unroutable_naming_it",
             Unroutable("PartnerAccountId", ("not a Salesforce id",)), raw={"PartnerAccountId": PARTNER_BAD_CHECKSUM}),
    LeadCase("owner_that_is_no_id_at_all_is_unroutable_naming_owner",
             Unroutable("OwnerId", ("not a Salesforce id",)), raw={"OwnerId": "not-an-id; DROP"}),
    # ---------------------------------------------------------------- 100 KB strings
    LeadCase("company_of_100kb_is_routed_and_kept_whole", Routed(keep=("Company",)),
             raw={"Company": "Big Co " + "x" * BIG}),
    LeadCase("city_of_100kb_is_routed", Routed(keep=("City",)), raw={"City": "y" * BIG}),
    LeadCase("description_of_100kb_is_routed", Routed(keep=("Description",)), raw={"Description": "z" * BIG}),
    LeadCase("email_of_100kb_is_routed", Routed(keep=("Email",)), raw={"Email": "a" * BIG + "@example.com"}),
    LeadCase("country_of_100kb_is_unroutable_with_a_short_reason", Unroutable("Country", ("recognised",)),
             raw={"Country": "Q" * BIG, "State": None}),
    # ---------------------------------------------------------------- Unicode and RTL
    LeadCase("arabic_company_is_routed_unchanged", Routed(keep=("Company",)),
             fields={"Company": "شركة النور للتقنية"}),
    LeadCase("hebrew_names_are_routed_unchanged", Routed(keep=("FirstName", "LastName")),
             fields={"FirstName": "דוד", "LastName": "כהן"}),
    LeadCase("right_to_left_override_in_company_is_routed_byte_for_byte", Routed(keep=("Company",)),
             fields={"Company": "\u202eexe.Acme\u202c Ltd"}),
    LeadCase("emoji_company_is_routed_unchanged", Routed(keep=("Company",)), fields={"Company": "🚀 Rocket GmbH 🇩🇪"}),
    LeadCase("combining_accents_are_routed_unchanged", Routed(keep=("Company", "LastName")),
             fields={"Company": "Cafe\u0301 Ltd", "LastName": "Nguye\u0302\u0303n"}),
    LeadCase("zero_width_characters_are_routed_unchanged", Routed(keep=("Company",)),
             fields={"Company": "Acme\u200b\u200dCorp\ufeff"}),
    LeadCase("nul_character_in_company_is_routed", Routed(keep=("Company",)), raw={"Company": "Acme\x00Corp"}),
    # a company of punctuation, spaces or invisible characters only names none: held, as a missing one
    LeadCase("dashes_for_a_company_are_unroutable_naming_company", Unroutable("Company", ("punctuation", "enter")),
             fields={"Company": "---"}),
    LeadCase("dots_for_a_company_are_unroutable_naming_company", Unroutable("Company", ("punctuation",)),
             fields={"Company": "..."}),
    LeadCase("question_and_exclamation_marks_for_a_company_are_unroutable", Unroutable("Company", ("punctuation",)),
             fields={"Company": "?!"}),
    LeadCase("zero_width_space_for_a_company_is_unroutable_naming_company", Unroutable("Company", ("invisible",)),
             fields={"Company": "\u200b\u200f"}),
    LeadCase("emoji_only_company_is_routed_unchanged", Routed(keep=("Company",)), fields={"Company": "🚀🚀"}),
    LeadCase("soql_quotes_around_a_name_are_routed_unchanged", Routed(keep=("Company",)),
             fields={"Company": "O'Brien \"Ltd\" ' OR Id != null --"}),
    LeadCase("cjk_city_is_routed_unchanged", Routed(keep=("City",)), fields={"City": "旧金山"}),
    LeadCase("country_written_out_in_lower_case_is_routed", Routed(), fields={"Country": "united states"}),
    LeadCase("state_written_out_is_routed", Routed(), fields={"State": "California"}),
    LeadCase("postal_code_lower_case_with_spaces_is_routed", Routed(), fields={"PostalCode": " 94105 "}),
    LeadCase("country_as_alpha3_is_routed", Routed(), fields={"Country": "USA"}),
    LeadCase("country_padded_and_lower_case_is_routed", Routed(), fields={"Country": "  us "}),
    LeadCase("state_of_another_country_still_routes_on_the_country", Routed(), fields={"State": "Bavaria"}),
    LeadCase("unknown_product_is_routed", Routed(keep=("Products__c",)), raw={"Products__c": "Quantum Toaster"}),
    LeadCase("unknown_industry_is_routed", Routed(keep=("Industry",)), raw={"Industry": "Time Travel"}),
    LeadCase("unknown_lead_source_is_routed", Routed(keep=("LeadSource",)), raw={"LeadSource": "Carrier Pigeon"}),
    LeadCase("rating_as_a_number_is_routed", Routed(), raw={"Rating": 5}),
    # ---------------------------------------------------------------- not ours to route
    LeadCase("closed_status_is_unroutable_naming_status", Unroutable("Status", ("closed",)),
             fields={"Status": "Closed - Not Converted"}),
    LeadCase("do_not_route_ticked_is_left_alone", LeftAlone(("Do Not Route",)),
             fields={"Do_Not_Route__c": True}),
    LeadCase("converted_before_routing_is_left_alone", LeftAlone(("converted",)),
             raw={"IsConverted": True, "Status": "Closed - Converted"}),
    LeadCase("already_accepted_by_a_person_is_left_alone", LeftAlone(("Routing Status", "Pending")),
             fields={"Routing_Status__c": "Accepted"}),
    LeadCase("lead_deleted_before_it_is_read_is_never_written", LeftAlone(), deleted=True),
]

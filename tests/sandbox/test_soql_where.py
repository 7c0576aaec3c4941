"""WHERE semantics against a real in-memory org, operator by operator, as Salesforce answers."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from sandbox.soql import execute
from sandbox.clock import Clock
from sandbox.store import Org

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def org() -> Org:
    clock = Clock()
    clock.set(NOW)  # before the org bootstraps, so every SystemModstamp follows this clock
    return Org(clock=clock)


def lead(org: Org, **fields) -> str:
    fields.setdefault("LastName", "Doe")
    fields.setdefault("Company", "Acme")
    return org.create("Lead", fields, system=True)


def ids(org: Org, where: str, sobject: str = "Lead", **kw) -> set[str]:
    return {r["Id"] for r in execute(f"SELECT Id FROM {sobject} WHERE {where}", org, **kw).rows}


# ---- text -------------------------------------------------------------------------------
def test_equals_on_text_ignores_case(org):
    a = lead(org, Company="Acme GmbH")
    lead(org, Company="Globex")
    assert ids(org, "Company = 'ACME gmbh'") == {a}


def test_not_equals_also_returns_rows_where_the_field_is_null(org):
    lead(org, Country="US")
    de = lead(org, Country="DE")
    unknown = lead(org)
    assert ids(org, "Country != 'us'") == {de, unknown}
    assert ids(org, "Country <> 'US'") == {de, unknown}


def test_equals_null_and_not_equals_null(org):
    with_city = lead(org, City="Berlin")
    without = lead(org)
    assert ids(org, "City = null") == {without}
    assert ids(org, "City != null") == {with_city}


def test_empty_string_literal_means_null_because_salesforce_stores_no_empty_text(org):
    without = lead(org, City="")
    lead(org, City="Paris")
    assert ids(org, "City = ''") == {without}


def test_in_list_ignores_case_and_may_include_null(org):
    us, de, fr, none = lead(org, Country="US"), lead(org, Country="DE"), lead(org, Country="FR"), lead(org)
    assert ids(org, "Country IN ('us', 'De')") == {us, de}
    assert ids(org, "Country IN ('FR', null)") == {fr, none}


def test_not_in_keeps_rows_whose_value_is_null(org):
    lead(org, Country="US")
    de, none = lead(org, Country="DE"), lead(org)
    assert ids(org, "Country NOT IN ('US')") == {de, none}


def test_like_is_case_insensitive_with_percent_and_underscore(org):
    a = lead(org, Company="Acme Corporation")
    b = lead(org, Company="ACME")
    c = lead(org, Company="Acne")
    lead(org, Company="Globex")
    assert ids(org, "Company LIKE 'acme%'") == {a, b}
    assert ids(org, "Company LIKE 'ac_e'") == {b, c}
    assert ids(org, "Company LIKE '%CORP%'") == {a}


def test_like_with_escaped_wildcards_matches_them_literally(org):
    pct = lead(org, Company="50% off_sale")
    lead(org, Company="500 offxsale")
    assert ids(org, r"Company LIKE '50\% off\_sale'") == {pct}
    assert ids(org, r"Company LIKE '%\%%'") == {pct}


def test_like_never_matches_null(org):
    lead(org)
    assert ids(org, "City LIKE '%'") == set()


def test_like_pattern_matches_across_newlines(org):
    multi = lead(org, Street="1 Main St\nSuite 5")
    assert ids(org, "Street LIKE '%suite%'") == {multi}


def test_ordering_comparisons_on_text_ignore_case(org):
    a, z = lead(org, Company="apple"), lead(org, Company="Zebra")
    assert ids(org, "Company < 'B'") == {a}
    assert ids(org, "Company >= 'zebra'") == {z}


# ---- numbers, booleans ------------------------------------------------------------------
def test_numeric_comparisons(org):
    small = lead(org, Deal_Amount__c=100)
    big = lead(org, Deal_Amount__c=250000.5)
    none = lead(org)
    assert ids(org, "Deal_Amount__c > 100") == {big}
    assert ids(org, "Deal_Amount__c >= 100") == {small, big}
    assert ids(org, "Deal_Amount__c < 250000.5") == {small}
    assert ids(org, "Deal_Amount__c <= -1") == set()
    assert ids(org, "Deal_Amount__c = 100.0") == {small}
    assert ids(org, "Deal_Amount__c != 100") == {big, none}
    assert ids(org, "NumberOfEmployees = null") == {small, big, none}


def test_boolean_fields_compare_with_true_and_false(org):
    held = lead(org, Do_Not_Route__c=True)
    free = lead(org)
    assert ids(org, "Do_Not_Route__c = true") == {held}
    assert ids(org, "Do_Not_Route__c = FALSE") == {free}
    assert ids(org, "Do_Not_Route__c != true") == {free}


# ---- ids --------------------------------------------------------------------------------
def test_fifteen_char_id_literal_matches_the_eighteen_char_id(org):
    a = lead(org)
    lead(org)
    assert ids(org, f"Id = '{a[:15]}'") == {a}
    assert ids(org, f"Id IN ('{a[:15]}', '{a}')") == {a}


def test_eighteen_char_id_matches_whatever_its_letter_case(org):
    a = lead(org)
    assert ids(org, f"Id = '{a.lower()}'") == {a}
    assert ids(org, f"Id = '{a.upper()}'") == {a}


def test_reference_fields_compare_in_eighteen_char_form(org):
    queue = org.queue_ids["Inside_Sales"]
    queued = lead(org, OwnerId=queue)
    mine = lead(org)
    assert ids(org, f"OwnerId = '{queue[:15]}'") == {queued}
    assert ids(org, f"OwnerId != '{queue}'") == {mine}
    assert ids(org, "PartnerAccountId = null") == {queued, mine}


def test_id_in_list_uses_only_the_listed_rows_and_still_applies_the_rest(org):
    a, b = lead(org, Country="US"), lead(org, Country="DE")
    assert ids(org, f"Id IN ('{a}', '{b}') AND Country = 'de'") == {b}
    assert ids(org, f"Id = '{a}' OR Country = 'DE'") == {a, b}


# ---- dates and datetimes ----------------------------------------------------------------
def test_datetime_literals_with_any_utc_offset(org):
    early = lead(org, Offered_At__c=datetime(2024, 5, 1, 9, 59, 59, tzinfo=timezone.utc))
    on_time = lead(org, Offered_At__c=datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc))
    for literal in ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00.000Z",
                    "2024-05-01T12:00:00+02:00"):  # fmt: skip
        assert ids(org, f"Offered_At__c >= {literal}") == {on_time}, literal
        assert ids(org, f"Offered_At__c < {literal}") == {early}, literal


def test_system_modstamp_window_as_the_connector_sends_it(org):
    made = []
    for _ in range(3):
        made.append(lead(org))
        org.clock.advance(timedelta(seconds=1))
    stamp = org.get("Lead", made[1])["SystemModstamp"]
    since = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    until = (stamp + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    rows = execute(
        f"SELECT Id FROM Lead WHERE SystemModstamp >= {since} AND SystemModstamp < {until} "
        "ORDER BY SystemModstamp, Id",
        org,
    ).rows
    assert [r["Id"] for r in rows] == [made[1]]


def test_date_fields_compare_with_date_literals(org):
    may = lead(org, Expected_Close_Date__c=date(2024, 5, 31))
    june = lead(org, Expected_Close_Date__c=date(2024, 6, 1))
    assert ids(org, "Expected_Close_Date__c = 2024-05-31") == {may}
    assert ids(org, "Expected_Close_Date__c > 2024-05-31") == {june}
    assert ids(org, "Expected_Close_Date__c IN (2024-06-01, 2020-01-01)") == {june}


# ---- multi-select picklists -------------------------------------------------------------
def test_includes_a_semicolon_value_means_all_of_them(org):
    both = lead(org, Products__c="Analytics;Networking")
    one = lead(org, Products__c="Analytics")
    other = lead(org, Products__c="Edge Devices")
    lead(org)
    assert ids(org, "Products__c INCLUDES ('Analytics;Networking')") == {both}
    assert ids(org, "Products__c INCLUDES ('Networking;Analytics', 'edge devices')") == {both, other}
    assert ids(org, "Products__c INCLUDES ('Analytics')") == {both, one}


def test_excludes_is_the_opposite_of_includes_and_keeps_nulls(org):
    both = lead(org, Products__c="Analytics;Networking")
    one = lead(org, Products__c="Analytics")
    none = lead(org)
    assert ids(org, "Products__c EXCLUDES ('Networking')") == {one, none}
    assert ids(org, "Products__c EXCLUDES ('Analytics;Networking')") == {one, none}
    assert both in ids(org, "Products__c EXCLUDES ('Edge Devices')")


def test_equals_on_a_multiselect_picklist_compares_the_whole_set_in_any_order(org):
    both = lead(org, Products__c="Analytics;Networking")
    lead(org, Products__c="Analytics")
    assert ids(org, "Products__c = 'Networking;Analytics'") == {both}


# ---- logic ------------------------------------------------------------------------------
def test_and_or_not_with_parentheses(org):
    us_hot = lead(org, Country="US", Rating="Hot")
    us_cold = lead(org, Country="US", Rating="Cold")
    de_hot = lead(org, Country="DE", Rating="Hot")
    assert ids(org, "Country = 'US' AND Rating = 'Hot'") == {us_hot}
    assert ids(org, "Country = 'DE' OR Rating = 'Cold'") == {us_cold, de_hot}
    assert ids(org, "(Country = 'DE' OR Rating = 'Cold') AND NOT Rating = 'Hot'") == {us_cold}
    assert ids(org, "NOT (Country = 'US' AND Rating = 'Hot')") == {us_cold, de_hot}
    assert ids(org, "Country = 'US' AND Rating = 'Hot' AND Rating != null") == {us_hot}


# ---- relationships ----------------------------------------------------------------------
def test_parent_fields_filter_through_the_lookup(org):
    parent = org.create("Account", {"Name": "Holding"})
    partner = org.create("Account", {"Name": "Reseller One", "IsPartner": True, "ParentId": parent})
    customer = org.create("Account", {"Name": "Customer"})
    via_partner = lead(org, PartnerAccountId=partner)
    lead(org, PartnerAccountId=customer)
    lead(org)
    assert ids(org, "PartnerAccount.IsPartner = true") == {via_partner}
    assert ids(org, "PartnerAccount.Parent.Name = 'holding'") == {via_partner}


def test_polymorphic_owner_filters_by_type_and_name(org):
    queue = org.queue_ids["Channel_Escalations"]
    queued = lead(org, OwnerId=queue)
    user_owned = lead(org)
    assert ids(org, "Owner.Type = 'Queue'") == {queued}
    assert ids(org, "Owner.Type = 'User'") == {user_owned}
    assert ids(org, "Owner.Name = 'Channel Escalations'") == {queued}
    # Username exists on User only: a queue owner reads it as null
    assert ids(org, "Owner.Username = null") == {queued}


# ---- deleted rows -----------------------------------------------------------------------
def test_deleted_rows_only_come_back_with_include_deleted(org):
    kept = lead(org)
    gone = lead(org)
    org.delete("Lead", gone)
    assert ids(org, "LastName = 'Doe'") == {kept}
    assert ids(org, "IsDeleted = true") == set()
    assert ids(org, "IsDeleted = true", include_deleted=True) == {gone}
    assert ids(org, f"Id = '{gone}'") == set()


def test_ordering_against_the_empty_string_matches_nothing_because_it_is_null(org):
    lead(org, City="Berlin")
    lead(org)
    assert ids(org, "City > ''") == set()
    assert ids(org, "City < ''") == set()


def test_null_on_a_checkbox_means_false_as_salesforce_documents(org):
    held = lead(org, Do_Not_Route__c=True)
    free = lead(org)
    assert ids(org, "Do_Not_Route__c = null") == {free}
    assert ids(org, "Do_Not_Route__c != null") == {held}


def test_a_missing_parent_matches_a_null_parent_field(org):
    partner = org.create("Account", {"Name": "Reseller", "IsPartner": True})
    lead(org, PartnerAccountId=partner)
    orphan = lead(org)
    assert ids(org, "PartnerAccount.Name = null") == {orphan}

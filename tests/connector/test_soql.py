from datetime import date, datetime, timezone
from enum import Enum
from urllib.parse import urlencode

import pytest

from connector.soql import (
    MAX_QUERY_PARAM_CHARS,
    format_soql,
    id_chunks,
    ident,
    queried_object,
    select,
    sf_json_value,
    soql_datetime,
)


@pytest.mark.parametrize("name", ["Id", "Company", "Routing_Status__c", "Owner.Name", "Partner__r.Name",
                                  "ns__Field__c", "Account.Owner.IsActive"])
def test_valid_api_names_pass(name):
    assert ident(name) == name


@pytest.mark.parametrize("name", ["", "1Bad", "Name; DELETE", "Name FROM Lead", "Company'", "a..b", "_x",
                                  "Name\n", "Id\n"])
def test_anything_else_is_refused_as_an_identifier(name):
    with pytest.raises(ValueError, match="not a valid Salesforce API name"):
        ident(name)


def test_select_builds_one_query_with_parenthesised_filter():
    q = select("Lead", ["Id", "Company", "Id"], where=format_soql("Company = {}", "A or B"),
               order_by=["SystemModstamp", "Id"], limit=10)
    assert q == ("SELECT Id, Company FROM Lead WHERE Company = 'A or B' "
                 "ORDER BY SystemModstamp, Id LIMIT 10")


@pytest.mark.parametrize("company, literal", [
    ("O'Brien & Sons", r"'O\'Brien & Sons'"),
    ('Say "hi"', r"'Say \"hi\"'"),
    ("back\\slash", r"'back\\slash'"),
    ("line\nbreak", r"'line\nbreak'"),
    ("100% _real_", "'100% _real_'"),
    ("Müller Straße 東京", "'Müller Straße 東京'"),
])
def test_values_are_escaped_by_format_soql(company, literal):
    assert format_soql("Company = {}", company) == f"Company = {literal}"


def test_like_patterns_escape_wildcards():
    assert format_soql("Company LIKE '{:like}%'", "100%_x") == r"Company LIKE '100\%\_x%'"


def test_naive_datetimes_are_refused_in_queries():
    with pytest.raises(ValueError, match="no timezone"):
        soql_datetime(datetime(2024, 5, 1, 10, 0))


def test_aware_datetimes_become_utc():
    berlin = timezone(__import__("datetime").timedelta(hours=2))
    assert soql_datetime(datetime(2024, 5, 1, 12, 0, tzinfo=berlin)) == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)


def test_id_chunks_keep_each_encoded_query_under_the_limit():
    ids = [f"00Q{n:012d}AAA" for n in range(3000)]

    def render(chunk):
        return select("Lead", ["Id", "Company", "Routing_Status__c"], where=format_soql("Id IN {}", chunk))

    chunks = list(id_chunks(ids, render))
    assert sum(len(c) for c in chunks) == 3000
    assert [i for c in chunks for i in c] == ids
    for c in chunks:
        assert len(urlencode({"q": render(c)})) <= MAX_QUERY_PARAM_CHARS
    # as few queries as the length allows: each chunk but the last is nearly full
    assert len(urlencode({"q": render(chunks[0] + ids[:1])})) > MAX_QUERY_PARAM_CHARS - 40 or len(chunks[0]) == 800


def test_id_chunks_refuse_something_that_is_not_an_id():
    with pytest.raises(ValueError, match="not a Salesforce id"):
        list(id_chunks(["00Q000000000001AAA", "x') OR Id != ('"], lambda c: "SELECT Id FROM Lead"))


class Status(str, Enum):
    OFFERED = "Offered"


def test_write_values_take_salesforce_json_forms():
    assert sf_json_value(datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)) == "2024-05-01T10:00:00.123+0000"
    assert sf_json_value(date(2024, 5, 1)) == "2024-05-01"
    assert sf_json_value(frozenset({"Networking", "Analytics"})) == "Analytics;Networking"
    assert sf_json_value(Status.OFFERED) == "Offered"
    assert sf_json_value(None) is None and sf_json_value(3) == 3
    with pytest.raises(ValueError, match="no timezone"):
        sf_json_value(datetime(2024, 5, 1))


@pytest.mark.parametrize("soql, name", [
    ("SELECT Id FROM Account", "Account"),
    ("select count() from LeadHistory where Field = 'Owner'", "LeadHistory"),
    ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "Account"),  # the query's own FROM
    ("SELECT Id FROM Lead WHERE Company = 'Smith FROM Jones'", "Lead"),
    ("SELECT Id FROM Lead WHERE Company = 'O\\' FROM Brien'", "Lead"),  # an escaped quote
    ("SELECT Fromage__c FROM Cheese__c", "Cheese__c"),
    ("not a query", None),
])
def test_the_object_a_query_reads_is_its_own_from(soql, name):
    assert queried_object(soql) == name


def test_a_pasted_non_id_is_quoted_short_in_the_refusal():
    """A whole page pasted where an id goes: the message names the start and the length,
    not 100,000 characters (explain prints it to the terminal)."""
    from connector.soql import check_id

    with pytest.raises(ValueError) as err:
        check_id("x" * 100_000)
    said = str(err.value)
    assert len(said) < 200 and "100000 characters" in said and "is not a Salesforce id" in said

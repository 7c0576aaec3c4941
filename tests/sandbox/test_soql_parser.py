"""SOQL text -> AST: the grammar, literals, and MALFORMED_QUERY with row and column."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from sandbox.soql import SoqlError, parse
from sandbox.soql.ast import And, Comparison, Not, Or, SubQuery


def malformed(soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        parse(soql)
    assert info.value.error_code == "MALFORMED_QUERY"
    assert info.value.status == 400
    return info.value


def where_of(soql_where: str):
    return parse(f"SELECT Id FROM Lead WHERE {soql_where}").where


def literal(soql_value: str):
    cond = where_of(f"X = {soql_value}")
    assert isinstance(cond, Comparison)
    return cond.values[0]


def test_select_list_keeps_relationship_paths_as_written():
    q = parse("SELECT Id, Owner.Name, PartnerAccount.Parent.Name FROM Lead")
    assert [f.parts for f in q.fields] == [("Id",), ("Owner", "Name"), ("PartnerAccount", "Parent", "Name")]
    assert q.sobject == "Lead" and not q.is_count


def test_keywords_are_case_insensitive():
    q = parse("select id from lead where name = 'x' and not country in ('US') order by name desc nulls last limit 3 offset 1")
    assert q.limit == 3 and q.offset == 1
    assert q.order_by[0].descending and q.order_by[0].nulls_last
    assert isinstance(q.where, And) and isinstance(q.where.items[1], Not)


def test_field_names_that_start_with_a_keyword_stay_field_names():
    q = parse("SELECT Notes__c, Order__c, Limit, Desc__c FROM Lead WHERE Notes__c = 'a' AND Order__c = 1 ORDER BY Desc__c")
    assert [f.text for f in q.fields] == ["Notes__c", "Order__c", "Limit", "Desc__c"]
    assert [c.field.text for c in q.where.items] == ["Notes__c", "Order__c"]


def test_count_without_field_is_a_count_query():
    q = parse("SELECT COUNT() FROM Lead WHERE Status = 'Open'")
    assert q.is_count and q.fields == ()


def test_both_not_equal_spellings_mean_the_same():
    assert where_of("Name != 'a'").op == where_of("Name <> 'a'").op == "!="


def test_every_comparison_operator_parses():
    ops = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
    for text, op in ops.items():
        assert where_of(f"Amount {text} 5").op == op
    assert where_of("Name LIKE 'a%'").op == "like"
    assert where_of("Name IN ('a', 'b')").op == "in"
    assert where_of("Name NOT IN ('a')").op == "notin"
    assert where_of("P__c INCLUDES ('a;b', 'c')").op == "includes"
    assert where_of("P__c EXCLUDES ('a')").op == "excludes"


def test_parentheses_group_and_or():
    cond = where_of("(A = 1 OR B = 2) AND NOT (C = 3 AND D = 4)")
    assert isinstance(cond, And)
    assert isinstance(cond.items[0], Or)
    assert isinstance(cond.items[1], Not) and isinstance(cond.items[1].item, And)


def test_mixing_and_with_or_without_parentheses_is_refused_like_salesforce():
    err = malformed("SELECT Id FROM Lead WHERE A = 1 AND B = 2 OR C = 3")
    assert err.message.endswith("unexpected token: 'OR'")
    assert "ERROR at Row:1:Column:43" in err.message


def test_null_true_false_literals_any_case():
    assert literal("null").kind == "null" and literal("NULL").value is None
    assert literal("true").value is True and literal("False").value is False


def test_numbers_keep_integer_or_decimal_and_sign():
    assert literal("42").value == 42 and isinstance(literal("42").value, int)
    assert literal("-3.5").value == -3.5
    assert literal("+7").value == 7


def test_date_and_datetime_literals():
    assert literal("2024-05-01").value == date(2024, 5, 1)
    want = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    for text in ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00.000Z",
                 "2024-05-01T12:00:00+02:00", "2024-05-01T03:00:00-07:00"):  # fmt: skip
        lit = literal(text)
        assert lit.kind == "datetime" and lit.value == want, text


def test_relative_date_literals_with_and_without_n():
    assert literal("TODAY").value == ("TODAY", None)
    assert literal("last_n_days:30").value == ("LAST_N_DAYS", 30)
    assert literal("THIS_QUARTER").kind == "relative"


def test_relative_literal_missing_its_number_says_so():
    err = malformed("SELECT Id FROM Lead WHERE CreatedDate = LAST_N_DAYS")
    assert "LAST_N_DAYS needs a number" in err.message


def test_unknown_bare_word_is_an_unexpected_token():
    err = malformed("SELECT Id FROM Lead WHERE Name = Bob")
    assert err.message.endswith("unexpected token: 'Bob'")


def test_string_escapes_decode_as_salesforce_documents():
    lit = literal(r"'it\'s a \"test\"\\ \n\t\r\b\f \u00e9'")
    assert lit.value == "it's a \"test\"\\ \n\t\r\b\f é"


def test_like_escapes_keep_percent_and_underscore_literal():
    lit = where_of(r"Name LIKE '50\%\_off%'").values[0]
    assert lit.like == r"50%_off.*"


def test_illegal_escape_is_malformed_with_its_position():
    err = malformed(r"SELECT Id FROM Lead WHERE Name = 'a\qb'")
    assert "Illegal character sequence '\\q'" in err.message
    assert "Row:1:Column:34" in err.message


def test_unbalanced_quote_is_malformed_at_the_quote():
    err = malformed("SELECT Id FROM Lead WHERE Name = 'O'Brien'")
    assert err.message.endswith("unexpected token: 'Brien'")
    assert "ERROR at Row:1:Column:37" in err.message


def test_error_message_echoes_the_row_with_a_caret_under_the_column():
    err = malformed("SELECT Id\nFROM Lead\nWHERE Name == 'x'")
    lines = err.message.split("\n")
    assert lines[1] == "WHERE Name == 'x'"
    assert lines[2] == " " * 12 + "^"
    assert lines[3] == "ERROR at Row:3:Column:13"
    assert lines[4] == "unexpected token: '='"


def test_end_of_input_is_reported_as_eof():
    err = malformed("SELECT Id FROM Lead WHERE")
    assert err.message.endswith("unexpected token: <EOF>")
    assert "Row:1:Column:26" in err.message


def test_star_select_is_refused():
    assert malformed("SELECT * FROM Lead").message.endswith("unexpected token: '*'")


def test_empty_query_is_malformed():
    malformed("   ")


def test_semi_and_anti_joins_parse_into_comparisons_holding_the_inner_query():
    semi = parse("SELECT Id FROM Lead WHERE Id IN (SELECT LeadId FROM LeadHistory WHERE Field = 'Owner')").where
    assert (semi.op, semi.values[0].query.sobject) == ("semi", "LeadHistory")
    anti = parse("SELECT Id FROM Lead WHERE Id NOT IN (SELECT LeadId FROM LeadHistory)").where
    assert anti.op == "antisemi"


def test_a_parent_to_child_subquery_parses_into_the_select_list_in_order():
    q = parse("SELECT Id, (SELECT LastName FROM Account.Contacts WHERE LastName != null ORDER BY LastName LIMIT 5), Name "
              "FROM Account")  # fmt: skip
    sub = q.fields[1]
    assert isinstance(sub, SubQuery) and (sub.line, sub.column) == (1, 12)
    assert sub.query.sobject == "Account.Contacts" and sub.query.limit == 5
    assert [f.text for f in (q.fields[0], q.fields[2])] == ["Id", "Name"]


def test_a_subquery_takes_no_alias_and_no_aggregate():
    assert malformed("SELECT Id, (SELECT Id FROM Contacts) c FROM Account").message.endswith("unexpected token: 'c'")
    err = malformed("SELECT Id, (SELECT COUNT() FROM Contacts) FROM Account")
    assert err.message.endswith("aggregate functions are not allowed in a subquery: COUNT()")


def test_aggregate_queries_parse_into_functions_aliases_group_by_and_having():
    q = parse(
        "SELECT PartnerAccountId, COUNT(Id) c, MAX(CALENDAR_YEAR(CreatedDate)) FROM Lead WITH USER_MODE "
        "GROUP BY PartnerAccountId HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC LIMIT 3"
    )
    assert not q.is_count and q.aliases == (None, "c", None)
    assert [f.text for f in q.fields] == ["PartnerAccountId", "COUNT(Id)", "MAX(CALENDAR_YEAR(CreatedDate))"]
    assert q.fields[2].arg.name == "CALENDAR_YEAR" and q.with_mode == "USER_MODE"
    assert [g.text for g in q.group_by] == ["PartnerAccountId"]
    assert q.having.field.text == "COUNT(Id)" and q.order_by[0].field.text == "COUNT(Id)" and q.order_by[0].descending


def test_count_must_stand_alone_and_unknown_functions_are_named():
    err = malformed("SELECT Id, COUNT() FROM Lead")
    assert "COUNT() must be the only element" in err.message and "Column:12" in err.message
    assert "COUNT() can not be used with GROUP BY" in malformed("SELECT COUNT() FROM Lead GROUP BY Status").message
    assert "function FORMAT() is not supported by the sandbox" in malformed("SELECT FORMAT(Amount) FROM Lead").message
    assert "FIELDS() takes ALL, STANDARD or CUSTOM" in malformed("SELECT FIELDS(SOME) FROM Lead").message
    assert "WITH RECORD_VISIBILITY is not supported" in malformed("SELECT Id FROM Lead WITH RECORD_VISIBILITY").message


def test_clauses_must_come_in_salesforce_order():
    malformed("SELECT Id FROM Lead LIMIT 5 WHERE Name = 'a'")
    malformed("SELECT Id FROM Lead ORDER BY Name WHERE Name = 'a'")


def test_parsed_queries_are_cached_by_text():
    soql = "SELECT Id FROM Lead WHERE Name = 'cache me'"
    assert parse(soql) is parse(soql)

"""The sandbox's SOQL engine: what the REST `/query` and `/queryAll` endpoints call.

    result = execute("SELECT Id, Owner.Name FROM Lead WHERE ...", org)
    result.total_size, result.rows (the store's records), result.render(row) -> JSON dict

Supported, as Salesforce documents it: field lists with child-to-parent relationship
paths (`Owner.Name`, `PartnerAccount.Parent.Name`, polymorphic `Owner` read through the
Name object), `SELECT COUNT()`, WHERE with = != <> < <= > >= LIKE IN NOT IN INCLUDES
EXCLUDES, AND/OR/NOT with parentheses (AND and OR may not be mixed without them),
null/true/false, date and datetime literals, relative date literals (TODAY,
LAST_N_DAYS:n, THIS_QUARTER, ... evaluated against the org clock in UTC), ORDER BY with
ASC/DESC and NULLS FIRST/LAST over several keys, LIMIT, OFFSET (at most 2,000).

Left out, answered with MALFORMED_QUERY and a message that says so: parent-to-child
subqueries and semi-joins (`(SELECT ... FROM Contacts)`, `Id IN (SELECT ...)`),
aggregate functions other than COUNT(), GROUP BY/HAVING, TYPEOF, FIELDS(), FOR
UPDATE/VIEW, WITH, USING SCOPE, and SOSL.
"""
from sandbox.soql.errors import SoqlError
from sandbox.soql.execute import QueryResult, execute, json_value
from sandbox.soql.parser import parse

__all__ = ["execute", "QueryResult", "SoqlError", "parse", "json_value"]

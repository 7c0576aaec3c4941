"""The sandbox's SOQL engine: what the REST `/query` and `/queryAll` endpoints call.

    result = execute("SELECT Id, Owner.Name FROM Lead WHERE ...", org)
    result.total_size, result.rows (the store's records), result.render(row) -> JSON dict

Supported, as Salesforce documents it: field lists with child-to-parent relationship
paths (`Owner.Name`, `PartnerAccount.Parent.Name`, polymorphic `Owner` read through the
Name object), `SELECT COUNT()`, WHERE with = != <> < <= > >= LIKE IN NOT IN INCLUDES
EXCLUDES, AND/OR/NOT with parentheses (AND and OR may not be mixed without them),
null/true/false, date and datetime literals, relative date literals (TODAY,
LAST_N_DAYS:n, THIS_QUARTER, ... evaluated against the org clock in UTC), ORDER BY with
ASC/DESC and NULLS FIRST/LAST over several keys, LIMIT, OFFSET (at most 2,000);
aggregate functions (COUNT(f), COUNT_DISTINCT, SUM, AVG, MIN, MAX) with GROUP BY (fields,
relationship fields, date functions), HAVING, aliases and exprN (`sandbox/soql/aggregate.py`);
FIELDS(ALL|STANDARD|CUSTOM), toLabel(), WITH SECURITY_ENFORCED|USER_MODE|SYSTEM_MODE
(accepted: the sandbox has no field-level security to enforce); parent-to-child subqueries
(`SELECT Name, (SELECT LastName FROM Contacts WHERE ... ORDER BY ... LIMIT n) FROM Account`)
over the child relationships describe advertises (`sandbox.describe.child_relationships`),
nested one level below the root up to API 57.0 and four from 58.0, at most 20 in a query.
SOSL: `sosl.search`.

Semi-joins and anti-joins (`WHERE Id [NOT] IN (SELECT AccountId FROM Contact …)`): one Id or
lookup field selected, no nesting; the inner rows follow the caller's sharing.

Left out, answered with MALFORMED_QUERY and a message that says so: TYPEOF, GROUP BY
ROLLUP/CUBE, FORMAT(), convertCurrency(), FOR UPDATE/VIEW, WITH DATA CATEGORY, USING SCOPE.
"""
from sandbox.soql.errors import SoqlError
from sandbox.soql.execute import QueryResult, execute, json_value
from sandbox.soql.parser import parse

__all__ = ["execute", "QueryResult", "SoqlError", "parse", "json_value"]

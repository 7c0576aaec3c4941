"""SOQL errors in Salesforce's shape: an error code and a message that echoes the query.

Salesforce prefixes parse and binding errors with the offending row of the query, a
caret under the column and `ERROR at Row:r:Column:c`; clients (and people reading
logs) rely on that position, so every error raised while reading a query carries it.
"""
from __future__ import annotations

from sandbox.errors import SalesforceError

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"
INVALID_QUERY_FILTER_OPERATOR = "INVALID_QUERY_FILTER_OPERATOR"
NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"

FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)
RELATIONSHIP_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after the "
    "custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
)
TYPE_HINT = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the entity "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)


class SoqlError(SalesforceError):
    """A query Salesforce would refuse; always HTTP 400."""

    def __init__(self, error_code: str, message: str):
        super().__init__(400, error_code, message)


def at(soql: str, line: int, column: int, text: str) -> str:
    """`text` prefixed the way Salesforce points into the query (1-based row and column)."""
    rows = soql.split("\n")
    row = rows[line - 1] if 0 < line <= len(rows) else ""
    caret = " " * max(column - 1, 0) + "^"
    return f"\n{row}\n{caret}\nERROR at Row:{line}:Column:{column}\n{text}"


def positioned(error_code: str, soql: str, line: int, column: int, text: str) -> SoqlError:
    return SoqlError(error_code, at(soql, line, column, text))


def no_such_column(soql: str, line: int, column: int, field: str, entity: str) -> SoqlError:
    return positioned(
        INVALID_FIELD, soql, line, column, f"No such column '{field}' on entity '{entity}'. {FIELD_HINT}"
    )


def unknown_relationship(soql: str, line: int, column: int, name: str) -> SoqlError:
    return positioned(
        INVALID_FIELD, soql, line, column, f"Didn't understand relationship '{name}' in field path. {RELATIONSHIP_HINT}"
    )


def unknown_child_relationship(soql: str, line: int, column: int, name: str) -> SoqlError:
    return positioned(
        INVALID_TYPE, soql, line, column,
        f"Didn't understand relationship '{name}' in FROM part of query call. {RELATIONSHIP_HINT}",
    )  # fmt: skip


def unsupported_type(soql: str, line: int, column: int, name: str) -> SoqlError:
    return positioned(INVALID_TYPE, soql, line, column, f"sObject type '{name}' is not supported. {TYPE_HINT}")

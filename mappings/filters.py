"""Ops-written SOQL filters: enough parsing to catch mistakes before a query fails.

Not a SOQL parser: the org parses the query. This finds unbalanced quotes and
brackets and the field names a condition uses, so validation can check them against
describe() and name the nearest real field.
"""
from __future__ import annotations

import re

_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|[A-Za-z_][A-Za-z0-9_.]*(?:\s*\()?|:\w+|\S")
_KEYWORDS = frozenset(
    "and or not in like includes excludes null true false asc desc nulls first last "
    "today yesterday tomorrow this_week last_week next_week this_month last_month next_month "
    "this_quarter last_quarter next_quarter this_year last_year next_year "
    "this_fiscal_quarter last_fiscal_quarter next_fiscal_quarter this_fiscal_year "
    "last_fiscal_year next_fiscal_year last_90_days next_90_days".split()
)
_N_DATE = re.compile(r"^(last|next)_n_\w+$|^n_\w+_ago$", re.I)


def syntax_problems(text: str) -> list[str]:
    problems = []
    unquoted = re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)
    if unquoted.count("'") % 2:
        problems.append("a quote ' is not closed")
    depth = 0
    for ch in unquoted:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            break
    if depth != 0:
        problems.append("brackets ( ) do not balance")
    if re.search(r"(?i)^\s*where\b", text):
        problems.append("write only the condition, without WHERE")
    return problems


def filter_fields(text: str) -> list[str]:
    """Field names (and relationship paths) a filter condition refers to."""
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token.startswith("'") or token.startswith(":") or token.endswith("("):
            continue  # strings, bind variables, functions such as CALENDAR_YEAR(
        if not (token[0].isalpha() or token[0] == "_"):
            continue
        low = token.lower()
        if low in _KEYWORDS or _N_DATE.match(low) or low.split(":")[0] in _KEYWORDS:
            continue
        if re.match(r"^\d", token):
            continue
        if token not in out:
            out.append(token)
    return out

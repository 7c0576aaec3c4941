"""Anything simple-salesforce's `format_soql` escapes comes back through = and LIKE.

Property: for arbitrary text (quotes, backslashes, %, _, newlines, Unicode, injection
attempts), a lead whose Company is that text is found by `Company = {}` and by
`Company LIKE '{:like}'`, and by nothing broader: no MALFORMED_QUERY, no leak.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from simple_salesforce.format import format_soql

from sandbox.soql import execute
from sandbox.store import Org

SENTINEL = "sentinel company that no generated text equals"


@pytest.fixture(scope="module")
def org_and_lead() -> tuple[Org, str]:
    org = Org()
    org.create("Lead", {"LastName": "Other", "Company": SENTINEL})
    return org, org.create("Lead", {"LastName": "Target", "Company": "placeholder"})


company_text = st.text(min_size=1, max_size=80).filter(lambda s: s.strip() != "")


def found(org: Org, soql: str) -> set[str]:
    return {r["Id"] for r in execute(soql, org).rows}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=company_text)
@example(text="'); DELETE FROM Lead --")
@example(text="O'Brien \\ \"quoted\" 100% _under_ \n\r\t\b\f")
@example(text="Grüße aus Köln — 東京 🚀")
@example(text="\\%\\_")
def test_escaped_text_round_trips_through_equals_and_like(org_and_lead, text):
    org, target = org_and_lead
    assume(text.casefold() != SENTINEL.casefold())
    org.update("Lead", target, {"Company": text})
    assert found(org, format_soql("SELECT Id FROM Lead WHERE Company = {}", text)) == {target}
    assert found(org, format_soql("SELECT Id FROM Lead WHERE Company LIKE '{:like}'", text)) == {target}
    assert target in found(org, format_soql("SELECT Id FROM Lead WHERE Company LIKE '%{:like}%'", text))
    assert found(org, format_soql("SELECT Id FROM Lead WHERE Company IN {}", [text, "x"])) == {target}
    assert target not in found(org, format_soql("SELECT Id FROM Lead WHERE Company != {}", text))

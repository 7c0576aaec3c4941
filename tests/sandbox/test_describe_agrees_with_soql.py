"""Describe and SOQL agree: a field describe calls filterable can be filtered on, one it
calls sortable ordered by, one it calls groupable grouped by, and the others are refused
(INVALID_FIELD / MALFORMED_QUERY). A client building queries from describe (a report
tool, Workbench-like) sent WHERE Street != null because SOQL takes it, while describe
said no; or skipped a field describe wrongly called unfilterable."""
from __future__ import annotations

import pytest

from tests.sandbox.raw import Raw


@pytest.fixture
def raw(sandbox):
    client = Raw(sandbox)
    yield client
    client.close()


@pytest.mark.parametrize("sobject", ["Lead", "Account", "Task", "Contact", "Opportunity", "User", "LeadHistory", "LeadRouter_Lease__c"])
def test_filterable_sortable_and_groupable_say_what_soql_takes(raw, sobject):
    fields = raw.get(f"sobjects/{sobject}/describe").json()["fields"]
    wrong = []
    for f in fields:
        name = f["name"]
        checks = {
            "filterable": f"SELECT Id FROM {sobject} WHERE {name} != null LIMIT 1",
            "sortable": f"SELECT Id FROM {sobject} ORDER BY {name} LIMIT 1",
            "groupable": f"SELECT {name} FROM {sobject} GROUP BY {name} LIMIT 1",
        }
        for prop, soql in checks.items():
            answered = raw.get("query", params={"q": soql}).status_code
            if (answered == 200) != f[prop]:
                wrong.append((name, f["type"], f["length"], prop, f[prop], answered))
    assert not wrong, wrong

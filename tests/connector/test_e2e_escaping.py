"""Company names that break naive SOQL round-trip through every query path."""
from __future__ import annotations

from datetime import timedelta

import pytest

from connector.soql import format_soql, select

pytestmark = pytest.mark.e2e

NASTY = [
    "O'Brien & Sons",
    'The "Best" Widgets',
    "Back\\slash Trading",
    "100% Organic_Foods",
    "Line one\nLine two",
    "Tab\there\r\nCRLF",
    "Müller Straße GmbH — 東京 🚀",
    "') OR Company != ('",
    "%_%",
]


@pytest.fixture
def nasty_leads(org):
    ids = {org.org.create("Lead", {"LastName": "Esc", "Company": name}): name for name in NASTY}
    org.org.create("Lead", {"LastName": "Decoy", "Company": "100X OrganicXFoods"})  # would match an unescaped _
    return ids


def test_equality_filter_finds_exactly_each_name(client, nasty_leads):
    for lead_id, name in nasty_leads.items():
        got = list(client.query(select("Lead", ["Id", "Company"], where=format_soql("Company = {}", name))))
        assert [(r["Id"], r["Company"]) for r in got] == [(lead_id, name)], name


def test_like_filter_treats_percent_and_underscore_literally(client, nasty_leads):
    got = list(client.query(select("Lead", ["Company"], where=format_soql("Company LIKE '{:like}%'", "100% Organic_"))))
    assert [r["Company"] for r in got] == ["100% Organic_Foods"]


def test_in_filter_and_read_by_ids_and_incremental_return_the_names_unchanged(org, client, nasty_leads):
    names = list(nasty_leads.values())
    got = {r["Company"] for r in client.query(select("Lead", ["Company"], where=format_soql("Company IN {}", names)))}
    assert got == set(names)
    by_id = {r["Id"]: r["Company"] for r in client.read_by_ids("Lead", ["Company"], list(nasty_leads))}
    assert by_id == nasty_leads
    org.clock.advance(timedelta(seconds=1))
    inc = {r["Id"]: r["Company"] for r in client.read_incremental(
        "Lead", ["Company"], watermark=None, until=org.clock.now(), lookback=timedelta(0),
        where=format_soql("Company IN {}", names))}
    assert inc == nasty_leads
    assert client.count(format_soql("SELECT COUNT() FROM Lead WHERE Company IN {}", names)) == len(names)


def test_names_written_through_updates_come_back_identical(org, client, nasty_leads):
    ids = list(nasty_leads)
    results = client.update("Lead", [{"Id": i, "Company": nasty_leads[i] + " (2)",
                                      "Routing_Reason__c": nasty_leads[i]} for i in ids])
    assert all(r.ok for r in results)
    back = {r["Id"]: (r["Company"], r["Routing_Reason__c"]) for r in client.read_by_ids(
        "Lead", ["Company", "Routing_Reason__c"], ids)}
    assert back == {i: (n + " (2)", n) for i, n in nasty_leads.items()}


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

company_names = st.text(
    alphabet=st.one_of(
        st.sampled_from("'\"\\%_\n\r\t ()=,;*?"),
        st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x00"),
    ),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() == s and s.strip())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=company_names)
def test_any_company_name_round_trips_through_create_equality_like_and_in(client, name):
    [created] = client.create("Lead", [{"LastName": "Prop", "Company": name}])
    assert created.ok, created
    eq = [r["Id"] for r in client.query(format_soql("SELECT Id FROM Lead WHERE Company = {}", name))]
    assert created.id in eq  # SOQL's = is case-insensitive: other examples may match too
    [back] = client.read_by_ids("Lead", ["Company"], [created.id])
    assert back["Company"] == name
    like = {r["Id"] for r in client.query(format_soql("SELECT Id FROM Lead WHERE Company LIKE '{:like}'", name))}
    assert created.id in like
    inn = {r["Id"] for r in client.query(format_soql("SELECT Id FROM Lead WHERE Company IN {}", [name, "x"]))}
    assert created.id in inn

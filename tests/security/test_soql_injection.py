"""SOQL injection corpus through every query path the connector has.

Data values (company names, reasons) go into SOQL only through `format_soql`; they must
come back exactly and never widen a query — each nasty value finds its own lead and
nothing else, while decoys wait for a mis-escaped quote or wildcard. Identifiers (object
and field names) and ids cannot be escaped, so anything not shaped like one is refused
before a request is sent. Ops-written mapping filters cannot break out of the
parentheses the watermark bounds put around them.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from connector import ConnectorConfig, GuardedUpdate, SalesforceClient
from connector.soql import format_soql, select

# one worker runs the whole module: its org is started once
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_soql_injection")]

NASTY = {
    "single_quote": "O'Brien & Sons",
    "escaped_quote_attempt": "\\'; DROP TABLE Lead; --",
    "backslash": "Back\\slash\\",
    "lone_backslash": "\\",
    "lone_quote": "'",
    "doubled_quotes": "''",
    "percent": "50% Off",
    "underscore": "Under_score",
    "lone_percent": "%",
    "lone_underscore": "_",
    "or_id_not_null": "' OR Id != null --",
    "close_paren_delete": "'); DELETE --",
    "like_breakout": "\\' OR Company LIKE '%",
    "in_list_breakout": "' AND Company IN ('a','b') AND Company != '",
    "newline_limit": "Line one\nLIMIT 1",
    "crlf_tab": "Tab\there\r\nCRLF",
    "unicode": "Müller Straße — 東京 🚀",
    "rtl_override": "\u202eevil\u202c Ltd",
    "braces": "{} {0} {company}",
    "bind_variable": ":company",
}
# What a broken escape would match instead: everything, or names one wildcard away.
DECOYS = ("50X Off", "UnderXscore", "OXBrien & Sons", "Decoy Ltd", "a", "b")

BAD_IDS = {
    "or_clause": "' OR Id != null --",
    "quote_in_id": "00Q5g0000000001'",
    "sixteen_chars": "00Q5g0000000001EA",
    "paren_delete": "'); DELETE --",
    "spaces": "00Q5g 0000000001",
    "unicode_digits": "00Q5g000000000١",
    "empty": "",
}
BAD_NAMES = {
    "or_clause": "Company OR Id",
    "comment": "Company--",
    "subquery": "(SELECT Id FROM User)",
    "semicolon": "Lead; DELETE",
    "space": "Lead Name",
    "quote": "Lead'",
    "trailing_dot": "Owner.",
    "lookalike_cyrillic": "Compаny",
}


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    import sandbox

    sb = sandbox.start(tmp_path_factory.mktemp("soql") / "org", autosave=None)
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def client(org):
    import os

    c = org.connection
    os.environ["LR_SEC_SOQL_SECRET"] = c["client_secret"]
    config = ConnectorConfig.model_validate({
        "login_url": c["login_url"], "ca_bundle": c["ca_file"], "api_version": c["api_version"], "timeout": 10,
        "auth": {"method": "client_credentials", "client_id": c["client_id"], "client_secret_env": "LR_SEC_SOQL_SECRET"},
        "retry": {"max_attempts": 2, "initial_wait": 0.01, "max_wait": 0.02, "max_seconds": 5}})
    with SalesforceClient.connect(config, clock=org.clock.now) as cl:
        yield cl


@pytest.fixture(scope="module")
def leads(org) -> dict[str, str]:
    """name -> lead id, one lead per nasty company name, plus decoys."""
    ids = {name: org.org.create("Lead", {"LastName": "Injection", "Company": value}) for name, value in NASTY.items()}
    for decoy in DECOYS:
        org.org.create("Lead", {"LastName": "Decoy", "Company": decoy})
    org.clock.advance(timedelta(seconds=2))
    return ids


def _same_company(org, value: str) -> set[str]:
    """What an honest equality finds (SOQL compares text case-insensitively)."""
    return {r["Id"] for r in org.org.records("Lead") if (r["Company"] or "").lower() == value.lower()}


@pytest.mark.parametrize("name", NASTY, ids=list(NASTY))
def test_a_value_finds_exactly_its_own_lead_on_every_read_path(org, client, leads, name):
    value = NASTY[name]
    expected = _same_company(org, value)
    assert leads[name] in expected
    eq = format_soql("Company = {}", value)
    cols = ["Id", "Company"]
    paths = {
        "query": list(client.query(select("Lead", cols, where=eq))),
        "query_all": list(client.query_all(select("Lead", cols, where=eq))),
        "in_list": list(client.query(select("Lead", cols, where=format_soql("Company IN {}", [value, "no such"])))),
        "like": list(client.query(select("Lead", cols, where=format_soql("Company LIKE '{:like}'", value)))),
        "incremental": list(client.read_incremental("Lead", cols, watermark=None, until=org.clock.now(),
                                                    lookback=timedelta(0), where=eq)),
    }
    for path, rows in paths.items():
        assert {r["Id"] for r in rows} == expected, f"{path} widened or missed: {[r['Company'] for r in rows]}"
        for r in rows:
            if r["Id"] == leads[name]:
                assert r["Company"] == value, f"{path} did not round-trip the value exactly"
    assert client.count(format_soql("SELECT COUNT() FROM Lead WHERE Company = {}", value)) == len(expected)


@pytest.mark.parametrize("name", NASTY, ids=list(NASTY))
def test_a_value_written_back_reads_back_exactly_and_touches_only_its_lead(org, client, leads, name):
    value = NASTY[name]
    before = {r["Id"]: r["Routing_Reason__c"] for r in org.org.records("Lead")}
    [result] = client.update("Lead", [{"Id": leads[name], "Routing_Reason__c": value}])
    assert result.ok, result
    after = {r["Id"]: r["Routing_Reason__c"] for r in org.org.records("Lead")}
    changed = {i for i in after if after[i] != before.get(i)}
    assert changed <= {leads[name]}
    [row] = client.read_by_ids("Lead", ["Routing_Reason__c"], [leads[name]])
    assert row["Routing_Reason__c"] == value


@pytest.mark.parametrize("name", BAD_IDS, ids=list(BAD_IDS))
def test_an_id_that_is_not_an_id_is_refused_before_any_request(org, client, leads, name):
    bad = BAD_IDS[name]
    calls = client.calls
    with pytest.raises(ValueError, match="(?i)salesforce id|not an id|id"):
        list(client.read_by_ids("Lead", ["Id", "Company"], [leads["single_quote"], bad]))
    assert client.calls == calls, "nothing was sent"


@pytest.mark.parametrize("path", ["update", "update_guarded"])
@pytest.mark.parametrize("name", BAD_IDS, ids=list(BAD_IDS))
def test_a_write_to_an_id_that_is_not_an_id_is_refused_and_changes_no_record(org, client, leads, name, path):
    from connector.errors import ConnectorError

    bad = BAD_IDS[name]
    before = {r["Id"]: r["SystemModstamp"] for r in org.org.records("Lead")}
    stamp = before[leads["single_quote"]]
    write = {
        "update": lambda: client.update("Lead", [{"Id": bad, "Routing_Reason__c": "should land nowhere"}]),
        "update_guarded": lambda: client.update_guarded("Lead", [GuardedUpdate(
            bad, {"Routing_Reason__c": "should land nowhere"}, stamp)]),
    }[path]
    try:
        results = write()
    except ValueError:
        results = None  # refused before sending: as good as it gets
    except ConnectorError as e:
        pytest.fail(f"{path} sent {bad!r} to Salesforce as an id and failed the whole call: {e}")
    if results is not None:
        assert [r.ok for r in results] == [False], f"{path} reported a write to {bad!r} as done"
    after = {r["Id"]: r["SystemModstamp"] for r in org.org.records("Lead")}
    assert after == before


@pytest.mark.parametrize("name", BAD_NAMES, ids=list(BAD_NAMES))
def test_an_object_or_field_name_that_is_not_a_name_is_refused_on_every_path(org, client, name):
    bad = BAD_NAMES[name]
    now = org.clock.now()
    calls = client.calls
    attempts = {
        "select_object": lambda: select(bad, ["Id"]),
        "select_field": lambda: select("Lead", ["Id", bad]),
        "order_by": lambda: select("Lead", ["Id"], order_by=[bad]),
        "incremental_object": lambda: list(client.read_incremental(bad, ["Id"], watermark=None, until=now,
                                                                   lookback=timedelta(0))),
        "incremental_field": lambda: list(client.read_incremental("Lead", [bad], watermark=None, until=now,
                                                                  lookback=timedelta(0))),
        "by_ids_object": lambda: list(client.read_by_ids(bad, ["Id"], ["00Q5g0000000001EAA"])),
        "deleted_object": lambda: client.deleted(bad, now - timedelta(days=1), now),
        "describe_object": lambda: client.describe(bad),
    }
    for path, attempt in attempts.items():
        with pytest.raises(ValueError, match="(?i)not a valid salesforce api name"):
            attempt()
    assert client.calls == calls, "nothing was sent"


FILTER_BREAKOUTS = {
    "close_the_bracket": "LeadSource = 'Web') OR (Id != null",
    "open_quote": "LeadSource = 'Web",
    "trailing_comment_quote": "LeadSource = 'Web' --'",
    "where_keyword": "WHERE LeadSource = 'Web'",
}


@pytest.mark.parametrize("name", FILTER_BREAKOUTS, ids=list(FILTER_BREAKOUTS))
def test_a_mapping_filter_that_could_break_out_of_its_brackets_is_refused_at_load(tmp_path, name):
    from mappings import MappingError, load_mappings

    defaults = Path(__file__).resolve().parents[2] / "mappings" / "defaults"
    for f in defaults.glob("*.toml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    lead = tmp_path / "lead.toml"
    text = lead.read_text(encoding="utf-8").replace('sobject = "Lead"', f'sobject = "Lead"\nfilter = "{FILTER_BREAKOUTS[name]}"', 1)
    lead.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as refused:
        load_mappings(tmp_path)
    assert "lead.toml" in str(refused.value) and "filter" in str(refused.value)


def test_an_accepted_filter_with_or_stays_inside_the_watermark_bounds(org, client):
    """`a OR b` from a mapping file must not escape `SystemModstamp >= … AND < …`."""
    old = org.org.create("Lead", {"LastName": "Old", "Company": "Before the watermark", "LeadSource": "Web"})
    org.clock.advance(timedelta(minutes=10))
    watermark = org.clock.now()
    org.clock.advance(timedelta(seconds=1))
    new = org.org.create("Lead", {"LastName": "New", "Company": "After the watermark", "LeadSource": "Web"})
    org.clock.advance(timedelta(seconds=2))
    rows = list(client.read_incremental("Lead", ["Id"], watermark=watermark, until=org.clock.now(),
                                        lookback=timedelta(0), where="LeadSource = 'Web' OR LeadSource = 'Other'"))
    ids = {r["Id"] for r in rows}
    assert new in ids and old not in ids


def test_the_explain_tool_refuses_a_lead_id_that_is_not_an_id(org, tmp_path, capfd, monkeypatch):
    from jobs.cli import main

    from .rig import secret_env, write_config

    for var, value in secret_env(org.connection).items():
        monkeypatch.setenv(var, value)
    config = write_config(tmp_path, org, "client_credentials", notify=False)
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["explain", "--config", str(config), BAD_IDS["or_clause"]])
    except SystemExit as exit_:
        code = exit_.code
    except ValueError as crash:
        pytest.fail(f"`leadrouter explain` crashed instead of refusing the id: {crash}")
    said = capfd.readouterr()
    text = said.out + said.err
    assert code not in (0, None)
    assert "not a salesforce id" in text.lower() and "Traceback" not in text, text[-2000:]

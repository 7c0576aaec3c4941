"""Text the org holds, typed by anyone (a partner's Account Name, a Company from a web form),
as the ops commands print it: never a forged line, never a terminal escape.

tests/ops/test_hostile_text.py checks the Company in the first lines of explain and in the
dry-run table; here the same text comes back through every other place a command shows
it: the partner a lead would go to ("If routed now", the history), the undo listing, the
CSV on a terminal. A forged line here reads as the connector's own words ("Routed to:
…") to whoever is deciding what to do with a lead.
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from jobs.cli import main
from tests.badinput.harness import ROOMY, config_text
from tests.badinput.lead_cases import BASE

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_hostile_org_text")]

FORGED = "Routed to: Acme Gold Partner"
# U+2028, LINE SEPARATOR: a line break to Python's splitlines, editors and log viewers
PARTNER = f"Evil Partners\r\n{FORGED}\x1b[2J\x1b]0;owned\x07\u2028{FORGED}"
# \x9b: the one-byte CSI, which a UTF-8 xterm acts on as ESC [ does; U+202E turns text around
COMPANY = f"Line One\r\n{FORGED}\x1b[31m\x9b2J\u202e"


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Any:
    import sandbox

    directory = tmp_path_factory.mktemp("hostile-org-text")
    sb = sandbox.start(directory / "org", seed="demo", partners=10, leads=0, autosave=None)
    try:
        partners = [a for a in sb.org.records("Account") if a.get("IsPartner")]
        for account in partners:
            sb.org.update("Account", account["Id"], ROOMY)
        # the only partner covering San Francisco, where BASE is: every lead goes to it
        covering = next(a for a in partners if a.get("Coverage__c") == "US-CA")
        sb.org.update("Account", covering["Id"], {"Name": PARTNER})
        lead, _second = (sb.org.create("Lead", {**BASE, "Company": COMPANY, "LastName": f"Hostile {i}"},
                                       as_user=sb.org.admin_user_id) for i in range(2))
        config = directory / "leadrouter.toml"
        config.write_text(config_text(sb.connection), encoding="utf-8")
        # both offered to that partner: each test reads them as it needs, in any order
        assert main(["once", "--init", "--config", str(config)]) == 0
        yield sb, config, lead
    finally:
        sb.stop()


def _forged(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.lstrip().startswith("Routed to:") or "\x1b" in line
            or "\r" in line]


def test_explain_shows_a_partner_name_on_one_line_in_every_section(org, capsys):
    sb, config, lead = org
    assert sb.org.get("Lead", lead)["Routing_Status__c"] in ("Offered", "Escalated")
    capsys.readouterr()
    assert main(["explain", lead, "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "If routed now" in out and "History, oldest first (times UTC):" in out
    assert _forged(out) == [], out
    assert "Evil Partners\\r\\nRouted to: Acme Gold Partner\\x1b[2J" in out


def test_the_dry_run_csv_on_a_terminal_carries_no_escape_sequence(org, capsys):
    sb, config, _ = org
    sb.org.create("Lead", {**BASE, "Company": COMPANY}, as_user=sb.org.admin_user_id)
    assert main(["dry-run", "--format", "csv", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out, out
    assert "\\x1b[31m" in out


def test_undo_lists_a_company_on_one_line(org, capsys):
    sb, config, lead = org
    from jobs.config import load
    from jobs.ops.context import open_live_store
    from jobs.ops.undo import recent_runs

    store = open_live_store(load(Path(config), env={}))
    try:
        run_id = next(r["run_id"] for r in recent_runs(store) if r["decisions"])
    finally:
        store.dispose()
    capsys.readouterr()
    assert main(["undo", "--run", run_id, "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert lead in out
    assert _forged(out) == [], out
    assert main(["undo", "--run", run_id, "--json", "--config", str(config)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert lead in {item["lead_id"] for item in listed["leads"]}


def test_feedback_lists_a_partner_name_on_one_line(org, capsys):
    sb, config, _ = org
    offered = [ld for ld in sb.org.records("Lead") if ld.get("Routing_Status__c") == "Offered"]
    assert len(offered) >= 2  # the two the fixture routed, unless this test ran already
    for ld in offered[:2]:  # two "No capacity" declines throttle the partner
        sb.org.update("Lead", ld["Id"], {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "No capacity",
                                         "Rejection_Reason__c": "No capacity: two reps on leave"})
    sb.clock.advance(timedelta(seconds=2))
    assert main(["once", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["feedback", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "capacity  Evil Partners" in out, out
    assert _forged(out) == [], out


def test_validate_names_a_partner_on_one_line(org, capsys):
    sb, config, _ = org
    covering = next(a for a in sb.org.records("Account") if a.get("Name") == PARTNER)
    # a zone that is no IANA name: validate names the partner and the value, with the fix
    sb.org.update("Account", covering["Id"], {"Time_Zone__c": "Berlin\r\nRouted to: tz\x1b[31m"})
    try:
        capsys.readouterr()
        main(["validate", "--config", str(config)])
        out = capsys.readouterr().out
    finally:
        sb.org.update("Account", covering["Id"], {"Time_Zone__c": None})
    assert "Evil Partners\\r\\nRouted to: Acme Gold Partner" in out and "Berlin\\r\\n" in out, out
    assert _forged(out) == [], out


def test_a_partner_value_of_100k_characters_is_quoted_short(org, capsys):
    """A log line of 100 KB is split by the container's log driver (16 KB) into pieces no
    longer JSON; a finding of 100 KB buries every other one."""
    sb, config, _ = org
    covering = next(a for a in sb.org.records("Account") if a.get("Name") == PARTNER)
    with sb.org.lock:
        sb.org.table("Account")[covering["Id"]]["Time_Zone__c"] = "Z" * 100_000
    try:
        capsys.readouterr()
        main(["validate", "--config", str(config)])
        said = capsys.readouterr()
    finally:
        sb.org.update("Account", covering["Id"], {"Time_Zone__c": None})
    out = said.out + said.err
    assert "ZZZZZZZZZZ" in out and "is not an IANA time zone" in out, out[-2000:]
    assert max(len(line) for line in out.splitlines()) < 2000


def test_dry_run_names_a_rep_without_a_name_by_its_id(org, capsys):
    """A User whose Name comes back empty (a data load, a field hidden from the integration
    user) was shown as 'Partner / None'."""
    sb, config, _ = org
    covering = next(a for a in sb.org.records("Account") if a.get("Name") == PARTNER)
    reps = [u for u in sb.org.records("User") if u.get("AccountId") == covering["Id"]]
    before = {u["Id"]: u["Name"] for u in reps}
    with sb.org.lock:
        for u in reps:
            sb.org.table("User")[u["Id"]]["Name"] = None
    sb.org.create("Lead", {**BASE, "LastName": "Nameless rep"}, as_user=sb.org.admin_user_id)
    try:
        capsys.readouterr()
        assert main(["dry-run", "--config", str(config)]) == 0
        out = capsys.readouterr().out
    finally:
        with sb.org.lock:
            for uid, name in before.items():
                sb.org.table("User")[uid]["Name"] = name
    offered = [line for line in out.splitlines() if "\toffer\t" in line]
    assert offered and not [line for line in offered if "/ None" in line], out
    assert any(f"/ {uid}" in line for line in offered for uid in before), out


@pytest.mark.parametrize("command", [["explain", "LEAD", "--json"], ["dry-run", "--format", "json"]])
def test_json_output_escapes_what_a_terminal_would_act_on(org, capsys, command):
    """JSON escapes C0 controls itself; with non-ASCII kept as it is (names in any script),
    a one-byte CSI, a bidi override or a line separator went out raw — and people read
    `--json` on a terminal. Escaped as \\uXXXX, the document is the same JSON."""
    sb, config, lead = org
    if "LEAD" in command:  # a lead not yet routed reads the same in both commands
        lead = sb.org.create("Lead", {**BASE, "Company": COMPANY, "LastName": "Json"}, as_user=sb.org.admin_user_id)
    else:
        sb.org.create("Lead", {**BASE, "Company": COMPANY, "LastName": "Json"}, as_user=sb.org.admin_user_id)
    capsys.readouterr()
    main([lead if part == "LEAD" else part for part in command] + ["--config", str(config)])
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x9b\u202e\u2028\x7f"), repr(out[:500])
    assert COMPANY in _strings(json.loads(out)), out[:300]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_the_html_report_shows_a_partner_name_as_text(org, tmp_path, capsys):
    """A browser does not act on ESC, but it does on U+202E: "Evil \\u202egnp.exe" reads
    "Evil exe.png" in the page; and `cat report.html` is a terminal."""
    _, config, _ = org
    page = tmp_path / "report.html"
    assert main(["report", "--out", str(page), "--config", str(config)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "Evil Partners\\r\\nRouted to: Acme Gold Partner\\x1b[2J" in html
    assert not any(c in html for c in "\x1b\x07\r\u2028\u202e\x9b"), [c for c in "\x1b\x07\r\u2028\u202e\x9b" if c in html]


def test_feedback_reset_names_a_pasted_id_on_one_line(org, capsys):
    _, config, _ = org
    code = main(["feedback", "reset", "\x1b[2J0015g00000\nFAKE: reset done", "--config", str(config)])
    said = capsys.readouterr()
    out = said.out + said.err
    assert code == 2 and "is not a partner" in out, out
    assert _forged(out) == [] and not any(line.startswith("FAKE") for line in out.splitlines()), out

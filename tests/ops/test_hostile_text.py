"""A Company typed into a web form is shown to ops as text, never run as a terminal
command, a forged line of a trace or a spreadsheet formula — and routed all the same."""
from __future__ import annotations

import csv
import io

import pytest

from jobs.cli import main
from tests.conftest import salesforce_client

ESCAPES = "\x1b[2J\x1b[31mRED\x1b[0m Corp"
FORGED_LINE = "Line One\r\nRouted to: Acme Gold Partner"
FORMULA = "=HYPERLINK(\"http://evil.example\",\"open\")"
MARKUP = "Brackets [/] and [bold]Co[/bold]"
REVERSED = "Evil \u202egnp.exe"


@pytest.fixture(scope="module")
def hostile_leads(seeded_org):
    sf = salesforce_client(seeded_org)
    ids = {}
    for company in (ESCAPES, FORGED_LINE, FORMULA, MARKUP, REVERSED):
        ids[company] = sf.Lead.create({"LastName": "Probe", "Company": company, "Country": "US", "State": "CA",
                                       "Industry": "Technology", "LeadSource": "Web"})["id"]
    return ids


def test_the_dry_run_table_shows_control_characters_escaped_on_one_line(workdir, hostile_leads, capsys):
    assert main(["dry-run", "--config", str(workdir / "leadrouter.toml")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines() if "\t" in line}
    assert rows[hostile_leads[ESCAPES]][1] == "\\x1b[2J\\x1b[31mRED\\x1b[0m Corp"
    assert rows[hostile_leads[FORGED_LINE]][1] == "Line One\\r\\nRouted to: Acme Gold Partner"
    assert rows[hostile_leads[REVERSED]][1] == "Evil \\u202egnp.exe"
    assert not any(line.startswith("Routed to:") for line in out.splitlines())


def test_the_dry_run_csv_keeps_the_text_but_never_a_formula(workdir, hostile_leads, capsys):
    assert main(["dry-run", "--config", str(workdir / "leadrouter.toml"), "--format", "csv"]) == 0
    rows = {r["lead_id"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows[hostile_leads[FORMULA]]["company"] == "'" + FORMULA
    assert rows[hostile_leads[FORGED_LINE]]["company"] == FORGED_LINE  # a quoted CSV cell holds a newline safely
    assert rows[hostile_leads[MARKUP]]["company"] == MARKUP
    assert all(not r["company"].startswith(("=", "+", "-", "@")) for r in rows.values())


def test_the_dry_run_table_on_a_terminal_prints_brackets_as_they_are(workdir, hostile_leads, capsys, monkeypatch):
    """On a terminal the table is drawn by rich, which would read "[/]" as markup and fail."""
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert main(["dry-run", "--config", str(workdir / "leadrouter.toml")]) == 0
    out = capsys.readouterr().out
    assert "[/]" in out and "\x1b[2J" not in out


def test_explain_cannot_be_forged_by_a_company_name(workdir, hostile_leads, capsys):
    assert main(["explain", hostile_leads[FORGED_LINE], "--config", str(workdir / "leadrouter.toml")]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith(f"Lead {hostile_leads[FORGED_LINE]}: Line One\\r\\nRouted to: Acme Gold Partner")
    assert not any(line.startswith("Routed to:") for line in out.splitlines())
    assert main(["explain", hostile_leads[ESCAPES], "--config", str(workdir / "leadrouter.toml")]) == 0
    assert "\x1b" not in capsys.readouterr().out

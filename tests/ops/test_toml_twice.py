"""A key or table written twice — in the config, a rule file or a mapping file, as someone
who pasted a line from config.example.toml or rules/defaults/rules.toml does — is said as
that, at its line, with the fix for it: not "check quotes and brackets", not "see
config.example.toml for this key's type", and no finding about what the unread file seems
to lack."""
from __future__ import annotations

import re

import pytest

from jobs.cli import main

LEAD = "00Q5g000000000kEAA"
COMMANDS = {
    "validate": ["validate"],
    "dry-run": ["dry-run", "--limit", "5"],
    "explain": ["explain", LEAD],
    "backtest": ["backtest", "--rules", "rules.toml"],
    "once": ["once"],
}


def plant(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def said_by(workdir, command, capsys, monkeypatch) -> tuple[int, str]:
    monkeypatch.chdir(workdir)
    try:
        code = main([*COMMANDS[command], "--config", str(workdir / "leadrouter.toml")])
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.err + out.out


@pytest.mark.parametrize("command", ["validate", "once"])
def test_a_config_key_set_twice_is_named_with_its_line_and_the_fix(workdir, command, capsys, monkeypatch):
    config = workdir / "leadrouter.toml"
    plant(config, "reminder_before_hours = 1.0", "reminder_before_hours = 1.0\nreminder_before_hours = 2.0")
    line = config.read_text().splitlines().index("reminder_before_hours = 2.0") + 1
    code, said = said_by(workdir, command, capsys, monkeypatch)
    assert code in (1, 2), said
    assert f"leadrouter.toml:{line}: " in said and "'reminder_before_hours' is set twice" in said, said
    assert ": : " not in said, said
    assert "keep one" in said and "config.example.toml for this key's type" not in said, said
    # the file was not read: nothing is said about what it seems to lack
    assert "no [salesforce] section" not in said and "no state database" not in said, said


@pytest.mark.parametrize("command", ["validate", "dry-run"])
def test_a_rule_setting_given_twice_is_not_called_a_quote_or_bracket_problem(workdir, command, capsys, monkeypatch):
    plant(workdir / "rules.toml", "[settings]\n", "[settings]\nmax_attempts = 2\n")
    code, said = said_by(workdir, command, capsys, monkeypatch)
    assert code in (1, 2), said
    assert re.search(r"rules\.toml:\d+", said) and "max_attempts" in said and "set twice" in said, said
    assert "quotes and brackets" not in said, said


def test_a_table_declared_twice_in_a_mapping_file_says_so(workdir, capsys, monkeypatch):
    lead = workdir / "mappings" / "lead.toml"
    lead.write_text(lead.read_text() + "\n[lead.fields]\n")
    code, said = said_by(workdir, "validate", capsys, monkeypatch)
    assert code == 1, said
    assert "lead.toml" in said and "[lead.fields] declared twice" in said and "merge" in said, said

"""Every ops command meets a broken rule file, mapping or login the way `once` does: one
message naming the file, the line and the fix, exit 2 — never a traceback."""
from __future__ import annotations

import re

import pytest

from jobs.cli import main

LEAD = "00Q5g000000000kEAA"
COMMANDS = {
    "dry-run": ["dry-run", "--limit", "5"],
    "explain": ["explain", LEAD],
    "backtest": ["backtest", "--rules", "rules.toml"],
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
    except Exception as crash:  # noqa: BLE001 - the point: a message, not a crash
        pytest.fail(f"`leadrouter {command}` crashed: {type(crash).__name__}: {crash}")
    out = capsys.readouterr()
    return code, out.err + out.out


@pytest.mark.parametrize("command", COMMANDS)
def test_a_misspelt_attribute_in_the_rules_is_named_with_its_line(workdir, command, capsys, monkeypatch):
    plant(workdir / "rules.toml", 'when = "employees >= 1000"', 'when = "employes >= 1000"')
    code, said = said_by(workdir, command, capsys, monkeypatch)
    assert code == 2, said
    assert re.search(r"rules\.toml:\d+", said) and "did you mean 'employees'" in said, said


@pytest.mark.parametrize("command", COMMANDS)
def test_a_queue_the_org_lacks_is_named_with_the_one_meant(workdir, command, capsys, monkeypatch):
    plant(workdir / "rules.toml", '"Partner_Pool_APAC" }', '"Partner_Pool_APACX" }')
    code, said = said_by(workdir, command, capsys, monkeypatch)
    assert code == 2, said
    assert "Partner_Pool_APACX" in said and "did you mean 'Partner_Pool_APAC'" in said, said


@pytest.mark.parametrize("command", COMMANDS)
def test_a_rule_file_that_is_a_directory_is_named(workdir, command, capsys, monkeypatch):
    (workdir / "rules.toml").unlink()
    (workdir / "rules.toml").mkdir()
    code, said = said_by(workdir, command, capsys, monkeypatch)
    assert code == 2, said
    assert "rules.toml" in said and "cannot read the rule file" in said, said


@pytest.mark.parametrize("command", COMMANDS)
def test_a_key_file_that_is_not_a_key_is_named_with_the_fix(workdir, command, capsys, monkeypatch):
    (workdir / "not-a-key.pem").write_text("garbage\n")
    config = workdir / "leadrouter.toml"
    config.write_text(re.sub(r'(?m)^private_key_file = ".*"', 'private_key_file = "not-a-key.pem"', config.read_text()))
    code, said = said_by(workdir, command, capsys, monkeypatch)
    assert code == 2, said
    assert "private_key_file" in said and "fix" in said, said


@pytest.mark.parametrize("command", COMMANDS)
def test_an_org_that_does_not_answer_says_run_again(workdir, command, capsys, monkeypatch):
    plant(workdir / "leadrouter.toml", 'login_url = "https://127.0.0.1:', 'login_url = "https://127.0.0.1:1')
    code, said = said_by(workdir, command, capsys, monkeypatch)
    assert code in (1, 2), said
    assert "login_url" in said, said


def test_salesforce_failing_a_read_mid_command_is_a_message_not_a_traceback(workdir, seeded_org, capsys, monkeypatch):
    """Every query answers 503 until the retries give up: the ops tool says what failed and to run again."""
    config = workdir / "leadrouter.toml"
    config.write_text(config.read_text() + "\n[salesforce.retry]\nmax_attempts = 2\nmax_seconds = 5\n"
                                           "initial_wait = 0.01\nmax_wait = 0.02\n")
    seeded_org.faults.plan("503", endpoint="query", count=1000)
    try:
        code, said = said_by(workdir, "dry-run", capsys, monkeypatch)
    finally:
        seeded_org.faults.clear()
    assert code == 1, said
    assert "query" in said and "503" in said or "unavailable" in said.lower(), said
    assert "run again" in said, said


@pytest.mark.parametrize("command", COMMANDS)
def test_a_rule_file_that_is_not_there_names_the_key_that_points_at_it(workdir, command, capsys, monkeypatch):
    plant(workdir / "leadrouter.toml", "rules.toml", "my-rules.toml")
    code, said = said_by(workdir, command, capsys, monkeypatch)
    assert code == 2, said
    assert "my-rules.toml" in said and "[routing] rules" in said, said
    assert "[rules] section" not in said, said  # the config has no such section


def test_a_rules_option_naming_no_file_names_the_option(workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    code = main(["dry-run", "--rules", "proposed.toml", "--config", str(workdir / "leadrouter.toml")])
    said = capsys.readouterr().err
    assert code != 0 and "proposed.toml" in said and "--rules" in said, said
    assert "[rules] section" not in said, said


@pytest.mark.parametrize("command", [["report", "--out", "r.html"], ["status"], ["dry-run"], ["validate"]])
def test_a_config_file_that_is_not_there_is_said_before_anything_else(workdir, command, capsys, monkeypatch):
    """`--config leadrouter.tmol`: every command says the file is missing, none goes on
    without it (report said there was no state database yet)."""
    monkeypatch.chdir(workdir)
    try:
        code = main([*command, "--config", str(workdir / "leadrouter.tmol")])
    except SystemExit as e:
        code = e.code
    said = capsys.readouterr().err
    assert code == 2 and "leadrouter.tmol" in said and "no such config file" in said, said
    assert "state database" not in said, said


@pytest.mark.parametrize("command", COMMANDS)
def test_a_mappings_dir_that_is_not_there_names_the_key_that_points_at_it(workdir, command, capsys, monkeypatch):
    """Not 'check the path given to load_mappings / --mappings': no ops person calls a
    function, and no command takes --mappings."""
    plant(workdir / "leadrouter.toml", 'dir = "mappings"', 'dir = "mapping"')
    code, said = said_by(workdir, command, capsys, monkeypatch)
    assert code == 2, said
    assert "mapping" in said and "[mappings] dir" in said and "mappings/defaults" in said, said
    assert "load_mappings" not in said and "--mappings" not in said, said

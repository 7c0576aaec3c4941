"""Files ops hand the connector that are no TOML it can read — nested thousands deep, saved
in Latin-1, a directory where the file should be, a byte order mark from a Windows editor:
`validate` and `once` name the file and the fix and exit non-zero, never a traceback; a
byte order mark is forgiven. No org is needed: every case stops before login."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.ops.demo import DEFAULT_RULES, write_config

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings" / "defaults"
DEEP = "deep = " + "[" * 3000 + "]" * 3000 + "\n"


def _workdir(tmp_path: Path) -> Path:
    rules = tmp_path / "rules.toml"
    shutil.copy(DEFAULT_RULES, rules)
    shutil.copytree(MAPPINGS, tmp_path / "mappings")
    for name in ("ca.pem", "key.pem"):
        (tmp_path / name).write_text("not used offline\n")
    connection = {"login_url": "https://127.0.0.1:9", "api_version": "62.0", "ca_file": tmp_path / "ca.pem",
                  "client_id": "offline", "username": "integration@example.com",
                  "private_key_file": tmp_path / "key.pem"}
    config = write_config(tmp_path, connection, rules)
    config.write_text(config.read_text() + '\n[mappings]\ndir = "mappings"\n')
    return config


FILES = {"config": "leadrouter.toml", "rules": "rules.toml", "mapping": "mappings/lead.toml"}


def _break(path: Path, how: str) -> None:
    text = path.read_text(encoding="utf-8")
    if how == "deep":
        path.write_text(text + DEEP, encoding="utf-8")
    elif how == "latin1":
        path.write_bytes("# Zürich café\n".encode("latin-1") + text.encode("utf-8"))
    elif how == "directory":
        path.unlink()
        path.mkdir()
    elif how == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))


def _run(config: Path, *args: str, capsys) -> tuple[int, str]:
    try:
        code = main([*args, "--config", str(config)])
    except SystemExit as e:
        code = e.code
    except BaseException as crash:  # noqa: BLE001 - the point: a message, not a crash
        pytest.fail(f"`leadrouter {args[0]}` crashed: {type(crash).__name__}: {str(crash)[:300]}")
    out = capsys.readouterr()
    return code, out.out + out.err


WORDS = {"deep": "nest", "latin1": "UTF-8", "directory": "directory"}


# `once` reads the rules and mappings after login, which needs an org: here only the
# config file, read before anything else, is broken for it.
CASES = [(which, how, ("validate", "--offline")) for which in FILES for how in WORDS] + [
    ("config", how, ("once",)) for how in WORDS]


@pytest.mark.parametrize("which, how, command", CASES, ids=[f"{c[2][0]}-{c[0]}-{c[1]}" for c in CASES])
def test_an_unreadable_file_is_named_with_what_is_wrong(tmp_path, capsys, monkeypatch, which, how, command):
    monkeypatch.chdir(tmp_path)
    config = _workdir(tmp_path)
    _break(tmp_path / FILES[which], how)
    code, said = _run(config, *command, capsys=capsys)
    assert code not in (0, None), said[-1500:]
    assert "Traceback" not in said and "RecursionError" not in said, said[-1500:]
    assert Path(FILES[which]).name in said and WORDS[how].lower() in said.lower(), said[-1500:]


@pytest.mark.parametrize("which", FILES)
def test_a_byte_order_mark_from_a_windows_editor_is_forgiven(tmp_path, capsys, monkeypatch, which):
    monkeypatch.chdir(tmp_path)
    config = _workdir(tmp_path)
    _break(tmp_path / FILES[which], "bom")
    code, said = _run(config, "validate", "--offline", capsys=capsys)
    assert code == 0 and "0 error(s)" in said, said[-1500:]


@pytest.mark.parametrize("command", [("once",), ("status",), ("dry-run",), ("validate", "--offline")])
def test_a_key_written_with_escapes_is_named_on_one_line(tmp_path, capsys, monkeypatch, command):
    """A quoted TOML key may hold any character as an escape ("\\u001b[2J", "\\n"): the
    message naming it must not clear the terminal or add a line of its own."""
    monkeypatch.chdir(tmp_path)
    config = _workdir(tmp_path)
    config.write_text(config.read_text() + '\n["\\u001b[2Jrouting\\nFAKE: all fine"]\nrules = "x"\n', encoding="utf-8")
    code, said = _run(config, *command, capsys=capsys)
    assert code not in (0, None), said[-1500:]
    assert "unknown key" in said and "\\x1b[2Jrouting\\nFAKE: all fine" in said, said[-1500:]
    assert "\x1b" not in said and not any(line.startswith("FAKE") for line in said.splitlines()), said[-1500:]

"""Broken config, rule and mapping files through `leadrouter once --config …`.

What an admin sees: a non-zero exit, a message naming the file, the key or line and
the fix — and an org nobody wrote to. One sandbox org serves the whole corpus.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from .config_cases import CASES, CORPUS_RULES, SHIPPED_MAPPINGS, ConfigCase, line_of
from .harness import config_text

# one worker runs the whole module: its org is started once
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_config_corpus")]

WRITES = ("PATCH", "POST", "DELETE", "PUT")
# Values the broken files hold that must never be echoed back (secrets pasted by mistake).
NEVER_SHOWN = ("Sup3r-Secret-Value-42", "hunter2-Hunter2", "5Aep861-Refresh-Token-Value",
               "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Pasted", "AQ0AQPastedSessionToken")


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Any:
    import sandbox

    sb = sandbox.start(tmp_path_factory.mktemp("config-corpus") / "org", seed="demo", partners=10, leads=10,
                       autosave=None)
    yield sb
    sb.stop()


@pytest.fixture(autouse=True)
def _no_overrides_from_the_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("LEADROUTER_"):
            monkeypatch.delenv(name)


def _lay_out(case: ConfigCase, directory: Path, connection: dict[str, Any]) -> tuple[Path, dict[str, str]]:
    """Write the case's files; returns the config path and each broken file's text by name."""
    texts: dict[str, str] = {}
    rules = directory / "rules.toml"
    texts["rules"] = case.rules(CORPUS_RULES)
    rules.write_text(texts["rules"], encoding="utf-8")
    extra = ""
    if case.mappings:
        mdir = directory / "mappings"
        mdir.mkdir()
        for name, text in SHIPPED_MAPPINGS.items():
            texts[name] = case.mappings.get(name, lambda t: t)(text)
            (mdir / name).write_text(texts[name], encoding="utf-8")
        extra = '\n[mappings]\ndir = "mappings"\n'
    texts["config"] = case.config(config_text(connection, rules=rules, extra=extra))
    for name, text in case.files.items():
        (directory / name).write_text(text, encoding="utf-8")
    config = directory / "leadrouter.toml"
    if not case.no_config_file:
        config.write_text(texts["config"], encoding="utf-8")
    return config, texts


def _writes(sb) -> list[str]:
    return [f"{r.method} {r.path}" for r in sb.counters.requests() if r.method in WRITES and "oauth2" not in r.path]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_config_case(org, case: ConfigCase, tmp_path, capsys, monkeypatch):
    from jobs.cli import main

    monkeypatch.chdir(tmp_path)
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    config, texts = _lay_out(case, tmp_path, org.connection)
    org.counters.reset()
    try:
        code = main(["once", "--config", str(config)])
    except SystemExit as exit_:
        code = exit_.code
    except Exception as crash:  # noqa: BLE001 - the point: nothing may escape as a crash
        pytest.fail(f"`leadrouter once` crashed instead of explaining: {type(crash).__name__}: {crash}")
    out = capsys.readouterr()
    said = out.err + out.out
    tail = said[-2500:]  # enough to read the message, not a page of job logs
    assert code not in (0, None), f"a broken set-up must not exit 0:\n{tail}"
    assert "Traceback" not in said, f"a clear message, not a crash:\n{tail}"
    for word in case.words:
        assert word.lower() in said.lower(), f"the message must say {word!r}:\n{tail}"
    if case.line_needle:
        name = "leadrouter.toml" if case.broken_file == "config" else (
            "rules.toml" if case.broken_file == "rules" else case.broken_file)
        lines = [line_of(texts[case.broken_file], n) for n in (case.line_needle, *case.also_line_needles)]
        assert any(re.search(rf"{re.escape(name)}:{n}\b", said) for n in lines), (
            f"the message must point at {name}:{lines[0]}:\n{tail}")
    for secret in NEVER_SHOWN:
        assert secret not in said, "a secret pasted into a file is never echoed back"
    assert _writes(org) == [], "nothing is written to Salesforce when the set-up is broken"


def test_the_config_corpus_covers_config_rules_and_mappings():
    kinds = {c.broken_file if c.broken_file in ("config", "rules") else "mappings" for c in CASES}
    assert kinds == {"config", "rules", "mappings"}
    assert len({c.id for c in CASES}) == len(CASES)

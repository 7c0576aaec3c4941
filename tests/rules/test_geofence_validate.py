"""`leadrouter validate` checks drawn territories like every other part of the rule file."""
from __future__ import annotations

import json
import shutil

from jobs.cli import main
from jobs.ops.demo import DEFAULT_RULES, write_config


def _workdir(tmp_path):
    rules = tmp_path / "rules.toml"
    shutil.copy(DEFAULT_RULES, rules)
    for name in ("ca.pem", "key.pem"):
        (tmp_path / name).write_text("not used offline\n")
    connection = {"login_url": "https://127.0.0.1:9", "api_version": "62.0", "ca_file": tmp_path / "ca.pem",
                  "client_id": "offline", "username": "integration@example.com",
                  "private_key_file": tmp_path / "key.pem"}
    return write_config(tmp_path, connection, rules), rules


def _with_territory(rules, line):
    lines = rules.read_text().splitlines(keepends=True)
    at = next(i for i, text in enumerate(lines) if text.startswith("[territories]"))
    lines.insert(at + 1, line + "\n")
    rules.write_text("".join(lines))


def test_validate_names_a_self_crossing_polygon_with_file_key_and_fix(tmp_path, capsys):
    config, rules = _workdir(tmp_path)
    _with_territory(rules, "Bowtie = { polygon = [[0, 0], [2, 2], [2, 0], [0, 2]] }")
    assert main(["validate", "--config", str(config), "--offline", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    (finding,) = [f for f in out["findings"] if f["key"] == "territories.Bowtie"]
    assert finding["severity"] == "error" and finding["file"].endswith("rules.toml") and finding["line"]
    assert "Self-intersection" in finding["message"] and "must not cross itself" in finding["fix"]


def test_validate_accepts_a_good_polygon(tmp_path, capsys):
    config, rules = _workdir(tmp_path)
    _with_territory(rules, "Bay_Area = { polygon = [[-122.6, 37.2], [-121.7, 37.2], [-121.7, 38.0], [-122.6, 38.0]] }")
    main(["validate", "--config", str(config), "--offline", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert [f for f in out["findings"] if "territories" in f["key"]] == []

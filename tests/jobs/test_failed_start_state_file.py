"""A first `leadrouter once` whose configuration stops it before it reaches the org (a key
file that is not there, a login refused) made the state database file anyway, 0 bytes, and
warned that a new state was created. The next start, with the key fixed, took that file
for a state that had run: it said nothing of starting from nothing, which is the warning
that tells an operator a lost state apart from a first run. Now a start that stops before
the connector is built leaves no state file behind."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from jobs.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_a_start_stopped_by_its_config_leaves_no_state_file(tmp_path, capsys):
    config = tmp_path / "leadrouter.toml"
    shutil.copy(EXAMPLE, config)
    text = re.sub(r'(?m)^login_url = ".*"', 'login_url = "https://127.0.0.1:1"', config.read_text())
    config.write_text(text)
    try:
        code = main(["once", "--config", str(config)])
    except SystemExit as stopped:
        code = stopped.code
    said = capsys.readouterr().err
    assert code == 2, said
    assert "private_key_file" in said, said
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["leadrouter.toml"], left


def test_a_state_that_has_run_is_kept_whatever_stops_the_next_start(tmp_path, capsys):
    config = tmp_path / "leadrouter.toml"
    shutil.copy(EXAMPLE, config)
    config.write_text(re.sub(r'(?m)^login_url = ".*"', 'login_url = "https://127.0.0.1:1"', config.read_text()))
    state = tmp_path / "leadrouter.sqlite"
    from jobs.state import Store

    Store(f"sqlite:///{state}").dispose()  # a state an earlier run left
    size = state.stat().st_size
    try:
        main(["once", "--config", str(config)])
    except SystemExit:
        pass
    capsys.readouterr()
    assert state.exists() and state.stat().st_size == size

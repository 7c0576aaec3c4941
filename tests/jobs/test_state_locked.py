"""The SQLite state's write lock held by another process (a backup tool, an sqlite3 shell
left in a transaction): `once` says so, naming the file, the cause and the fix, instead
of "cannot take a fencing token … database is locked" with no word on what holds it or
whether anything was lost."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from jobs.state import Store

ROOT = Path(__file__).resolve().parents[2]


def test_once_on_a_state_another_process_holds_locked_names_the_cause_and_the_fix(tmp_path):
    db = tmp_path / "state.sqlite"
    Store(f"sqlite:///{db}").dispose()
    cfg = tmp_path / "leadrouter.toml"
    cfg.write_text(f"""
[salesforce]
login_url = "https://127.0.0.1:9"
[salesforce.auth]
method = "client_credentials"
client_id = "x"
client_secret_env = "LR_TEST_UNUSED_SECRET"
[state]
url = "sqlite:///{db}"
[routing]
rules = "{ROOT / 'rules' / 'defaults' / 'rules.toml'}"
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADROUTER_")}
    env.update(PYTHONPATH=str(ROOT), LR_TEST_UNUSED_SECRET="s")
    backup = sqlite3.connect(db, isolation_level=None)
    backup.execute("BEGIN IMMEDIATE")  # what a tool writing to the file holds
    try:
        done = subprocess.run([sys.executable, "-m", "jobs.cli", "once", "--config", str(cfg)], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)
    finally:
        backup.execute("ROLLBACK")
        backup.close()
    said = done.stdout + done.stderr
    assert done.returncode == 4 and "Traceback" not in said, said
    assert f"another process holds the write lock of the state database {db}" in said, said
    assert "nothing was lost" in said and "fix:" in said and ".backup" in said, said

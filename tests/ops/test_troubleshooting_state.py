"""The README's Troubleshooting row for a damaged state, done as written: "move it aside and
run `leadrouter state rebuild`". The rebuild starts from the new, empty file it is run for
without the `state_created` warning (whose advice is to run it), and brings the live offers back."""
from __future__ import annotations

import json
import os
import sqlite3

import pytest

from ..jobs.conftest import leadrouter
from ..reliability.test_state_loss import live_offers, once, routed_org

pytestmark = [pytest.mark.e2e]


def test_a_damaged_state_moved_aside_is_rebuilt_by_state_rebuild_as_the_readme_says(
        sandbox_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("LEADROUTER_LOG_LEVEL", "info")
    sb, cfg, db = routed_org(sandbox_factory, tmp_path, monkeypatch)
    before = live_offers(db)
    assert before
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(db, "r+b") as f:
        f.seek(0)
        f.write(os.urandom(4096))
    code, _, err = once(cfg)
    assert code == 4 and "move it aside and run `leadrouter state rebuild`" in err, err[-2000:]

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{db}{suffix}"):
            os.replace(f"{db}{suffix}", f"{db}{suffix}.damaged")
    proc = leadrouter(cfg, "state", "rebuild")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    assert out.startswith("rebuilt from the org: "), out
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    created = [x for x in lines if x["event"] == "state_created"]
    assert created and all(x["level"] == "info" for x in created), created
    assert "warning" not in {x["level"] for x in lines}, err[-3000:]
    after = live_offers(db)
    assert set(after) == set(before)
    code, _, err = once(cfg)
    assert code == 0 and "Traceback" not in err, err[-3000:]

"""A start against an org that does not track the Lead fields a lost state is rebuilt from
(LeadHistory: Owner, Partner Account…) says so once, as `validate` does, naming the fields
and the fix; the next start of the day does not say it again."""
from __future__ import annotations

import json

import pytest

from .conftest import SECRET_ENV, leadrouter
from .test_crash_e2e import write_config

pytestmark = pytest.mark.e2e


def warnings_of(cfg, *args) -> list[dict]:
    proc = leadrouter(cfg, "once", *args)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    said = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    return [x for x in said if x.get("event") == "history_not_tracked"]


def test_once_warns_once_when_the_org_does_not_track_owner_history(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(seed="demo", partners=5, leads=5, random_seed=3, history_untracked=("OwnerId",))
    monkeypatch.setenv(SECRET_ENV, sb.connection["client_secret"])
    cfg = write_config(tmp_path, sb)
    [warning] = warnings_of(cfg, "--init")
    assert warning["level"] == "warning" and warning["fields"] == "OwnerId"
    assert "assignment rule" in warning["problem"]
    assert "Set History Tracking" in warning["fix"] and "OwnerId" in warning["fix"]
    assert warnings_of(cfg) == []  # the start's checks passed today: not said again

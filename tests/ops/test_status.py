"""`leadrouter status` tells an operator where things stand, from the state database."""
from __future__ import annotations

import json
import time

from jobs.cli import main


def test_status_after_a_run_shows_offers_the_oldest_open_one_api_usage_and_jobs(workdir, capsys):
    config = str(workdir / "leadrouter.toml")
    time.sleep(1.1)  # SOQL reads whole seconds: let the seeding's second end before the run
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    assert main(["status", "--config", config, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["offers"].get("live", 0) > 0
    oldest = status["oldest_open_offer"]
    assert oldest and oldest["lead_id"].startswith("00Q") and oldest["offered_at"]
    (budget,) = status["api_budget"]
    assert budget["org_max"] > 0 and 0 < budget["org_used"] <= budget["org_max"]
    assert budget["spent_24h"] > 0 and budget["holding_back"] is False
    assert {j["job"] for j in status["jobs"]} >= {"sync_partners", "leads", "outbox"}
    assert "leads" in status["watermarks"]
    assert main(["status", "--config", config]) == 0
    text = capsys.readouterr().out
    assert "oldest open offer: lead 00Q" in text and "API usage" in text

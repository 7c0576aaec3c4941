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


def test_status_says_which_api_figure_is_the_orgs_and_which_this_connectors_own(workdir, capsys):
    """Two 'API usage' lines, one per instance, each 'org X of Y; ours Z of A': nothing said
    the org's figure is every app's and user's use as Salesforce counts it (the same org seen
    twice), nor that "ours" is this connector's own calls (now: over 24 hours, by instance)."""
    from datetime import datetime, timezone

    from jobs.config import load
    from jobs.state import Store
    from jobs.state import store as st

    config = str(workdir / "leadrouter.toml")
    time.sleep(1.1)
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    store = Store(load(config).state_url())
    with store.begin() as conn:  # a `run` on another host, as its job runs leave it
        st.put_api_budget(conn, "host-b:4242:abc123", {"org_used": 900, "org_max": 15000, "spent_24h": 321,
                                                       "allowance_24h": 7500, "share": 0.5, "holding_back": False},
                          datetime(2020, 1, 1, tzinfo=timezone.utc))
    store.dispose()
    assert main(["status", "--config", config]) == 0
    text = capsys.readouterr().out
    lines = [ln for ln in text.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("API usage"))
    block = " ".join(ln.strip() for ln in lines[start:start + 8])
    assert text.count("API usage") == 1, text
    assert "the whole org" in block and "as Salesforce reports it" in block, block
    assert "this connector's own calls" in block and "host-b:4242:abc123 321" in block and "local " in block, block
    assert "900 of 15,000" not in block, "the org's figure is the newest one seen, not one per instance"

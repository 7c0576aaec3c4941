"""A start whose full check runs (the first start, or the first of the day: jobs/preflight.py)
while the rules file names queues the org lacks. Before, `leadrouter once` refused to start
(exit 2, "unknown queue"), while a connector already running routed past the same missing
queues: a pool rule passes its leads on, a fallback escalates, an escalation is held. So a
cron `once` stopped routing every lead at the day's first start, and started again at none.
Now the start routes with the running connector's outcomes and names each missing queue
in a warning with the fix; `leadrouter validate` still calls it an error, and `leadrouter
status` names it."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from jobs.cli import main
from tests.jobs.kestrel_org import kestrel_fixture

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)

POOL, ESCALATIONS = "Partner_Pool_JP", "Channel_Escalations"


def _json_of(args: list[str]) -> tuple[int, dict]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(args)
    return code, json.loads(buf.getvalue())


def test_a_start_routes_past_queues_the_org_lacks_as_a_running_connector_does(kestrel, capfd):
    k = kestrel
    k.once(init=True)  # these rules pass the full check: their queues are in the org
    k.org.delete("Group", k.queues[POOL], as_user=k.admin)
    k.org.delete("Group", k.queues[ESCALATIONS], as_user=k.admin)
    japan = k.new_lead("Osaka Optics", "JP")
    anz = k.new_lead("Bondi Surf Supplies", "AU", State="NSW")
    capfd.readouterr()
    k.once(hours=25)  # the next day's first start runs the full check: exit 0 (before, 2)
    logged = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]

    assert k.view(anz)["Routing_Status__c"] == "Offered", "every other lead routes"
    held = k.view(japan)
    # the pool rule passed it on (its otherwise: escalate), and the escalation is held
    assert held["Routing_Status__c"] == "Unroutable", held
    assert held["Routing_Reason__c"].startswith(f"Escalation held: queue {ESCALATIONS} is not in the org"), held
    assert f"pool {POOL} is not in the org" in held["Routing_Reason__c"], held

    said = {e["queue"]: e for e in logged if e.get("event") == "queue_missing"}
    assert set(said) == {POOL, ESCALATIONS}, [e.get("event") for e in logged]
    assert all(e["level"] == "warning" for e in said.values())
    assert "passes" in said[POOL]["problem"] and "Setup > Queues" in said[POOL]["fix"], said[POOL]
    assert "held" in said[ESCALATIONS]["problem"] and "escalation_queue" in said[ESCALATIONS]["fix"], said[ESCALATIONS]
    assert "rules.toml" in said[POOL]["where"], said[POOL]

    # status names the missing queues and the held lead
    code, report = _json_of(["status", "--config", str(k.config), "--json"])
    assert code == 0
    assert report["held_escalations"]["leads"] == 1 and report["held_escalations"]["queue"] == ESCALATIONS
    assert sorted(q["queue"] for q in report["queues_missing"]) == [ESCALATIONS, POOL], report["queues_missing"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["status", "--config", str(k.config)]) == 0
    text = " ".join(buf.getvalue().split())
    assert f"{POOL} not in the org" in text and f"{ESCALATIONS} not in the org" in text, text
    assert "1 lead held" in text, text

    # validate is where ops are stopped: an error, with the fix
    code, findings = _json_of(["validate", "--config", str(k.config), "--json"])
    assert code == 1
    errors = [f for f in (findings["findings"] if isinstance(findings, dict) else findings)
              if f["severity"] == "error"]
    assert any(POOL in f["message"] for f in errors), errors


def test_a_first_start_whose_rules_name_a_queue_the_org_lacks_is_refused_before_any_write(kestrel, capfd):
    """Rules that never passed the check (a first start, a file just edited): a queue the org
    lacks is a mistake in them (a typo, a queue not created yet), not one an admin deleted."""

    k = kestrel
    rules = k.config.parent / "rules.toml"
    rules.write_text(rules.read_text().replace(f'"{ESCALATIONS}"', '"Escalations_Typo"'))
    lead = k.new_lead("Osaka Optics", "JP")
    capfd.readouterr()
    try:
        code = main(["once", "--config", str(k.config), "--init"])
    except SystemExit as stopped:
        code = stopped.code
    said = capfd.readouterr().err
    assert code == 2, said
    assert "Escalations_Typo" in said and ESCALATIONS in said, said
    assert k.view(lead)["Routing_Status__c"] in (None, "New"), k.view(lead)

"""The ops tools read by people: status at 80 columns with the leader named, explain that
starts with where the lead stands, validate on the real state, undo of a run."""
from __future__ import annotations

import json
import time

import pytest

from jobs.cli import main


@pytest.fixture
def seeded_org(tmp_path_factory):
    """A seeded org per test, not per module as for the tools that only read it: these
    tests run `once`, which routes the org's leads, and a later test's `once` on a fresh
    state then finds nothing to decide (under xdist which tests share a worker, and so
    an org, varies from run to run)."""
    import sandbox

    sb = sandbox.start(tmp_path_factory.mktemp("org"), seed="demo", partners=40, leads=300, random_seed=7,
                       autosave=None)
    yield sb
    sb.stop()


def _once(workdir, capsys) -> str:
    config = str(workdir / "leadrouter.toml")
    time.sleep(1.1)  # SOQL reads whole seconds: let the seeding's second end before the run
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    return config


def test_status_fits_80_columns_in_words_and_names_who_holds_the_leader_lock(workdir, capsys):
    from jobs.config import load
    from jobs.leader import lock_for

    config = _once(workdir, capsys)
    lock = lock_for(load(workdir / "leadrouter.toml").state_url())
    assert lock.try_acquire()  # as `run` would hold it
    try:
        assert main(["status", "--config", config]) == 0
        text = capsys.readouterr().out
        assert main(["status", "--config", config, "--json"]) == 0
        machine = json.loads(capsys.readouterr().out)
    finally:
        lock.release()
    lines = text.splitlines()
    assert max(len(x) for x in lines) <= 80, [x for x in lines if len(x) > 80]
    assert "{" not in text and "}" not in text, "no Python dicts for people"
    leader = next(x for x in lines if x.startswith("Leader"))
    assert "nobody" not in leader and "held by" in leader
    assert machine["leader"]["held"] is True
    assert any(x.startswith("Outbox") and "confirmed" in x for x in lines)
    assert main(["status", "--config", config]) == 0
    free = capsys.readouterr().out
    assert "nobody holds the lock" in next(x for x in free.splitlines() if x.startswith("Leader"))


def _new_leads(sb) -> tuple[str, str]:
    """A lead where partners work, and one from a country that does not exist."""
    with sb.org.lock:
        some = next(r for r in sb.org.records("Lead") if r.get("Country") == "United States" or r.get("Country") == "US")
    base = {k: some.get(k) for k in ("Country", "State", "PostalCode", "City", "LeadSource", "Industry")}
    good = sb.org.create("Lead", {**base, "LastName": "Okafor", "Company": "Explain Me Ltd"})
    bad = sb.org.create("Lead", {**base, "Country": "Atlantis", "LastName": "Nemo", "Company": "Sunken Co"})
    return good, bad


def test_explain_starts_with_where_the_lead_stands_then_its_history_then_a_what_if(workdir, seeded_org, capsys):
    good, bad = _new_leads(seeded_org)
    config = _once(workdir, capsys)
    lead = seeded_org.org.get("Lead", good)
    assert main(["explain", good, "--config", config]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].startswith(f"Lead {good}: Explain Me Ltd — Okafor")
    assert lines[1].startswith(f"  Now:      {lead['Routing_Status__c']};")
    assert text.index("History, oldest first (times UTC):") < text.index("If routed now")
    assert "{" not in text and "}" not in text, "no raw dicts"
    if lead.get("PartnerAccountId"):
        partner = seeded_org.org.get("Account", lead["PartnerAccountId"])["Name"]
        assert f"partner {partner}" in lines[1] and f"offered to {partner}" in text
        assert lead["PartnerAccountId"] not in text, "partners by name, not id"
    funnel = [x for x in lines if x.strip().startswith("by criterion:")]
    assert funnel and "admitted by the rule's partner conditions" in funnel[0]
    assert main(["explain", bad, "--config", config]) == 0
    text = capsys.readouterr().out
    assert '  Problem:  Country: "Atlantis" is not a recognised country' in text
    assert 'Reason:   Country: "Atlantis" is not a recognised country' in text


def test_validate_routes_with_the_live_state_so_no_rule_dry_run_uses_is_called_dead(workdir, seeded_org, capsys):
    config = _once(workdir, capsys)  # a live state: rotations, open offers and caps in use
    with seeded_org.org.lock:
        samples = [r for r in seeded_org.org.records("Lead") if r.get("Routing_Status__c")][:40]
    keep = ("Country", "State", "PostalCode", "City", "LeadSource", "Industry", "Rating", "Deal_Amount__c",
            "Products__c", "NumberOfEmployees", "Latitude", "Longitude")
    for i, r in enumerate(samples):
        seeded_org.org.create("Lead", {**{k: r.get(k) for k in keep}, "LastName": f"Again {i}", "Company": f"Again {i} Ltd"})
    assert main(["dry-run", "--config", config, "--format", "json"]) == 0
    used = {r["rule"] for r in json.loads(capsys.readouterr().out) if r["rule"]}
    assert used, "dry-run routed the new leads through some rules"
    main(["validate", "--config", config, "--json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    dead = [f["key"] for f in findings if "matched none" in f["message"]]
    assert not [k for k in dead if k[len("rule '"):-1] in used], (dead, used)
    assert all(f.get("line", 1) is not None for f in findings), "a line, or none at all"
    assert all(f["line"] > 0 for f in findings if "matched none" in f["message"])


def test_the_readmes_demo_with_a_relative_data_folder_runs(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "demo", "--partners", "10", "--leads", "40", "--days", "0.2",
         "--json", "--report", "demo.html", "--data", "./demo-org"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**__import__("os").environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "demo-org/demo-org" not in done.stdout + done.stderr
    assert (tmp_path / "demo-org" / "rules.toml").exists() and (tmp_path / "demo-org" / "org").is_dir()
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["leads"] == 40 and "lapsed" in summary and "expired" not in summary


def _last_run(workdir, job: str) -> str:
    from sqlalchemy import select

    from jobs.config import load
    from jobs.state import Store
    from jobs.state.schema import job_runs

    store = Store(load(workdir / "leadrouter.toml").state_url())
    try:
        with store.connect() as conn:
            return conn.execute(select(job_runs.c.run_id).where(job_runs.c.job == job)
                                .order_by(job_runs.c.id.desc())).first()[0]
    finally:
        store.dispose()


def test_undo_puts_back_what_a_run_set_except_where_a_person_has_worked_since(workdir, seeded_org, capsys):
    fields = ("OwnerId", "PartnerAccountId", "Routing_Status__c")
    with seeded_org.org.lock:
        some = next(r for r in seeded_org.org.records("Lead") if r.get("Country") and r.get("State"))
    base = {k: some.get(k) for k in ("Country", "State", "PostalCode", "City", "LeadSource", "Industry")}
    new = [seeded_org.org.create("Lead", {**base, "LastName": f"Undo {i}", "Company": f"Undo {i} Ltd"}) for i in range(4)]
    before = {i: {f: seeded_org.org.get("Lead", i).get(f) for f in fields} for i in new}
    config = _once(workdir, capsys)
    run_id = _last_run(workdir, "leads")
    routed = {i: {f: seeded_org.org.get("Lead", i).get(f) for f in fields} for i in new}
    assert all(routed[i] != before[i] for i in new), "the run decided every new lead"
    touched = new[0]
    seeded_org.org.update("Lead", touched, {"Status": "Working - Contacted"})  # a person works the lead

    assert main(["undo", "--run", run_id, "--config", config]) == 0
    text = capsys.readouterr().out
    assert "Dry run: nothing was written" in text
    assert {i: {f: seeded_org.org.get("Lead", i).get(f) for f in fields} for i in new} == routed
    assert f"{touched}" in text.split("Left alone:")[1]

    assert main(["undo", "--run", run_id, "--config", config, "--apply", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by_id = {x["lead_id"]: x for x in out["leads"]}
    assert by_id[touched]["skipped"] and not by_id[touched]["written"]
    for i in new[1:]:
        assert by_id[i]["written"], by_id[i]
        assert {f: seeded_org.org.get("Lead", i).get(f) for f in fields} == before[i]
    assert {f: seeded_org.org.get("Lead", touched).get(f) for f in fields} == routed[touched]


def test_undo_of_an_unknown_run_lists_the_runs_that_decided_leads(workdir, seeded_org, capsys):
    config = _once(workdir, capsys)
    assert main(["undo", "--run", "r000000000", "--config", config]) == 2
    err = capsys.readouterr().err
    assert "no run 'r000000000'" in err and _last_run(workdir, "leads") in err

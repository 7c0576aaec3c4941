"""After `leadrouter undo --apply` puts leads back, `once` leaves them alone (a person sets
Pending to route one again): dry-run and explain say so, not the offer they would get.
And the undo listing names the owners it would put back, as explain names them."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest

from jobs.cli import main


@pytest.fixture
def seeded_org(tmp_path_factory):
    """An org of its own: the test runs `once`, which routes the org's leads."""
    import sandbox

    sb = sandbox.start(tmp_path_factory.mktemp("org"), seed="demo", partners=40, leads=300, random_seed=7,
                       autosave=None)
    yield sb
    sb.stop()


def _last_leads_run(workdir) -> str:
    from sqlalchemy import select

    from jobs.config import load
    from jobs.state import Store
    from jobs.state.schema import job_runs

    store = Store(load(workdir / "leadrouter.toml").state_url())
    try:
        with store.connect() as conn:
            return conn.execute(select(job_runs.c.run_id).where(job_runs.c.job == "leads")
                                .order_by(job_runs.c.id.desc())).first()[0]
    finally:
        store.dispose()


def _routed_then_put_back(workdir, seeded_org, capsys) -> tuple[str, str, list[str]]:
    with seeded_org.org.lock:
        some = next(r for r in seeded_org.org.records("Lead") if r.get("Country") and r.get("State"))
    base = {k: some.get(k) for k in ("Country", "State", "PostalCode", "City", "LeadSource", "Industry")}
    new = [seeded_org.org.create("Lead", {**base, "LastName": f"Undo {i}", "Company": f"Undo {i} Ltd"}) for i in range(3)]
    config = str(workdir / "leadrouter.toml")
    time.sleep(1.1)  # SOQL reads whole seconds: let the seeding's second end before the run
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    run_id = _last_leads_run(workdir)
    assert main(["undo", "--run", run_id, "--config", config]) == 0
    listing = capsys.readouterr().out
    assert main(["undo", "--run", run_id, "--config", config, "--apply", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert all(x["written"] for x in out["leads"] if x["lead_id"] in new)
    return config, listing, new


def test_dry_run_and_explain_leave_alone_the_leads_undo_put_back_as_once_does(workdir, seeded_org, capsys):
    config, _, put_back = _routed_then_put_back(workdir, seeded_org, capsys)

    assert main(["dry-run", "--config", config, "--format", "json"]) == 0
    rows = {r["lead_id"]: r for r in json.loads(capsys.readouterr().out)}
    for lead_id in put_back:
        row = rows[lead_id]
        assert row["outcome"] == "left alone", row
        assert "Put back by leadrouter undo --run" in row["reason"]
        assert "set Routing Status to Pending" in row["reason"]

    assert main(["explain", put_back[0], "--config", config]) == 0
    text = capsys.readouterr().out
    left = next(line for line in text.splitlines() if line.startswith("Left alone:"))
    assert "Put back by leadrouter undo --run" in left and "set Routing Status to Pending" in left

    # what they say is what `once` does: it routes none of them
    before = {i: seeded_org.org.get("Lead", i).get("OwnerId") for i in put_back}
    assert main(["once", "--config", config]) == 0
    assert {i: seeded_org.org.get("Lead", i).get("OwnerId") for i in put_back} == before


def test_the_undo_listing_names_the_owners_it_would_put_back(workdir, seeded_org, capsys):
    _, listing, put_back = _routed_then_put_back(workdir, seeded_org, capsys)
    lines = [line for line in listing.split("Left alone:")[0].splitlines() if any(i in line for i in put_back)]
    assert len(lines) == len(put_back)
    for line in lines:
        owner = line.split("OwnerId", 1)[1].split(";")[0]
        # a queue by its label, a user by their name: no raw ids (00G…, 005…)
        assert not re.search(r"\b00[5G][A-Za-z0-9]{12,15}\b", owner), line


def test_the_undo_listing_names_the_person_whose_change_keeps_a_lead(workdir, seeded_org, capsys):
    """A lead a person changed since the run is left as they left it; the listing says who,
    by name (not a 005… id to look up)."""
    config = str(workdir / "leadrouter.toml")
    with seeded_org.org.lock:
        some = next(r for r in seeded_org.org.records("Lead") if r.get("Country") and r.get("State"))
    base = {k: some.get(k) for k in ("Country", "State", "PostalCode", "City", "LeadSource", "Industry")}
    lead = seeded_org.org.create("Lead", {**base, "LastName": "Kept", "Company": "Kept by a person Ltd"})
    time.sleep(1.1)  # SOQL reads whole seconds: let the seeding's second end before the run
    assert main(["once", "--config", config]) == 0
    run_id = _last_leads_run(workdir)
    admin = seeded_org.org.admin_user_id
    seeded_org.clock.advance(timedelta(seconds=2))  # the person's edit comes after the run
    seeded_org.org.update("Lead", lead, {"Rating": "Hot"}, as_user=admin)
    capsys.readouterr()
    assert main(["undo", "--run", run_id, "--config", config]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if lead[:15] in line]
    name = seeded_org.org.get("User", admin)["Name"]
    assert "by " + name in line and admin[:15] not in line, line

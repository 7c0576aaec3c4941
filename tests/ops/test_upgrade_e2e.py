"""Upgrading, as an ops person does it: an org that still has the package an earlier
release shipped (no Routing_Status__c values Fallback and Released, which this release
writes; no Rejection_Reason_Code__c, Lead_Quality_Rating__c, feedback fields or
LeadRouter_Lease__c), a state database an earlier release wrote. Through `leadrouter`
(validate, once) against the sandbox org over HTTPS."""
from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from jobs.cli import main
from jobs.ops.demo import write_config
from jobs.state.migrations import MIGRATIONS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NEW_VALUES = ("Fallback", "Released")  # Routing_Status__c values added to salesforce/ on 2026-12-05
DEPLOY = "sf project deploy start --source-dir salesforce/force-app"  # as salesforce/README.md says it


def older_package(sb) -> None:
    """The org as salesforce/ of 2026-11-23 left it: Routing_Status__c without the values
    added since (its own schema: the default one is shared by every org of the process)."""
    with sb.org.lock:
        schema = copy.deepcopy(sb.org.schema)
        lead = schema.object("Lead")
        status = lead.fields["Routing_Status__c"]
        status.picklist_values = [v for v in status.picklist_values if v not in NEW_VALUES]
        lead._reindex()
        sb.org.schema = schema


def config_for(sb, tmp_path: Path) -> Path:
    """The ops person's own copies of the rule file and mappings, as the README sets them up."""
    mine = tmp_path / "mine"
    (mine / "mappings").mkdir(parents=True)
    (mine / "rules.toml").write_text((ROOT / "rules/defaults/rules.toml").read_text())
    for f in (ROOT / "mappings/defaults").glob("*.toml"):
        (mine / "mappings" / f.name).write_text(f.read_text())
    cfg = write_config(mine, sb.connection, mine / "rules.toml")
    cfg.write_text(cfg.read_text().replace('url = "sqlite:///leadrouter.sqlite"',
                                           f'url = "sqlite:///{mine}/state.sqlite"')
                   + f'\n[mappings]\ndir = "{mine / "mappings"}"\n')
    return cfg


def leadrouter(*args: str) -> int:
    """The exit code `leadrouter ARGS` ends with."""
    try:
        return main(list(args))
    except SystemExit as e:
        return int(e.code or 0)


def leads(sb) -> dict[str, dict]:
    return {r["Id"]: dict(r) for r in sb.org.records("Lead")}


def said_of_the_missing_values(out: str) -> None:
    for value in NEW_VALUES:
        line = next((ln for ln in out.splitlines() if f"no picklist value '{value}'" in ln), None)
        assert line is not None, out
    assert DEPLOY in out, out


def test_an_org_with_the_older_package_is_named_with_the_deploy_command_before_any_lead_is_written(
        sandbox_factory, tmp_path, capsys):
    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    older_package(sb)
    cfg = config_for(sb, tmp_path)
    before = leads(sb)

    capsys.readouterr()
    assert leadrouter("validate", "--config", str(cfg)) == 1
    said_of_the_missing_values(capsys.readouterr().out)

    assert leadrouter("once", "--init", "--config", str(cfg)) == 2
    said_of_the_missing_values(capsys.readouterr().err)
    assert leads(sb) == before, "nothing written to any Lead"


def _key_as_releases_until_2026_12_07_made_it(cfg: Path, sb) -> str:
    """The preflight pass's key as every release up to 2026-12-07 computed it: the org, the
    mapping and rule files and the write-back fields; nothing of the release itself."""
    from mappings import load_mappings

    mine = cfg.parent
    ms = load_mappings(mine / "mappings")
    c = sb.connection
    h = hashlib.sha1(f"{c['instance_url']}|{c['login_url']}|{c['api_version']}".encode())
    files = sorted({ms.file(kind) for kind in ("lead", "partner", "rep", "pool", "pool_member", "dealreg")}
                   | {str(mine / "rules.toml")})
    for name in files:
        h.update(name.encode())
        h.update(Path(name).read_bytes())
    h.update(repr(sorted(ms.writeback_fields().items())).encode())
    return h.hexdigest()


def test_a_pass_an_earlier_release_remembered_does_not_stand_for_this_one(sandbox_factory, tmp_path, capsys):
    """An earlier release run by cron each minute checked the same files against this org an
    hour ago and passed: it wrote no Fallback or Released. This release writes them, so its
    start checks again, and stops before any Lead is written."""
    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    older_package(sb)
    cfg = config_for(sb, tmp_path)
    state = cfg.parent / "state.sqlite"
    engine = create_engine(f"sqlite:///{state}")
    with engine.begin() as conn:  # the state as the earlier release left it (schema of the time)
        for m in MIGRATIONS:
            m.apply(conn, datetime(2026, 12, 6))
            conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (:v, :n, :at)"),
                         {"v": m.version, "n": m.name, "at": datetime(2026, 12, 6)})
        passed = sb.clock.now().replace(tzinfo=None)
        conn.execute(text("INSERT INTO watermarks (name, value, updated_at) VALUES (:n, :v, :v)"),
                     {"n": f"preflight:{_key_as_releases_until_2026_12_07_made_it(cfg, sb)}"[:64], "v": passed})
    engine.dispose()
    before = leads(sb)

    capsys.readouterr()
    code = leadrouter("once", "--config", str(cfg))
    err = capsys.readouterr().err
    assert code == 2, err
    said_of_the_missing_values(err)
    assert leads(sb) == before, "nothing written to any Lead"


def earlier_state(path: Path | str, version: int) -> None:
    """A state database (a SQLite file, or a database URL) as a release of schema `version`
    left it (made by the frozen steps, stamped as that release stamped it), with a watermark."""
    engine = create_engine(path if isinstance(path, str) else f"sqlite:///{path}")
    with engine.begin() as conn:
        for m in MIGRATIONS:
            if m.version <= version:
                m.apply(conn, datetime(2026, 11, 23))
                conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (:v, :n, :at)"),
                             {"v": m.version, "n": m.name, "at": datetime(2026, 11, 23)})
        conn.execute(text("INSERT INTO watermarks (name, value, updated_at) VALUES ('leads', :at, :at)"),
                     {"at": datetime(2026, 11, 23, 18)})
    engine.dispose()


def state_of(path: Path) -> tuple[int, list[str]]:
    """(schema version, the tables and indexes) of a state file, read without leadrouter. The
    leader lock's one-row token table is left out: every start takes the lock before anything
    else and makes the table if missing (CREATE TABLE IF NOT EXISTS, as releases since
    2026-12-05 do); releases before it never look at it."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        version = conn.execute(text("SELECT max(version) FROM schema_version")).scalar_one()
        objects = conn.execute(text("SELECT type || ' ' || name FROM sqlite_master "
                                    "WHERE name != 'leader_token' ORDER BY 1")).scalars().all()
    engine.dispose()
    return version, list(objects)


def test_validate_of_a_new_release_leaves_the_running_releases_state_as_it_was(sandbox_factory, tmp_path, capsys,
                                                                              monkeypatch):
    """Before switching, the ops person runs the new release's `validate` against the live
    config while the earlier release still runs from cron on that state: validate checks, it
    does not migrate the state under the running release (which would then refuse it)."""
    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    cfg = config_for(sb, tmp_path)
    state = cfg.parent / "state.sqlite"
    earlier_state(state, 2)
    before = state_of(state)

    capsys.readouterr()
    code = leadrouter("validate", "--config", str(cfg))
    out = capsys.readouterr().out
    assert code == 0, out
    assert state_of(state) == before, "validate changed the state"
    assert "schema version 2" in out and "once" in out, out  # said: the first start of this version migrates it
    assert leadrouter("status", "--config", str(cfg)) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "(schema v2, written by an earlier leadrouter" in said and "migrates it" in said, said
    assert state_of(state) == before, "status changed the state"
    # explain's history is in that state: said as the earlier release's, not as no state at all
    assert leadrouter("explain", next(iter(leads(sb))), "--config", str(cfg)) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "no state database found" not in said and "schema version 2" in said and "migrates it" in said, said
    assert state_of(state) == before, "explain changed the state"

    monkeypatch.setenv("LEADROUTER_LOG_LEVEL", "info")
    assert leadrouter("once", "--config", str(cfg)) == 0
    assert state_of(state)[0] == MIGRATIONS[-1].version
    migrated = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"state_migrated"' in line]
    assert [(e["from_version"], e["to_version"]) for e in migrated] == [(2, MIGRATIONS[-1].version)]


def test_a_start_refused_for_the_org_leaves_an_earlier_releases_state_for_it_to_run_on(
        sandbox_factory, tmp_path, capsys):
    """Connector upgraded before the package (the wrong order): the start stops naming the
    deploy, and the state is still the earlier release's, so going back to it works until
    the package is deployed."""
    from sandbox.schema import load_schema

    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    older_package(sb)
    cfg = config_for(sb, tmp_path)
    state = cfg.parent / "state.sqlite"
    earlier_state(state, 3)
    before = state_of(state)

    capsys.readouterr()
    assert leadrouter("once", "--config", str(cfg)) == 2
    said_of_the_missing_values(capsys.readouterr().err)
    assert state_of(state) == before, "a refused start migrated the state"

    with sb.org.lock:  # the package deployed
        sb.org.schema = load_schema()
    assert leadrouter("once", "--config", str(cfg)) == 0
    assert state_of(state)[0] == MIGRATIONS[-1].version


def test_validate_after_a_rollback_names_the_state_a_newer_release_wrote(sandbox_factory, tmp_path, capsys):
    """The program rolled back, its state not: once stops (exit 4) and so must validate's
    verdict, in once's words, rather than 'ready to run'."""
    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    cfg = config_for(sb, tmp_path)
    state = cfg.parent / "state.sqlite"
    earlier_state(state, MIGRATIONS[-1].version)
    engine = create_engine(f"sqlite:///{state}")
    with engine.begin() as conn:  # the next release's first migration
        conn.execute(text("INSERT INTO schema_version (version, name, applied_at) VALUES (:v, 'next', :at)"),
                     {"v": MIGRATIONS[-1].version + 1, "at": datetime(2027, 1, 4)})
    engine.dispose()
    before = state_of(state)
    newer = f"is at schema version {MIGRATIONS[-1].version + 1}, written by a newer leadrouter"

    capsys.readouterr()
    assert leadrouter("once", "--config", str(cfg)) == 4
    assert newer in capsys.readouterr().err
    for args in (("validate",), ("validate", "--offline")):
        code = leadrouter(*args, "--config", str(cfg))
        out = capsys.readouterr().out
        assert code == 1 and newer in out and "restore the state's backup" in out, out
    assert state_of(state) == before


EARLIEST = Path(__file__).parent / "upgrade"  # config.example.toml, rules and mappings as 2026-11-23's release shipped them


def test_the_files_of_the_earliest_release_load_unchanged(tmp_path, capsys):
    """An ops person's files from the first release (copied as shipped, with their mapping
    folder named) are read by this one key for key: nothing refused, nothing left unread."""
    mine = tmp_path / "mine"
    (mine / "mappings").mkdir(parents=True)
    for f in [*EARLIEST.glob("*.toml"), *EARLIEST.glob("mappings/*.toml")]:
        (mine / f.relative_to(EARLIEST)).write_text(f.read_text())
    cfg = mine / "leadrouter.toml"
    assert '# dir = "mappings"' in cfg.read_text()
    cfg.write_text(cfg.read_text().replace('# dir = "mappings"', 'dir = "mappings"'))

    capsys.readouterr()
    code = leadrouter("validate", "--offline", "--config", str(cfg), "--json")
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 0, found
    # the earliest config sets mode = "none" on purpose (a Flow tells partners): noted, not a problem
    said = [f for f in found if f["key"] not in ("state.url", "notifications.portal_url", "notifications.mode")]
    assert said == [], said


def test_the_upgrade_section_puts_the_package_before_the_connector_and_a_backup_before_the_migration():
    """What the messages of an upgrade point at (docs/DEPLOY.md, Upgrading) is there, in
    the order that works: package, validate, stop and back up, start."""
    from jobs.ops.context import earlier_state

    assert "docs/DEPLOY.md, Upgrading" in earlier_state("sqlite:///x.sqlite", 2)
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    section = text.split("\n## Upgrading\n", 1)[1].split("\n## ", 1)[0]
    steps = [section.index(s) for s in ("sf project deploy start --source-dir salesforce/force-app",
                                        "leadrouter validate --config", ".backup", "Start the new connector")]
    assert steps == sorted(steps), steps
    for default in ('offer_alert = "email"', 'reminder_tasks = "all"', 'mode = "auto"'):
        assert default in section and default in (ROOT / "config.example.toml").read_text(), default


@pytest.mark.postgres
def test_validate_with_an_org_name_leaves_an_earlier_single_org_postgresql_state_where_it_is(
        sandbox_factory, tmp_path, capsys):
    """The new release configured with [org] name over the earlier release's single-org
    state (default schema, version 3): validate neither migrates it nor moves it into the
    org's schema under the earlier release; the first start does both."""
    from tests.jobs.pg import temp_database

    def where(url: str) -> dict[str, object]:
        engine = create_engine(url)
        with engine.connect() as conn:
            found = {schema: conn.execute(text("SELECT max(version) FROM %s.schema_version" % schema)).scalar()
                     for schema in conn.execute(text("SELECT table_schema FROM information_schema.tables "
                                                     "WHERE table_name = 'schema_version'")).scalars()}
        engine.dispose()
        return found

    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    with temp_database() as url:
        earlier_state(url, 3)
        cfg = config_for(sb, tmp_path)
        cfg.write_text(cfg.read_text().replace(f'url = "sqlite:///{cfg.parent}/state.sqlite"', f'url = "{url}"')
                       + '\n[org]\nname = "acme"\n')
        assert where(url) == {"public": 3}

        capsys.readouterr()
        code = leadrouter("validate", "--config", str(cfg))
        out = capsys.readouterr().out
        assert code == 0, out
        assert "schema version 3" in out, out
        assert where(url) == {"public": 3}, "validate moved or migrated the state"

        assert leadrouter("once", "--config", str(cfg)) == 0
        assert where(url) == {"leadrouter_acme": MIGRATIONS[-1].version}


def test_a_value_the_org_refuses_after_the_check_is_said_with_the_deploy(sandbox_factory, tmp_path, capsys):
    """The day's check passed, then the org lost Released (an earlier release's salesforce/
    deployed over the new one): the first Released the connector writes is refused by the
    org, classified by Salesforce's code, and the fix names the deploy."""
    from datetime import timedelta

    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    cfg = config_for(sb, tmp_path)
    assert leadrouter("once", "--init", "--config", str(cfg)) == 0
    offered = next(r["Id"] for r in sb.org.records("Lead") if r["Routing_Status__c"] == "Offered")
    older_package(sb)
    admin = next(u["Id"] for u in sb.org.records("User") if u["Name"] == "Sandbox Admin")
    sb.org.update("Lead", offered, {"OwnerId": admin}, as_user=admin)  # a person takes it over
    sb.clock.advance(timedelta(minutes=2))

    capsys.readouterr()
    assert leadrouter("once", "--config", str(cfg)) == 0
    refused = [json.loads(line) for line in capsys.readouterr().err.splitlines()
               if line.startswith("{") and '"write_refused"' in line]
    assert [(e["lead_id"], e["code"]) for e in refused] == [(offered, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")]
    assert "Released" in refused[0]["message"] and DEPLOY in refused[0]["fix"], refused


def test_a_migration_step_that_fails_on_the_states_data_is_said_with_the_rebuild_and_leaves_the_state_as_it_was(
        sandbox_factory, tmp_path, capsys):
    """A state whose data a migration step cannot carry (here version 2's routing document,
    its declines in a shape no release wrote): not a traceback, but exit 4 naming the step,
    the state left at the version it had, and the fix — the state is a cache of the org."""
    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    cfg = config_for(sb, tmp_path)
    state = cfg.parent / "state.sqlite"
    earlier_state(state, 2)
    engine = create_engine(f"sqlite:///{state}")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO routing_state (id, data, updated_at) VALUES (1, :d, :at)"),
                     {"d": json.dumps({"version": 1, "excluded": ["00Q5g0000000001EAA"]}),
                      "at": datetime(2026, 11, 23, 18)})
    engine.dispose()
    before = state_of(state)

    capsys.readouterr()
    assert leadrouter("once", "--config", str(cfg)) == 4
    err = capsys.readouterr().err
    assert "Traceback" not in err and "state database problem" in err, err
    step = MIGRATIONS[2]
    assert f"from schema version 2 to {step.version} ({step.name})" in err, err
    assert "leadrouter state rebuild" in err, err
    assert state_of(state) == before

    state.rename(state.with_suffix(".unmigrated"))  # the fix, as said
    assert leadrouter("state", "rebuild", "--config", str(cfg)) == 0
    assert leadrouter("once", "--config", str(cfg)) == 0
    assert state_of(state)[0] == MIGRATIONS[-1].version


def test_run_of_a_new_release_beside_a_running_earlier_one_migrates_only_once_it_leads(sandbox_factory, tmp_path):
    """A rolling upgrade (Kubernetes replaces one replica at a time): the new `run` starts
    while the earlier release leads on the state. It waits as the standby it is, without
    migrating the state under the leader, and migrates when it takes over."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import requests

    from jobs.leader import lock_for
    from tests.conftest import communicate_or_dump

    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    cfg = config_for(sb, tmp_path)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    cfg.write_text(cfg.read_text().replace('level = "warning"', 'level = "info"')
                   + f'\n[schedule]\nleads = 2\n\n[metrics]\nbind = "127.0.0.1:{port}"\n')
    state = cfg.parent / "state.sqlite"
    earlier_state(state, 3)
    earlier = lock_for(f"sqlite:///{state}")
    assert earlier.try_acquire()  # the earlier release leads
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"}
    run = subprocess.Popen([sys.executable, "-m", "jobs.cli", "run", "--config", str(cfg)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until, health = time.monotonic() + 8, None
        while time.monotonic() < until:
            assert run.poll() is None
            assert state_of(state)[0] == 3, "migrated under the running leader"
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        # ready, as a standby: a rolling update stops the earlier leader only after this one is ready
        assert health is not None and health.status_code == 200 and health.json()["role"] == "standby", health
        earlier.release()  # the earlier release's replica stops
        until = time.monotonic() + 30  # the standby asks every [schedule] leads seconds
        while state_of(state)[0] != MIGRATIONS[-1].version:
            assert time.monotonic() < until and run.poll() is None, "not migrated once it could lead"
            time.sleep(0.5)
    finally:
        earlier.release()
        run.terminate()
        _, err = communicate_or_dump(run, 60)
    assert "Traceback" not in err, err[-3000:]
    waited = [json.loads(line) for line in err.splitlines() if '"upgrade_waits_to_lead"' in line]
    assert waited and "schema version 3" in waited[0]["note"], err[-3000:]


def test_a_field_the_new_package_brings_is_named_with_the_deploy_not_a_lookalike(sandbox_factory, tmp_path, capsys):
    """An org on an earlier day's package lacks Account.Working_Days__c, which the shipped
    partner mapping reads since: the start stops naming the field and the deploy command,
    not 'did you mean Routing_Paused__c?'."""
    sb = sandbox_factory(seed="demo", partners=20, leads=30, random_seed=5)
    with sb.org.lock:
        schema = copy.deepcopy(sb.org.schema)
        account = schema.object("Account")
        account.fields.pop("Working_Days__c")
        account._reindex()
        sb.org.schema = schema
    cfg = config_for(sb, tmp_path)
    before = leads(sb)

    capsys.readouterr()
    assert leadrouter("validate", "--config", str(cfg)) == 1
    out = capsys.readouterr().out
    assert leadrouter("once", "--init", "--config", str(cfg)) == 2
    err = capsys.readouterr().err
    for said in (out, err):
        line = next(ln for ln in said.splitlines() if "Working_Days__c" in ln)
        assert "Account has no field 'Working_Days__c'" in line, said
        assert DEPLOY in said and "did you mean" not in said.split("Working_Days__c", 1)[1][:300], said
    assert leads(sb) == before, "nothing written to any Lead"

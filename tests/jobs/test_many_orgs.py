"""Many orgs: two sandbox orgs served by one PostgreSQL database and two workers
(`leadrouter run`, one per org), each scraped on its own metrics endpoint; no row of
one org is touched by the other. And the seam of a shared state: a worker configured
for another org is refused with exit 4, naming both orgs and the fix."""
from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from jobs.leader import lock_key
from jobs.state import Store
from jobs.state import offers as of
from jobs.state import store as st
from jobs.state.orgs import url_for
from jobs.state.schema import decisions, job_runs, leads, org_identity, snapshot

from .conftest import leadrouter
from .pg import temp_database
from .rules_for_tests import write_rules
from .test_metrics import scrape

POLL = 1  # seconds: [schedule] leads, and the standby's retry interval
# fields of a Lead that say whose it is: the two orgs hand out the same ids, not the same leads
WHOSE = ("LastName", "Company", "Country", "State", "City", "PostalCode")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp_path: Path, sb, *, org: str, state_url: str, secret_env: str, port: int | None = None) -> Path:
    """A worker's config for one org. `[stream] mode = "poll"`: the default, auto, has `run`
    dial Salesforce's own Pub/Sub API (api.pubsub.salesforce.com), network beyond loopback."""
    c = sb.connection
    folder = tmp_path / org
    folder.mkdir(exist_ok=True)
    cfg = folder / "leadrouter.toml"
    cfg.write_text(f"""
[org]
name = "{org}"
[salesforce]
login_url = "{c['login_url']}"
ca_bundle = "{c['ca_file']}"
api_version = "62.0"
[salesforce.auth]
method = "client_credentials"
client_id = "{c['client_id']}"
client_secret_env = "{secret_env}"
[salesforce.retry]
max_attempts = 3
initial_wait = 0.01
max_wait = 0.05
[state]
url = "{state_url}"
[routing]
rules = "{write_rules(folder)}"
[log]
format = "json"
level = "warning"
[stream]
mode = "poll"
[schedule]
leads = {POLL}
offers = 1
outbox = 1
sync_partners = 5
deleted = 5
misfire_grace = 5
""" + (f'[metrics]\nbind = "127.0.0.1:{port}"\n' if port else ""))
    return cfg


def wait_for(what: str, predicate, timeout: float = 60.0, procs=()):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for p in procs:
            assert p.poll() is None, f"a worker exited while waiting for {what}: {p.communicate()}"
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def instances(store: Store) -> list[dict]:
    with store.connect() as conn:
        return st.list_instances(conn)


def routed(sb) -> bool:
    return all(r.get("Routing_Status__c") for r in sb.org.records("Lead"))


def stop(*procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=60)


def test_the_config_names_the_org_and_the_state_url_follows_it(tmp_path):
    from jobs.config import ConfigFileError, load
    from jobs.leader import lock_for

    pg = "postgresql+psycopg://leadrouter:secret@db.internal/leadrouter"
    cfg = tmp_path / "leadrouter.toml"
    cfg.write_text(f'[org]\nname = "acme"\n[state]\nurl = "{pg}"\n')
    loaded = load(cfg, env={})
    assert loaded.settings.org.name == "acme"
    assert loaded.state_url() == pg + "?options=-csearch_path%3Dleadrouter_acme"
    assert load(cfg, env={"LEADROUTER_ORG": "globex"}).state_url().endswith("search_path%3Dleadrouter_globex")
    assert load(None, env={"LEADROUTER_STATE_URL": pg}).state_url() == pg, "the default org: the default schema"
    keys = {org: lock_for(load(cfg, env={"LEADROUTER_ORG": org}).state_url()).key for org in ("acme", "globex")}
    assert keys["acme"] != keys["globex"]
    assert lock_for(pg).key == lock_key("default"), "a single-org deployment keeps its lock across the upgrade"

    cfg.write_text('\n[org]\nname = "Acme-Prod"\n')
    with pytest.raises(ConfigFileError) as bad:
        load(cfg, env={})
    assert f"{cfg}:3" in str(bad.value) and "'acme_prod'" in str(bad.value)
    cfg.write_text(f'[org]\nname = "acme"\n[state]\nurl = "{pg}?options=-csearch_path%3Dmine"\n')
    with pytest.raises(ConfigFileError, match=r"\[state\] url sets search_path"):
        load(cfg, env={})


@pytest.mark.postgres
@pytest.mark.e2e
def test_two_orgs_one_database_two_workers_and_no_row_of_one_touched_by_the_other(
        sandbox_factory, tmp_path, monkeypatch):
    acme_sb = sandbox_factory(seed="demo", partners=15, leads=30, random_seed=21)
    globex_sb = sandbox_factory(seed="demo", partners=20, leads=45, random_seed=22)
    # each sandbox org reports an Organization Id of its own, as two real orgs do
    org_ids = {"acme": acme_sb.org.organization_id, "globex": globex_sb.org.organization_id}
    assert org_ids["acme"] != org_ids["globex"]
    sandboxes = {"acme": acme_sb, "globex": globex_sb}
    monkeypatch.setenv("LR_TEST_ACME_SECRET", acme_sb.connection["client_secret"])
    monkeypatch.setenv("LR_TEST_GLOBEX_SECRET", globex_sb.connection["client_secret"])
    with temp_database() as url:
        ports = {org: free_port() for org in sandboxes}
        cfgs = {org: write_config(tmp_path, sb, org=org, state_url=url, secret_env=f"LR_TEST_{org.upper()}_SECRET",
                                  port=ports[org]) for org, sb in sandboxes.items()}
        time.sleep(1.1)  # SOQL datetimes are whole seconds: the seed falls before the workers' start
        workers = {org: leadrouter(cfg, "run") for org, cfg in cfgs.items()}
        stores: dict[str, Store] = {}
        try:
            for org, sb in sandboxes.items():
                wait_for(f"{org}'s leads to be routed", lambda sb=sb: routed(sb), procs=workers.values())
            for org in sandboxes:
                stores[org] = Store(url_for(url, org))  # a reader: neither claims nor checks
                wait_for(f"{org}'s worker to lead", lambda s=stores[org], p=workers[org]: any(
                    i["role"] == "leader" and i["pid"] == p.pid for i in instances(s)), procs=workers.values())

            # each endpoint: its own org's figures, every sample labelled with it
            for org, store in stores.items():
                m = scrape(f"http://127.0.0.1:{ports[org]}", org=org)
                with store.connect() as conn:
                    kinds = dict(conn.execute(select(decisions.c.kind, func.count()).group_by(decisions.c.kind)).all())
                    counts = of.offer_status_counts(conn)
                assert m["leadrouter_org_info"] == {(("organization_id", org_ids[org]),): 1.0}
                assert {dict(k)["kind"]: v for k, v in m["leadrouter_decisions_total"].items()} == kinds
                assert sum(kinds.values()) >= len(list(sandboxes[org].org.records("Lead")))
                assert m["leadrouter_live_offers"][()] == counts.get("live", 0)
                assert {dict(k)["instance"] for k in m["leadrouter_leader"]} == {
                    i["instance"] for i in instances(store) if i["pid"] == workers[org].pid}
                assert m["leadrouter_state_db_up"][()] == 1

            # no row of one org touched by the other
            engine = create_engine(url)
            assert inspect(engine).get_table_names(schema="public") == [], "nothing outside the orgs' schemas"
            with engine.connect() as conn:
                held = set(conn.execute(text(
                    "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalars())
            assert {lock_key("acme"), lock_key("globex")} <= held, "one leader lock per org"
            engine.dispose()
            shared_ids = 0
            for org, store in stores.items():
                sb, other = sandboxes[org], sandboxes["globex" if org == "acme" else "acme"]
                pid = workers[org].pid
                with store.connect() as conn:
                    assert tuple(conn.execute(org_identity.select()).one()) == (1, org, org_ids[org])
                    runs = conn.execute(select(job_runs.c.instance)).scalars().all()
                    assert runs and all(f":{pid}:" in i for i in runs), f"{org}'s job runs are its worker's only"
                    assert {i["pid"] for i in st.list_instances(conn)} == {pid}
                    assert {b["instance"] for b in st.api_budgets(conn)} <= set(runs)
                    stored = {r.lead_id: r.record for r in conn.execute(select(leads.c.lead_id, leads.c.record))}
                    partners = {r.id: r.record for r in conn.execute(
                        select(snapshot.c.id, snapshot.c.record).where(snapshot.c.kind == "partner"))}
                    decided = set(conn.execute(select(decisions.c.lead_id)).scalars())
                assert set(stored) == {r["Id"] for r in sb.org.records("Lead")}, f"{org} knows its own leads, all"
                assert decided <= set(stored)
                for lead_id, record in stored.items():
                    assert len(set(WHOSE) & set(record)) >= 3, sorted(record)
                    mine = sb.org.get("Lead", lead_id)
                    assert {f: record.get(f) for f in WHOSE if f in record} == \
                        {f: mine.get(f) for f in WHOSE if f in record}, f"{org}'s lead {lead_id} is its own"
                    theirs = other.org.get("Lead", lead_id)
                    if theirs is not None:
                        shared_ids += 1
                        assert any(theirs.get(f) != mine.get(f) for f in WHOSE), "the same id is not the same lead"
                for account_id, record in partners.items():
                    assert record["Name"] == sb.org.get("Account", account_id)["Name"]
            assert shared_ids >= 30, "the two orgs hand out the same ids: the check above tells their rows apart"
        finally:
            stop(*workers.values())
        assert all(p.returncode == 0 for p in workers.values()), "SIGTERM stops each worker gracefully"

        # a worker given acme's name but globex's org is refused before it touches acme's state
        with stores["acme"].connect() as conn:
            before = of.offer_status_counts(conn), conn.execute(select(func.count()).select_from(job_runs)).scalar()
        (tmp_path / "wrong").mkdir()
        wrong = write_config(tmp_path / "wrong", globex_sb, org="acme", state_url=url, secret_env="LR_TEST_GLOBEX_SECRET")
        proc = leadrouter(wrong, "once")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 4, err
        assert f"belongs to org 'acme' (Organization Id {org_ids['acme']})" in err
        assert f"reports Organization Id {org_ids['globex']}" in err and "fix: give each org its own state" in err
        with stores["acme"].connect() as conn:
            after = of.offer_status_counts(conn), conn.execute(select(func.count()).select_from(job_runs)).scalar()
        assert after == before, "nothing written to acme's state by the refused worker"
        for store in stores.values():
            store.dispose()


@pytest.mark.e2e
def test_two_orgs_pointed_at_one_sqlite_file_the_second_is_refused(sandbox_factory, tmp_path, monkeypatch):
    acme_sb = sandbox_factory(seed="demo", partners=8, leads=10, random_seed=31)
    globex_sb = sandbox_factory(seed="demo", partners=8, leads=12, random_seed=32)
    monkeypatch.setenv("LR_TEST_ACME_SECRET", acme_sb.connection["client_secret"])
    monkeypatch.setenv("LR_TEST_GLOBEX_SECRET", globex_sb.connection["client_secret"])
    shared = f"sqlite:///{tmp_path}/state.sqlite"  # a config copied with its [state] url
    acme = write_config(tmp_path, acme_sb, org="acme", state_url=shared, secret_env="LR_TEST_ACME_SECRET")
    globex = write_config(tmp_path, globex_sb, org="globex", state_url=shared, secret_env="LR_TEST_GLOBEX_SECRET")
    time.sleep(1.1)
    first = leadrouter(acme, "once", "--init")
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert routed(acme_sb)

    second = leadrouter(globex, "once")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 4, err
    assert "state database problem" in err
    assert f"{tmp_path}/state.sqlite belongs to org 'acme'" in err and "configured for org 'globex'" in err
    assert "on SQLite give each org its own file in [state] url" in err
    assert not any(r.get("Routing_Status__c") for r in globex_sb.org.records("Lead")), "globex was not routed"

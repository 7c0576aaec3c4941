"""A Connector assembled around a sandbox org, on the org's simulated clock.

Everything goes over real HTTPS through the connector's client: no patching. The
org's partners are steered with the simulator's behaviour profiles so each test
reads as one rule of the offer lifecycle.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from jobs.app import Connector
from jobs.config import Settings
from jobs.state import Store
from jobs.timeutil import CallableClock, SalesforceTime

SECRET_ENV = "LR_TEST_JOBS_SECRET"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_logging():
    """Tests that configure logging (the CLI, the redaction tests) point structlog at a
    stream pytest closes afterwards; put the defaults back for whatever runs next."""
    yield
    import structlog

    structlog.reset_defaults()


def notification_type_id(sb) -> str:
    return next(r["Id"] for r in sb.org.records("CustomNotificationType"))


def connector_config_data(sb, notify: str = "custom") -> dict[str, Any]:
    c = sb.connection
    data: dict[str, Any] = {
        "login_url": c["login_url"], "ca_bundle": c["ca_file"], "api_version": c.get("api_version", "62.0"),
        "timeout": 10,
        "auth": {"method": "client_credentials", "client_id": c["client_id"], "client_secret_env": SECRET_ENV},
        "retry": {"max_attempts": 4, "initial_wait": 0.01, "max_wait": 0.05, "max_seconds": 10},
    }
    if notify == "custom":
        data["notify"] = {"kind": "custom", "custom_notification_type_id": notification_type_id(sb)}
    return data


def build_connector(sb, state_url: str, *, settings: dict | None = None, rules: str | Path | None = None,
                    server_time: bool = False) -> Connector:
    """A Connector on the sandbox. Its clock is the org's simulated clock, read directly;
    with `server_time` it is given no clock and takes Salesforce's time from the `Date`
    header of the responses, as in production."""
    from connector import ConnectorConfig, SalesforceClient
    from jobs.performance import rule_attributes
    from mappings import load_mappings
    from rules.book import load_rules

    os.environ[SECRET_ENV] = sb.connection["client_secret"]
    client = SalesforceClient.connect(ConnectorConfig.model_validate(connector_config_data(sb)),
                                      clock=None if server_time else sb.clock.now)
    ms = load_mappings(None)
    # as jobs/app.py loads them: the lead score and the partner performance facts are attributes too
    lead_attributes, partner_attributes = rule_attributes(ms)
    book = load_rules(rules, lead_attributes=lead_attributes, partner_attributes=partner_attributes)
    s = Settings.model_validate({"notifications": {"mode": "custom"}, **(settings or {})})
    clock = SalesforceTime(client) if server_time else CallableClock(sb.clock.now)
    return Connector(client=client, mappings=ms, book=book, store=Store(state_url), clock=clock,
                     settings=s, lookback=timedelta(seconds=s.routing.lookback_seconds))


class Loop:
    """The test's handle on one org + one connector: advance time, let partners act, cycle."""

    def __init__(self, sb, cx: Connector):
        self.sb, self.cx = sb, cx

    def cycle(self, *, hours: float = 0, partners_act: bool = True, raise_errors: bool = True):
        if hours:
            self.sb.clock.advance(timedelta(hours=hours))
        if partners_act:
            self.sb.simulator.step(self.sb.clock.now())
        # SOQL datetimes have whole seconds: step past this second so every change is read.
        self.sb.clock.advance(timedelta(seconds=2))
        return self.cx.run_cycle(raise_errors=raise_errors)

    def lead(self, lead_id: str) -> dict:
        return self.sb.org.get("Lead", lead_id)

    def offers(self, lead_id: str) -> list[dict]:
        from jobs.state import offers as of

        with self.cx.store.connect() as conn:
            return of.offers_for_lead(conn, lead_id)

    def live(self) -> dict[str, dict]:
        from jobs.state import offers as of
        from jobs.state.schema import offers

        with self.cx.store.connect() as conn:
            ids = [r.lead_id for r in conn.execute(offers.select().where(offers.c.status == "live"))]
            return of.live_offers(conn, ids)

    def offers_by_partner(self) -> dict[str, list[dict]]:
        """The live offers to partners (not pools), by partner."""
        by: dict[str, list[dict]] = {}
        for o in self.live().values():
            if o["kind"] == "offer":
                by.setdefault(o["partner_id"], []).append(o)
        return by

    def busiest_partner(self) -> tuple[str, list[dict]]:
        """The partner with the most live offers (ties: the highest id), and its offers."""
        by = self.offers_by_partner()
        pid = max(by, key=lambda p: (len(by[p]), p))
        return pid, by[pid]

    def queue_id(self, developer_name: str) -> str:
        return self.sb.org.queue_ids[developer_name]

    def partner_of_rep(self, user_id: str) -> str:
        return self.sb.org.get("User", user_id)["AccountId"]


@pytest.fixture
def org(sandbox_factory):
    return sandbox_factory(seed="demo", partners=40, leads=60, random_seed=3)


@pytest.fixture
def make_loop(tmp_path):
    from .rules_for_tests import write_rules

    made: list[Connector] = []

    def make(sb, *, pools: bool = False, business_hours: bool = False, settings: dict | None = None,
             name: str = "state") -> Loop:
        cx = build_connector(sb, f"sqlite:///{tmp_path}/{name}.sqlite", settings=settings,
                             rules=write_rules(tmp_path, pools=pools, business_hours=business_hours))
        made.append(cx)
        return Loop(sb, cx)

    yield make
    for cx in made:
        cx.client.close()
        cx.store.dispose()


@pytest.fixture
def loop(org, make_loop):
    return make_loop(org)


def wait_routed(sb, lead_ids, deadline: float, why: str) -> None:
    """Until every lead reads a routing status other than none or Pending (a running
    `leadrouter run` routes them), or `deadline` (time.monotonic()) passes: then fail with `why`."""
    while any(sb.org.get("Lead", i).get("Routing_Status__c") in (None, "", "Pending") for i in lead_ids):
        assert time.monotonic() < deadline, why
        time.sleep(0.2)


def leadrouter(cfg: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"}  # a hang can be asked for its stacks
    if args and args[0] == "run":
        _assert_offline(cfg, env)
    proc = subprocess.Popen([sys.executable, "-m", "jobs.cli", *args, "--config", str(cfg)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _spawned.append(proc)
    return proc


_spawned: list[subprocess.Popen] = []


def drained(proc: subprocess.Popen) -> list[str]:
    """Read a long-running connector's output as it comes, into the list returned: a pipe
    nobody reads fills (64 KB, a minute or two of `run`'s job lines) and the connector then
    blocks on its next log line — a test of a leader that stops leading for that reason
    would fail for the test's own fault."""
    said: list[str] = []

    def pump(stream) -> None:  # noqa: ANN001 - a text pipe
        for line in stream:
            said.append(line)

    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            threading.Thread(target=pump, args=(stream,), daemon=True).start()
    return said


def _assert_offline(cfg: Path, env: dict[str, str]) -> None:
    """`run` starts the event stream: a test's config must poll or name a loopback Pub/Sub,
    or the service dials api.pubsub.salesforce.com — tests run offline."""
    from jobs.config import load

    try:
        stream = load(cfg, env=env).settings.stream
    except Exception:
        return  # a test of a config `run` refuses: it exits before any stream
    host = stream.pubsub_url.rsplit(":", 1)[0].strip("[]")
    assert stream.mode == "poll" or host in ("127.0.0.1", "localhost", "::1"), (
        f"{cfg}: `leadrouter run` would dial {stream.pubsub_url} (stream mode {stream.mode!r}); "
        "write [stream] mode = \"poll\" or point pubsub_url at the sandbox")


@pytest.fixture(autouse=True)
def _no_process_left_behind():
    """Whatever a failed assertion interrupts, no connector outlives its test."""
    yield
    while _spawned:
        proc = _spawned.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def as_user(sb, user_id: str) -> tuple[requests.Session, str]:
    """An HTTPS session logged in as this user of the org with its own password (a partner
    rep in the portal, an admin), and the REST base URL: the caller closes the session."""
    c = sb.connection
    http = requests.Session()
    http.verify, http.trust_env = c["ca_file"], False
    token = http.post(c["login_url"] + "/services/oauth2/token", data={
        "grant_type": "password", "client_id": c["client_id"], "client_secret": c["client_secret"],
        "username": sb.org.get("User", user_id)["Username"], "password": c["password"]}, timeout=10).json()  # fmt: skip
    http.headers["Authorization"] = f"Bearer {token['access_token']}"
    return http, f"{c['instance_url']}/services/data/v62.0"


def is_reminder(title: str, kind: str = "reminder") -> bool:
    """An offer reminder (kind "reminder") or an accepted lead's follow-up ("followup"), in
    any of the reps' languages: the seeded orgs' reps speak several (jobs/wording.py)."""
    from jobs.wording import REMINDER

    return any(title.startswith(w[f"{kind}_title"].split("{")[0]) for w in REMINDER.values())


def pool_members_covering(loop: Loop, queue_id: str, lead_id: str) -> dict[str, str]:
    """{partner: its first active rep} of the pool's members that cover the lead's whole
    country or its state, the lead's place read as the connector reads it: the members the
    test rules' pool rule (coverage only) admits for the lead. A member it does not admit
    has its pick-up refused (tests/jobs/test_pool_unadmitted_e2e.py)."""
    sb = loop.sb.org
    lead = loop.cx.mappings.lead_converter()(sb.get("Lead", lead_id))
    places = {p for p in (lead.country, lead.state) if p}
    out: dict[str, str] = {}
    for m in sorted(sb.table("GroupMember").values(), key=lambda m: m["Id"]):
        user = sb.get("User", m["UserOrGroupId"]) if str(m["UserOrGroupId"]).startswith("005") else None
        if m["GroupId"] != queue_id or m["IsDeleted"] or not user or not user["IsActive"]:
            continue
        coverage = {c.strip() for c in (sb.get("Account", user["AccountId"]).get("Coverage__c") or "").split(";")}
        if places & coverage:
            out.setdefault(user["AccountId"], user["Id"])
    return out

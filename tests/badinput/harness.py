"""The connector as an admin runs it, against one sandbox org, with every log line kept.

A config file is written the way an admin would (JWT login, the shipped mappings and
rules), loaded through `jobs.config.load` and assembled by `Connector.from_config`, so
the corpus exercises the product's own assembly — not a test-only shortcut. Log output
(structlog and stdlib logging) goes to one buffer the tests search.
"""
from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import structlog

ROOT = Path(__file__).resolve().parents[2]
CORPUS_RULES = Path(__file__).resolve().parent / "rules.toml"

# Generous caps so that routing many corpus leads into one territory never runs a
# partner out of capacity: an escalation must mean the input, not the arithmetic.
ROOMY = {"Capacity__c": 1000, "Daily_Cap__c": 1000}


def q(value: Any) -> str:
    return json.dumps(str(value))


def config_text(connection: dict[str, Any], *, rules: Path = CORPUS_RULES, extra: str = "",
                auth: str | None = None, retry: str | None = None) -> str:
    auth = auth or (
        'method = "jwt_bearer"\n'
        f"client_id = {q(connection['client_id'])}\n"
        f"username = {q(connection['username'])}\n"
        f"private_key_file = {q(connection['private_key_file'])}\n"
    )
    retry = retry or "max_attempts = 2\nmax_seconds = 5\ninitial_wait = 0.01\nmax_wait = 0.02\n"
    return (
        "[salesforce]\n"
        f"login_url = {q(connection['login_url'])}\n"
        f"api_version = {q(connection['api_version'])}\n"
        f"ca_bundle = {q(connection['ca_file'])}\n"
        "timeout = 10\n"
        f"\n[salesforce.auth]\n{auth}"
        f"\n[salesforce.retry]\n{retry}"
        '\n[state]\nurl = "sqlite:///state.sqlite"\n'
        f"\n[routing]\nrules = {q(rules)}\nlookback_seconds = 0\n"
        '\n[log]\nlevel = "debug"\nformat = "json"\n'
        + extra
    )


class LogCapture:
    """Everything the connector logs, as text and as parsed JSON lines."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self._handler = logging.StreamHandler(self.stream)
        self._handler.setLevel(logging.DEBUG)

    def start(self, level: str = "debug") -> "LogCapture":
        from jobs.logging import configure

        configure("json", level, stream=self.stream)
        root = logging.getLogger()
        self._old_level = root.level
        root.addHandler(self._handler)
        root.setLevel(logging.DEBUG)
        return self

    def stop(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self._handler)
        root.setLevel(self._old_level)
        structlog.reset_defaults()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.text.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                value = {"event": line, "level": "stdlib"}
            if isinstance(value, dict):
                out.append(value)
        return out

    def lines_naming(self, *needles: str) -> list[str]:
        return [line for line in self.text.splitlines() if all(n in line for n in needles)]


@dataclass
class Rig:
    """One org, one connector built from a config file, one log capture."""

    sb: Any
    cx: Any
    directory: Path
    logs: LogCapture
    created: dict[str, str] = field(default_factory=dict)  # case id -> lead id

    def step(self, seconds: float = 2) -> None:
        # SOQL datetimes have whole seconds: step past this second so each change is read.
        self.sb.clock.advance(timedelta(seconds=seconds))

    def cycle(self, between: dict[str, Callable[[], None]] | None = None) -> dict[str, Any]:
        """Every job once in cycle order; `between[job]` runs right after that job."""
        from jobs.app import CYCLE

        self.step()
        results = {}
        for i, name in enumerate(CYCLE):
            results[f"{name}#{i}"] = self.cx.run_job(name)
            hook = (between or {}).pop(name, None)
            if hook is not None:
                hook()
        return results

    def lead(self, lead_id: str) -> dict[str, Any]:
        return self.sb.org.get("Lead", lead_id)

    def label(self, field: str) -> str:
        """A Lead field's label, as the org's describe (and the Lead's page) gives it."""
        return self.sb.org.schema.objects["Lead"].fields[field].label

    def local(self, lead_id: str) -> dict[str, Any] | None:
        from jobs.state import offers as of

        with self.cx.store.connect() as conn:
            return of.get_leads(conn, [lead_id]).get(lead_id)

    def offers(self, lead_id: str) -> list[dict[str, Any]]:
        from jobs.state import offers as of

        with self.cx.store.connect() as conn:
            return of.offers_for_lead(conn, lead_id)

    def close(self) -> None:
        try:
            self.cx.client.close()
            self.cx.store.dispose()
        finally:
            self.logs.stop()
            self.sb.stop()


def start_rig(directory: Path, *, partners: int = 30, seed_leads: int = 0, random_seed: int = 0,
              rules: Path = CORPUS_RULES) -> Rig:
    import sandbox
    from jobs.app import Connector
    from jobs.config import load
    from jobs.timeutil import CallableClock

    directory.mkdir(parents=True, exist_ok=True)
    sb = sandbox.start(directory / "org", seed="demo", partners=partners, leads=seed_leads,
                       random_seed=random_seed, autosave=None)
    logs = LogCapture()
    try:
        for account in list(sb.org.records("Account")):
            if account.get("IsPartner"):
                sb.org.update("Account", account["Id"], ROOMY)
        cfg = directory / "leadrouter.toml"
        cfg.write_text(config_text(sb.connection, rules=rules), encoding="utf-8")
        logs.start()
        cx = Connector.from_config(load(cfg, env={}), clock=CallableClock(sb.clock.now))
    except BaseException:
        logs.stop()
        sb.stop()
        raise
    return Rig(sb=sb, cx=cx, directory=directory, logs=logs)


def partner_ids(sb) -> set[str]:
    return {a["Id"] for a in sb.org.records("Account") if a.get("IsPartner")}


def active_reps_of(sb, partner_id: str) -> set[str]:
    return {u["Id"] for u in sb.org.records("User")
            if u.get("AccountId") == partner_id and u.get("IsActive") and u.get("UserType") == "PowerPartner"}

"""A lead's email and phone never appear in log lines at info level or above.

The loop runs over leads whose emails and phones take many shapes, and through the
paths where lead data travels furthest: routing, an unroutable lead whose bad value
holds an email, a partner rejecting with a reason that quotes the customer's contact
details, redistribution. Two runs: one configured at info (nothing may appear at all),
one at debug (debug lines may carry data; info, warning and error lines may not).
"""
from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest

from tests.badinput.harness import ROOMY, LogCapture
from tests.badinput.lead_cases import BASE

from .rig import write_config

pytestmark = pytest.mark.e2e

CONTACTS = [
    ("jane.doe@example.com", "+1 415 555 0199"),
    ("J.Smith+leads@Example.co.uk", "(415) 555-0123"),
    ("o'connor@acme-widgets.io", "415.555.0142"),
    ("ops_team@sub.domain.example.org", "+44 20 7946 0958"),
    ("jörg.müller@bücher.de", "+49 30 901820"),
    ("UPPER@EXAMPLE.NET", "0049 89 1234 5678"),
]
REJECTION = "customer asked us to call back: mia.rossi@cliente.it or +39 06 6982 1234"


class _InfoAndUp(logging.Handler):
    """stdlib records at INFO or above, rendered with their arguments."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.stream = io.StringIO()

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.write(f"{record.levelname} {record.name} {record.getMessage()}\n")


def _needles() -> list[str]:
    out = []
    for email, phone in CONTACTS:
        out += [email, email.lower(), phone, "".join(ch for ch in phone if ch.isdigit())]
    out += ["mia.rossi@cliente.it", "+39 06 6982 1234", "390669821234"]
    return out


def _run(org, tmp_path, monkeypatch, level: str) -> tuple[list[dict], str]:
    from jobs.app import Connector
    from jobs.config import load
    from jobs.timeutil import CallableClock

    from .rig import secret_env

    for var, value in secret_env(org.connection).items():
        monkeypatch.setenv(var, value)
    for account in list(org.org.records("Account")):
        if account.get("IsPartner"):
            org.org.update("Account", account["Id"], ROOMY)
    lead_ids = [org.org.create("Lead", {**BASE, "Company": f"Contact {i} Ltd", "Email": email, "Phone": phone})
                for i, (email, phone) in enumerate(CONTACTS)]
    bad = org.org.create("Lead", {**BASE, "Company": "Bad Email Type Ltd"})
    with org.org.lock:
        org.org.table("Lead")[bad]["Email"] = {"address": CONTACTS[0][0], "phone": CONTACTS[0][1]}
    config = write_config(tmp_path, org, "jwt_bearer", level=level)
    logs = LogCapture().start(level)
    stdlib = _InfoAndUp()
    logging.getLogger().addHandler(stdlib)
    try:
        cx = Connector.from_config(load(config), clock=CallableClock(org.clock.now))
        try:
            org.clock.advance(timedelta(seconds=2))
            cx.run_cycle(raise_errors=False)
            offered = [i for i in lead_ids if org.org.get("Lead", i)["Routing_Status__c"] == "Offered"]
            assert offered, "the run offered leads (otherwise it proves nothing)"
            rep = org.org.get("Lead", offered[0])["OwnerId"]
            org.org.update("Lead", offered[0], {"Partner_Response__c": "Rejected", "Rejection_Reason__c": REJECTION},
                           as_user=rep)
            org.clock.advance(timedelta(seconds=2))
            cx.run_cycle(raise_errors=False)
            assert org.org.get("Lead", bad)["Routing_Status__c"] == "Unroutable"
        finally:
            cx.client.close()
            cx.store.dispose()
    finally:
        logging.getLogger().removeHandler(stdlib)
        logs.stop()
    return logs.events(), stdlib.stream.getvalue()


@pytest.mark.parametrize("level", ["info", "debug"])
def test_lead_email_and_phone_never_logged_at_info_or_above(sandbox_factory, tmp_path, monkeypatch, level):
    org = sandbox_factory(seed="demo", partners=12, leads=0)
    events, stdlib_info = _run(org, tmp_path, monkeypatch, level)
    assert any(e.get("event") == "job_run" for e in events), "the run was logged"
    loud = [json.dumps(e, ensure_ascii=False) for e in events
            if e.get("level") in ("info", "warning", "error", "critical")]
    if level == "info":
        assert len(loud) == len([e for e in events if e.get("level") != "stdlib"]), "configured at info: no debug"
    loud_text = "\n".join(loud) + "\n" + stdlib_info
    found = [n for n in _needles() if n in loud_text]
    assert found == [], f"lead contact details in the log at info or above: {found}"

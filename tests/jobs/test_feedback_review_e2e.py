"""Partner feedback survives a lost state (issue 17, item 3), end to end over the sandbox:
an ops review (`leadrouter feedback reset`) is written to the partner's Account
(Routing_Feedback_Review__c, in Salesforce's time) as well as to the state; the
adjustments in force are written in words to Account.Routing_Feedback__c and cleared
when none is left. A state restored from a backup taken before the review, or a new
state, routes with the review in force, read back from the Account. An org without the
fields routes, with one warning, and `validate` names the fields to deploy."""
from __future__ import annotations

import copy
import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from structlog.testing import capture_logs

from jobs import feedback, feedback_account
from jobs.cli import main
from jobs.ops.demo import write_config

pytestmark = pytest.mark.e2e


def _no_capacity(loop, offers: list[dict]) -> None:
    for o in offers:
        loop.sb.org.update("Lead", o["lead_id"], {"Partner_Response__c": "Rejected",
                                                  "Rejection_Reason_Code__c": "No capacity",
                                                  "Rejection_Reason__c": "No capacity: two reps on leave"})


def _config(loop, tmp_path, state: str = "state"):
    rules = next(tmp_path.glob("rules-*.toml"))
    cfg = write_config(tmp_path, loop.sb.connection, rules)
    cfg.write_text(cfg.read_text().replace('url = "sqlite:///leadrouter.sqlite"',
                                           f'url = "sqlite:///{tmp_path}/{state}.sqlite"'))
    return cfg


def _account(loop, pid: str) -> dict:
    return loop.sb.org.get("Account", pid)


def _throttled(loop) -> tuple[str, int, int]:
    """A partner throttled by two 'No capacity' declines, as production sees it."""
    loop.cycle(partners_act=False)
    pid, offers = loop.busiest_partner()
    declared = loop.cx.routing().partners[pid].capacity
    assert declared and declared > 1 and len(offers) >= 2
    _no_capacity(loop, offers[:2])
    loop.cycle(partners_act=False)  # the leads job takes the answers in
    loop.cx.snapshot_changed()
    loop.cycle(partners_act=False)  # the partner sync shows the adjustments built from them
    inferred = loop.cx.routing().feedback.capacity[pid][0]
    assert inferred < declared
    return pid, inferred, declared


def test_a_review_is_kept_on_the_account_and_outlives_the_state(org, make_loop, tmp_path, capsys):
    # the org's clock two days ahead of this host's: a review must carry Salesforce's time
    org.clock.advance(timedelta(days=2))
    loop = make_loop(org)
    pid, inferred, declared = _throttled(loop)

    # the adjustment in force shows on the partner's Account, in words, with its undo
    shown = _account(loop, pid)[feedback_account.SHOWN_FIELD]
    assert shown == (f"capacity {inferred} of {declared} after 2 'No capacity' declines"
                     f" — undo: leadrouter feedback reset {pid}"), shown
    stamp = _account(loop, pid)["SystemModstamp"]
    loop.cycle(partners_act=False)  # nothing changed: the Account is not written again
    assert _account(loop, pid)["SystemModstamp"] == stamp

    # a backup of the state from before the review
    backup = tmp_path / "backup.sqlite"
    with sqlite3.connect(tmp_path / "state.sqlite") as src, sqlite3.connect(backup) as dst:
        src.backup(dst)

    cfg = _config(loop, tmp_path)
    capsys.readouterr()
    assert main(["feedback", "reset", pid, "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "saved on its Account" in out
    text = _account(loop, pid)[feedback_account.REVIEW_FIELD]
    assert text.startswith("all ") and len(text.splitlines()) == 1, text
    at = feedback_account.parse_reviews(text)["all"]
    assert abs(at - org.clock.now()) < timedelta(minutes=1)
    assert at - datetime.now(timezone.utc) > timedelta(days=1)  # not this host's clock

    # the next cycle reads the review back: throttle lifted, the Account's words cleared
    loop.cycle(partners_act=False)
    routing = loop.cx.routing()
    assert pid not in routing.feedback.capacity and routing.partners[pid].capacity == declared
    assert not _account(loop, pid)[feedback_account.SHOWN_FIELD]

    # an area review adds a line and keeps the first
    assert main(["feedback", "reset", pid, "--area", "US-CA", "--config", str(cfg)]) == 0
    lines = _account(loop, pid)[feedback_account.REVIEW_FIELD].splitlines()
    assert lines[0] == text and lines[1].startswith("US-CA ") and len(lines) == 2

    # the state restored from the backup holds the declines and not the review ...
    restored_file = tmp_path / "restored.sqlite"
    restored_file.write_bytes(backup.read_bytes())
    restored = make_loop(org, name="restored")
    with restored.cx.store.connect() as conn:
        assert pid not in feedback.reviews(conn)
    restored.cycle(partners_act=False)
    restored.cx.snapshot_changed()
    routing = restored.cx.routing()
    # ... and routes with the review in force, read from the Account
    assert routing.feedback.reviewed[pid] == at and f"{pid}@US-CA" in routing.feedback.reviewed
    assert pid not in routing.feedback.capacity and routing.partners[pid].capacity == declared
    assert not _account(loop, pid)[feedback_account.SHOWN_FIELD]

    # a new state (the old one deleted): rebuilt from the org, the review with it
    fresh = make_loop(org, name="fresh")
    fresh.cycle(partners_act=False)
    routing = fresh.cx.routing()
    assert routing.feedback.reviewed[pid] == at and pid not in routing.feedback.capacity


def test_a_review_in_the_state_only_is_lost_with_it(org, make_loop, tmp_path):
    """What the test above guards against: a review the Account does not hold is gone with its state."""
    loop = make_loop(org)
    pid, inferred, _ = _throttled(loop)
    backup = tmp_path / "restored.sqlite"
    with sqlite3.connect(tmp_path / "state.sqlite") as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    with loop.cx.store.begin() as conn:  # a review in the first state only
        feedback.reset(conn, pid, feedback_account.review_time(loop.cx.clock.now()))
    restored = make_loop(org, name="restored")
    restored.cycle(partners_act=False)
    restored.cx.snapshot_changed()
    assert restored.cx.routing().feedback.capacity[pid][0] == inferred


def test_an_org_without_the_fields_routes_warns_once_and_validate_names_them(org, make_loop, tmp_path, capsys):
    with org.org.lock:  # salesforce/ deployed before the fields existed (a schema of its own: the
        schema = copy.deepcopy(org.org.schema)  # default one is shared by every org of the process)
        account = schema.object("Account")
        for name in (feedback_account.REVIEW_FIELD, feedback_account.SHOWN_FIELD):
            account.fields.pop(name)
        account._reindex()
        org.org.schema = schema
    loop = make_loop(org)
    with capture_logs() as logs:
        pid, _, declared = _throttled(loop)
        loop.cycle(partners_act=False)
    missing = [e for e in logs if e["event"] == "feedback_fields_missing"]
    assert len(missing) == 1 and set(missing[0]["fields"]) == {feedback_account.REVIEW_FIELD, feedback_account.SHOWN_FIELD}
    assert "deploy salesforce/" in missing[0]["fix"]
    assert loop.live()

    cfg = _config(loop, tmp_path)
    capsys.readouterr()
    assert main(["feedback", "reset", pid, "--config", str(cfg)]) == 0
    assert "kept in the state database only" in capsys.readouterr().err
    loop.cx.snapshot_changed()
    assert pid not in loop.cx.routing().feedback.capacity  # the state's review holds
    assert loop.cx.routing().partners[pid].capacity == declared

    main(["validate", "--config", str(cfg), "--json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    named = {f["key"] for f in findings if f["file"] == "org: Account"}
    assert {feedback_account.REVIEW_FIELD, feedback_account.SHOWN_FIELD} <= named

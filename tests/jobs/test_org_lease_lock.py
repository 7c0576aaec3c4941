"""The state's leader lock joined with the org lease (jobs/org_lease.py), on a sandbox org
over HTTPS: while Salesforce does not answer, the state's lock alone decides who leads,
but no write batch passes the fence until the lease is confirmed; once Salesforce answers,
the lease is taken (or found held by another connector, which ends the leadership)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import structlog

from connector import ConnectorConfig, SalesforceClient
from connector.lease import Holder, OrgLease
from jobs.leader import NotLeader, lock_for
from jobs.org_lease import LeasedLock

from .conftest import SECRET_ENV, connector_config_data

ORG = "00D000000000001AAA"


@pytest.fixture
def joined(sandbox, tmp_path, monkeypatch):
    def make(name: str) -> LeasedLock:
        monkeypatch.setenv(SECRET_ENV, sandbox.connection["client_secret"])
        data = connector_config_data(sandbox, notify="none")
        data["retry"] = {"max_attempts": 2, "initial_wait": 0.01, "max_wait": 0.02, "max_seconds": 2}
        client = SalesforceClient.connect(ConnectorConfig.model_validate(data), clock=sandbox.clock.now)
        (tmp_path / name).mkdir()
        inner = lock_for(f"sqlite:///{tmp_path / name / 'state.sqlite'}")
        lease = OrgLease(client, ORG, Holder(f"{name}:1:x", f"host-{name}", 1, "c", f"state-{name}"),
                         poll_seconds=1, logger=structlog.get_logger("test"), clock=client._clock)
        return LeasedLock(inner, lease)
    return make


def test_without_an_answer_the_state_leads_but_nothing_is_written_until_the_lease_is_confirmed(sandbox, joined):
    lock = joined("a")
    sandbox.faults.plan("503", count=2)  # the lease's first try (describe, retried once) gets no answer
    assert lock.try_acquire() is True, "the state's lock leads; its jobs find Salesforce down themselves"
    with pytest.raises(NotLeader, match="not confirmed"):
        lock.assert_leader()
    sandbox.faults.clear()
    sandbox.clock.advance(timedelta(seconds=2))  # the next try is an interval later
    lock.assert_leader()  # Salesforce answers: the term is taken, the batch may go
    assert lock.lease.term is not None and lock.lease.term.number == 1
    lock.release()


def test_a_lease_held_by_another_connector_ends_the_leadership_once_salesforce_answers(sandbox, joined):
    other = joined("b")
    assert other.try_acquire()
    lock = joined("a")
    assert lock.try_acquire() is False
    assert "b:1:x (pid 1 on host-b)" == lock.holder_elsewhere()
    with pytest.raises(NotLeader, match="b:1:x"):
        lock.assert_leader()


def test_the_state_key_names_the_state_lock_so_only_its_next_holder_takes_over_at_once(tmp_path):
    from jobs.org_lease import state_key

    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    key = state_key(lock_for(url), url)
    assert state_key(lock_for(url), url) == key, "a restart on the same state: the same lock, the same key"
    (tmp_path / "link.sqlite").symlink_to(tmp_path / "state.sqlite")
    linked = f"sqlite:///{tmp_path / 'link.sqlite'}"
    assert state_key(lock_for(linked), linked) == key, "one database by another name is one lock"
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert state_key(lock_for(other), other) != key, "another state (a second deployment) waits out the TTL"

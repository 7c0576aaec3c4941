"""Shared fixtures: a live sandbox org over HTTPS, and simple-salesforce pointed at it.

- `sandbox`: a fresh, empty (bootstrapped) org for one test, no faults, data in tmp_path.
- `sandbox_factory(**start_kwargs)`: more sandboxes (seeded, faulted, restarted on the
  same data_dir...), all stopped at the end of the test.
- `sf`: `simple_salesforce.Salesforce` on `sandbox`, logged in with client_credentials.
- `sf_for(sb, version="62.0")`: the same for any other sandbox.
"""
from __future__ import annotations

import itertools
import os
import threading
import time as _time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests


def _under_faketime() -> bool:
    return "faketime" in os.environ.get("LD_PRELOAD", "") or bool(os.environ.get("FAKETIME"))


class _PollingLock:
    """Under libfaketime only (tests/README.md runs the suites that way): `faketime -f
    '@…'` fakes CLOCK_MONOTONIC, CPython turns a timed wait on a thread primitive into
    an absolute deadline on that clock and hands it to sem_clockwait, which libfaketime
    does not intercept — the kernel then waits ~57 years. A timed acquire becomes short
    sleeps (which libfaketime does intercept). Nothing changes outside faketime."""

    def __init__(self) -> None:
        self._lock = _ORIGINAL_ALLOCATE()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not blocking or timeout is None or timeout < 0:
            return self._lock.acquire(blocking)
        end = _time.monotonic() + timeout
        while not self._lock.acquire(False):
            if _time.monotonic() >= end:
                return False
            _time.sleep(0.001)
        return True

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()


_ORIGINAL_ALLOCATE = threading._allocate_lock
if _under_faketime():
    threading._allocate_lock = _PollingLock  # Condition/Event/Queue waiters poll instead


# `./dev test` deals tests out to its workers in collection order (xdist groups first). The
# unit tests of mappings/ and connector/ (hundreds, milliseconds each) are dealt out last, so
# the tail of the run is many small tests the workers share, not a slow end-to-end test that
# keeps one worker busy while the others have nothing left. A run without workers keeps the
# files' order.
_DEALT_LAST = ("tests/mappings/", "tests/connector/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.nodeid.startswith(_DEALT_LAST))  # stable: otherwise as collected


def https_session(ca_file: str) -> requests.Session:
    session = requests.Session()
    session.verify = ca_file
    session.trust_env = False  # never route loopback through a proxy from the environment
    return session


def client_credentials_token(connection: dict) -> str:
    return client_credentials_grant(connection)["access_token"]


def client_credentials_grant(connection: dict) -> dict:
    """The token response of a client_credentials login (access_token, instance_url, id…)."""
    with https_session(connection["ca_file"]) as session:
        response = session.post(
            connection["login_url"] + "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": connection["client_id"],
                "client_secret": connection["client_secret"],
            },
            timeout=10,
        )
    response.raise_for_status()
    return response.json()


def salesforce_client(sb: Any, version: str = "62.0"):
    from simple_salesforce import Salesforce

    connection = sb.connection
    return Salesforce(
        instance_url=connection["instance_url"],
        session_id=client_credentials_token(connection),
        session=https_session(connection["ca_file"]),
        version=version,
    )


def communicate_or_dump(proc: Any, timeout: float) -> tuple[Any, Any]:
    """`proc.communicate(timeout)`; a process that does not end in time is asked for every
    thread's stack (SIGABRT: the child runs with PYTHONFAULTHANDLER=1), and the test fails
    with it, so a hang seen once under load says where it hung."""
    import signal
    import subprocess

    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        text = err.decode(errors="replace") if isinstance(err, bytes) else (err or "")
        raise AssertionError(f"{proc.args} did not end within {timeout} s; its threads then:\n{text[-6000:]}") from None


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    import sandbox as sandbox_pkg

    started: list[Any] = []
    numbers = itertools.count(1)

    def make(data_dir: str | Path | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("autosave", None)  # tests save explicitly or on stop
        sb = sandbox_pkg.start(data_dir or tmp_path / f"org{next(numbers)}", **kwargs)
        started.append(sb)
        return sb

    yield make
    for sb in reversed(started):
        sb.stop()


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., Any]) -> Any:
    return sandbox_factory()


@pytest.fixture
def sf(sandbox: Any):
    client = salesforce_client(sandbox)
    yield client
    client.session.close()


@pytest.fixture
def sf_for() -> Iterator[Callable[..., Any]]:
    clients: list[Any] = []

    def make(sb: Any, version: str = "62.0"):
        client = salesforce_client(sb, version)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.session.close()


# Logging hygiene for tests that run the product's CLI in-process: each test gets the
# logging configuration put back afterwards. Every jobs module is imported first, so a
# module that bound a logger at import (one once did; tests/security/test_log_pipeline.py
# guards against it) shows up here rather than in some later test.
import importlib  # noqa: E402
import logging  # noqa: E402
import pkgutil  # noqa: E402

import structlog  # noqa: E402

import jobs  # noqa: E402

for _info in pkgutil.walk_packages(jobs.__path__, "jobs."):
    importlib.import_module(_info.name)


@pytest.fixture(autouse=True)
def _logging_put_back():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)

"""Shared fixtures: a live sandbox org over HTTPS, and simple-salesforce pointed at it.

- `sandbox`: a fresh, empty (bootstrapped) org for one test, no faults, data in tmp_path.
- `sandbox_factory(**start_kwargs)`: more sandboxes (seeded, faulted, restarted on the
  same data_dir...), all stopped at the end of the test.
- `sf`: `simple_salesforce.Salesforce` on `sandbox`, logged in with client_credentials.
- `sf_for(sb, version="62.0")`: the same for any other sandbox.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests


def https_session(ca_file: str) -> requests.Session:
    session = requests.Session()
    session.verify = ca_file
    session.trust_env = False  # never route loopback through a proxy from the environment
    return session


def client_credentials_token(connection: dict) -> str:
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
    return response.json()["access_token"]


def salesforce_client(sb: Any, version: str = "62.0"):
    from simple_salesforce import Salesforce

    connection = sb.connection
    return Salesforce(
        instance_url=connection["instance_url"],
        session_id=client_credentials_token(connection),
        session=https_session(connection["ca_file"]),
        version=version,
    )


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

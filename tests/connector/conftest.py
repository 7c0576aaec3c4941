"""End-to-end fixtures: a sandbox org over real HTTPS, and clients configured for it.

Secrets reach the connector the only way it accepts them: environment variables
(set per test with monkeypatch) and files (the sandbox's private key).
"""
from __future__ import annotations

import pytest

from connector import ConnectorConfig, SalesforceClient

FAST_RETRY = {"max_attempts": 4, "initial_wait": 0.01, "max_wait": 0.05, "max_seconds": 10}


@pytest.fixture
def org(tmp_path):
    sandbox = pytest.importorskip("sandbox")
    if not hasattr(sandbox, "start"):
        pytest.skip("the sandbox has no start() yet")
    with sandbox.start(tmp_path / "org", autosave=None) as sb:
        yield sb


def auth_for(conn: dict, method: str, monkeypatch) -> dict:
    if method == "jwt_bearer":
        return {"method": method, "client_id": conn["client_id"], "username": conn["username"],
                "private_key_file": conn["private_key_file"]}
    monkeypatch.setenv("LR_TEST_SF_CLIENT_SECRET", conn["client_secret"])
    if method == "client_credentials":
        return {"method": method, "client_id": conn["client_id"], "client_secret_env": "LR_TEST_SF_CLIENT_SECRET"}
    if method == "refresh_token":
        monkeypatch.setenv("LR_TEST_SF_REFRESH", conn["refresh_token"])
        return {"method": method, "client_id": conn["client_id"], "client_secret_env": "LR_TEST_SF_CLIENT_SECRET",
                "refresh_token_env": "LR_TEST_SF_REFRESH"}
    if method == "password":
        monkeypatch.setenv("LR_TEST_SF_PASSWORD", conn["password"])
        return {"method": method, "client_id": conn["client_id"], "username": conn["username"],
                "client_secret_env": "LR_TEST_SF_CLIENT_SECRET", "password_env": "LR_TEST_SF_PASSWORD"}
    raise ValueError(method)


@pytest.fixture
def make_config(org, monkeypatch):
    def make(method: str = "client_credentials", **overrides) -> ConnectorConfig:
        conn = org.connection
        data = {
            "login_url": conn["login_url"],
            "ca_bundle": conn["ca_file"],
            "api_version": conn.get("api_version", "62.0"),
            "timeout": 10,
            "auth": auth_for(conn, method, monkeypatch),
            "retry": FAST_RETRY,
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return ConnectorConfig.model_validate(data)

    return make


@pytest.fixture
def connect(org, make_config):
    clients = []

    def _connect(method: str = "client_credentials", **overrides) -> SalesforceClient:
        client = SalesforceClient.connect(make_config(method, **overrides), clock=org.clock.now)
        clients.append(client)
        return client

    yield _connect
    for c in clients:
        c.close()


@pytest.fixture
def client(connect):
    return connect()

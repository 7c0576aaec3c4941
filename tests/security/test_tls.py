"""TLS: the org's certificate is verified, always, and nothing in the environment or the
config file can quietly turn that off.

The sandbox serves HTTPS with a certificate from its own throwaway CA; trusting any
other CA (or the system store, which does not know it) must fail the connection with a
message that says it is about the certificate.
"""
from __future__ import annotations

import pytest
import trustme

from connector import ConnectorConfig, SalesforceClient, TransientError
from connector.errors import ConnectorError

# one worker runs the whole module: its org is started once
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_tls")]

FAST = {"max_attempts": 1, "initial_wait": 0.01, "max_wait": 0.01, "max_seconds": 5}


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    import sandbox

    sb = sandbox.start(tmp_path_factory.mktemp("tls") / "org", autosave=None)
    yield sb
    sb.stop()


@pytest.fixture
def other_ca(tmp_path):
    path = tmp_path / "someone-elses-ca.pem"
    path.write_bytes(trustme.CA().cert_pem.bytes())
    return path


def _config(org, monkeypatch, **overrides) -> ConnectorConfig:
    c = org.connection
    monkeypatch.setenv("LR_SEC_TLS_SECRET", c["client_secret"])
    data = {"login_url": c["login_url"], "api_version": c["api_version"], "timeout": 5, "retry": FAST,
            "auth": {"method": "client_credentials", "client_id": c["client_id"],
                     "client_secret_env": "LR_SEC_TLS_SECRET"}, **overrides}
    return ConnectorConfig.model_validate(data)


def test_the_right_ca_connects(org, monkeypatch):
    with SalesforceClient.connect(_config(org, monkeypatch, ca_bundle=org.connection["ca_file"])) as client:
        assert client.count("SELECT COUNT() FROM User") >= 1


def test_a_wrong_ca_bundle_is_refused_with_a_tls_message(org, monkeypatch, other_ca):
    with pytest.raises(ConnectorError) as refused:
        SalesforceClient.connect(_config(org, monkeypatch, ca_bundle=str(other_ca)))
    assert "certificate" in str(refused.value).lower() or "ssl" in str(refused.value).lower()


def test_without_a_ca_bundle_the_system_store_is_used_and_refuses_an_unknown_ca(org, monkeypatch):
    config = _config(org, monkeypatch)
    with pytest.raises(ConnectorError, match="(?i)certificate|ssl"):
        SalesforceClient.connect(config)


@pytest.mark.parametrize("variable, value", [
    ("CURL_CA_BUNDLE", ""),  # requests once read an empty value as "verify nothing"
    ("REQUESTS_CA_BUNDLE", "{ca}"),  # the org's own CA, slipped in through the environment
    ("SSL_CERT_FILE", "{ca}"),
    ("HTTPS_PROXY", "http://127.0.0.1:9"),  # a proxy that would intercept (and is not there)
], ids=["empty_curl_ca_bundle", "requests_ca_bundle", "ssl_cert_file", "https_proxy"])
def test_the_environment_cannot_change_whom_the_connector_trusts(org, monkeypatch, variable, value):
    """With no ca_bundle configured, only the system store counts: an environment variable
    neither switches verification off nor adds the org's CA behind the config's back."""
    monkeypatch.setenv(variable, value.format(ca=org.connection["ca_file"]))
    with pytest.raises(ConnectorError, match="(?i)certificate|ssl"):
        SalesforceClient.connect(_config(org, monkeypatch))


@pytest.mark.parametrize("key", ["verify", "ssl_verify", "insecure", "verify_ssl"])
def test_there_is_no_setting_that_turns_verification_off(org, monkeypatch, key):
    with pytest.raises(ValueError, match=key):
        _config(org, monkeypatch, **{key: False})


def test_a_wrong_ca_through_the_cli_exits_non_zero_saying_it_is_the_certificate(org, tmp_path, other_ca,
                                                                                  capfd, monkeypatch):
    from jobs.cli import main

    from .rig import secret_env, write_config

    for var, value in secret_env(org.connection).items():
        monkeypatch.setenv(var, value)
    config = write_config(tmp_path, org, "client_credentials", notify=False, ca_file=str(other_ca))
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["once", "--config", str(config)])
    except SystemExit as exit_:
        code = exit_.code
    except TransientError as crash:  # pragma: no cover - reported as a failure below
        pytest.fail(f"`leadrouter once` crashed on a TLS failure instead of explaining it: {crash}")
    said = capfd.readouterr()
    text = said.out + said.err
    assert code not in (0, None)
    assert "certificate" in text.lower() and "ca_bundle" in text, text[-2000:]
    assert "Traceback" not in text, "a clear message, not a stack trace"

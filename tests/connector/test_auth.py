import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connector.auth import JWT_LIFETIME_SECONDS, TokenGrant, jwt_assertion, token_form
from connector.config import ConnectorConfig, JwtBearerAuth
from connector.errors import ConfigError
from pydantic import SecretStr


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("k") / "sf.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path, key.public_key()


def test_jwt_assertion_has_salesforce_claims_and_a_short_life(keypair):
    path, public = keypair
    auth = JwtBearerAuth(client_id="3MVG9.key", username="integration@x", private_key_file=path)
    token = jwt_assertion(auth, "https://test.salesforce.com", now=1_700_000_000)
    claims = jwt.decode(token, public, algorithms=["RS256"], audience="https://test.salesforce.com",
                        options={"verify_exp": False})
    assert claims == {"iss": "3MVG9.key", "sub": "integration@x", "aud": "https://test.salesforce.com",
                      "exp": 1_700_000_000 + JWT_LIFETIME_SECONDS}
    assert JWT_LIFETIME_SECONDS <= 180


def test_a_configured_audience_overrides_the_login_url(keypair):
    path, public = keypair
    auth = JwtBearerAuth(client_id="c", username="u", private_key_file=path, audience="https://login.salesforce.com")
    token = jwt_assertion(auth, "https://acme.my.salesforce.com", now=1)
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "https://login.salesforce.com"


def test_a_file_that_is_not_a_private_key_is_a_config_error(tmp_path):
    bad = tmp_path / "key.pem"
    bad.write_text("not a key")
    auth = JwtBearerAuth(client_id="c", username="u", private_key_file=bad)
    with pytest.raises(ConfigError, match="private_key_file"):
        jwt_assertion(auth, "https://test.salesforce.com", now=1)


def test_refresh_token_form_carries_the_secret_only_when_configured(monkeypatch):
    monkeypatch.setenv("RT", "rt-value")
    cfg = ConnectorConfig.model_validate({"auth": {"method": "refresh_token", "client_id": "c",
                                                   "refresh_token_env": "RT"}})
    assert token_form(cfg, now=0) == {"grant_type": "refresh_token", "client_id": "c", "refresh_token": "rt-value"}


def test_token_grant_repr_hides_the_token():
    grant = TokenGrant(SecretStr("00Dxx!secret"), "https://x", 0.0)
    assert "secret" not in repr(grant)


def test_an_unset_secret_variable_fails_the_login_naming_it(monkeypatch):
    import requests

    from connector.auth import request_token

    monkeypatch.delenv("SF_UNSET_FOR_TEST", raising=False)
    cfg = ConnectorConfig.model_validate({"auth": {"method": "client_credentials", "client_id": "c",
                                                   "client_secret_env": "SF_UNSET_FOR_TEST"}})
    with pytest.raises(ConfigError, match="SF_UNSET_FOR_TEST is not set") as err:
        request_token(cfg, requests.Session())  # fails before any request is made
    assert err.value.code == "missing_secret"


@pytest.mark.parametrize("login_url, audience", [
    ("https://login.salesforce.com", "https://login.salesforce.com"),
    ("https://test.salesforce.com", "https://test.salesforce.com"),
    ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
    ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
    ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
])
def test_jwt_audience_is_what_salesforce_accepts_for_the_login_url(login_url, audience):
    from connector.auth import default_audience

    assert default_audience(login_url) == audience

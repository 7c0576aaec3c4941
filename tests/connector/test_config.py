import pytest
from pydantic import ValidationError

from connector.config import (
    ConnectorConfig,
    JwtBearerAuth,
    PasswordAuth,
    RefreshTokenAuth,
    SecretResolutionError,
)


def cfg(**auth):
    return ConnectorConfig.model_validate({"login_url": "https://test.salesforce.com", "auth": auth})


def test_auth_method_is_chosen_by_its_method_key():
    c = cfg(method="client_credentials", client_id="abc", client_secret_env="SF_SECRET")
    assert c.auth.method == "client_credentials"
    assert c.api_version == "62.0"
    assert c.timeout == 30.0


def test_literal_secret_in_config_is_refused_with_the_reference_to_use():
    with pytest.raises(ValidationError) as err:
        cfg(method="client_credentials", client_id="abc", client_secret="s3cr3t-value")
    text = str(err.value)
    assert "client_secret_env" in text and "literal secret" in text
    assert "s3cr3t-value" not in text  # the pasted secret is not echoed back


def test_literal_password_is_refused():
    with pytest.raises(ValidationError, match="password_env"):
        cfg(method="password", client_id="a", username="u", client_secret_env="X", password="hunter2")


def test_secret_reference_must_be_env_or_file_not_both():
    with pytest.raises(ValidationError, match="either `client_secret_env` or `client_secret_file`"):
        cfg(method="client_credentials", client_id="a", client_secret_env="X", client_secret_file="/tmp/x")


def test_missing_secret_reference_says_how_to_give_one():
    with pytest.raises(ValidationError, match="set `private_key_env`.*or `private_key_file`"):
        cfg(method="jwt_bearer", client_id="a", username="u")


def test_unknown_auth_method_is_refused():
    with pytest.raises(ValidationError, match="method"):
        cfg(method="magic", client_id="a")


def test_login_url_must_be_https():
    with pytest.raises(ValidationError, match="must be an https:// URL"):
        ConnectorConfig.model_validate(
            {"login_url": "http://login.salesforce.com", "auth": {"method": "client_credentials",
             "client_id": "a", "client_secret_env": "X"}}
        )


def test_api_version_shape_is_checked():
    with pytest.raises(ValidationError, match="api_version"):
        ConnectorConfig.model_validate(
            {"api_version": "sixty", "auth": {"method": "client_credentials", "client_id": "a",
                                              "client_secret_env": "X"}}
        )


def test_secret_resolves_from_env_and_repr_is_redacted(monkeypatch):
    monkeypatch.setenv("SF_SECRET_T", "top-secret")
    auth = cfg(method="client_credentials", client_id="a", client_secret_env="SF_SECRET_T").auth
    secret = auth.client_secret()
    assert secret.get_secret_value() == "top-secret"
    assert "top-secret" not in repr(secret) and "top-secret" not in str(secret)


def test_unset_env_var_names_the_variable(monkeypatch):
    monkeypatch.delenv("SF_NOPE", raising=False)
    auth = cfg(method="client_credentials", client_id="a", client_secret_env="SF_NOPE").auth
    with pytest.raises(SecretResolutionError, match="SF_NOPE is not set"):
        auth.client_secret()


def test_secret_file_is_read_and_stripped(tmp_path):
    f = tmp_path / "tok"
    f.write_text("refresh-xyz\n")
    auth = RefreshTokenAuth(client_id="a", refresh_token_file=f)
    assert auth.refresh_token().get_secret_value() == "refresh-xyz"
    assert auth.client_secret() is None


def test_missing_secret_file_names_the_path(tmp_path):
    auth = JwtBearerAuth(client_id="a", username="u", private_key_file=tmp_path / "missing.key")
    with pytest.raises(SecretResolutionError, match="missing.key"):
        auth.private_key()


def test_password_flow_appends_the_security_token(monkeypatch):
    monkeypatch.setenv("PW", "pass")
    monkeypatch.setenv("TOK", "TOKEN")
    auth = PasswordAuth(client_id="a", username="u", client_secret_env="PW", password_env="PW",
                        security_token_env="TOK")
    assert auth.password().get_secret_value() == "passTOKEN"


def test_custom_notifications_need_a_notification_type():
    with pytest.raises(ValidationError, match="custom_notification_type_id"):
        ConnectorConfig.model_validate(
            {"auth": {"method": "client_credentials", "client_id": "a", "client_secret_env": "X"},
             "notify": {"kind": "custom"}}
        )


def test_ca_bundle_must_exist(tmp_path):
    with pytest.raises(ValidationError, match="ca_bundle"):
        ConnectorConfig.model_validate(
            {"ca_bundle": str(tmp_path / "nope.pem"),
             "auth": {"method": "client_credentials", "client_id": "a", "client_secret_env": "X"}}
        )


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_timeout_that_is_not_a_finite_number_is_said_to_be_one(value):
    """TOML has nan and inf: `timeout = nan` was refused as "must be ≤ 600", which it is not
    about."""
    with pytest.raises(ValidationError, match="finite number"):
        ConnectorConfig.model_validate({"login_url": "https://test.salesforce.com", "timeout": value,
                                        "auth": {"method": "client_credentials", "client_id": "a",
                                                 "client_secret_env": "X"}})

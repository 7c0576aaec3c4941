"""A secret pasted where the config names the variable that holds it
(`client_secret_env = "<the secret>"`, an easy slip from `client_secret_env =
"LEADROUTER_CLIENT_SECRET"`) was printed back by `validate` and logged by `once`/`run`:
"environment variable A4FAEF…6523F is not set". It is refused at load, as a literal
`client_secret` is, without the value."""
from __future__ import annotations

from pathlib import Path

import pytest

from jobs.cli import main

ROOT = Path(__file__).resolve().parents[2]
SECRET = "A4FAEF82C61E27512D24297FE0D670601A725B86835788E09CB0B3D17CD6523F"  # as a consumer secret looks
TOKEN = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJ5ns9Jz.Bq3uWpHSj5YY4ZLYHBQoPQ1NoKmcQ"  # a refresh token


@pytest.mark.parametrize("key, value, method", [
    ("client_secret_env", SECRET, "client_credentials"),
    ("refresh_token_env", TOKEN, "refresh_token"),
    ("private_key_env", "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBg", "jwt_bearer"),
], ids=["consumer secret", "refresh token", "private key"])
def test_a_secret_pasted_as_the_variable_name_is_refused_without_showing_it(tmp_path, capsys, key, value, method):
    user = 'username = "integration@example.com"' if method == "jwt_bearer" else ""
    code, said = _validate(tmp_path, capsys, f'method = "{method}"\n{user}\n{key} = "{value}"')  # looked up at the login
    assert code != 0 and key in said, said
    assert value not in said and value[:20] not in said, said


def test_an_ordinary_variable_name_is_still_taken(tmp_path):
    from jobs.config import load

    for name in ("LEADROUTER_CLIENT_SECRET", "SF_SECRET", "sfsecret", "CLIENTSECRET"):
        config = tmp_path / "leadrouter.toml"
        config.write_text(f'[salesforce.auth]\nmethod = "client_credentials"\nclient_id = "x"\nclient_secret_env = "{name}"\n')
        assert load(config, env={}).connector_config().auth.client_secret_env == name


def test_a_secret_pasted_as_the_file_path_is_not_shown_when_the_file_is_missing(tmp_path, capsys):
    """`client_secret_file = "<the secret>"`: "cannot read secret file /etc/leadrouter/A4FAEF…"."""
    code, said = _validate(tmp_path, capsys, f'method = "client_credentials"\nclient_secret_file = "{SECRET}"')
    assert code != 0
    assert "cannot read secret file" in said and SECRET[:20] not in said, said


def _validate(tmp_path, capsys, auth: str) -> tuple[int, str]:
    """`validate` of a config whose [salesforce.auth] holds `auth`: its exit code, and all it said."""
    config = tmp_path / "leadrouter.toml"
    config.write_text(f'[salesforce]\nlogin_url = "https://127.0.0.1:9"\n[salesforce.auth]\nclient_id = "3MVG9abc"\n'
                      f'{auth}\n[routing]\nrules = "{ROOT / "rules" / "defaults" / "rules.toml"}"\n')
    code = main(["validate", "--config", str(config)])
    out = capsys.readouterr()
    return code, out.out + out.err

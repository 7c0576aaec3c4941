"""The config file: every key documented, typos named with file, line and the fix."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jobs.config import ConfigFileError, load

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text: str) -> Path:
    p = tmp_path / "leadrouter.toml"
    p.write_text(textwrap.dedent(text))
    return p


def test_example_config_loads_and_builds_a_connector_config():
    loaded = load(ROOT / "config.example.toml", env={})
    cfg = loaded.connector_config()
    assert cfg.auth.method == "jwt_bearer"
    assert loaded.settings.state.url == "sqlite:///leadrouter.sqlite"
    # relative paths are taken relative to the file, not to wherever the process started
    assert cfg.auth.private_key_file == ROOT / "secrets" / "leadrouter.key"


def test_example_config_documents_every_key():
    from jobs.config import Settings

    text = (ROOT / "config.example.toml").read_text()
    for section, field in Settings.model_fields.items():
        assert f"[{section}]" in text, f"[{section}] missing from config.example.toml"
        model = field.annotation
        for key in getattr(model, "model_fields", {}):
            assert f"{key} =" in text or f"# {key} =" in text, f"[{section}] {key} undocumented"


def test_unknown_key_names_file_line_and_nearest_key(tmp_path):
    p = write(tmp_path, """
        [schedule]
        leads = 30
        sync_partner = 600
    """)
    with pytest.raises(ConfigFileError) as e:
        load(p, env={})
    assert f"{p}:4" in str(e.value)
    assert "did you mean 'schedule.sync_partners'" in str(e.value)


def test_unknown_key_inside_the_connector_section_is_found_too(tmp_path):
    p = write(tmp_path, """
        [salesforce]
        login_url = "https://test.salesforce.com"
        [salesforce.auth]
        method = "client_credentials"
        client_id = "abc"
        client_secret_env = "SF_SECRET"
        clientid = "x"
    """)
    with pytest.raises(ConfigFileError) as e:
        load(p, env={})
    assert f"{p}:8" in str(e.value) and "client_id" in str(e.value)


def test_a_literal_secret_is_refused_with_the_reference_to_use(tmp_path):
    p = write(tmp_path, """
        [salesforce.auth]
        method = "client_credentials"
        client_id = "abc"
        client_secret = "hunter2"
    """)
    with pytest.raises(ConfigFileError) as e:
        load(p, env={})
    msg = str(e.value)
    assert f"{p}:5" in msg and "client_secret_env" in msg and "hunter2" not in msg


def test_environment_overrides_urls(tmp_path):
    p = write(tmp_path, """
        [state]
        url = "sqlite:///here.sqlite"
    """)
    loaded = load(p, env={"LEADROUTER_STATE_URL": "postgresql://postgres@db/leadrouter"})
    # the bare scheme would pick psycopg2; we ship psycopg 3
    assert loaded.state_url() == "postgresql+psycopg://postgres@db/leadrouter"


def test_sqlite_path_is_relative_to_the_config_file(tmp_path):
    p = write(tmp_path, "[state]\nurl = \"sqlite:///state/lr.sqlite\"\n")
    assert load(p, env={}).state_url() == f"sqlite:///{tmp_path}/state/lr.sqlite"


def test_wrong_value_type_says_which_key(tmp_path):
    p = write(tmp_path, "[offers]\nreminder_before_hours = \"soon\"\n")
    with pytest.raises(ConfigFileError) as e:
        load(p, env={})
    assert f"{p}:2" in str(e.value) and "offers.reminder_before_hours" in str(e.value)


def test_missing_file_says_how_to_start(tmp_path):
    with pytest.raises(ConfigFileError, match="config.example.toml"):
        load(tmp_path / "nope.toml", env={})


@pytest.mark.parametrize("inner, table", [("budget", "budget"), ("notify", "notifications")])
def test_the_connectors_own_tables_under_salesforce_are_named_where_they_go(tmp_path, inner, table):
    """[salesforce.budget] looked right and was silently replaced by the top-level [budget]."""
    p = write(tmp_path, f"""
        [salesforce]
        login_url = "https://test.salesforce.com"
        [salesforce.auth]
        method = "client_credentials"
        client_id = "abc"
        client_secret_env = "SF_SECRET"
        [salesforce.{inner}]
        pause_non_urgent_at = 0.5
    """)
    with pytest.raises(ConfigFileError) as e:
        load(p, env={})
    assert f"[salesforce.{inner}]" in str(e.value) and f"[{table}]" in str(e.value)


@pytest.mark.parametrize("var, value, key", [
    ("LEADROUTER_LOGIN_URL", "http://acme.my.salesforce.com", "salesforce.login_url"),
    ("LEADROUTER_LOG_LEVEL", "verbose", "log.level"),
    ("LEADROUTER_ORG", "Acme-Prod", "org.name"),
])
def test_a_wrong_value_from_the_environment_is_blamed_on_the_variable_not_the_files_line(tmp_path, var, value, key):
    """The file's line holds a good value; pointing at it sends the reader to the wrong place."""
    p = write(tmp_path, """
        [org]
        name = "acme"
        [salesforce]
        login_url = "https://acme.my.salesforce.com"
        [salesforce.auth]
        method = "client_credentials"
        client_id = "x"
        client_secret_env = "S"
        [log]
        level = "info"
    """)
    with pytest.raises(ConfigFileError) as err:
        load(p, env={var: value})
    [problem] = err.value.problems
    assert problem.key == key and problem.line is None, problem
    assert var in problem.message and var in (problem.fix or ""), problem


@pytest.mark.parametrize("table, written, fix", [
    ("budget", "share = -1", "share = 0.25"),
    ("schedule", 'leads = "60s"', "leads = 60"),
    ("offers", 'followup_days = "3 days"', "followup_days = 3.0"),
    ("state", "retention_days = 0", "retention_days = 90"),
])
def test_a_value_out_of_range_or_of_the_wrong_type_shows_the_line_as_the_example_has_it(tmp_path, table, written,
                                                                                        fix):
    """'Input should be greater than 0 — fix: see config.example.toml for this key's type and
    default' sent the reader to another file for what one line can say."""
    p = write(tmp_path, f"[{table}]\n{written}\n")
    with pytest.raises(ConfigFileError) as err:
        load(p, env={})
    [problem] = err.value.problems
    assert problem.line == 2 and fix in (problem.fix or ""), problem


@pytest.mark.parametrize("lines, key, said", [
    ('offer_alert = "custom"', "offer_alert", "custom_notification_type_id"),
    ('mode = "custom"', "mode", "custom_notification_type_id"),
    ('email_sender_type = "OrgWideEmailAddress"', "email_sender_type", "email_sender_address"),
])
def test_a_notification_setting_that_cannot_work_is_refused_at_its_line_in_the_files_words(tmp_path, lines, key, said):
    """offer_alert = "custom" without a type id passed validate and then failed every alert
    of every run; mode = "custom" was said as 'notify.kind', a key of no file."""
    p = write(tmp_path, f"[notifications]\n{lines}\n")
    with pytest.raises(ConfigFileError) as err:
        load(p, env={})
    [problem] = err.value.problems
    assert problem.line == 2 and key in problem.message and said in problem.message, problem
    assert "notify.kind" not in str(problem), problem


@pytest.mark.parametrize("method, meant", [("jwt", "jwt_bearer"), ("JWT_Bearer", "jwt_bearer"),
                                           ("oauth_client_credentials", "client_credentials")])
def test_an_unknown_auth_method_is_said_in_words_with_the_one_meant(tmp_path, method, meant):
    """Not pydantic's "Input tag 'jwt' found using 'method' does not match any of the expected tags"."""
    p = write(tmp_path, f"""
        [salesforce]
        login_url = "https://acme.my.salesforce.com"
        [salesforce.auth]
        method = "{method}"
        client_id = "x"
    """)
    with pytest.raises(ConfigFileError) as err:
        load(p, env={})
    [problem] = err.value.problems
    assert problem.key == "salesforce.auth.method" and problem.line == 5, problem
    assert "tag" not in problem.message and f"did you mean {meant!r}?" in (problem.fix or ""), problem


def test_a_missing_secret_of_the_password_method_is_not_said_as_a_key_named_password(tmp_path):
    p = write(tmp_path, """
        [salesforce]
        login_url = "https://acme.my.salesforce.com"
        [salesforce.auth]
        method = "password"
        client_id = "x"
        username = "me@acme.com"
        password_env = "P"
    """)
    with pytest.raises(ConfigFileError) as err:
        load(p, env={})
    [problem] = err.value.problems
    assert problem.key == "salesforce.auth" and "client_secret" in problem.message, problem


def test_the_auth_methods_the_messages_know_are_the_connectors():
    from connector.config import AuthConfig
    from jobs.config import _AUTH_METHODS

    members = AuthConfig.__origin__.__args__  # type: ignore[attr-defined]
    assert set(_AUTH_METHODS) == {a for m in members for a in m.model_fields["method"].annotation.__args__}

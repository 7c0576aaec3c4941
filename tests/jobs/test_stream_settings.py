"""[stream] settings: the defaults, and mistakes named with the fix."""
from __future__ import annotations

import pytest

from jobs.config import ConfigFileError, load


def _write(tmp_path, text):
    p = tmp_path / "leadrouter.toml"
    p.write_text(text)
    return p


def test_defaults_stream_first_with_a_quarter_hour_reconciliation():
    s = load(None, env={}).settings.stream
    assert (s.mode, s.pubsub_url, s.reconcile_seconds) == ("auto", "api.pubsub.salesforce.com:7443", 900)


def test_a_url_with_a_scheme_is_refused_with_the_form_wanted(tmp_path):
    with pytest.raises(ConfigFileError) as err:
        load(_write(tmp_path, '[stream]\npubsub_url = "https://api.pubsub.salesforce.com:7443"\n'), env={})
    assert "leadrouter.toml:2" in str(err.value) and "host:port" in str(err.value)


def test_an_unknown_mode_names_the_choices(tmp_path):
    with pytest.raises(ConfigFileError) as err:
        load(_write(tmp_path, '[stream]\nmode = "streaming"\n'), env={})
    assert "stream.mode" in str(err.value) and "'auto', 'cdc' or 'poll'" in str(err.value)


def test_the_endpoint_can_come_from_the_environment():
    s = load(None, env={"LEADROUTER_PUBSUB_URL": "127.0.0.1:7443"}).settings.stream
    assert s.pubsub_url == "127.0.0.1:7443"

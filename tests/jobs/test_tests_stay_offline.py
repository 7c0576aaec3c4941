"""Tests run offline: the helper that starts `leadrouter run` refuses a config whose event
stream would dial Salesforce's Pub/Sub (api.pubsub.salesforce.com) instead of polling or
the sandbox's own Pub/Sub."""
from __future__ import annotations

import pytest

from tests.jobs.conftest import leadrouter


def test_a_run_whose_stream_would_leave_the_machine_is_refused_before_it_starts(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[org]\nname = "acme"\n')  # no [stream]: mode auto, Salesforce's Pub/Sub
    with pytest.raises(AssertionError, match="would dial api.pubsub.salesforce.com"):
        leadrouter(cfg, "run")


def test_a_polling_run_passes_the_check(tmp_path):
    from tests.jobs.conftest import _assert_offline

    cfg = tmp_path / "config.toml"
    cfg.write_text('[org]\nname = "acme"\n\n[stream]\nmode = "poll"\n')
    _assert_offline(cfg, {})

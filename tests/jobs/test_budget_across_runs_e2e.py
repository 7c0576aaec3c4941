"""`[budget] share` bounds this connector's calls over a rolling 24 hours. A cron deployment
starts a new `leadrouter once` process every few minutes, and each counted only its own
calls from zero: the share bounded one run, never the day (two runs measured: the org's
count went 28 → 47, ours said 28, then 18). The calls of earlier runs are in the state's job
runs, dated by the org's clock; a start now carries the last 24 hours of them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.jobs.kestrel_org import kestrel_fixture

pytestmark = pytest.mark.e2e

kestrel = pytest.fixture(kestrel_fixture)

DAILY_LIMIT = 100_000


def _with_share(k, calls: int) -> None:
    share = calls / DAILY_LIMIT
    text = k.config.read_text()
    assert "[budget]" not in text, "the test config has no budget section of its own"
    k.config.write_text(text + f"\n[budget]\nshare = {share!r}\npause_non_urgent_at = 0.99\n")


def test_the_share_counts_the_calls_of_earlier_runs_of_the_day(kestrel, capfd):
    k = kestrel
    k.sb.limit.set(maximum=DAILY_LIMIT, used=0)
    k.once(init=True)
    first = k.sb.limit.used  # every call of the first run, its start's included
    assert first >= 5, first

    # a share that leaves the next run three calls: the first run's calls are today's too
    _with_share(k, first + 3)
    lead = k.new_lead("Osaka Optics", "JP")
    capfd.readouterr()
    from jobs.cli import main

    k.sb.clock.advance(timedelta(minutes=5))
    try:
        code = main(["once", "--config", str(k.config)])
    except SystemExit as stopped:
        code = stopped.code
    said = capfd.readouterr().err
    assert code == 1, said
    assert "LEADROUTER_SHARE_SPENT" in said or "budget" in said, said
    assert "did not answer" not in said, "the org answered: the connector's own share is spent"
    assert k.sb.limit.used - first <= 3 + 1, "the run stopped at the share, not after its whole cycle"
    assert k.view(lead)["Routing_Status__c"] != "Offered", k.view(lead)


def test_calls_older_than_a_day_no_longer_count(kestrel, capfd):
    k = kestrel
    k.sb.limit.set(maximum=DAILY_LIMIT, used=0)
    k.once(init=True)
    _with_share(k, k.sb.limit.used + 3)
    lead = k.new_lead("Osaka Optics", "JP")
    k.once(hours=25)  # the org's day has rolled past the first run: the share is whole again
    assert k.view(lead)["Routing_Status__c"] == "Offered", k.view(lead)


def test_each_run_carries_the_earlier_runs_on_so_a_third_still_counts_the_first(kestrel, capfd):
    k = kestrel
    k.sb.limit.set(maximum=DAILY_LIMIT, used=0)
    k.once(init=True)
    k.once(hours=1)
    _with_share(k, k.sb.limit.used + 3)  # both runs' calls, and three more
    lead = k.new_lead("Osaka Optics", "JP")
    capfd.readouterr()
    from jobs.cli import main

    k.sb.clock.advance(timedelta(hours=1))
    try:
        code = main(["once", "--config", str(k.config)])
    except SystemExit as stopped:
        code = stopped.code
    said = capfd.readouterr().err
    assert code == 1 and "budget" in said, said
    assert k.view(lead)["Routing_Status__c"] != "Offered", k.view(lead)

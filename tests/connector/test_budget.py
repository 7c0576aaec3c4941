from datetime import datetime, timedelta, timezone

import pytest

from connector.budget import ApiBudget
from connector.config import BudgetConfig
from connector.errors import BudgetExceeded


class Clock:
    def __init__(self):
        self.now = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


def test_calls_are_allowed_before_the_org_limit_is_known():
    budget = ApiBudget(BudgetConfig(share=0.1))
    budget.check()
    assert budget.allowance is None


def test_our_share_of_the_daily_limit_stops_the_next_call():
    clock = Clock()
    budget = ApiBudget(BudgetConfig(share=0.1), clock=clock)
    budget.observe(used=50, maximum=100)
    for _ in range(10):
        budget.check()
        budget.spend()
    with pytest.raises(BudgetExceeded, match="share is 10") as err:
        budget.check()
    assert "budget.share" in err.value.fix


def test_the_share_frees_up_as_calls_leave_the_rolling_24_hours():
    clock = Clock()
    budget = ApiBudget(BudgetConfig(share=0.1), clock=clock)
    budget.observe(used=0, maximum=100)
    budget.spend(10)
    clock.now += timedelta(hours=23)
    with pytest.raises(BudgetExceeded):
        budget.check()
    clock.now += timedelta(hours=1, minutes=1)
    budget.check()
    assert budget.spent == 0


def test_org_wide_limit_reached_stops_calls_even_with_share_left():
    budget = ApiBudget(BudgetConfig(share=1.0))
    budget.observe(used=15000, maximum=15000)
    with pytest.raises(BudgetExceeded, match="REQUEST_LIMIT_EXCEEDED"):
        budget.check()


def test_non_urgent_jobs_pause_at_the_org_wide_threshold_and_say_so():
    logged = []

    class Log:
        def warning(self, event, **kw):
            logged.append((event, kw))

        def info(self, event, **kw):
            logged.append((event, kw))

    budget = ApiBudget(BudgetConfig(share=0.5, pause_non_urgent_at=0.8), logger=Log())
    budget.observe(used=7999, maximum=10000)
    assert not budget.should_pause_non_urgent()
    budget.observe(used=8000, maximum=10000)
    assert budget.should_pause_non_urgent()
    assert budget.status()["holding_back"] is True
    assert logged[-1][0] == "api budget: holding back non-urgent jobs"
    budget.observe(used=8001, maximum=10000)
    assert len(logged) == 1  # one line per change, not per call


def test_limit_info_is_read_for_the_org_not_the_per_app_figure():
    from connector.budget import parse_limit_info

    assert parse_limit_info("api-usage=18/15000") == (18, 15000)
    assert parse_limit_info("per-app-api-usage=17/250(appName=leadrouter); api-usage=25/5000") == (25, 5000)
    assert parse_limit_info("api-usage=25/5000; per-app-api-usage=17/250(appName=leadrouter)") == (25, 5000)
    assert parse_limit_info(None) is None and parse_limit_info("garbage") is None


def test_a_spent_org_limit_is_asked_about_again_once_the_figure_is_stale():
    clock = Clock()
    budget = ApiBudget(BudgetConfig(share=1.0), clock=clock)
    budget.observe(used=100, maximum=100)
    with pytest.raises(BudgetExceeded):
        budget.check()
    assert budget.should_pause_non_urgent()
    clock.now += timedelta(minutes=6)
    budget.check()  # one probe goes through: only a response can say the window rolled
    with pytest.raises(BudgetExceeded):
        budget.check()  # …and only one per interval while no fresh figure arrives
    budget.observe(used=3, maximum=100)  # the probe's answer: the 24-hour window rolled
    budget.check()
    assert not budget.should_pause_non_urgent()

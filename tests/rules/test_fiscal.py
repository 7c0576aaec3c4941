"""Quarters and years follow the org's fiscal year (`fiscal_year_start_month`): in a
rule's time symbols, in the performance facts' "this quarter", and 1 keeps calendar
quarters."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from rules import PartnerIndex, Router, RoutingState, load_rules
from rules.expressions import time_values
from rules.fiscal import quarter_start
from rules.model import DecisionKind
from rules.performance import OutcomeEvent, partner_facts

from tests.rules.conftest import QUEUES, lead, partner

UTC = timezone.utc
JAN_20 = datetime(2027, 1, 20, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("start, now, quarter", [
    (1, datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)),
    (1, datetime(2027, 1, 1, 0, 0, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    (2, JAN_20, datetime(2026, 11, 1, tzinfo=UTC)),  # Feb–Apr, May–Jul, Aug–Oct, Nov–Jan
    (2, datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)),
    (4, datetime(2027, 3, 31, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),  # April: Jan–Mar is its Q4
    (11, datetime(2027, 1, 31, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
    (12, datetime(2027, 2, 28, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
])
def test_a_quarter_starts_where_the_fiscal_year_puts_it(start, now, quarter):
    assert quarter_start(now, start) == quarter


def test_the_time_symbols_end_the_fiscal_quarter_and_year():
    calendar = time_values(JAN_20)
    assert calendar["quarter_end"].date() == date(2027, 3, 31) and calendar["year_end"].date() == date(2027, 12, 31)
    february = time_values(JAN_20, 2)
    assert february["quarter_start"].date() == date(2026, 11, 1)
    assert february["quarter_end"].date() == date(2027, 1, 31) and february["year_end"].date() == date(2027, 1, 31)
    assert february["month_end"] == calendar["month_end"] and february["today"] == calendar["today"]


RULES = """
[settings]
escalation_queue = "Channel_Escalations"
fiscal_year_start_month = {start}

[[ruleset]]
name = "Closing this quarter"
when = "close_date <= quarter_end"
otherwise = "unroutable"
  [[ruleset.rule]]
  name = "Covering"
  match = {{ geography = true }}
"""


@pytest.mark.parametrize("start, routed", [(1, True), (2, False)])
def test_closing_this_quarter_means_the_orgs_fiscal_quarter(start, routed):
    book = load_rules(text=RULES.format(start=start))
    router = Router(book, PartnerIndex.build([partner("001A")], book), queue_ids=QUEUES)
    decision = router.decide(lead(close_date=date(2027, 2, 15)), RoutingState(), JAN_20)
    # calendar Q1 runs to March: February closes this quarter; a fiscal year from February
    # puts January at the end of Q4, and February in the next quarter
    assert (decision.kind is DecisionKind.OFFER) is routed, decision


def test_won_this_quarter_counts_the_fiscal_quarter():
    won = [OutcomeEvent("001A", "won", datetime(2026, m, 15, tzinfo=UTC), amount=100.0) for m in (10, 11, 12)]
    assert partner_facts(won, JAN_20)["001A"].won_this_quarter == 0  # calendar Q1 2027 has none
    assert partner_facts(won, JAN_20, 2)["001A"].won_this_quarter == 2  # Nov–Jan: November and December


@pytest.mark.parametrize("value", ["0", "13"])
def test_a_fiscal_start_that_is_not_a_month_names_the_key_and_the_org_setting(value):
    from rules.errors import RulesError

    with pytest.raises(RulesError) as err:
        load_rules(text=RULES.format(start=value))
    (p,) = err.value.problems
    assert p.key == "settings.fiscal_year_start_month" and "1 to 12" in p.message and p.line == 4
    assert "FiscalYearStartMonth" in p.fix

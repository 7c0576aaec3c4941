"""Days, quarters and years are the org's: its time zone (`time_zone`) turns the day, its
fiscal year (`fiscal_year_start_month`) the quarter — in a rule's time symbols, in the
performance facts' "this quarter" and in the daily caps; UTC and 1 keep UTC calendar
quarters."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from rules import PartnerIndex, Router, RoutingState, load_rules
from rules.errors import RulesError
from rules.expressions import time_values
from rules.fiscal import FiscalPeriod, OrgCalendar
from rules.model import DecisionKind
from rules.performance import OutcomeEvent, partner_facts

from tests.rules.conftest import QUEUES, lead, partner

UTC = timezone.utc
JAN_20 = datetime(2027, 1, 20, 15, 0, tzinfo=UTC)
NEW_YEARS_EVE_IN_LOS_ANGELES = datetime(2027, 1, 1, 4, 0, tzinfo=UTC)  # 20:00 on 31 December there
LOS_ANGELES = OrgCalendar(time_zone="America/Los_Angeles")

RULES = """
[settings]
escalation_queue = "Channel_Escalations"
{setting}

[[ruleset]]
name = "Leads"
{when}otherwise = "unroutable"
  [[ruleset.rule]]
  name = "Covering"
  match = {{ geography = true }}
"""


def router_for(setting: str, when: str = "", **partner_fields) -> Router:
    """One partner covering every lead, under a rule file with this [settings] line (line 4)."""
    book = load_rules(text=RULES.format(setting=setting, when=f"when = {when!r}\n" if when else ""))
    return Router(book, PartnerIndex.build([partner("001A", **partner_fields)], book), queue_ids=QUEUES)


def offered(decision) -> bool:
    return decision.kind is DecisionKind.OFFER


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
    assert OrgCalendar(start).quarter_start(now) == quarter


def test_the_time_symbols_end_the_fiscal_quarter_and_year():
    calendar = time_values(JAN_20)
    assert calendar["quarter_end"].date() == date(2027, 3, 31) and calendar["year_end"].date() == date(2027, 12, 31)
    february = time_values(JAN_20, OrgCalendar(2))
    assert february["quarter_start"].date() == date(2026, 11, 1)
    assert february["quarter_end"].date() == date(2027, 1, 31) and february["year_end"].date() == date(2027, 1, 31)
    assert february["month_end"] == calendar["month_end"] and february["today"] == calendar["today"]


@pytest.mark.parametrize("start, routed", [(1, True), (2, False)])
def test_closing_this_quarter_means_the_orgs_fiscal_quarter(start, routed):
    router = router_for(f"fiscal_year_start_month = {start}", "close_date <= quarter_end")
    decision = router.decide(lead(close_date=date(2027, 2, 15)), RoutingState(), JAN_20)
    # calendar Q1 runs to March: February closes this quarter; a fiscal year from February
    # puts January at the end of Q4, and February in the next quarter
    assert offered(decision) is routed, decision


def test_won_this_quarter_counts_the_fiscal_quarter():
    won = [OutcomeEvent("001A", "won", datetime(2026, m, 15, tzinfo=UTC), amount=100.0) for m in (10, 11, 12)]
    assert partner_facts(won, JAN_20)["001A"].won_this_quarter == 0  # calendar Q1 2027 has none
    assert partner_facts(won, JAN_20, OrgCalendar(2))["001A"].won_this_quarter == 2  # Nov–Jan: November and December


def _problem(setting: str):
    with pytest.raises(RulesError) as err:
        router_for(setting)
    (p,) = err.value.problems
    return p


@pytest.mark.parametrize("value", ["0", "13"])
def test_a_fiscal_start_that_is_not_a_month_names_the_key_and_the_org_setting(value):
    p = _problem(f"fiscal_year_start_month = {value}")
    assert p.key == "settings.fiscal_year_start_month" and "1 to 12" in p.message and p.line == 4
    assert "FiscalYearStartMonth" in p.fix


def test_the_day_turns_in_the_orgs_time_zone():
    there = time_values(NEW_YEARS_EVE_IN_LOS_ANGELES, LOS_ANGELES)
    assert there["today"].date() == date(2026, 12, 31) and there["quarter_end"].date() == date(2026, 12, 31)
    assert there["year_end"].date() == date(2026, 12, 31) and there["now"] == NEW_YEARS_EVE_IN_LOS_ANGELES
    assert time_values(NEW_YEARS_EVE_IN_LOS_ANGELES)["today"].date() == date(2027, 1, 1)


@pytest.mark.parametrize("zone, routed", [("America/Los_Angeles", True), ("UTC", False)])
def test_a_lead_closing_today_in_the_org_is_still_closing_today(zone, routed):
    router = router_for(f'time_zone = "{zone}"', "close_date >= today")
    decision = router.decide(lead(close_date=date(2026, 12, 31)), RoutingState(), NEW_YEARS_EVE_IN_LOS_ANGELES)
    assert offered(decision) is routed, decision


def test_won_this_quarter_counts_the_quarter_the_org_is_in():
    won = [OutcomeEvent("001A", "won", datetime(2026, 12, 15, tzinfo=UTC), amount=100.0)]
    assert partner_facts(won, NEW_YEARS_EVE_IN_LOS_ANGELES, LOS_ANGELES)["001A"].won_this_quarter == 1
    assert partner_facts(won, NEW_YEARS_EVE_IN_LOS_ANGELES)["001A"].won_this_quarter == 0  # UTC: already Q1


def test_an_unknown_time_zone_names_the_key_and_where_the_org_keeps_its_own():
    p = _problem('time_zone = "Pacific/Atlantis"')
    assert p.key == "settings.time_zone" and "Pacific/Atlantis" in p.message and p.line == 4
    assert "TimeZoneSidKey" in p.fix and "America/Los_Angeles" in p.fix


@pytest.mark.parametrize("zone, second_offered", [('time_zone = "America/Los_Angeles"', False), ("", True)])
def test_a_daily_cap_counts_the_orgs_day(zone, second_offered):
    router = router_for(f"max_offers_per_day = 1\n{zone}")
    state = RoutingState()
    three_pm_there = datetime(2026, 12, 5, 23, 0, tzinfo=UTC)  # 15:00 on 5 December in Los Angeles
    first = router.decide(lead("00Q1"), state, three_pm_there)
    state.record_offer(first, three_pm_there)
    five_pm_there = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)  # 17:00, the same day there; 6 December in UTC
    second = router.decide(lead("00Q2"), state, five_pm_there)
    assert offered(first) and offered(second) is second_offered, second
    next_morning = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # 09:00 on 6 December there
    assert offered(router.decide(lead("00Q3"), state, next_morning))


@pytest.mark.parametrize("partner_zone, second_offered", [
    ("Asia/Tokyo", True),  # 01:00 on 6 December in Tokyo: the partner's new day
    (None, False),  # no zone of its own: the org's day, still 5 December in Los Angeles
    ("Tokyo", False),  # not a zone: the org's day (its offer window notes the bad zone)
])
def test_a_partners_daily_cap_counts_its_own_day_when_its_account_names_a_time_zone(partner_zone, second_offered):
    router = router_for('time_zone = "America/Los_Angeles"', daily_cap=1, time_zone=partner_zone)
    state = RoutingState()
    eleven_pm_in_tokyo = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)  # 06:00 on 5 December in Los Angeles
    first = router.decide(lead("00Q1"), state, eleven_pm_in_tokyo)
    state.record_offer(first, eleven_pm_in_tokyo)
    one_am_in_tokyo = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # 08:00 on 5 December in Los Angeles
    second = router.decide(lead("00Q2"), state, one_am_in_tokyo)
    assert offered(first) and offered(second) is second_offered, second
    if second_offered:
        state.record_offer(second, one_am_in_tokyo)
        later_that_day_in_tokyo = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)  # 19:00 on 6 December there
        third = router.decide(lead("00Q3"), state, later_that_day_in_tokyo)
        assert not offered(third) and "at daily cap (1/1 today in Asia/Tokyo)" in str(third.explanation), third


def test_a_run_at_one_moment_counts_each_offer_against_the_partners_own_day():
    """One routing run decides its batch at one `now`: the third lead of the run finds the
    Tokyo partner at its cap of 2 on its own day (6 December there, 5 December in the org)."""
    router = router_for('time_zone = "America/Los_Angeles"', daily_cap=2, time_zone="Asia/Tokyo")
    state = RoutingState()
    one_am_in_tokyo = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    got = []
    for lid in ("00Q1", "00Q2", "00Q3"):
        decision = router.decide(lead(lid), state, one_am_in_tokyo)
        state.record_offer(decision, one_am_in_tokyo)
        got.append(offered(decision))
    assert got == [True, True, False]


# A custom 4-4-5 fiscal year (Setup → Fiscal Year → Custom): FY2027 runs from Sunday
# 4 October 2026 to Saturday 2 October 2027, its quarters 13 weeks each.
FY2027 = (
    FiscalPeriod("Year", date(2026, 10, 4), date(2027, 10, 2), "FY2027"),
    FiscalPeriod("Quarter", date(2026, 10, 4), date(2027, 1, 2), "Q1 FY2027"),
    FiscalPeriod("Quarter", date(2027, 1, 3), date(2027, 4, 3), "Q2 FY2027"),
    FiscalPeriod("Quarter", date(2027, 4, 4), date(2027, 7, 3), "Q3 FY2027"),
    FiscalPeriod("Quarter", date(2027, 7, 4), date(2027, 10, 2), "Q4 FY2027"),
)
CUSTOM = OrgCalendar(periods=FY2027)


def test_a_custom_fiscal_years_quarter_and_year_are_the_orgs():
    there = time_values(JAN_20, CUSTOM)
    assert there["quarter_start"] == datetime(2027, 1, 3, tzinfo=UTC)
    assert there["quarter_end"].date() == date(2027, 4, 3) and there["year_end"].date() == date(2027, 10, 2)
    assert there["quarter_end"] == datetime(2027, 4, 4, tzinfo=UTC) - timedelta(microseconds=1)


def test_the_custom_quarter_turns_on_the_orgs_day():
    """Saturday 2 January 2027, 20:00 in Los Angeles, is 3 January in UTC: still Q1 there."""
    there = OrgCalendar(time_zone="America/Los_Angeles", periods=FY2027)
    saturday_evening = datetime(2027, 1, 3, 4, 0, tzinfo=UTC)
    assert there.quarter_start(saturday_evening) == datetime(2026, 10, 4, tzinfo=UTC)
    assert CUSTOM.quarter_start(saturday_evening) == datetime(2027, 1, 3, tzinfo=UTC)


def test_days_no_custom_year_covers_follow_the_month_rule():
    after_fy2027 = datetime(2027, 11, 15, tzinfo=UTC)
    assert CUSTOM.quarter_start(after_fy2027) == datetime(2027, 10, 1, tzinfo=UTC)
    assert CUSTOM.year_end(after_fy2027).date() == date(2027, 12, 31)


@pytest.mark.parametrize("periods, routed", [(FY2027, True), ((), False)])
def test_closing_this_quarter_means_the_orgs_custom_quarter(periods, routed):
    book = load_rules(text=RULES.format(setting="", when='when = "close_date <= quarter_end"\n'))
    book = book.with_fiscal_periods(periods)
    router = Router(book, PartnerIndex.build([partner("001A")], book), queue_ids=QUEUES)
    decision = router.decide(lead(close_date=date(2027, 4, 2)), RoutingState(), JAN_20)
    # Q2 FY2027 runs to 3 April: a lead closing 2 April closes this quarter; calendar Q1 ended in March
    assert offered(decision) is routed, decision


def test_won_this_quarter_counts_the_custom_quarter():
    won = [OutcomeEvent("001A", "won", datetime(2027, 1, d, tzinfo=UTC), amount=100.0) for d in (2, 5)]
    assert partner_facts(won, JAN_20, CUSTOM)["001A"].won_this_quarter == 1  # 2 January was Q1 FY2027
    assert partner_facts(won, JAN_20)["001A"].won_this_quarter == 2

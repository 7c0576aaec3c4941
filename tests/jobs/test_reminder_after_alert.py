"""When a window is no longer than `reminder_before_hours`, the reminder comes halfway between
the offer's alert and its deadline, counted as the window counts: working hours in the
calendar kept with the offer."""
from __future__ import annotations

from datetime import datetime, timezone

from jobs.remind import _after_alert
from rules.windows import calendar_text, offer_deadline

BERLIN = "Europe/Berlin"
WEEK, WORKDAY = (0, 1, 2, 3, 4), (9.0, 17.0)
FRIDAY_1630 = datetime(2031, 3, 7, 15, 30, tzinfo=timezone.utc)  # 16:30 in Berlin


def offer(offered_at: datetime, hours: float) -> dict:
    return {"deadline": offer_deadline(offered_at, hours, business_hours=True, time_zone=BERLIN,
                                       workday=WORKDAY, weekdays=WEEK),
            "calendar": calendar_text(BERLIN, WEEK, WORKDAY)}


def test_an_offer_alerted_on_friday_afternoon_is_reminded_on_monday_morning_not_at_the_weekend():
    hot = offer(FRIDAY_1630, 2)  # half an hour on Friday, then Monday until 10:30
    at = _after_alert(None, {}, None, hot, 4, FRIDAY_1630)
    assert at == datetime(2031, 3, 10, 8, 30, tzinfo=timezone.utc)  # Monday 09:30 in Berlin: an hour left


def test_a_window_longer_than_the_reminder_is_reminded_as_ever():
    long = offer(FRIDAY_1630, 24)
    assert _after_alert(None, {}, None, long, 4, FRIDAY_1630) < long["deadline"]
    assert (long["deadline"] - _after_alert(None, {}, None, long, 4, FRIDAY_1630)).total_seconds() == 4 * 3600


def test_less_than_an_hour_left_after_the_alert_gets_no_reminder_after_it():
    short = offer(FRIDAY_1630, 0.5)  # the window ends at 17:00 on Friday
    assert _after_alert(None, {}, None, short, 4, FRIDAY_1630) == FRIDAY_1630

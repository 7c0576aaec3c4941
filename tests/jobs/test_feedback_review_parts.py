"""The pieces behind reviews on the partner's Account (jobs/feedback.py): the field's
lines read and written, the later of the state's and the org's review, the words a
channel manager reads."""
from __future__ import annotations

from datetime import datetime, timezone

from jobs import feedback, feedback_account
from jobs.feedback import Adjustments

T1 = datetime(2026, 12, 6, 3, 0, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 12, 7, 9, 30, 0, tzinfo=timezone.utc)


def test_the_review_lines_read_back_as_written():
    text = feedback_account.format_reviews({"US-CA": T2, "all": T1, "DE": T1})
    assert text == "all 2026-12-06T03:00:00Z\nUS-CA 2026-12-07T09:30:00Z"  # DE is covered by `all`
    assert feedback_account.parse_reviews(text) == {"all": T1, "US-CA": T2}


def test_a_person_s_note_and_older_duplicates_are_ignored():
    text = "reviewed with the channel team\r\nALL 2026-12-06T03:00:00Z\nus-ca 2026-12-07T09:30:00.000+0000\n" \
           "all 2026-12-01T00:00:00Z\nUS-CA yesterday\nCalifornia 2026-12-07T09:30:00Z"
    assert feedback_account.parse_reviews(text) == {"all": T1, "US-CA": T2}
    assert feedback_account.parse_reviews(None) == {}


def test_a_review_time_is_whole_seconds_rounded_up():
    assert feedback_account.review_time(T1.replace(microsecond=1)) == T1.replace(second=1)
    assert feedback_account.review_time(T1) == T1


def test_reviews_on_accounts_are_keyed_as_the_state_keys_them():
    records = [{"Id": "001A", feedback_account.REVIEW_FIELD: "all 2026-12-06T03:00:00Z\nUS-CA 2026-12-07T09:30:00Z"},
               {"Id": "001B", feedback_account.REVIEW_FIELD: None}]
    assert feedback_account.org_reviews(records) == {"001A": T1, "001A@US-CA": T2}
    assert feedback_account.org_reviews([{"Id": "001A"}]) is None  # not read: the org has no such field


def test_the_later_review_of_the_state_and_the_org_holds():
    assert feedback.later({"001A": T1, "001B": T2}, {"001A": T2, "001B": T1, "001C": T1}) == {
        "001A": T2, "001B": T2, "001C": T1}


def test_the_words_on_the_account_name_every_adjustment_and_the_undo():
    adj = Adjustments(at=T1, capacity={"001A": (3, 5, 2)}, excluded={"001A": {"Retail": 2}},
                      stopped={"001A": {"US-CA": 3}, "001B": {"US-NY": 3}})
    assert feedback.words(adj, "001A") == (
        "capacity 3 of 5 after 2 'No capacity' declines · no Retail leads after 2 'Not our product/industry' · "
        "stopped in US-CA after 3 'Out of territory' — undo: leadrouter feedback reset 001A")
    # one stopped area alone: its undo lifts only that stop
    assert feedback.words(adj, "001B") == ("stopped in US-NY after 3 'Out of territory' — undo: "
                                           "leadrouter feedback reset 001B --area US-NY")
    assert feedback.words(adj, "001C") == ""
    many = Adjustments(at=T1, excluded={"001A": {f"Industry {i}": 2 for i in range(200)}})
    assert len(feedback.words(many, "001A")) == feedback_account.SHOWN_LENGTH

"""The rule book's fairness_floor, accept_weight and half-lives reach the learner the connector keeps
across routing builds — also when the rule book is reloaded with new values — and each
rule file of a backtest replays with its own."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from jobs.learning import Live, for_routing
from rules import load_rules
from rules.predictive import Predictor, tuning
from tests.rules.test_predictive import PREDICTIVE

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def _book(floor: float, weight: float, answers: float = 60, conversions: float = 150):
    return load_rules(text=PREDICTIVE.replace("[settings]", f"[settings]\nfairness_floor = {floor}\n"
                                                           f"accept_weight = {weight}\n"
                                                           f"answers_half_life_days = {answers}\n"
                                                           f"conversions_half_life_days = {conversions}", 1))


def test_a_reloaded_rule_book_retunes_the_learner_and_keeps_what_it_learnt():
    learner = Predictor(**tuning(_book(0.6, 0.5).settings))
    learner.served = {"Best converter": {"001A00": 7}}  # what it counted so far
    cx = SimpleNamespace(book=_book(0.3, 1.0), learning=Live(learner, {}, lambda r: r, NOW))
    live = for_routing(cx, None, {}, NOW)  # the kept learner: no history read
    assert live.learner is learner
    assert (learner.floor, learner.accept_weight) == (0.3, 1.0)
    assert learner.served == {"Best converter": {"001A00": 7}}


def test_a_backtest_rule_file_replays_with_its_own_settings():
    kept = Predictor()
    replayed = Predictor.from_dict(kept.to_dict(), **tuning(_book(0.2, 0.0).settings))
    assert (replayed.floor, replayed.accept_weight) == (0.2, 0.0)


def test_a_reloaded_half_life_reweighs_the_conversions_kept_at_the_next_estimate():
    learner = Predictor(**tuning(_book(0.6, 0.5).settings))
    learner.logistic.fitted_at = 12.0  # fitted with the 150-day weights
    cx = SimpleNamespace(book=_book(0.6, 0.5, answers=20, conversions=45), learning=Live(learner, {}, lambda r: r, NOW))
    for_routing(cx, None, {}, NOW)
    assert (learner.half_life_days, learner.logistic.half_life) == (20, 45)
    assert learner.logistic.fitted_at is None, "the kept outcomes are refitted with the new weights"


def test_a_reloaded_claim_prior_moves_the_prior_and_refits_what_was_kept():
    learner = Predictor(**tuning(_book(0.6, 0.5).settings))
    learner.logistic.fitted_at = 12.0
    book = load_rules(text=PREDICTIVE.replace("[settings]", "[settings]\nclaim_prior = 1.0\ncapacity_price = 0", 1))
    cx = SimpleNamespace(book=book, learning=Live(learner, {}, lambda r: r, NOW))
    for_routing(cx, None, {}, NOW)
    assert (learner.claim_prior, learner.capacity_price) == (1.0, 0.0)
    assert learner.convert.priors == learner.logistic.priors == {"claims_industry=yes": 1.0}
    assert learner.logistic.fitted_at is None, "the kept outcomes are refitted toward the new prior"

"""`leadrouter backtest`: recent leads replayed through rule files, side by side with what
happened (issue 17, item 4). The history is made by the connector running against the
sandbox org, its partners answering."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from jobs import backtest
from jobs.cli import main

from .rules_for_tests import BASE, ROTATION

PREDICTIVE = BASE + """
[[ruleset]]
name = "Everyone"

  [[ruleset.rule]]
  name = "Best predicted fit"
  match = { geography = true }
  distribute = "predictive"
  otherwise = "escalate"
"""

NOBODY = BASE + """
[[ruleset]]
name = "Nobody"
when = "score > 2"

  [[ruleset.rule]]
  name = "Never"
  match = { geography = true }
  otherwise = "unroutable"
"""


def test_backtest_replays_history_through_each_rule_file_side_by_side(loop, tmp_path):
    for _ in range(3):
        loop.cycle(hours=20)
    files = {}
    for name, text in (("rotation.toml", BASE + ROTATION), ("predictive.toml", PREDICTIVE),
                       ("nobody.toml", NOBODY)):
        (tmp_path / name).write_text(text)
        files[name] = backtest.load_book(tmp_path / name, loop.cx.mappings)
    now = loop.cx.clock.now()
    with loop.cx.store.connect() as conn:
        result = backtest.compare(loop.cx, conn, list(files.items()), now, timedelta(days=30))
    json.dumps(result)  # the --json form
    assert result["leads"] > 0
    assert result["as_routed"]["offered"] > 0 and result["as_routed"]["acceptance"] is not None
    rot, pred, nobody = (result["rule_files"][n] for n in files)
    for r in (rot, pred):
        assert r["leads"] == result["leads"]
        assert r["offered"] > 0 and 0 < r["coverage"] <= 1
        assert 0 <= r["expected_acceptance"] <= 1 and r["expected_conversions"] > 0
        assert 0 <= r["gini"] < 1 and r["min_share_of_fair"] is not None
        assert r["offered"] + r["pooled"] + r["escalated"] + r["unroutable"] == r["leads"]
    # a rule file that places nothing: no coverage, nothing expected (the score is usable in rules)
    assert nobody["offered"] == 0 and nobody["coverage"] == 0 and nobody["expected_conversions"] == 0
    table = backtest.render(result)
    assert "as routed" in table and "predictive.toml" in table and "conversions (expected)" in table
    # the window's start is Salesforce's time, in UTC, and says so (a date alone read as the viewer's)
    assert f"since {(now - timedelta(days=30)):%Y-%m-%d %H:%M} UTC" in table.splitlines()[0]


@pytest.mark.parametrize("since", ["90", "0d", "3y", "soon", "99999999999999d", "600w"])
def test_backtest_refuses_a_window_it_cannot_read_and_says_how_to_write_one(since, tmp_path, capsys):
    rules = tmp_path / "r.toml"
    rules.write_text(BASE + ROTATION)
    assert main(["backtest", "--config", str(tmp_path / "none.toml"), "--rules", str(rules), "--since", since]) == 2
    err = capsys.readouterr().err
    assert f"--since {since!r}" in err and "90d" in err


def test_two_rule_files_of_the_same_name_get_columns_that_tell_them_apart():
    assert backtest.labels(["ops/a/rules.toml", "ops/b/rules.toml", "extra.toml"]) == [
        "a/rules.toml", "b/rules.toml", "extra.toml"]
    assert backtest.labels(["/x/rules.toml"]) == ["rules.toml"]
    result = {"leads": 1, "since": "2026-01-01T00:00:00+00:00",
              "as_routed": {"offered": 1, "acceptance": None, "conversions": 0, "hours_to_accept": None, "gini": None},
              "rule_files": {"now/rules.toml": {"offered": 1}, "next/rules.toml": {"offered": 0}}}
    head = backtest.render(result).splitlines()[1]
    assert "now/rules.toml" in head and "next/rules.toml" in head


def test_each_rule_file_replays_with_its_own_fairness_floor_and_accept_weight(loop, tmp_path, monkeypatch):
    """Ops compare a floor, an acceptance weight or a half-life before deploying it: the backtest's
    learner for each rule file is tuned by that file's [settings]."""
    loop.cycle(hours=20)
    seen = {}
    replay = backtest.replay
    monkeypatch.setattr(backtest, "replay", lambda cx, book, leads, learner, facts: (
        seen.__setitem__(book.settings.fairness_floor, (learner.floor, learner.accept_weight,
                                                        learner.logistic.half_life))
        or replay(cx, book, leads, learner, facts)))
    files = []
    for floor, weight, days in ((0.0, 1.0, 150), (0.9, 0.25, 30)):
        text = PREDICTIVE.replace("[settings]", f"[settings]\nfairness_floor = {floor}\naccept_weight = {weight}\n"
                                                f"conversions_half_life_days = {days}", 1)
        path = tmp_path / f"floor{floor}.toml"
        path.write_text(text)
        files.append((path.name, backtest.load_book(path, loop.cx.mappings)))
    with loop.cx.store.connect() as conn:
        backtest.compare(loop.cx, conn, files, loop.cx.clock.now(), timedelta(days=30))
    assert seen == {0.0: (0.0, 1.0, 150), 0.9: (0.9, 0.25, 30)}

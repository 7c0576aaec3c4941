"""The simulated market: hidden truths the benchmark can measure against, and that the
learner never sees."""
from __future__ import annotations

import ast
import dataclasses
import inspect
from datetime import timedelta
from pathlib import Path

import pytest

import jobs
import rules
from sandbox.market import Market, SHAPES, TIERS

ROOT = Path(rules.__file__).resolve().parents[1]


def _mean_quality_by_tier(market: Market) -> dict[str, float]:
    by: dict[str, list[float]] = {}
    for p in market.partner_records():
        by.setdefault(p["tier"], []).append(market._truth[p["id"]].quality)
    return {t: sum(v) / len(v) for t, v in by.items()}


def test_same_seed_same_market_and_leads():
    a, b = Market(seed=3, leads=200), Market(seed=3, leads=200)
    assert a.partner_records() == b.partner_records()
    assert a.lead_records() == b.lead_records()
    lead = a.lead_records()[0]
    pid = a.partner_records()[0]["id"]
    assert a.chances(pid, lead, lead["arrival"]) == b.chances(pid, lead, lead["arrival"])
    assert Market(seed=4, leads=200).lead_records() != a.lead_records()


def test_quality_follows_tier_ignores_it_or_goes_against_it_by_shape():
    follows = _mean_quality_by_tier(Market(seed=1, shape="tier", partners=400))
    against = _mean_quality_by_tier(Market(seed=1, shape="against_tier", partners=400))
    assert follows["Platinum"] > follows["Gold"] > follows["Registered"]
    assert against["Platinum"] < against["Gold"] < against["Registered"]


def test_a_drifting_market_redraws_quality_mid_run_and_a_steady_one_barely_moves():
    for shape, moved in (("drift", True), ("independent", False)):
        m = Market(seed=2, shape=shape, partners=100, leads=1000)
        lead = m.lead_records()[0]
        before, after = m.drift_time - timedelta(hours=1), m.drift_time + timedelta(hours=1)
        change = sum(abs(m.chances(p["id"], lead, after)[1] - m.chances(p["id"], lead, before)[1])
                     for p in m.partner_records()) / 100
        assert (change > 0.05) is moved, (shape, change)


def test_partners_differ_by_segment_not_only_overall():
    m = Market(seed=5, partners=50, leads=10)
    lead = dict(m.lead_records()[0])
    pid = m.partner_records()[0]["id"]
    truth = m._truth[pid]
    good = max(truth.industry, key=truth.industry.get)
    bad = min(truth.industry, key=truth.industry.get)
    at = lead["arrival"]
    assert m.chances(pid, {**lead, "industry": good}, at)[1] > m.chances(pid, {**lead, "industry": bad}, at)[1]


def test_a_partner_past_its_true_capacity_declines_for_capacity_whatever_it_declared():
    m = Market(seed=6, partners=20, leads=400)
    pid = m.partner_records()[0]["id"]
    true_cap = m._truth[pid].capacity
    leads = m.lead_records()
    at = leads[0]["arrival"]
    assert m.chances(pid, leads[0], at, open_load=true_cap)[0] < m.chances(pid, leads[0], at, open_load=0)[0] / 5
    answers = [m.answer(pid, lead, at, open_load=true_cap + 5) for lead in leads]
    declined = [a for a in answers if a.outcome != "accepted"]
    assert declined and all(a.reason == "No capacity" for a in declined)
    assert all(a.hours > 0 for a in answers)


def test_unknown_shape_names_the_shapes():
    with pytest.raises(ValueError, match="independent"):
        Market(seed=1, shape="tiered")
    assert set(SHAPES) == {"tier", "independent", "against_tier", "drift"}
    assert {p["tier"] for p in Market(seed=1, partners=200, leads=1).partner_records()} <= set(TIERS)


def _imports(package_dir: Path) -> list[tuple[str, str]]:
    found = []
    for path in package_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found += [(path.name, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                found += [(path.name, node.module)] + [(path.name, f"{node.module}.{a.name}") for a in node.names]
    return found


def test_rules_and_jobs_never_import_the_market():
    offenders = [(f, m) for pkg in (rules, jobs) for f, m in _imports(Path(pkg.__file__).parent)
                 if m == "sandbox.market" or m.startswith("sandbox.market.")]
    assert offenders == []
    # nothing in the learner even names the market's hidden parts
    source = (ROOT / "rules" / "predictive.py").read_text()
    for hidden in ("sandbox", "_truth", "chances(", "quality_after", "Market"):
        assert hidden not in source


def test_the_learner_learns_from_outcome_events_only():
    from rules.performance import OutcomeEvent
    from rules.predictive import Predictor

    fields = {f.name for f in dataclasses.fields(OutcomeEvent)}
    assert fields == {"partner_id", "kind", "at", "lead_id", "offered_at", "reason", "amount", "lead"}
    # its only ways in: outcomes, the decisions it was part of, the ratings partners wrote
    # on leads (Lead_Quality_Rating__c, read from the org), its own saved state and the rule
    # book's settings (tune: fairness_floor, accept_weight)
    public = {name for name, _ in inspect.getmembers(Predictor, inspect.isfunction) if not name.startswith("_")}
    assert public == {"observe", "estimate", "score", "pick", "record_offer", "to_dict", "rate", "rating_lift", "tune"}
    assert list(inspect.signature(Predictor.tune).parameters) == ["self", "settings"]
    assert list(inspect.signature(Predictor.observe).parameters) == ["self", "event", "partner"]
    assert list(inspect.signature(Predictor.rate).parameters) == ["self", "rated"]

"""bench/routing.py's honest baselines: the fair scan agrees with the engine decision for
decision (shipped and large rule sets), and rules.serial writes a decision exactly as
jobs.lifecycle's jsonable + json.dumps does."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rules import Router, RoutingState
from rules.reference import FairScanRouter
from rules.serial import compact_audit, decision_json, to_json

ROOT = Path(__file__).resolve().parents[2]
# loaded by path: putting bench/ on sys.path would let bench/mappings.py shadow the package
_spec = importlib.util.spec_from_file_location("bench_routing", ROOT / "bench" / "routing.py")
routing = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(routing)


@pytest.mark.parametrize("rules_path", [None, routing.LARGE_RULES], ids=["shipped", "large"])
def test_fair_scan_decides_every_lead_as_the_indexed_router(rules_path):
    book, index, leads, _ = routing.setup(150, 1500, rules_path=rules_path)
    _, engine = routing.run(Router(book, index, queue_ids=routing.QUEUES), leads)
    _, fair = routing.run(FairScanRouter(book, index, queue_ids=routing.QUEUES), leads)
    assert fair == engine
    assert len({kind for kind, *_ in engine}) >= 3  # offers, pools, escalations...: not a trivial agreement


def test_the_large_rule_set_has_sixty_rules_and_routes_through_many_of_them():
    book, index, leads, _ = routing.setup(300, 3000, rules_path=routing.LARGE_RULES)
    _, decided = routing.run(Router(book, index, queue_ids=routing.QUEUES), leads)
    assert len(book.rules) >= 60
    assert len({rule for *_, rule in decided if rule}) >= 20


def test_decision_json_is_jsonable_then_dumps_byte_for_byte():
    lifecycle = pytest.importorskip("jobs.lifecycle")
    book, index, leads, _ = routing.setup(100, 800)
    router, state = Router(book, index, queue_ids=routing.QUEUES), RoutingState()
    decisions = []
    for lead in leads:
        decisions.append(router.decide(lead, state, routing.NOW))
        state.record_offer(decisions[-1], routing.NOW)
    for d in decisions:
        assert decision_json(d) == json.dumps(lifecycle.jsonable(d))
        assert decision_json(d, separators=(",", ":")) == json.dumps(lifecycle.jsonable(d), separators=(",", ":"))


def test_compact_audit_drops_only_repeats_and_empties():
    book, index, leads, _ = routing.setup(100, 200)
    router, state = Router(book, index, queue_ids=routing.QUEUES), RoutingState()
    d = router.decide(leads[0], state, routing.NOW)
    full, slim = json.loads(decision_json(d)), json.loads(to_json(compact_audit(d)))
    assert {k: v for k, v in full.items() if v is not None and k != "explanation"} == \
        {k: v for k, v in slim.items() if k != "explanation"}
    assert "summary" not in slim["explanation"] and slim["explanation"]["rules"]
    for key, value in slim["explanation"].items():
        assert full["explanation"][key] == value or key == "rules"


def test_routing_bench_reports_the_fair_baseline_and_the_committed_cost():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "routing.py"), "--partners", "200", "--leads", "2000", "--naive-leads", "30",
         "--sweep", "", "--fair-leads", "300", "--fair-sweep", "100,200", "--fair-sweep-leads", "600",
         "--fair-sweep-sample", "200", "--committed-leads", "1000", "--sweep-leads", "1000", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["fair_naive_agrees"] is True and r["fair_naive_speedup"] > 0
    assert set(r["fair_naive_speedup_by_partners"]) == {"100", "200"}
    assert all(v["agrees"] for v in r["fair_naive_by_partners"].values())
    stages = r["committed_stages_us"]
    assert r["per_decision_us_committed"] == pytest.approx(
        stages["convert"] + stages["decide"] + stages["audit_json"] + stages["writeback_json"], abs=0.05)
    assert r["per_decision_us_committed"] > stages["decide"] > 0
    assert r["large_rules"]["rules"] >= 60 and r["large_rules"]["fair_naive_agrees"] is True


def test_walks_replayed_over_capped_partners_decide_and_explain_exactly_as_walked():
    """Once the partners are full, a lead's walks over capped partners are replayed from
    the last lead's (rules.distribution.replay_capped): every decision and explanation is
    the same as walking them again, and the replay did happen."""
    import hashlib

    from rules.distribution import Distribution

    book, index, leads, _ = routing.setup(200, 3_000, seed=11)
    digests, replays = [], []
    real = Distribution.replay_capped
    for replay in (True, False):
        router = Router(book, index, queue_ids=routing.QUEUES)
        hits = [0]

        def counted(self, *a, _real=real, _hits=hits, _replay=replay):
            if not _replay:
                return False
            found = _real(self, *a)
            _hits[0] += found
            return found

        router.distribution.replay_capped = counted.__get__(router.distribution)
        digest = hashlib.sha256()
        routing.run(router, leads, digest)
        digests.append(digest.hexdigest())
        replays.append(hits[0])
    assert replays[0] > 100 and replays[1] == 0
    assert digests[0] == digests[1]

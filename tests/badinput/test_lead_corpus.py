"""Bad and unusual leads, end to end: the org, the real loop, the Lead as Salesforce holds it.

One sandbox org and one connector for the whole corpus: every case is its own lead,
all created before a single cycle, so the corpus costs one cycle, not fifty.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from .harness import Rig, active_reps_of, partner_ids, start_rig
from .lead_cases import CASES, LeadCase, LeftAlone, Routed, Unroutable, resolve_markers

# one worker runs the whole module: its org is started once
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_lead_corpus")]

BY_ID = {c.id: c for c in CASES}


def _create(rig: Rig, case: LeadCase, *, integration_user: str, partner: str) -> str:
    org = rig.sb.org
    # leads come from people and web forms, not from the connector's own user
    lead_id = org.create("Lead", case.create_fields(), as_user=org.admin_user_id)
    if case.raw:
        with org.lock:
            row = org.table("Lead")[lead_id]
            for name, value in case.raw.items():
                row[name] = resolve_markers(value, integration_user=integration_user, partner=partner)
    if case.deleted:
        org.delete("Lead", lead_id)
    return lead_id


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Any:
    rig = start_rig(tmp_path_factory.mktemp("lead-corpus"))
    try:
        org = rig.sb.org
        partner = sorted(partner_ids(rig.sb))[0]
        before: dict[str, dict[str, Any]] = {}
        for case in CASES:
            lead_id = _create(rig, case, integration_user=org.integration_user_id, partner=partner)
            rig.created[case.id] = lead_id
            before[case.id] = dict(org.table("Lead")[lead_id])
        results = rig.cycle()
        yield rig, before, results
    finally:
        rig.close()


def test_the_corpus_has_at_least_fifty_lead_cases():
    assert len(CASES) >= 50
    assert len(BY_ID) == len(CASES), "case ids must be unique"


def test_no_job_fails_on_the_corpus(corpus):
    rig, _, results = corpus
    failed = {name: r.error for name, r in results.items() if r.error}
    assert failed == {}, f"a bad record must never fail a job: {failed}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_lead_case(corpus, case: LeadCase):
    rig, before, _ = corpus
    lead_id = rig.created[case.id]
    after = rig.lead(lead_id)
    expect = case.expect
    if isinstance(expect, Unroutable):
        _assert_unroutable(rig, after, expect)
    elif isinstance(expect, Routed):
        _assert_routed(rig, after, before[case.id], expect)
    else:
        _assert_left_alone(rig, lead_id, after, before[case.id], expect)


def _assert_unroutable(rig: Rig, lead: dict[str, Any], expect: Unroutable) -> None:
    status, reason = lead["Routing_Status__c"], lead["Routing_Reason__c"] or ""
    assert status == "Unroutable", f"expected Unroutable naming {expect.field}, got {status!r} ({reason!r})"
    # an admin reads the field by the label the Lead's page shows (the describe's), not its API name
    label = rig.label(expect.field)
    assert reason.startswith(f"{label}:"), f"the reason must name {label} ({expect.field}) first: {reason!r}"
    for word in expect.words:
        assert word.lower() in reason.lower(), f"the reason must say {word!r}: {reason!r}"
    assert len(reason) <= 255
    assert lead["PartnerAccountId"] not in partner_ids(rig.sb), "an unroutable lead is offered to nobody"


def _assert_routed(rig: Rig, lead: dict[str, Any], before: dict[str, Any], expect: Routed) -> None:
    status, reason = lead["Routing_Status__c"], lead["Routing_Reason__c"]
    assert status == "Offered", f"an unusual but valid lead is routed like any other: {status!r} ({reason!r})"
    partner = lead["PartnerAccountId"]
    assert partner in partner_ids(rig.sb)
    assert lead["OwnerId"] in active_reps_of(rig.sb, partner), "offered to an active rep of that partner"
    assert reason and len(reason) <= 255
    for name in expect.keep:
        assert lead[name] == before[name], f"{name} must survive routing unchanged"


def _assert_left_alone(rig: Rig, lead_id: str, lead: dict[str, Any], before: dict[str, Any],
                       expect: LeftAlone) -> None:
    assert lead["SystemModstamp"] == before["SystemModstamp"], "the connector must not write to this lead"
    assert lead["Routing_Status__c"] == before["Routing_Status__c"]
    local = rig.local(lead_id)
    if before["IsDeleted"]:
        assert local is None or local["state"] == "closed"
        return
    assert local is not None, "a lead left alone is still remembered, with the reason"
    assert local["state"] in ("released", "closed")
    for word in expect.words:
        assert word.lower() in (local["reason"] or "").lower(), f"the reason must say {word!r}: {local['reason']!r}"


def test_every_lead_not_routed_is_named_in_the_log_with_its_reason(corpus):
    """Never a silent drop: whoever reads the log at its usual level (info) finds each
    lead the connector did not route, by id, with the field it tripped on."""
    rig, _, _ = corpus
    heard = [json.dumps(e, ensure_ascii=False) for e in rig.logs.events()
             if e.get("level") in ("info", "warning", "error", "critical")]
    missing = []
    for case in CASES:
        if isinstance(case.expect, Routed) or case.deleted:
            continue
        lead_id = rig.created[case.id]
        needles = [lead_id] + ([case.expect.field] if isinstance(case.expect, Unroutable) else [])
        if not any(all(n in line for n in needles) for line in heard):
            missing.append(f"{case.id} ({', '.join(needles)})")
    assert missing == [], "no log line at info or above names these leads and why: " + "; ".join(missing)


def test_no_corpus_lead_is_left_without_an_answer(corpus):
    """Every lead ends Offered, Unroutable with a reason, or deliberately left alone."""
    rig, _, _ = corpus
    silent = []
    for case in CASES:
        lead = rig.lead(rig.created[case.id])
        if lead["IsDeleted"] or isinstance(case.expect, LeftAlone):
            continue
        if lead["Routing_Status__c"] is None or not lead["Routing_Reason__c"]:
            silent.append(case.id)
    assert silent == []

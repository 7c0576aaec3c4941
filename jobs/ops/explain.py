"""`leadrouter explain LEAD_ID`: the full trace for one lead — now, and as it was decided."""
from __future__ import annotations

import json
import sys
from typing import Any

from sqlalchemy import select


def history(store, lead_id: str) -> list[dict[str, Any]]:
    """The lead's decisions from the audit log, oldest first."""
    from jobs.state import schema as t

    with store.connect() as conn:
        rows = conn.execute(
            select(t.decisions.c.at, t.decisions.c.kind, t.decisions.c.rule, t.decisions.c.partner_id,
                   t.decisions.c.attempt, t.decisions.c.decision)
            .where(t.decisions.c.lead_id == lead_id).order_by(t.decisions.c.at, t.decisions.c.id)
        ).all()
    return [{"at": r.at.isoformat() if r.at else None, "kind": r.kind, "rule": r.rule, "partner_id": r.partner_id,
             "attempt": r.attempt, "decision": r.decision} for r in rows]


def trace_text(explanation: dict[str, Any], indent: str = "  ") -> str:
    """The stored (dict) form of an explanation, laid out like `Explanation.text()`."""
    out = []
    for reason in explanation.get("gate") or ():
        out.append(f"{indent}gate: {reason}")
    if explanation.get("deal_registration"):
        out.append(f"{indent}deal registration: {explanation['deal_registration']}")
    tried = explanation.get("rulesets_tried") or ()
    if tried:
        out.append(f"{indent}rule set: {explanation.get('ruleset') or '(none matched)'} (tried {', '.join(tried)})")
    for rule in explanation.get("rules") or ():
        extra = f"; {rule.get('candidates', 0)} candidates, {rule.get('eligible', 0)} eligible" if rule.get("applied") else ""
        out.append(f"{indent}rule {rule.get('rule')!r}: {rule.get('outcome')}{extra}")
        for kind, n in sorted((rule.get("excluded_counts") or {}).items()):
            out.append(f"{indent}  excluded {n} × {kind}")
        for score in rule.get("scores") or ():
            out.append(f"{indent}  score {score}")
    for key in ("mapping", "escalation"):
        if explanation.get(key):
            out.append(f"{indent}{key}: {explanation[key]}")
    for note in explanation.get("notes") or ():
        out.append(f"{indent}note: {note}")
    return "\n".join(out)


def run(args) -> int:
    from jobs.lifecycle import load_state  # noqa: F401 — same state loading as the jobs
    from jobs.ops.context import open_context
    from jobs.ops.dryrun import _load
    from mappings import Unroutable
    from rules.state import RoutingState

    from connector.soql import check_id

    lead_id = args.lead_id.strip()
    try:
        check_id(lead_id)  # before any query: a non-id never reaches SOQL
    except ValueError as e:
        print(f"leadrouter explain: {e}; copy the Lead's id from its URL in Salesforce", file=sys.stderr)
        return 2
    loaded = _load(args.config)
    with open_context(loaded) as ctx:
        cx = ctx.connector
        ms = cx.mappings
        records = list(cx.client.read_by_ids(ms.sobject("lead"), ms.soql_fields("lead"), [lead_id]))
        past = history(ctx.live_store, records[0]["Id"] if records else lead_id) if ctx.live_store else []
        now_part: dict[str, Any]
        if not records:
            now_part = {"found": False, "text": f"lead {lead_id}: not found in the org (deleted, or not a Lead id)"}
        else:
            lead = ms.lead_converter()(records[0])
            if isinstance(lead, Unroutable):
                now_part = {"found": True, "kind": "unroutable", "text": f"lead {lead_id}: unroutable — {lead.reason}",
                            "explanation": {"mapping": lead.reason}}
            else:
                state = ctx.live_state or RoutingState()
                attempt = (lead.attempt or 0) + 1 if lead.routing_status in ("Offered",) else max(1, lead.attempt or 1)
                ex = cx.routing().router.explain(lead, state, cx.clock.now(), attempt=attempt)
                now_part = {"found": True, "kind": ex.kind, "text": ex.text(), "explanation": ex.to_dict()}
    if args.json:
        print(json.dumps({"lead_id": lead_id, "now": now_part, "history": past}, default=str, ensure_ascii=False))
        return 0 if now_part.get("found") or past else 1
    print("As it would be decided now:")
    print("  " + now_part["text"].replace("\n", "\n  "))
    print()
    if not past:
        print("As it was decided: no decision recorded for this lead in the state database"
              + ("" if ctx.live_store else " (no state database found for this config)"))
    else:
        print(f"As it was decided ({len(past)} decision{'s' if len(past) != 1 else ''}, oldest first):")
        for entry in past:
            decision = entry["decision"] or {}
            print(f"  {entry['at']}  attempt {entry['attempt']}: {entry['kind']} — {decision.get('reason', '')}")
            text = trace_text(decision.get("explanation") or {}, indent="    ")
            if text:
                print(text)
    return 0 if now_part.get("found") or past else 1

"""`leadrouter explain LEAD_ID`: the full trace for one lead — now, and as it was decided."""
from __future__ import annotations

import re
import sys
from typing import Any

from sqlalchemy import select

from jobs.printable import for_terminal, json_text, one_line


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


def feedback_part(lead, skipped: dict[str, str], routing, names: "Names", ex) -> dict[str, Any]:
    """What partners' feedback does to this lead: who it keeps away, whose cap it lowered
    (of the partners a rule weighed), the lead score and how much partners' ratings of
    leads like it moved it."""
    part: dict[str, Any] = {"skipped": {names.partner(pid): why for pid, why in skipped.items()}}
    adj = routing.feedback
    weighed = {pid for t in ex.trials for pid in t.excluded} | {s.get("partner_id") for t in ex.trials for s in t.scores}
    if adj is not None and adj.capacity:
        part["throttled"] = {names.partner(pid): f"capacity {c} of {d} open leads after {n} 'No capacity' declines "
                                                 f"(feedback; undo: leadrouter feedback reset {pid})"
                             for pid, (c, d, n) in sorted(adj.capacity.items()) if pid in weighed}
    live = routing.learning
    if live is not None:
        from rules.predictive import segment_of

        part["score"] = lead.extra.get("score")
        part["rating_lift"] = round(live.learner.rating_lift(segment_of(lead)), 3)
    return part


def _meant(lead_id: str) -> str:
    """An 18-character id whose check letters do not fit its first 15: the id those 15 make."""
    from connector.records import id18

    if len(lead_id) != 18:
        return ""
    whole = id18(lead_id[:15])
    return f": its last three characters do not fit the first 15 (did you mean {whole}?)" if whole != lead_id else ""


def run(args) -> int:
    from jobs import feedback, learning
    from jobs.ops.context import open_context, why_no_live_store
    from jobs.ops.dryrun import _load
    from jobs.route import not_ours
    from mappings import Unroutable

    from connector.errors import ConnectorError
    from connector.soql import check_id

    lead_id = args.lead_id.strip()
    pasted = re.search(r"/Lead/([A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?)(?:[/?#]|$)", lead_id)
    if pasted:  # the Lead's URL, copied from the browser as the README says the id is found there
        lead_id = pasted.group(1)
    try:
        check_id(lead_id)  # before any query: a non-id never reaches SOQL
    except ValueError as e:
        print(f"leadrouter explain: {e}; copy the Lead's id from its URL in Salesforce", file=sys.stderr)
        return 2
    loaded = _load(args.config)
    with open_context(loaded) as ctx:
        cx = ctx.connector
        ms = cx.mappings
        fields = sorted(set(ms.soql_fields("lead")) | set(ms.writeback_fields().values()))
        try:
            records = list(cx.client.read_by_ids(ms.sobject("lead"), fields, [lead_id]))
        except Exception:  # noqa: BLE001 — a write-back field the org lacks: the mapped fields still answer
            try:
                records = list(cx.client.read_by_ids(ms.sobject("lead"), ms.soql_fields("lead"), [lead_id]))
            except ConnectorError as e:
                if e.code != "INVALID_QUERY_FILTER_OPERATOR":  # the query's one filter is the id
                    raise
                print(f"leadrouter explain: Salesforce does not take {lead_id!r} as an id (invalid ID field){_meant(lead_id)}; "
                      "copy the Lead's id from its URL in Salesforce", file=sys.stderr)
                return 2
        full_id = records[0]["Id"] if records else lead_id
        past = history(ctx.live_store, full_id) if ctx.live_store else []
        offers = offer_history(ctx.live_store, full_id) if ctx.live_store else []
        routing = cx.routing()
        names = Names(routing)
        if records:
            names.read_person(cx, records[0].get("OwnerId"))
        now_part: dict[str, Any]
        current: dict[str, Any] = {}
        if not records:
            now_part = {"found": False, "text": f"lead {lead_id}: not found in the org ({_not_found_why(cx, ms, lead_id)})"}
        else:
            current = current_state(records[0], ms, names)
            lead = ms.lead_converter()(records[0])
            if isinstance(lead, Unroutable):
                current["problems"] = list(lead.problems or [lead.reason])
                now_part = {"found": True, "kind": "unroutable", "text": f"lead {lead_id}: unroutable — {lead.reason}",
                            "explanation": {"mapping": lead.reason}}
            else:
                current["problems"] = sorted((lead.extra or {}).get("dropped_values", {}).values())
                converted = _converted(lead, ms)
                if converted:
                    current["currency"] = converted
                state = ctx.state_for([full_id], rerouted=lead.routing_status == "Pending")
                now = cx.clock.now()
                ahead = 0
                if lead.routing_status in (None, "", "Pending") and not lead.do_not_route:
                    state, ahead = state_at_its_turn(cx, state, full_id, now)
                attempt = (lead.attempt or 0) + 1 if lead.routing_status in ("Offered",) else max(1, lead.attempt or 1)
                # as the connector routes it: the lead score on it, partners its feedback keeps away skipped
                learning.score(routing.learning, lead)
                skipped = feedback.skipped(lead, routing.feedback)
                ex = routing.router.explain(lead, state, now, attempt=attempt)
                funnels = {t.rule: routing.router.funnel(lead, t.rule) for t in ex.trials if t.applied}
                now_part = {"found": True, "kind": ex.kind, "summary": ex.summary, "text": ex.text(),
                            "explanation": ex.to_dict(), "funnels": {k: v for k, v in funnels.items() if v},
                            "feedback": feedback_part(lead, skipped, routing, names, ex), "ahead": ahead}
                held_escalation(now_part, routing, cx.book.settings.escalation_queue)
                skip = not_ours(lead, ms, records[0]) if lead.routing_status in (None, "", "Pending") or lead.do_not_route else None
                if skip is not None:  # what `once` does with it, whatever the rules would
                    now_part["left_alone"] = skip[1]
    if args.json:
        print(json_text({"lead_id": lead_id, "current": current, "now": now_part, "history": past,
                         "offers": offers}, default=str))
        return 0 if now_part.get("found") or past else 1
    print(for_terminal(render(lead_id, current, now_part, past, offers, names,
                              no_state=None if ctx.live_store is not None else why_no_live_store(loaded))))
    return 0 if now_part.get("found") or past else 1


def held_escalation(now_part: dict[str, Any], routing, queue: str) -> None:
    """An escalation while the escalation queue is not in the org is held, as the connector
    holds it (jobs/lifecycle.hold_escalation): said first, in the Lead's own words."""
    from jobs.lead_words import escalation_held
    from jobs.lifecycle import HELD_THEN

    if now_part.get("kind") != "escalate" or routing.queue_ids.get(queue):
        return
    held = f"{escalation_held(routing.router.outcomes.label(queue))}{HELD_THEN}"
    now_part.update(kind="unroutable", held=held, summary=held + (now_part.get("summary") or ""),
                    text=f"{held}\n{now_part.get('text') or ''}")


def state_at_its_turn(cx, state, lead_id: str, now) -> tuple[Any, int]:
    """The routing state as the next run has it when it reaches this lead: the unrouted leads
    ahead of it (dry-run's order) decided first, on a copy. Explained on the state as it is,
    the third of three new leads of a round robin was said to go where the first one went."""
    import copy

    from jobs.ops.context import unrouted_leads_soql
    from jobs.ops.dryrun import route_all

    ahead = []
    for rec in cx.client.query(unrouted_leads_soql(cx)):
        if rec.get("Id") == lead_id:
            break
        ahead.append(rec)
    else:
        return state, 0  # not among the leads the next run picks up
    state = copy.deepcopy(state)
    route_all(cx, ahead, state, now)
    return state, len(ahead)


# ------------------------------------------------------------------ for people
class Names:
    """Partner, rep and queue names for ids, from the partner snapshot."""

    def __init__(self, routing):
        self.partners = {p.id: one_line(p.name) for p in routing.partners.values()}
        self.reps = {r.id: one_line(r.name or r.id) for p in routing.partners.values() for r in p.reps}
        # by the label an admin knows the queue by, the developer name where none was read
        labels = getattr(routing, "queue_labels", None) or {}
        self.queues = {qid: labels.get(name) or name for name, qid in routing.queue_ids.items()}
        self.people: dict[str, str] = {}  # users neither rep nor queue (a salesperson), read by id
        for pool in routing.pools.values():
            self.queues.setdefault(pool.id, pool.name)

    def partner(self, pid: str | None) -> str:
        return self.partners.get(pid or "", pid or "-")

    def read_person(self, cx, oid: str | None) -> None:
        """The name of a user who owns the lead and is no partner's rep, read from the org;
        the id stays when it cannot be read (an inactive user is still read)."""
        self.read_people(cx, [oid])

    def read_people(self, cx, oids) -> None:
        """read_person for many owners at once (undo's listing), in one read."""
        wanted = sorted({o for o in oids if o and o.startswith("005") and o not in self.reps and o not in self.people})
        if not wanted:
            return
        try:
            found = list(cx.client.read_by_ids("User", ["Id", "Name"], wanted))
        except Exception:  # noqa: BLE001 — a name is a courtesy: the trace stands without it
            return
        for user in found:
            if user.get("Name"):
                # by the id as the lead holds it (15 or 18 characters)
                uid = str(user.get("Id") or "")
                for oid in wanted:
                    if uid[:15] == oid[:15]:
                        self.people[oid] = one_line(user["Name"])

    def owner(self, oid: str | None) -> str:
        if not oid:
            return "-"
        if oid in self.reps:
            return f"{self.reps[oid]} (rep)"
        if oid in self.queues:
            return f"queue {self.queues[oid]}"
        return self.people.get(oid, oid)


def offer_history(store, lead_id: str) -> list[dict[str, Any]]:
    from jobs.state import offers as of

    with store.connect() as conn:
        return of.offers_for_lead(conn, lead_id)


def current_state(record: dict[str, Any], ms, names: Names) -> dict[str, Any]:
    """Where the lead stands in the org right now, in the admin's own field values."""
    wb = ms.writeback_fields()

    def field(name: str) -> Any:
        api = wb.get(name)
        return record.get(api) if api else None

    return {
        "company": record.get("Company"), "name": " ".join(x for x in (record.get("FirstName"), record.get("LastName")) if x),
        "place": ", ".join(str(x) for x in (record.get("City"), record.get("State"), record.get("Country")) if x),
        "status": record.get("Status"), "routing_status": field("routing_status"),
        "owner": names.owner(record.get("OwnerId")),
        # the org's partner field (writeback.toml's partner_id: an org's own lookup, or none)
        "partner": names.partner(field("partner_id")) if field("partner_id") else "-",
        "reason": field("reason"), "rule": field("rule"), "deadline": field("deadline"),
        "response": field("response"), "attempt": field("attempt"),
    }


KIND_WORDS = {"offer": "offered to", "pool": "put in pool", "escalate": "escalated to", "fallback": "sent to fallback",
              "unroutable": "left unroutable"}


def render(lead_id: str, current: dict[str, Any], now_part: dict[str, Any], past: list[dict[str, Any]],
           offers: list[dict[str, Any]], names: Names, *, no_state: str | None) -> str:
    """The trace as text; `no_state`: why the state database gave no history (none yet, an
    earlier release's, out of reach), said with its fix."""
    out: list[str] = []
    if not now_part.get("found"):
        out.append(now_part["text"])
    else:
        # the org's text on one line each: a newline in a Company must not forge a line of this trace
        who = " — ".join(one_line(x) for x in (current.get("company"), current.get("name")) if x)
        out.append(f"Lead {lead_id}: {who}" + (f", {one_line(current['place'])}" if current.get("place") else ""))
        status = current.get("routing_status") or "not routed yet"
        out.append(f"  Now:      {status}; owner {current.get('owner')}; partner {current.get('partner')}"
                   + (f"; attempt {int(current['attempt'])}" if current.get("attempt") else ""))
        if current.get("response"):
            out.append(f"  Answer:   {one_line(current['response'])}")
        if current.get("deadline") and status == "Offered":
            out.append(f"  Deadline: {_at(parse_sf_datetime(current['deadline']))} UTC")
        if current.get("reason"):
            out.append(f"  Reason:   {one_line(current['reason'])}"
                       + (f"  (rule {current['rule']!r})" if current.get("rule") else ""))
        if current.get("currency"):
            out.append(f"  Currency: {one_line(current['currency'])}")
        for problem in current.get("problems") or ():
            out.append(f"  Problem:  {one_line(problem)}")
    out.append("")
    if past or offers:
        out.append("History, oldest first (times UTC):")
        out += timeline(past, offers, names)
    else:
        why = (no_state or "").strip().splitlines()
        out.append("History: no decision recorded for this lead" + (f" ({why[0]})" if why else ""))
        out += [f"  {line.strip()}" for line in why[1:]]
    if now_part.get("found"):
        out.append("")
        if now_part.get("left_alone"):
            out.append(f"Left alone: the connector does not route this lead ({one_line(now_part['left_alone'])}); "
                       "below is only what the rules alone would say")
            out.append("")
        out.append("If routed now (what the rules would do today; nothing is written):")
        if now_part.get("ahead"):
            out.append(f"  (after the {now_part['ahead']} unrouted lead(s) the next run decides before it, in "
                       "dry-run's order: rotations and caps turn with them)")
        out += what_if(now_part, names)
    # each line on its own: a partner's name or a reason quoted anywhere in it cannot break it in two
    return "\n".join(one_line(line) for line in out)


def _not_found_why(cx, ms, lead_id: str) -> str:
    """An id of another object is the usual mistake (an Account's 001… pasted from the partner)."""
    try:
        prefix = cx.client.describe(ms.sobject("lead")).get("keyPrefix")
    except Exception:  # noqa: BLE001 — only a hint
        prefix = None
    if prefix and not lead_id.startswith(prefix):
        return f"not a {ms.sobject('lead')} id: those begin with {prefix}, this one with {lead_id[:3]}"
    return "deleted, or not a Lead id"


def parse_sf_datetime(v: Any) -> Any:
    from jobs.timeutil import parse_sf_datetime as parse

    try:
        return parse(v) if isinstance(v, str) else v
    except ValueError:
        return v


def _at(v: Any) -> str:
    text = v.isoformat() if hasattr(v, "isoformat") else str(v or "")
    return text.replace("T", " ")[:16]


def _moment(v: Any) -> Any:
    """A history time to sort by, to the microsecond (shown to the minute): an ISO text of
    the audit log or a datetime of the offers table, naive ones taken as UTC."""
    from datetime import datetime, timezone

    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return datetime.min.replace(tzinfo=timezone.utc)
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
    return datetime.min.replace(tzinfo=timezone.utc)


# Of what happened at one instant, the order it happened in: an offer ends (accepted,
# rejected, lapsed, withdrawn) before the decision it leads to, and an offer opens after
# the decision that made it.
_ENDED, _DECIDED, _OPENED = 0, 1, 2


def timeline(past: list[dict[str, Any]], offers: list[dict[str, Any]], names: Names) -> list[str]:
    events: list[tuple[Any, int, int, str, str]] = []
    for d in past:
        decision = d.get("decision") or {}
        queue = decision.get("queue_id")
        to = names.partner(d.get("partner_id")) if d["kind"] == "offer" else names.queues.get(queue or "", queue or "")
        if d["kind"] == "hand_back":
            # the lead stays with (or goes back to) the distributor that accepted it: no rule of the
            # file decided it (the state's "hand_down" is no name an admin knows), no new offer counted
            text = f"back to {names.partner(d.get('partner_id'))}, the distributor, as accepted"
        else:
            text = f"{KIND_WORDS.get(d['kind'], d['kind'])} {to if to != '-' else ''}".rstrip()
            if d.get("rule"):
                text += f" by rule {d['rule']!r}"
            text += f" (attempt {d.get('attempt') or 1})"
        if d["kind"] != "offer" and decision.get("reason"):
            text += f": {decision['reason']}"
        events.append((_moment(d["at"]), _DECIDED, len(events), _at(d["at"]), text))
    for o in offers:
        target = names.partner(o.get("partner_id")) if o.get("partner_id") else names.owner(o.get("queue_id"))
        if o.get("accepted_at"):
            events.append((_moment(o["accepted_at"]), _ENDED, len(events), _at(o["accepted_at"]),
                           f"accepted by {names.owner(o.get('accepted_by'))} at {target}"))
        if o.get("closed_at") and o.get("status") not in ("live", "accepted"):
            why = f": {o['close_reason']}" if o.get("close_reason") else ""
            events.append((_moment(o["closed_at"]), _ENDED, len(events), _at(o["closed_at"]),
                           f"{o['status']} at {target}{why}"))
        elif o.get("status") == "live" and o.get("deadline"):
            # the calendar its window was promised in: its reminder counts back in it (rules/README.md)
            kept = f", working hours of {o['calendar']}" if o.get("calendar") else ""
            events.append((_moment(o["offered_at"]), _OPENED, len(events), _at(o["offered_at"]),
                           f"open at {target} until {_at(o['deadline'])} UTC{kept}"))
    events.sort(key=lambda e: e[:3])
    return [f"  {at}  {text}" for _, _, _, at, text in events]


def score_text(s: dict[str, Any], names: Names) -> str:
    name = s.get("name") or (names.partner(s["partner_id"]) if s.get("partner_id") else None)
    if "score" in s:
        return f"{name}: score {s['score']:.2f} (match {s.get('match', 0):.2f}, acceptance {s.get('acceptance', 0):.2f})"
    if "open" in s:
        return f"{name}: {s['open']} of {s['capacity']} offers open"
    if "km" in s:
        return f"{name}: {s['km']:g} km away"
    if "class" in s:
        return f"{s['class']}: {s['partners']} partner(s), weight {s['weight']:g}"
    return ", ".join(f"{k} {v}" for k, v in s.items())


def what_if(now_part: dict[str, Any], names: Names) -> list[str]:
    ex = now_part.get("explanation") or {}
    if ex.get("mapping"):
        return [f"  Outcome:  unroutable — {ex['mapping']}"]
    out = [f"  Outcome:  {now_part.get('kind')} — {now_part.get('summary') or ''}".rstrip(" —")]
    for reason in ex.get("gate") or ():
        out.append(f"  Stopped:  {reason}")
    for note in (ex.get("deal_registration") or {}).get("notes") or ():  # expired, declined, not a partner's
        out.append(f"  Deal registration: {note}")
    fb = now_part.get("feedback") or {}
    if fb.get("score") is not None:
        lift = fb.get("rating_lift") or 0.0
        out.append(f"  Score:    {fb['score']:.2f} lead potential" + (
            f" (partners' ratings of leads like it: {lift:+.2f} log-odds)" if lift else ""))
    for who, why in sorted((fb.get("skipped") or {}).items()):
        out.append(f"  Skipped:  {who} {why}")
    for who, why in sorted((fb.get("throttled") or {}).items()):
        out.append(f"  Throttled: {who}: {why}")
    chosen = ex.get("chosen") or {}
    if chosen.get("partner_id"):
        out.append(f"  Chosen:   {chosen.get('partner') or names.partner(chosen['partner_id'])} ({chosen.get('how')})")
    if chosen.get("window"):  # the offer's window: which zone and working week it counts in
        out.append(f"  Window:   {chosen['window']}")
    rules = ex.get("rules") or []
    applied = [r for r in rules if r.get("applied")]
    passed = len(rules) - len(applied)
    tops = next((r.get("scores") for r in reversed(applied) if r.get("scores")), None)
    if tops:
        out.append("  Top candidates:")
        out += [f"    {i}. {score_text(s, names)}" for i, s in enumerate(tops, 1)]
    if applied:
        out.append("  Eliminated, per rule that applied:")
    for r in applied:
        head = f"    {r['rule']}: {r.get('candidates', 0)} matched, {r.get('eligible', 0)} eligible"
        if r.get("outcome") and r["outcome"] not in ("chosen", "pool"):
            head += f" — {r['outcome']}"
        out.append(head)
        steps = (now_part.get("funnels") or {}).get(r["rule"])
        if steps:
            out.append("      by criterion: " + " → ".join(f"{n} {label}" for label, n in steps))
        counts = r.get("excluded_counts") or {}
        if counts:
            out.append("      out: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda kv: -kv[1])))
    if passed:
        out.append(f"  Passed over: {passed} rule(s) whose condition or territory does not fit this lead")
    return out


def _converted(lead: Any, ms: Any) -> str | None:
    """How the lead's amounts were put in the corporate currency (mappings/currency.py)."""
    from mappings.currency import CONVERTED_FROM

    currencies = ms.currencies
    source = (lead.extra or {}).get(CONVERTED_FROM)
    if currencies is None or not source:
        return None
    code, rate = source
    return (f"amounts in {code}, compared in {currencies.corporate} at the org's rate of {rate:g} {code} "
            f"to 1 {currencies.corporate}: " + ", ".join(
                f"{name} {getattr(lead, name, None) if name not in lead.extra else lead.extra[name]:,.2f}"
                for name in sorted(currencies.attributes)
                if (getattr(lead, name, None) if name not in lead.extra else lead.extra[name]) is not None))

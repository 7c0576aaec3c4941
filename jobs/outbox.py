"""Job: push the outbox to Salesforce, and reconcile it after a crash.

Flow per entry: pending → (guard: has the lead changed since we decided?) → sent →
confirmed | pending again (transient) | dropped (permanent error, or a person got there
first). An entry left `sent` by a crash is ambiguous — the write may or may not have
landed — so `reconcile` reads those leads back: our values there means confirmed, an
untouched lead means send again, anything else means a person changed it: drop.

The staleness guard asks Salesforce once for every lead changed since the oldest
decision in the batch (usually a handful of rows), instead of re-reading each batch
of 200 by id; for a small outbox it reads the ids directly.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from connector.soql import format_soql, select, soql_datetime
from jobs import activity, alerts, bulk_writeback, lifecycle, read_window
from jobs import lead_words as words
from jobs.in_flight import IN_FLIGHT_WHY, let_in_flight_land, sent_at, still_in_flight
from jobs.echoes import not_our_echo
from jobs.lead_history import Change, LeadHistory, newest
from jobs.owner_names import called
from jobs.recovery import OWNER_FIELDS
from jobs.state import offers as of
from jobs.state import outbox as ob
from jobs.timeutil import parse_sf_datetime
from mappings import Unroutable
from rules.lifecycle import LeadState
from rules.model import Response

if TYPE_CHECKING:
    from jobs.context import Context

BATCH = 200
BY_ID_LIMIT = 400  # up to this many leads: read them by id; beyond: read what changed


def run(cx: Context, now: datetime) -> dict[str, int]:
    # First the Bulk API jobs a kill left (their rows are `sent`: reconcile must not read
    # them back while the org may still be writing them), and a backlog from the threshold on.
    counts = bulk_writeback.run(cx, now, settle=settle, fence=fence)
    for k, v in reconcile(cx, now).items():
        counts[k] = counts.get(k, 0) + v
    for k, v in flush(cx, now).items():
        counts[k] = counts.get(k, 0) + v
    # the Tasks on Leads Salesforce could not take for a while (jobs/activity.py)
    for k, v in activity.retry(cx, now).items():
        counts[k] = counts.get(k, 0) + v
    return counts


CHUNK = 10_000  # entries guarded and written per round; an id cursor moves past each round


Guard = Callable[[list[dict[str, Any]]], tuple[dict[str, datetime], list[dict[str, Any]]]]


def flush(cx: Context, now: datetime, *, guard: Guard | None = None, hold_after: datetime | None = None
          ) -> dict[str, int]:
    """Write every pending entry, oldest first; entries that fail transiently wait for the
    next run (the cursor never comes back to them in this one).

    `guard`: answers the staleness question for the entries it can without Salesforce
    (the change event stream, jobs/stream.py); the rest are asked of the REST API.
    `hold_after`: a burst is still arriving — the last partial write batch waits for a
    later flush to fill it, if every entry in it was decided after this moment (so none
    waits longer than its caller allows)."""
    counts: dict[str, int] = {}
    after = 0
    while not cx.stop.is_set():
        with cx.store.connect() as conn:
            entries = ob.pending_after(conn, after, CHUNK)
        if not entries:
            break
        last = len(entries) < CHUNK
        if last and len(entries) < BATCH and _young(entries, hold_after):
            counts["held"] = len(entries)
            break  # nothing to guard or write until the batch fills
        after = entries[-1]["id"]
        _flush_chunk(cx, entries, now, counts, guard=guard, hold_after=hold_after if last else None)
        alerts.send_offer_alerts(cx, now, entries, counts)  # the reps of the confirmed offers hear of them
    return counts


def split_stale(entries: list[dict[str, Any]], current: dict[str, datetime]) -> tuple[list, list]:
    """(fresh, stale): stale entries' leads changed in Salesforce since their decision."""
    fresh, stale = [], []
    for e in entries:
        now_stamp = current.get(e["lead_id"], e["seen_modstamp"])
        if e["seen_modstamp"] is not None and now_stamp is not None and now_stamp != e["seen_modstamp"]:
            stale.append(e)
        else:
            fresh.append(e)
    return fresh, stale


def _young(entries: list[dict[str, Any]], hold_after: datetime | None) -> bool:
    return hold_after is not None and bool(entries) and all(e["created_at"] > hold_after for e in entries)


def _flush_chunk(cx: Context, entries: list[dict[str, Any]], now: datetime, counts: dict[str, int], *,
                 guard: Guard | None = None, hold_after: datetime | None = None) -> None:
    fresh, stale = split_stale(entries, current_modstamps(cx, entries, guard=guard))
    if stale:
        # Someone changed these leads after we decided: read them and take the change for
        # what it is, as the lead stream does (a late answer, an edit, a person taking
        # over); what is decided again goes out with a later chunk of this flush.
        cx.refresh_leads(sorted({e["lead_id"] for e in stale}), now, counts)
        counts["stale"] = counts.get("stale", 0) + len(stale)
    sobject = cx.mappings.writeback_sobject()
    if len(fresh) % BATCH and _young(fresh[len(fresh) - len(fresh) % BATCH:], hold_after):
        counts["held"] = len(fresh) % BATCH  # pending still: guarded again when they go
        fresh = fresh[:len(fresh) - len(fresh) % BATCH]
    for i in range(0, len(fresh), BATCH):
        batch = fresh[i:i + BATCH]
        with cx.store.begin() as conn:
            # Looked at again once the write lock is ours: on SQLite taking it waits up to the
            # busy timeout for another writer, and a stop meanwhile (SIGTERM) must not send a
            # batch. Nothing is marked yet, so the batch stays pending, whole, for the next run.
            if cx.stop.is_set():
                break
            fence(conn, getattr(cx, "lock", None))
            ob.mark(conn, [e["id"] for e in batch], "sent", sent_at(cx, now), count_attempt=True)
        dropped = cx.mappings.writeback_dropped_fields()
        results = cx.client.update(sobject, [{"Id": e["lead_id"], **written(e["payload"], dropped)} for e in batch])
        settle(cx, batch, results, now, counts)
        if cx.stop.is_set():
            break  # graceful stop: this batch is settled; the rest stays pending


def written(payload: dict[str, Any], dropped: frozenset[str]) -> dict[str, Any]:
    """A stored payload as it goes out: without the optional fields left out since it was
    decided (the outbox outlives a restart, and a field can go while the service runs)."""
    if not dropped or dropped.isdisjoint(payload):
        return payload
    return {k: v for k, v in payload.items() if k not in dropped}


# refusals that name the fields at fault: for optional write-back fields, those are left out
FIELD_REFUSALS = frozenset({"INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE"})


def _left_out(cx: Context, result) -> bool:
    """An optional write-back field that went from the org (or lost its edit permission)
    while running: it is left out from now on, said once, and the write goes again
    without it instead of making the lead Unroutable."""
    if result.code not in FIELD_REFUSALS or not result.fields:
        return False
    before = cx.mappings.writeback_left_out()
    names = cx.mappings.leave_out_fields(result.fields)
    if not names:
        return False
    fields = ", ".join(result.fields)
    for name in sorted(names - before):
        cx.log(component="outbox").warning(
            "optional_field_left_out", attribute=name, fields=list(result.fields), code=result.code,
            problem=f"Salesforce refused {fields} ({result.code}); {name} is optional, so leadrouter goes on "
                    "without writing it",
            fix="deploy the field (salesforce/) and give the integration user edit access to it (permission set "
                "LeadRouter_Integration), then restart")
    return True


def fence(conn, lock) -> None:
    """A write batch goes out only under the newest leadership: the batch is marked
    `sent` in the same transaction that finds our fencing token still the highest any
    leader of this database took. A deposed leader (its lock connection killed, its
    lock file taken over) stops here, before Salesforce sees anything from it; at most
    the one batch it had already marked is in flight, and the new leader reconciles
    `sent` entries by reading them back."""
    if lock is None:
        return
    token = getattr(lock, "token", None)
    from sqlalchemy import text

    from jobs.leader import NotLeader

    lock.assert_leader()
    lock_clause = " FOR SHARE" if conn.dialect.name == "postgresql" else ""
    current = conn.execute(text(f"SELECT token FROM leader_token WHERE id = 1{lock_clause}")).scalar()
    if token is None or current != token:
        raise NotLeader(f"fencing token {token} is not the newest ({current}): another instance leads now; "
                        "this one writes nothing more")


def settle(cx: Context, batch: list[dict[str, Any]], results, now: datetime, counts: dict[str, int]) -> None:
    with cx.store.begin() as conn:
        state = lifecycle.load_state(conn, [e["lead_id"] for e in batch])
        confirmed = [e["id"] for e, r in zip(batch, results) if r.ok]
        ob.mark(conn, confirmed, "confirmed", now)
        if confirmed:
            counts["confirmed"] = counts.get("confirmed", 0) + len(confirmed)
        for e, r in zip(batch, results):
            if r.ok:
                continue
            elif r.kind == "transient":
                ob.mark(conn, [e["id"]], "pending", now, error=f"{r.code}: {r.message}")
                counts["transient"] = counts.get("transient", 0) + 1
            elif r.kind == "stale":
                _drop_one(conn, state, e, f"{r.code}: {r.message}", now)
                counts["stale"] = counts.get("stale", 0) + 1
            elif _left_out(cx, r):
                ob.mark(conn, [e["id"]], "pending", now, error=f"{r.code}: {r.message}; sent again without it")
                counts["optional_left_out"] = counts.get("optional_left_out", 0) + 1
            else:
                cx.log(lead_id=e["lead_id"]).error("write_refused", code=r.code, message=r.message, fix=r.fix)
                _refused(cx, conn, state, e, r, now)
                counts["refused"] = counts.get("refused", 0) + 1
        lifecycle.save_state(conn, state, now)


GONE = {"ENTITY_IS_DELETED": "lead deleted in Salesforce", "CANNOT_UPDATE_CONVERTED_LEAD": "lead converted"}


def _refused(cx: Context, conn, state, entry: dict[str, Any], result, now: datetime) -> None:
    """Salesforce refused a write for good; retrying cannot help.

    A deleted or converted lead is simply let go. Anything else (an inactive owner, a
    validation rule, a field the user may not edit) leaves the lead Unroutable with
    Salesforce's own words as the reason — never silently dropped, never in a live
    offer that does not exist in Salesforce. A lead we had put in front of a partner
    before (it was moving on: rejected, lapsed, withdrawn) is also moved to the escalation
    queue, off the rep who no longer works it, where an admin sees it. When Salesforce
    refuses that too, the status alone is written; when it refuses even that, the log
    and `leadrouter status` name the lead (jobs/state/outbox.unwritten_refusals)."""
    if result.code in GONE:
        _drop_one(conn, state, entry, f"{GONE[result.code]} ({result.code})", now, final_state="closed")
        return
    if entry["purpose"] == "refused":
        _refusal_refused(cx, conn, state, entry, result, now)
        return
    reason = refused_reason(cx, entry, result)
    moving_on = _moving_on(conn, entry)
    queue_id = _escalation_queue(cx) if moving_on else None
    _drop_one(conn, state, entry, reason, now, final_state="closed")
    values: dict[str, Any] = {"routing_status": "Unroutable", "reason": reason[:255]}
    if moving_on:  # the offer it moves on from is over: no clock of it may read as running
        values |= OFFER_CLOCK
    if queue_id:  # nobody of the partner that gave the lead up is left holding it
        values |= {"owner_id": queue_id, "partner_id": None}
    # the owner we meant to set never landed: the lead's owner is no change of a person's
    of.put_lead(conn, entry["lead_id"], now, state="unroutable", reason=reason[:255], owner_id=queue_id)
    ob.add(conn, lead_id=entry["lead_id"], purpose="refused",
           payload=lifecycle.jsonable(cx.mappings.writeback(values)), now=now, seen_modstamp=None)


MOVED_ON = ("rejected", "lapsed", "closed", "lost")  # an offer of ours that is over
OFFER_CLOCK = {"offered_at": None, "deadline": None, "calendar": None}  # an offer's time on the Lead
MOVE = ("owner_id", "partner_id")  # the move to the escalation queue, left out when refused


def _moving_on(conn, entry: dict[str, Any]) -> bool:
    """Was the refused write moving the lead on from an offer of ours that is over (its
    owner still that offer's rep or pool, its time and deadline still on the Lead)? A new
    lead keeps the owner the org gave it, an acceptance its accepting rep."""
    if entry["purpose"] not in (*DECISION_PURPOSES, "hand_back"):
        return False
    earlier = [o for o in of.offers_for_lead(conn, entry["lead_id"]) if o["id"] != entry.get("offer_id")]
    return any(o["status"] in MOVED_ON and o.get("owner_id") for o in earlier)


def _escalation_queue(cx: Context) -> str | None:
    """The escalation queue's id; None while it is not in the org."""
    try:
        return cx.routing().queue_ids.get(cx.book.settings.escalation_queue)
    except Exception:  # noqa: BLE001 — no routing now: the status alone is written, as before
        return None


UNWRITTEN = "Salesforce refused every write of leadrouter to this lead"


def _refusal_refused(cx: Context, conn, state, entry: dict[str, Any], result, now: datetime) -> None:
    """The write that makes a refused lead Unroutable was refused too. If it was moving the
    lead to the escalation queue, the status and reason go again without the move; else
    nothing more can be written, and the log says so, naming the lead, Salesforce's words
    and the fix (`leadrouter status` lists it until a person routes it again)."""
    payload = entry.get("payload") or {}
    fields = cx.mappings.writeback_fields()
    moved = {fields[k] for k in MOVE if k in fields}  # the offer's clock stays cleared: no offer runs
    said = f"{result.code}: {result.message}"
    if fields.get("owner_id") in payload:
        _drop_one(conn, state, entry, f"the move to the escalation queue was refused ({said}); "
                                      "the status goes alone", now, final_state="closed")
        cx.log(lead_id=entry["lead_id"]).warning(
            "escalation_move_refused", code=result.code, message=result.message,
            problem=f"Salesforce refused moving lead {entry['lead_id']} to the escalation queue "
                    f"{cx.book.settings.escalation_queue} ({said}); its Unroutable status and reason go without "
                    "the move (the ended offer's time and deadline cleared)",
            fix=result.fix)
        of.put_lead(conn, entry["lead_id"], now, state="unroutable", owner_id=None)
        ob.add(conn, lead_id=entry["lead_id"], purpose="refused",
               payload={k: v for k, v in payload.items() if k not in moved}, now=now, seen_modstamp=None)
        return
    queue = cx.book.settings.escalation_queue
    problem = (f"{UNWRITTEN} ({said}): lead {entry['lead_id']} could be neither moved to the escalation queue "
               f"{queue} nor marked Unroutable, and stays with its owner as Salesforce has it")
    fix = ((result.fix + "; ") if result.fix else "") + (
        "fix the lead's data or let the integration user past the rule, then set its Routing Status "
        f"(Routing_Status__c) to Pending to route it again (or give it to the queue {queue} by hand)")
    cx.log(lead_id=entry["lead_id"]).error("lead_left_with_its_owner", code=result.code, message=result.message,
                                           problem=problem, fix=fix)
    _drop_one(conn, state, entry, f"{problem}. Fix: {fix}", now, final_state="closed")


# what each write is, in the words of the Lead's reason when Salesforce refuses it
WRITES = {"offer": "offer", "pool": "pool offer", "escalate": "escalation", "fallback": "hand-over to a fallback queue",
          "unroutable": "Unroutable status", "accept": "acceptance", "put_back": "put-back", "release": "release",
          "hand_back": "hand-back to the distributor"}
AGAIN = f"; {words.ROUTE_AGAIN_FIXED}"
REASON_LENGTH = 255


def refused_reason(cx: Context, entry: dict[str, Any], result) -> str:
    """Why the Lead is Unroutable: which of our writes Salesforce refused (the rule and attempt
    of a decision: Routing_Rule__c still names the previous one; never the partner, whose name
    the lead's current owner must not read), Salesforce's words and fix, and how to route it
    again. Salesforce's message is what gives way to fit the field."""
    fields = cx.mappings.writeback_fields()
    payload = entry.get("payload") or {}
    rule, attempt = payload.get(fields.get("rule", "")), payload.get(fields.get("attempt", ""))
    detail = ", ".join(x for x in (f"rule {rule}" if rule else "", f"attempt {attempt:g}" if isinstance(
        attempt, (int, float)) else "") if x)
    what = WRITES.get(entry.get("purpose") or "", "write") + (f" ({detail})" if detail else "")
    head = f"Salesforce refused leadrouter's {what}: {result.code}: "
    fix = f" — {result.fix}" if result.fix else ""
    message = result.message or ""
    room = REASON_LENGTH - len(head) - len(fix) - len(AGAIN)
    if room < 40:  # a long rule name: the fix is in the log (write_refused) too
        fix, room = "", REASON_LENGTH - len(head) - len(AGAIN)
    if len(message) > room:
        message = message[:max(room - 1, 0)] + "…"
    return f"{head}{message}{fix}{AGAIN}"[:REASON_LENGTH]


DECISION_PURPOSES = ("offer", "pool", "escalate", "fallback", "unroutable")


def decide_again(cx: Context, conn, state, entry: dict[str, Any], lead: Any, rec: dict[str, Any],
                 local: dict[str, Any] | None, now: datetime, owner_names: dict[str, str] | None = None) -> str | None:
    """A pending write whose lead changed before it went out is dropped, and the change
    is taken for what it is rather than assumed to be a person taking over.

    A decision that never landed (an offer, a pool, an escalation): if the owner is still
    the one we decided on, someone only edited the lead (or a partner answered late an
    offer that has lapsed) — decide again at the same attempt, on the lead as it now
    is. If the owner moved, a person has it. Returns the outcome, or None when the
    lead stream should now evaluate the lead as usual (a write that followed a
    transition already made: an acceptance, a put-back, a release). `owner_names`: {user id:
    name} (jobs/owner_names.py), for the Lead to name a person who took it over."""
    ob.mark(conn, [entry["id"]], "dropped", now, error="the lead changed in Salesforce before this write went out")
    if entry["purpose"] not in DECISION_PURPOSES or local is None or isinstance(lead, Unroutable):
        return None
    seen = parse_sf_datetime(rec.get("SystemModstamp"))
    before = (local.get("record") or {}).get("OwnerId")
    live = of.live_offers(conn, [lead.id]).get(lead.id)
    if live is not None:
        lifecycle.end_offer(conn, state, live, "closed", "withdrawn: the lead changed before the offer reached it",
                            now, outcome="withdrawn")
    if before is not None and rec.get("OwnerId") != before and _late_take(cx, conn, lead.id, rec):
        before = rec.get("OwnerId")  # a partner's rep answered an offer of ours late: no person's takeover
    if before is None or rec.get("OwnerId") != before or lead.converted or lead.do_not_route:
        reason = ("lead converted" if lead.converted else words.DO_NOT_ROUTE_TICKED
                  if lead.do_not_route else "taken over by a person before our write landed: owner set to "
                  f"{called(rec.get('OwnerId'), owner_names)}")
        if lead.converted:
            lifecycle.release(conn, state, lead.id, reason, now, final_state=LeadState.CLOSED, modstamp=seen)
            return "closed_converted"
        released_by = words.RELEASED_BY_DO_NOT_ROUTE if lead.do_not_route else words.RELEASED_BY_PERSON
        lifecycle.release(conn, state, lead.id, reason, now, modstamp=seen,
                          lead_update=lifecycle.released_update(cx, reason, rule=released_by))
        return "released_person"
    attempt = (live or {}).get("attempt") or local.get("attempt") or 1
    if live is not None:
        _never_made(conn, live)
    moved = _what_ended(cx, conn, lead, rec)
    if moved == words.REROUTED:
        # a person set Pending, and the decision that never landed routed the lead afresh past
        # the partner that held it: deciding again must pass it by too (redistributing put the
        # lead back with that partner, the Lead as the person had found it)
        decision = lifecycle.reroute(cx, conn, state, lead, record=rec, seen_modstamp=seen, now=now,
                                     held_before=_rerouted_from(conn, lead.id))
        return f"decided_again_{decision.kind.value}"
    decision = lifecycle.redistribute(cx, conn, state, lead, attempt=attempt,
                                      why="decided again: the lead changed before our write landed",
                                      record=rec, seen_modstamp=seen, now=now, moved=moved)
    return f"decided_again_{decision.kind.value}"


def _rerouted_from(conn, lead_id: str) -> set[str]:
    """The partners the last Pending withdrew the lead from (their offers, or acceptances,
    closed together by it)."""
    why = f"withdrawn: {words.REROUTED}"
    closed = [o for o in of.offers_for_lead(conn, lead_id) if o.get("close_reason") == why]
    last = max((o["closed_at"] for o in closed if o.get("closed_at")), default=None)
    return {o["partner_id"] for o in closed if o.get("partner_id") and o.get("closed_at") == last}


def _what_ended(cx: Context, conn, lead: Any, rec: dict[str, Any]) -> str | None:
    """What became of the lead's previous offer, as the decision that never landed said it
    first on the Lead ("offer 1 lapsed unanswered; …", naming no partner): deciding the lead
    again must say it too, or the Lead shows another partner's offer with no word of why the
    last one ended. A rep of the partner whose offer lapsed who answered since (the lead was
    still theirs in the org: the next offer had not reached it) learns there that the answer
    came too late, and so does the admin reading the rep's Accepted in the Lead's history."""
    ended = [o for o in of.offers_for_lead(conn, lead.id) if o["status"] in ("lapsed", "rejected", "closed")]
    if not ended:
        return None
    last = ended[-1]
    n, said = last.get("attempt"), last.get("close_reason") or ""
    if last["status"] == "lapsed":
        late = (lead.response in (Response.ACCEPTED.value, Response.REJECTED.value) and last.get("partner_id")
                and cx.routing().rep_partner.get(rec.get("LastModifiedById") or "") == last["partner_id"])
        if late:
            cx.log(lead_id=lead.id).info("late_answer_not_taken", partner_id=last["partner_id"],
                                         saved_by=rec.get("LastModifiedById"), response=lead.response,
                                         deadline=str(last.get("deadline")))
        return f"offer {n} lapsed unanswered" + ("; an answer saved after it lapsed was not taken" if late else "")
    if last["status"] == "rejected":
        return f"offer {n} was accepted, then handed back" if said.startswith("handed back") else f"offer {n} was rejected"
    cause = said.removeprefix("withdrawn: ").split("; offer withdrawn", 1)[0]
    if said.startswith("withdrawn: ") and "; offer withdrawn" in said:
        return f"the previous offer was withdrawn: {cause}"
    if said == f"withdrawn: {words.REROUTED}":
        return words.REROUTED  # a person set Pending: the decision that never landed said so first
    return None


def _never_made(conn, offer: dict[str, Any]) -> None:
    """A withdrawn offer whose write never reached the lead was never made: the org saw none.
    Its row goes (the decision stays in the audit), so deciding the lead again — now, or
    after the next offer lapses — may go to that target as its one offer, not a second."""
    from sqlalchemy import delete, update

    from jobs.state import schema

    conn.execute(update(schema.outbox).where(schema.outbox.c.offer_id == offer["id"]).values(offer_id=None))
    conn.execute(delete(schema.offers).where(schema.offers.c.id == offer["id"]))


def _owner_moved(cx: Context, conn, entry: dict[str, Any], rec: dict[str, Any]) -> bool:
    """Has someone other than a partner's rep answering late moved the lead's owner since
    this decision was made on it (decide_again's test: a person took the lead over)?"""
    before = ((of.get_leads(conn, [entry["lead_id"]]).get(entry["lead_id"]) or {}).get("record") or {}).get("OwnerId")
    return rec.get("OwnerId") != before and not _late_take(cx, conn, entry["lead_id"], rec)


def _late_take(cx: Context, conn, lead_id: str, rec: dict[str, Any]) -> bool:
    """Did a partner's rep take the lead himself, a lead we had offered to his partner or to
    a pool (the offer since over, our next write not landed: the pool queue still held it)?
    That is a late answer to our offer, decided again like one, not a person of the org taking
    the lead over (who is no partner's rep)."""
    owner = rec.get("OwnerId") or ""
    partner = cx.routing().rep_partner.get(owner)
    if not partner or rec.get("LastModifiedById") != owner:
        return False
    return any(o["kind"] == "pool" or o["partner_id"] == partner for o in of.offers_for_lead(conn, lead_id))


def _drop_one(conn, state, entry: dict[str, Any], reason: str, now: datetime, final_state: str = "released") -> None:
    ob.mark(conn, [entry["id"]], "dropped", now, error=reason)
    lifecycle.release(conn, state, entry["lead_id"], reason, now, final_state=final_state)


def current_modstamps(cx: Context, entries: list[dict[str, Any]], *, guard: Guard | None = None
                      ) -> dict[str, datetime]:
    """SystemModstamp now, for leads that may have changed since their decision.

    `guard` answers first for the entries it can (the leads' change events); only the
    others are asked of Salesforce, exactly as without it."""
    answered: dict[str, datetime] = {}
    if guard is not None:
        answered, entries = guard(entries)
        if not entries:
            return answered
    sobject = cx.mappings.writeback_sobject()
    ids = sorted({e["lead_id"] for e in entries})
    me = getattr(cx.client, "user_id", None)
    if len(ids) <= BY_ID_LIMIT:
        rows = cx.client.read_by_ids(sobject, ["Id", "SystemModstamp", "LastModifiedById"], ids)
        # Our own last write cannot make our next decision stale: only someone else's can.
        rows = [r for r in rows if not me or r.get("LastModifiedById") != me]
    else:
        # Changes before the lead stream's last read were seen by it (and a pending write
        # whose lead changed was dropped there); only later changes need asking about.
        with cx.store.connect() as conn:
            read_start = read_window.read_start(conn)
        seen = [e["seen_modstamp"] for e in entries if e["seen_modstamp"] is not None]
        if not seen:
            return answered
        oldest, newest = min(seen), max(seen)
        since = max(oldest, read_start - cx.lookback) if read_start else oldest
        # A lead of these entries was created no later than the version we decided on, so
        # leads created after the newest of them cannot be among them: without this bound a
        # burst's later leads (new, created inside the lookback) were all read back again.
        where = format_soql("SystemModstamp > {} AND CreatedDate <= {}", soql_datetime(since - timedelta(seconds=1)),
                            soql_datetime(newest + timedelta(seconds=1)))
        echo = not_our_echo(cx)  # our own earlier writes cannot make a decision stale
        if echo:
            where = f"({where}) AND ({echo})"
        rows = cx.client.query(select(sobject, ["Id", "SystemModstamp"], where=where))
    wanted = set(ids)
    return {**{r["Id"]: parse_sf_datetime(r["SystemModstamp"]) for r in rows if r["Id"] in wanted}, **answered}


def reconcile(cx: Context, now: datetime) -> dict[str, int]:
    """Settle entries a crash left `sent`: confirmed, send again, or dropped. A write that
    followed a transition (an acceptance) and did not land while the holding partner's rep
    saved the lead since is sent again; if that save handed the lead back (Rejected), the
    write is dropped and the lead read as the stream reads it, so the hand-back is taken now."""
    with cx.store.connect() as conn:
        sent = [e for e in ob.open_entries(conn) if e["status"] == "sent"]
    if not sent:
        return {}
    held = 0
    if getattr(cx, "defer_in_flight", False):
        # the service: its next outbox run reads these back; the rest goes on meanwhile
        young = still_in_flight(cx, sent)
        held, sent = len(young), [e for e in sent if e["id"] not in young]
        if held:
            cx.log(component="outbox").info("outbox_in_flight_held", entries=held, why=IN_FLIGHT_WHY)
        if not sent:
            return {"in_flight_held": held}
    elif not let_in_flight_land(cx, sent):
        return {}  # stopping: the next run reads them back
    dropped = cx.mappings.writeback_dropped_fields()
    fields = sorted({f for e in sent for f in e["payload"] if f not in dropped}
                    | {"Id", "SystemModstamp", "OwnerId", "LastModifiedById"}
                    | (set(cx.mappings.writeback({"response": None})) - dropped))
    sobject = cx.mappings.writeback_sobject()
    found = {r["Id"]: r for r in cx.client.read_by_ids(sobject, fields, [e["lead_id"] for e in sent])}
    counts = {"reconciled_confirmed": 0, "reconciled_resend": 0, "reconciled_dropped": 0}
    if held:
        counts["in_flight_held"] = held
    answers = set(cx.mappings.cleared_answer())
    offered_at = next(iter(cx.mappings.writeback({"offered_at": None})), None)
    handed_back: list[str] = []  # leads whose partner's rep rejected them since: read as the stream does
    decide_again_ids: list[str] = []  # decisions that never landed on leads changed since: decided again
    confirmed: list[dict[str, Any]] = []  # landed: an offer's alert waits for its confirmation, so none went yet
    # who changed the owner and the answer since each decision (LeadHistory), read before the
    # transaction and only for writes following a transition on a lead changed since
    unsure = [e for e in sent if e["purpose"] not in DECISION_PURPOSES and (rec := found.get(e["lead_id"])) is not None
              and not landed(rec, written(e["payload"], dropped), answers, offered_at)
              and parse_sf_datetime(rec.get("SystemModstamp")) != e["seen_modstamp"]]
    history = LeadHistory(cx).rows({e["lead_id"]: e["seen_modstamp"] for e in unsure}) if unsure else {}
    with cx.store.begin() as conn:
        state = lifecycle.load_state(conn, [e["lead_id"] for e in sent])
        for e in sent:
            rec = found.get(e["lead_id"])
            if rec is not None and landed(rec, written(e["payload"], dropped), answers, offered_at):
                ob.mark(conn, [e["id"]], "confirmed", now)
                counts["reconciled_confirmed"] += 1
                confirmed.append(e)
            elif rec is not None and parse_sf_datetime(rec.get("SystemModstamp")) == e["seen_modstamp"]:
                ob.mark(conn, [e["id"]], "pending", now, error="unknown outcome after a restart; sending again")
                counts["reconciled_resend"] += 1
            elif rec is not None and _partner_worked_it(cx, conn, e, rec, history.get(e["lead_id"])):
                if _rejected(cx, rec, history.get(e["lead_id"])):
                    # the rep handed the lead back since (Rejected over the acceptance): our
                    # write is let go and the lead taken as it is now, below — a hand-back,
                    # honoured in this cycle, not at the lead's next save
                    ob.mark(conn, [e["id"]], "dropped", now,
                            error="unknown outcome; the partner's rep has handed the lead back since")
                    handed_back.append(e["lead_id"])
                    continue
                # not landed, and since then only the holding partner's own rep saved the lead
                # (working it): no person took it over, the transition stands; sent again, on
                # the lead as it now is
                ob.mark(conn, [e["id"]], "pending", now,
                        error="unknown outcome; the partner's rep has edited the lead since; sending again")
                ob.set_seen(conn, e["id"], parse_sf_datetime(rec.get("SystemModstamp")))
                counts["reconciled_resend"] += 1
            elif rec is not None and e["purpose"] in DECISION_PURPOSES and not _owner_moved(cx, conn, e, rec):
                # a decision that never reached the lead, changed since by no person taking it
                # over (a rep's edit, a late answer to the offer before): it goes back to pending
                # on the version it was decided on, and the lead is read as the stream reads a
                # pending write whose lead changed (decide_again): decided again as it now is
                ob.mark(conn, [e["id"]], "pending", now,
                        error="unknown outcome; not on the lead, which changed since: decided again")
                decide_again_ids.append(e["lead_id"])
            else:
                why = "lead deleted" if rec is None else "the lead changed in Salesforce while our write was unconfirmed"
                _drop_one(conn, state, e, why, now, final_state="closed" if rec is None else "released")
                counts["reconciled_dropped"] += 1
        lifecycle.save_state(conn, state, now)
    if handed_back:
        counts["reconciled_handed_back"] = len(handed_back)
        cx.refresh_leads(sorted(set(handed_back)), now, counts)
    if decide_again_ids:
        counts["reconciled_decided_again"] = len(decide_again_ids)
        cx.refresh_leads(sorted(set(decide_again_ids)), now, counts)
    cx.log(component="outbox").info("outbox_reconciled", **counts)
    # an alert goes out only for a confirmed write, so one confirmed here was never sent: now it is
    alerts.send_offer_alerts(cx, now, confirmed, counts)
    return counts


def _rejected(cx: Context, rec: dict[str, Any], changes: list[Change] | None = None) -> bool:
    """Does the lead read the partner's Rejected (its response field, as the org spells it)?
    With `changes` (its LeadHistory), only a Rejected set by a rep of the partner holding the
    lead, or that the history does not date (the field not tracked: the last saver's, as
    `_partner_worked_it` took it), is that partner's hand-back; another partner's rep's is not."""
    wanted = cx.mappings.writeback({"response": Response.REJECTED.value})
    if not wanted or not all(rec.get(k) == v for k, v in wanted.items()):
        return False
    field, value = next(iter(wanted.items()))
    setter = newest(changes or [], [field])
    if setter is None or setter.value != value or not setter.by:
        return True
    routing = cx.routing()
    holder = routing.rep_partner.get(rec.get("OwnerId") or "")  # `_partner_worked_it`: the holder's own rep
    return routing.rep_partner.get(setter.by) == holder


def _partner_worked_it(cx: Context, conn, entry: dict[str, Any], rec: dict[str, Any],
                       changes: list[Change] | None = None) -> bool:
    """Was the lead, since the decision, worked within the partner that holds it, its owner
    still one of that partner's reps? Then a write following a transition already made (an
    acceptance, a put-back: not a decision, which is decided again) still holds.

    Who changed what matters — the owner, the answer — is LeadHistory's (`changes`, from the
    decision's version on): an owner moved by anyone but the partner's reps is not the
    partner's working it, and an answer set by anyone is judged as an answer (`_rejected`).
    Where the history dates no such change (an edit of fields it does not track, or the org
    tracks neither), the lead's last saver (LastModifiedById) must be the partner's rep."""
    if entry["purpose"] in DECISION_PURPOSES:
        return False
    routing = cx.routing()
    holder = (of.accepted_offers(conn, [entry["lead_id"]]).get(entry["lead_id"]) or {}).get("partner_id") \
        or (of.live_offers(conn, [entry["lead_id"]]).get(entry["lead_id"]) or {}).get("partner_id")
    if not holder:
        return False
    owner = routing.rep_partner.get(rec.get("OwnerId") or "")
    if owner != holder:
        return False
    me = getattr(cx.client, "user_id", None)
    seen = entry.get("seen_modstamp")
    answer = next(iter(cx.mappings.writeback({"response": Response.REJECTED.value})), None)
    since = [c for c in changes or [] if c.by != me and (seen is None or c.at > seen)
             and (c.field in OWNER_FIELDS or c.field == answer)]
    if since:
        return all(routing.rep_partner.get(c.by or "") == holder for c in since if c.field in OWNER_FIELDS)
    return routing.rep_partner.get(rec.get("LastModifiedById") or "") == holder


def landed(rec: dict[str, Any], payload: dict[str, Any], answers: set[str], offered_at: str | None) -> bool:
    """Did this write reach Salesforce? The partner may have answered (or a pool rep taken
    the lead) since, so the fields they change are no evidence either way; an offer's own
    Offered_At__c, set by nobody else, is the best witness."""
    if offered_at and payload.get(offered_at):
        return same_value(rec.get(offered_at), payload[offered_at])
    return all(same_value(rec.get(k), v) for k, v in payload.items() if k not in answers)


def same_value(actual: Any, wanted: Any) -> bool:
    """Salesforce's echo of a value we wrote: datetimes and numbers compare by value."""
    if actual == wanted:
        return True
    if actual in (None, "") and wanted in (None, ""):
        return True
    if isinstance(actual, (int, float)) and isinstance(wanted, (int, float)):
        return float(actual) == float(wanted)
    if isinstance(actual, str) and isinstance(wanted, str):
        try:
            a, w = parse_sf_datetime(actual), parse_sf_datetime(wanted)
        except ValueError:
            return False
        # Salesforce keeps milliseconds: a value we wrote with microseconds (a time read back
        # from the state database) comes back cut, and is still the value we wrote
        return a is not None and w is not None and _ms(a) == _ms(w)
    return False


def _ms(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)

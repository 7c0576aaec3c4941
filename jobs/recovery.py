"""A lost state database costs no lead: it is rebuilt from the org.

The org is the truth and the state a cache of it. Every lead the connector routed
carries, on the Lead itself, where it stands (Routing_Status__c), its partner, owner,
attempt, offer time, deadline and rule; LeadHistory remembers which partners and
pools had it before. So when the state knows no lead while the org has routed ones —
the file was deleted, truncated, or a new database was pointed at a live org — the
live offers (and accepted leads, and the bars on partners that declined) are rebuilt
from the org before any job runs, and the leads are then read once more so answers
given meanwhile (an accept, a reject, a pool pick-up, a person taking over) are acted
on. It is logged as a warning with the counts; `leadrouter state rebuild` does the same
on demand.

A partner's declines come back too, with their reasons: the rejection reason field
(Rejection_Reason__c) is history-tracked, so each reason a rep gave is in LeadHistory
with its time, and the partner that held the lead then is the last PartnerAccount our
integration user set before it. A rep may reject without a reason (the response field,
Partner_Response__c, set to Rejected and nothing else): where the org tracks that field's
history, such an answer by anyone but our integration user is a decline too ("no reason
given", as the live poll records it); where it does not, LeadHistory holds no trace of it
and the partner comes back barred as having let the lead lapse. The declined offers are
rebuilt as such, so partner feedback (a throttle after "No capacity", an area stopped
after "Out of territory") acts on the same answers it acted on before the state was lost.
So do the daily caps: each partner our user set on a lead in the last two days is an offer,
counted on the partner's day, so a partner at its Daily_Cap__c stays there. And fair
rotation goes on from each rule's latest offer (ended since or not), not from the first
partner again. Each accepted lead makes its partner the incumbent of its company again, dated
when it accepted (the Opportunities that do are read again at the next partner sync:
jobs/incumbents.py). A reminder or follow-up already sent is read from the Tasks it left on the
Lead, and not sent again.
"""
from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from sqlalchemy import bindparam, func, select, update

from connector.records import id18
from connector.soql import format_soql, ident, select as soql_select
from jobs import incumbents, lifecycle
from jobs import lead_words as words
from jobs.activity import FOLLOWUP_SUBJECTS, REMINDER_SUBJECTS
from jobs.poll import NO_REASON, with_code  # a rebuilt decline reads (and counts in feedback) as the live one
from jobs.state import schema
from jobs.state import store as st
from jobs.timeutil import parse_sf_datetime
from rules.lifecycle import LeadState
from rules.model import Lead, Response, RoutingStatus
from rules.router import Router
from rules.state import Performance, RoutingState, lead_domain

if TYPE_CHECKING:
    from jobs.context import Context

ROUTED = (RoutingStatus.OFFERED, RoutingStatus.ACCEPTED, RoutingStatus.ESCALATED, RoutingStatus.FALLBACK,
          RoutingStatus.UNROUTABLE, RoutingStatus.RELEASED)
_STATE_OF = {RoutingStatus.ACCEPTED: LeadState.ACCEPTED, RoutingStatus.ESCALATED: LeadState.ESCALATED,
             RoutingStatus.FALLBACK: LeadState.FALLBACK, RoutingStatus.UNROUTABLE: LeadState.UNROUTABLE,
             RoutingStatus.RELEASED: LeadState.RELEASED}
LIVE = (RoutingStatus.OFFERED, RoutingStatus.ACCEPTED)  # work still followed up: offers, accepted leads
OWNER_FIELDS = ("Owner", "ownerAssignment")
QUEUE_PREFIX = "00G"


def partner_field(wb: Mapping[str, str]) -> str | None:
    """The Lead field holding the offer's partner (writeback.toml's partner_id): PartnerAccountId
    as shipped, an org's own lookup, or None where the org keeps no partner on the Lead."""
    return wb.get("partner_id")


def _partner_history_name(field: str | None) -> str | None:
    """How LeadHistory names that field: PartnerAccount for PartnerAccountId (as Owner for
    OwnerId), a custom field by its API name."""
    if field is None:
        return None
    return "PartnerAccount" if field.lower() == "partneraccountid" else field


def history_fields(ms: Any) -> dict[str, str]:
    """The Lead fields whose LeadHistory this module, jobs/owner_history.py and
    jobs/answer_history.py read, each
    with what goes without it: the org tracks only the fields set to be (Setup → Set History
    Tracking), and an untracked field leaves no row (jobs/preflight.history_tracking asks)."""
    wb = ms.writeback_fields()
    out = {
        "OwnerId": "a rebuilt state does not know who held each lead before, an owner set by the org's "
                   "assignment rule (a rep's API save) reads as a person taking the lead over, and who gave a lead "
                   "to another partner's rep is taken to be whoever saved it last (jobs/owner_history.py)",
    }
    if partner_field(wb):  # none kept: the owners' history stands for it
        out[str(partner_field(wb))] = ("a rebuilt state does not know which partners had each lead before: their "
                                       "declines, bars and today's offers (daily caps) are lost")
    if wb.get("routing_status"):
        out[wb["routing_status"]] = ("a lost state is not rebuilt at all: the leads the connector routed are "
                                     "found by this field's history")
    if wb.get("rejection_reason"):
        out[wb["rejection_reason"]] = "a rebuilt state loses the partners' declines and their reasons (feedback, bars)"
    response = next(iter(ms.writeback({"response": Response.REJECTED.value})), None)
    if response:
        out[response] = ("a rejection given without a reason is rebuilt as a lapse, and a partner's answer is "
                         "taken as given by whoever saved the lead last (jobs/answer_history.py)")
    return out


def state_is_empty(cx: Context) -> bool:
    with cx.store.connect() as conn:
        return not conn.execute(select(func.count()).select_from(schema.leads)).scalar()


def _status_values(cx: Context) -> tuple[str, dict[str, RoutingStatus]]:
    """The Lead field holding the routing status, and its values as the org spells them."""
    field = cx.mappings.writeback_fields().get("routing_status")
    spelled = {}
    for status in RoutingStatus:
        encoded = cx.mappings.writeback({"routing_status": status.value})
        spelled[str(encoded.get(field, status.value))] = status
    return field, spelled


def live_statuses(cx: Context) -> set[str]:
    """The routing statuses of live work (offered, accepted), as the org spells them."""
    _, spelled = _status_values(cx)
    return {v for v, s in spelled.items() if s in LIVE}


def routed_by_us(cx: Context, lead_ids: list[str]) -> set[str]:
    """Those of these leads whose routing status our integration user wrote (LeadHistory)."""
    field, _ = _status_values(cx)
    return _our_history(cx, lead_ids, field)[1] if field else set()


def routed_in_org(cx: Context) -> int:
    """How many routing statuses our integration user ever wrote in the org (one COUNT()
    call on LeadHistory — Routing_Status__c is a tracked field): a status a person
    typed on a lead we never touched is not ours to rebuild."""
    field, _ = _status_values(cx)
    me = getattr(cx.client, "user_id", None)
    if not field or not me:
        return 0
    return int(cx.client.count(format_soql("SELECT COUNT() FROM LeadHistory WHERE Field = {} AND CreatedById = {}",
                                           field, me)))


def ensure(cx: Context, now: datetime) -> dict[str, int]:
    """At start: rebuild from the org when the state knows no lead but the org has
    routed ones. Once the state knows leads, only whether it fell behind the org (caught_up)."""
    if not state_is_empty(cx):
        return caught_up(cx, now)
    routed = routed_in_org(cx)
    if not routed:
        return {}
    with cx.store.connect() as conn:
        have_partners = bool(st.snapshot_records(conn, "partner"))
    if not have_partners:  # the rebuild needs the partners (pools, reps) to read the org's leads against
        from jobs import sync_partners

        sync_partners.run(cx, now)
    cx.log(component="recovery").warning(
        "state_lost", routed_leads_in_org=routed,
        note="the state database knows no lead but the org has routed ones (deleted, truncated or new state "
             "file); rebuilding live offers from the org before any job runs")
    counts = rebuild(cx, now)
    cx.log(component="recovery").warning("state_rebuilt", **counts)
    return counts


SAME_RUN = timedelta(seconds=5)  # a write's LeadHistory row and the end of its job run: one moment


def behind_org(cx: Context, since: datetime, until: datetime) -> datetime | None:
    """The first routing status our integration user wrote in the org after this state's
    last run ended (`since`) and before this one began (`until`): another state ran the org
    meanwhile (a second connector by turns, a backup put back). A Pending does not count:
    an admin's tool may write it as the integration user, and the lead stream takes it in."""
    field, spelled = _status_values(cx)
    me = getattr(cx.client, "user_id", None)
    # a write marked just before a kill lands within a request's timeout of its mark
    since += max(SAME_RUN, timedelta(seconds=float(getattr(getattr(cx.client, "config", None), "timeout", 0) or 0)))
    if not field or not me or until <= since:
        return None
    pending = {v for v, s_ in spelled.items() if s_ is RoutingStatus.PENDING}
    soql = soql_select("LeadHistory", ["CreatedDate", "NewValue"], where=format_soql(
        "Field = {} AND CreatedById = {} AND CreatedDate > {} AND CreatedDate < {}", field, me, since, until),
        order_by=("CreatedDate",), limit=200)
    for r in cx.client.query(soql):
        if r.get("NewValue") not in pending:
            return parse_sf_datetime(r.get("CreatedDate"))
    return None


def caught_up(cx: Context, now: datetime) -> dict[str, int]:
    """A state that knows leads, but fell behind the org: the leads it knows have moved on
    since (re-offered, accepted, escalated, reminded by the other state), and read as they
    are they would look like a person's takeover and be released, their reps reminded
    twice. Holding the org lease (no other connector runs the org now), the state's leads
    are dropped and rebuilt from the org, as after a lost state; without it, the other
    state may still run: said, with the fix, and left as before."""
    since, until = getattr(cx, "_known_until", None), getattr(cx, "_term_started", None)
    if since is None or until is None:
        return {}
    bulk = schema.bulk_jobs
    with cx.store.connect() as conn:
        # a Bulk API job of this state's lands its writes when Salesforce processes it, after
        # the run that sent it may have ended: those are this state's own (checked next start)
        ours_later = conn.execute(select(func.count()).select_from(bulk).where(
            (bulk.c.state != "settled") | (bulk.c.updated_at > since))).scalar()
    if ours_later:
        return {}
    at = behind_org(cx, since, until)
    if at is None:
        return {}
    lease = getattr(cx.lock, "lease", None)
    log = cx.log(component="recovery")
    if lease is None or getattr(lease, "term", None) is None:
        log.warning("state_behind_org", state_known_until=since.isoformat(), org_written_at=at.isoformat(),
                    note="our integration user wrote routing statuses this state does not know (a backup put "
                         "back, or another connector with its own state on this org); without the org lease "
                         "this state cannot tell that the other is not running now, so it goes on as it is",
                    fix="the only connector: stop it, move the state aside, `leadrouter state rebuild`; else "
                        "deploy salesforce/ so the org lease keeps the connectors apart")
        return {"behind_org": 1}
    log.warning("state_behind_org", state_known_until=since.isoformat(), org_written_at=at.isoformat(),
                note="another state ran this org after this one (a second connector by turns, a backup put back): "
                     "this state's leads are rebuilt from the org before any job acts on them")
    with cx.store.begin() as conn:
        # a write this state had not sent yet was decided on what it knew then: the org has moved on
        ob = schema.outbox
        dropped = conn.execute(ob.update().where(ob.c.status.in_(("pending", "sent"))).values(
            status="dropped", last_error="the state fell behind the org and was rebuilt from it",
            updated_at=now)).rowcount
        conn.execute(ob.update().where(ob.c.offer_id.is_not(None)).values(offer_id=None))
        for table in (schema.offers, schema.exclusions, schema.leads):
            conn.execute(table.delete())
    counts = rebuild(cx, now)
    if dropped:
        counts["stale_writes_dropped"] = dropped
    log.warning("state_rebuilt", **counts)
    return {"behind_org": 1, **counts}


PAGE = 2_100  # leads per page: 7 LeadHistory reads of 300, their rows written in a few statements
_OFFER_COLUMNS = ("lead_id", "kind", "partner_id", "rep_id", "queue_id", "owner_id", "rule", "attempt", "offered_at",
                  "deadline", "lead_modstamp", "status", "accepted_at", "accepted_by", "closed_at", "close_reason",
                  "calendar")
_LEAD_COLUMNS = ("lead_id", "state", "attempt", "owner_id", "status", "modstamp", "reason", "record", "updated_at",
                 "rule")
_EXCLUSION_COLUMNS = ("lead_id", "partner_id", "outcome", "reason", "at")


class _Rows:
    """The rows a page of leads rebuilds, written in one multi-row statement per table:
    a row at a time, 20,000 leads cost 45,000 statements and most of a minute."""

    def __init__(self, now: datetime):
        self.now = now
        self.offers: list[tuple[Any, ...]] = []
        self.leads: list[tuple[Any, ...]] = []
        self.exclusions: list[tuple[Any, ...]] = []
        # (partner, the lead, when it accepted it): the partner works the lead's company (jobs/poll.py)
        self.accepted: list[tuple[str, Any, datetime]] = []

    def offer(self, **values: Any) -> None:
        values.setdefault("status", "live")
        self.offers.append(tuple(values.get(c) for c in _OFFER_COLUMNS))

    def lead(self, lead_id: str, **values: Any) -> None:
        values.update(lead_id=lead_id, updated_at=self.now)
        self.leads.append(tuple(values.get(c) for c in _LEAD_COLUMNS))

    def exclude(self, lead_id: str, target: str, outcome: str, reason: str | None, at: datetime | None = None) -> None:
        self.exclusions.append((lead_id, target, outcome, (reason or "")[:255] or None, at or self.now))

    def write(self, conn: Any) -> None:
        st.insert_rows(conn, schema.offers, self.offers, names=_OFFER_COLUMNS)
        st.insert_rows(conn, schema.leads, self.leads, names=_LEAD_COLUMNS)
        st.insert_rows(conn, schema.exclusions, self.exclusions, names=_EXCLUSION_COLUMNS)
        self.offers, self.leads, self.exclusions = [], [], []


def _pages(records: Iterable[dict[str, Any]], size: int = PAGE) -> Iterable[list[dict[str, Any]]]:
    page: list[dict[str, Any]] = []
    for r in records:
        page.append(r)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def rebuild(cx: Context, now: datetime) -> dict[str, int]:
    """Rows for every routed lead in the org, from the Lead and its LeadHistory; then
    one read of those leads through the lead stream's own handling. The leads are read,
    and their rows written, a page at a time (one transaction still: a rebuild cut short
    leaves the state empty, and the next start rebuilds again); of the live ones only
    their ids are kept, for the re-read."""
    ms, client = cx.mappings, cx.client
    wb = ms.writeback_fields()
    field, spelled = _status_values(cx)
    values = [v for v, s in spelled.items() if s in ROUTED]
    extra = [wb[k] for k in ("rule", "attempt", "offered_at", "deadline", "reason", "calendar") if k in wb]
    fields = list(dict.fromkeys([*ms.soql_fields("lead"), *extra, "LastModifiedDate"]))
    routed = client.query(soql_select(ms.sobject("lead"), fields, where=format_soql(f"{ident(field)} IN {{}}", values)))
    pending = next((v for v, st_ in spelled.items() if st_ is RoutingStatus.PENDING), None)
    asked = _asked_again(cx, field, pending, fields, now) if pending is not None else []
    reason_field = wb.get("rejection_reason")
    rejected = response_values(cx)
    accepted = next((v for v, s in spelled.items() if s is RoutingStatus.ACCEPTED), None)
    routing = cx.routing()
    keep = cx.minimiser()
    convert = ms.lead_converter()
    counts = {"offered": 0, "pooled": 0, "accepted": 0, "parked": 0, "asked_again": 0, "bars": 0, "declines": 0}
    live: list[tuple[datetime, str]] = []  # the leads the re-read below reads again: their ids and last change only
    rotations = Rotations(wb, routing.router, convert, (r.name for r in cx.book.rules))
    rows = _Rows(now)
    converted: Counter[str] = Counter()  # partner → routed leads converted while it held them
    with cx.store.begin() as conn:
        state = lifecycle.load_state(conn)
        state.daily = {}  # counted a page at a time, each offer on the partner's own day
        caps = routing.router.caps
        state.day_zone, state.day_zones = caps.time_zone, caps.zones
        for page in _pages(itertools.chain(routed, asked)):
            history, wrote = _our_history(cx, [r["Id"] for r in page], field, reason_field, rejected)
            for rec in page:
                holder = rec.get(partner_field(wb) or "")
                if rec["Id"] in wrote and rec.get("IsConverted") is True and holder:
                    converted[holder] += 1
                if rec["Id"] in wrote:  # leads whose status we wrote: ours to carry on
                    _rebuild_lead(cx, rows, rec, spelled.get(str(rec.get(field))), history.get(rec["Id"], []),
                                  routing, wb, keep, convert, counts, now, accepted=accepted)
            rows.write(conn)
            for pid, lead, at in rows.accepted:
                state.set_incumbent(pid, company=lead.company, domain=lead_domain(lead), at=at)
            rows.accepted = []
            add_offers_by_day(state, history.values(), now, accepted)
            alive = [r for r in page if r["Id"] in wrote and spelled.get(str(r.get(field))) in (*LIVE, RoutingStatus.PENDING)]
            rotations.add(alive)
            rotations.add_history([r for r in page if r["Id"] in wrote], history, routing.rep_partner, accepted)
            live += [(parse_sf_datetime(r.get("SystemModstamp")) or now, r["Id"]) for r in alive]
        for page in _pages(_put_back_by_undo(cx, field, fields)):
            for rec in page:  # as `undo --apply` left them in the state: let go of, not new leads
                rows.lead(rec["Id"], state=LeadState.RELEASED.value, owner_id=rec.get("OwnerId"), attempt=1,
                          modstamp=parse_sf_datetime(rec.get("SystemModstamp")), status=rec.get("Status"),
                          record=keep(rec), reason=str(rec.get(wb["reason"]))[:255])
                counts["put_back_by_undo"] = counts.get("put_back_by_undo", 0) + 1
            rows.write(conn)
        # the engine's load counters: what each partner holds now, and what it was offered today.
        # A lead is held by one partner, its latest live or accepted offer's (as lead_facts reads
        # it): a distributor that handed a lead down holds it no more while its reseller does
        holder: dict[str, str] = {}
        for lead_id, pid in conn.execute(select(schema.offers.c.lead_id, schema.offers.c.partner_id)
                                         .where(schema.offers.c.status.in_(("live", "accepted")),
                                                schema.offers.c.partner_id.is_not(None))
                                         .order_by(schema.offers.c.id)):
            holder[lead_id] = pid
        state.open_offers = dict(Counter(holder.values()))
        state.performance = track_records(conn, converted)
        counts["offered_today"] = sum(state.today_count(pid, now) for pid in {p for d in state.daily.values() for p in d})
        rotations.apply(state)
        lifecycle.save_state(conn, state, now)
        counts.update(reminders_sent(cx, conn, now))
    # answers given while the state was gone are in the records: take them in now
    # (the rows above hold the owner we set, so a pick-up or a person's move shows)
    seen_counts: dict[str, int] = {}
    if live:  # in the stream's order, as the answers were given: the refresh reads them a batch at a time
        cx.refresh_leads([lead_id for _, lead_id in sorted(live)], now, seen_counts)
    counts.update({f"then_{k}": v for k, v in seen_counts.items() if k != "read"})
    counts = {k: v for k, v in counts.items() if v}
    if counts.get("accepted_at_from_last_save"):
        cx.log(component="recovery").warning(
            "accepted_at_not_in_history", count=counts["accepted_at_from_last_save"],
            note="LeadHistory holds no row of these accepted leads' answer or routing status set to Accepted (the "
                 "fields' history not tracked when they were accepted): each acceptance is dated at the lead's last "
                 "save (LastModifiedDate), so a later edit delays its follow-up",
            fix="track the history of the answer and routing status fields (Setup → Object Manager → Lead → "
                "Set History Tracking), as the shipped metadata does")
    unsure = not_rebuilt(cx, counts)
    with cx.store.begin() as conn:  # `leadrouter status` says it until the next rebuild
        st.put_snapshot(conn, "rebuild", [{"Id": "last", "at": now.isoformat(), "counts": counts,
                                            "not_rebuilt": unsure}], now, modstamp_field="at")
    if unsure:
        cx.log(component="recovery").warning("state_not_rebuilt_exactly", **unsure)
    return counts


def track_records(conn: Any, converted: Mapping[str, int]) -> dict[str, Performance]:
    """Each partner's track record (best fit weighs it half: rules/distribution.py) from the
    rows just rebuilt, as the live state counted it: each offer the partner had; accepted,
    with the hours to the acceptance; rejected, with the hours to the decline; a partner
    that had the lead before and said nothing, lapsed; and the routed leads converted while
    it held them (`converted`)."""
    out: dict[str, Performance] = {}

    def of(pid: str) -> Performance:
        perf = out.get(pid)
        if perf is None:
            perf = out[pid] = Performance()
        return perf

    o = schema.offers.c
    for pid, offered, status, accepted, closed in conn.execute(
            select(o.partner_id, o.offered_at, o.status, o.accepted_at, o.closed_at)
            .where(o.kind == "offer", o.partner_id.is_not(None))):
        perf = of(pid)
        perf.offers += 1
        answered = accepted if accepted is not None else closed if status == "rejected" else None
        if accepted is not None:
            perf.accepted += 1
        elif status == "rejected":
            perf.rejected += 1
        if answered is not None and offered is not None:
            perf.response_hours_total += max(0.0, (answered - offered).total_seconds() / 3600)
            perf.responses += 1
    x = schema.exclusions.c
    # a pool member's decline (no offer of the lead was its own): a decline, as live
    offered = select(o.id).where(o.lead_id == x.lead_id, o.partner_id == x.partner_id)
    for (pid,) in conn.execute(select(x.partner_id).where(x.outcome == "rejected", ~offered.exists())):
        if pid and not pid.startswith(QUEUE_PREFIX):
            of(pid).rejected += 1
    for (pid,) in conn.execute(select(x.partner_id).where(x.outcome == "lapsed")):
        if pid and not pid.startswith(QUEUE_PREFIX):
            perf = of(pid)
            perf.offers += 1
            perf.lapsed += 1
    for pid, n in converted.items():
        of(pid).closed += n
    return out


def not_rebuilt(cx: Context, counts: Mapping[str, int]) -> dict[str, str]:
    """What the org did not hold to rebuild exactly, and which way the rebuild erred."""
    kept = cx.settings.notifications.reminder_tasks
    out = {}
    for key, what in (("reminders_assumed_sent", "offer reminder"), ("followups_assumed_sent", "follow-up reminder")):
        if counts.get(key):
            why = (f"the org keeps no Task of one sent ([notifications] reminder_tasks = \"{kept}\")"
                   if kept != "all" else "their Lead holds no Task of one (reminder_tasks = \"all\": Salesforce "
                                         "refused the Task, see activity_tasks_not_written, or the reminder had not "
                                         "gone out yet)")
            out[key] = (f"{counts[key]} {what}(s) due before the rebuild: {why}, so each is taken as sent and not "
                        "sent again (a rep may have missed one; none is reminded twice)")
    return out


def last_rebuild(conn: Any) -> dict[str, Any] | None:
    """The latest rebuild from the org (when, its counts, what it could not rebuild), if any."""
    found = st.snapshot_records(conn, "rebuild")
    return found[-1] if found else None


def _rebuild_lead(cx: Context, rows: _Rows, rec: dict[str, Any], status: RoutingStatus | None,
                  ours: list[tuple[datetime, str, str]], routing: Any, wb: dict[str, str], keep: Callable,
                  convert: Callable, counts: dict[str, int], now: datetime, *, accepted: str | None = None) -> None:
    """One routed lead's rows, from the Lead and what LeadHistory says of it. `accepted`: the
    routing status Accepted as the org spells it."""
    owners = [v for _, f, v in ours if f in OWNER_FIELDS]
    partners = [v for _, f, v in ours if f == "PartnerAccount"]
    last_owner = owners[-1] if owners else rec.get("OwnerId")
    attempt = int(rec.get(wb.get("attempt", "")) or 1)
    seen = parse_sf_datetime(rec.get("SystemModstamp"))
    if partner_field(wb):
        current_partner = rec.get(partner_field(wb) or "")
    else:  # no partner on the Lead: the last one our owner changes named
        current_partner = partners[-1] if partners and partners[-1] else None
    declined = declines(ours)
    handed = hand_down_in_history(ours, current_partner, routing.partners) if status in LIVE else None
    if handed is not None:
        # the distributor accepted and handed it down: its acceptance comes back (beside the
        # reseller's, once that accepted too, as live), so a reseller's rejection — or its
        # hand-back after accepting — goes on to the next reseller, and in the end back to it
        dist, dist_rep, since, at = handed
        rows.offer(lead_id=rec["Id"], kind="offer", partner_id=dist, rep_id=dist_rep, owner_id=dist_rep, rule=None,
                   attempt=1, offered_at=since, status="accepted", accepted_at=at, accepted_by=dist_rep)
        learned(cx, rows, dist, convert(rec), at)
    for pid in dict.fromkeys(partners):
        if pid and pid != current_partner and (handed is None or pid != handed[0]):
            if pid in declined:
                since, at, reason = declined[pid]
                rows.offer(lead_id=rec["Id"], kind="offer", partner_id=pid, attempt=attempt, offered_at=since,
                           status="rejected", closed_at=at, close_reason=f"{reason} (rebuilt from LeadHistory)"[:255])
                rows.exclude(rec["Id"], pid, "rejected", reason)
                counts["declines"] += 1
            else:
                rows.exclude(rec["Id"], pid, "lapsed", "rebuilt from LeadHistory: had the lead before")
            counts["bars"] += 1
    for pid, (at, reason) in pool_declines_in_history(ours, routing).items():
        if pid != current_partner:  # a member's decline of the pool lead: it bars that member alone
            rows.exclude(rec["Id"], pid, "rejected", reason, at)
            counts["declines"] += 1
            counts["bars"] += 1
    for qid in dict.fromkeys(o for o in owners[:-1] if o and o.startswith(QUEUE_PREFIX)):
        if qid in routing.pools and qid != rec.get("OwnerId"):
            rows.exclude(rec["Id"], qid, "lapsed", "rebuilt from LeadHistory: the pool had it before")
            counts["bars"] += 1
    row: dict[str, Any] = {"attempt": attempt, "modstamp": seen, "status": rec.get("Status"),
                           "record": keep(rec), "reason": "rebuilt from the org"}
    if status is RoutingStatus.OFFERED or status is RoutingStatus.PENDING:
        # a Pending here is a person's request to route again, made while the state was
        # gone: the lead comes back as the offer it was, and the re-read below withdraws
        # it and routes it afresh past that partner, as it would have live
        pooled = bool(last_owner and last_owner.startswith(QUEUE_PREFIX))
        rows.offer(lead_id=rec["Id"], kind="pool" if pooled else "offer",
                   partner_id=None if pooled else current_partner, rep_id=None if pooled else last_owner,
                   queue_id=last_owner if pooled else None, owner_id=last_owner,
                   rule=rec.get(wb.get("rule", "")), attempt=attempt,
                   offered_at=parse_sf_datetime(rec.get(wb.get("offered_at", ""))) or now,
                   deadline=parse_sf_datetime(rec.get(wb.get("deadline", ""))), lead_modstamp=seen,
                   calendar=rec.get(wb["calendar"]) if "calendar" in wb else None)  # as the offer promised it
        lead_state = LeadState.POOLED if pooled else LeadState.OFFERED
        if status is RoutingStatus.PENDING:
            row["modstamp"] = None  # the person's Pending is news to this state: the re-read acts on it
        counts["asked_again" if status is RoutingStatus.PENDING else "pooled" if pooled else "offered"] += 1
        rows.lead(rec["Id"], state=lead_state.value, owner_id=last_owner, **row)
    elif status is RoutingStatus.ACCEPTED:
        # the rep who had it when it was accepted, not whoever has it now: a move since
        # (a second pool pick-up, a person taking over) is then seen by the re-read below
        queue, taker, taken_at = accepted_by(ours, current_partner, routing)
        taker = taker or accepting_rep(rec.get("OwnerId"), current_partner, routing)
        # when the rep took it or accepted it, as LeadHistory dates it (the follow-up counts from
        # then); the lead's last save only where the history holds no trace of the acceptance
        taken_at = taken_at or accepted_at(ours, current_partner, accepted)
        if taken_at is None:
            counts["accepted_at_from_last_save"] = counts.get("accepted_at_from_last_save", 0) + 1
        offer = dict(lead_id=rec["Id"], kind="pool" if queue else "offer", partner_id=current_partner, queue_id=queue,
                     rep_id=taker, owner_id=taker, rule=rec.get(wb.get("rule", "")), attempt=attempt,
                     offered_at=parse_sf_datetime(rec.get(wb.get("offered_at", ""))) or now, lead_modstamp=seen,
                     status="accepted", accepted_by=taker,
                     accepted_at=taken_at or parse_sf_datetime(rec.get("LastModifiedDate")) or now)
        lead = convert(rec)
        learned(cx, rows, current_partner, lead, offer["accepted_at"])
        if getattr(lead, "status", None) in cx.settings.offers.closed_unconverted_statuses:
            # the partner closed it unconverted meanwhile: lost, its place free (as live)
            rows.offer(**{**offer, "status": "lost",
                          "closed_at": parse_sf_datetime(rec.get("LastModifiedDate")) or now,
                          "close_reason": "closed unconverted by the partner (rebuilt from the org)"})
            counts["closed_unconverted"] = counts.get("closed_unconverted", 0) + 1
            rows.lead(rec["Id"], state=LeadState.RELEASED.value, owner_id=taker,
                      **{**row, "reason": "rebuilt from the org: the partner closed it unconverted"})
            return
        rows.offer(**offer)
        counts["accepted"] += 1
        rows.lead(rec["Id"], state=LeadState.ACCEPTED.value, owner_id=taker, **row)
    elif status in _STATE_OF:
        counts["parked"] += 1
        row["rule"] = rec.get(wb.get("rule", ""))
        said = str(rec.get(wb.get("reason", "")) or "")
        if status is RoutingStatus.UNROUTABLE and (row["rule"] == lifecycle.HELD_RULE
                                                   or said.startswith(lifecycle.ESCALATION_HELD)):
            # a held escalation (marked, or held before the mark: its reason's words): held
            # again, its reason kept — the escalation's own, once the queue is back
            row.update(rule=lifecycle.HELD_RULE, reason=said[:255])
            counts["escalations_held"] = counts.get("escalations_held", 0) + 1
        rows.lead(rec["Id"], state=_STATE_OF[status].value, owner_id=rec.get("OwnerId"), **row)


def learned(cx: Context, rows: _Rows, partner: str | None, lead: Any, at: datetime) -> None:
    """The partner accepted the lead at `at`: as live (jobs/poll.py), it works the lead's
    company since then, where a rule prefers incumbents."""
    if partner and isinstance(lead, Lead) and incumbents.wanted(cx.book):
        rows.accepted.append((partner, lead, at))


def reminders_sent(cx: Context, conn: Any, now: datetime) -> dict[str, int]:
    """Mark the rebuilt offers whose reminder, and the accepted leads whose follow-up, went
    out already: a rep is reminded once per offer, whichever state sent it. Each one the
    connector sent (or tried to) left a completed Task on the Lead (jobs/activity.py),
    written by our integration user after the offer was made (or accepted). A reminder
    whose time has passed and whose Lead holds no such Task is taken as sent — a rep may
    miss one, but is never reminded twice — and counted (`reminders_assumed_sent`,
    `followups_assumed_sent`): where the org keeps only the failed ones, or none
    ([notifications] reminder_tasks = "failed" or "off"), and with "all" too, where
    Salesforce refused the Task (the integration user without Edit Tasks, a validation rule
    on Task: `activity_tasks_not_written`) while the reminder itself went out."""
    mode = cx.settings.notifications.mode
    if mode == "none":  # a Flow reminds: nothing of ours was sent, nothing to send twice
        return {}
    from jobs import remind

    reminder_subjects, followup_subjects = REMINDER_SUBJECTS, FOLLOWUP_SUBJECTS
    O = schema.offers
    live = [dict(r._mapping) for r in conn.execute(select(O).where(O.c.status == "live", O.c.deadline.is_not(None)))]
    taken = [dict(r._mapping) for r in conn.execute(select(O).where(O.c.status == "accepted"))]
    if not live and not taken:
        return {}
    tasks = _our_tasks(cx, sorted({o["lead_id"] for o in live + taken}))
    hours = cx.settings.offers.reminder_before_hours
    rules = {r.name: r for r in cx.book.rules}
    routing = cx.routing()
    counts = {"reminders_found": 0, "reminders_assumed_sent": 0, "followups_found": 0, "followups_assumed_sent": 0}
    marks: list[dict[str, Any]] = []
    for offer in live:
        at = max((t for subject, t in tasks.get(offer["lead_id"], ()) if subject in reminder_subjects
                  and t >= offer["offered_at"]), default=None)
        if at is not None:
            counts["reminders_found"] += 1
        elif (due := remind._remind_at(cx.book, rules, routing, offer, hours)) <= now:
            at = due
            counts["reminders_assumed_sent"] += 1
        if at is not None:
            marks.append({"oid": offer["id"], "at": at})
    if marks:
        conn.execute(update(O).where(O.c.id == bindparam("oid")).values(reminded_at=bindparam("at")), marks)
    marks = []
    after = timedelta(days=cx.settings.offers.followup_days)
    for offer in taken:
        since = offer.get("accepted_at") or offer["offered_at"]
        at = max((t for subject, t in tasks.get(offer["lead_id"], ()) if subject in followup_subjects and t >= since),
                 default=None)
        if at is not None:
            counts["followups_found"] += 1
        elif since + after <= now:
            at = since + after
            counts["followups_assumed_sent"] += 1
        if at is not None:
            marks.append({"oid": offer["id"], "at": at})
    if marks:
        conn.execute(update(O).where(O.c.id == bindparam("oid")).values(followup_at=bindparam("at")), marks)
    return {k: v for k, v in counts.items() if v}


def _our_tasks(cx: Context, lead_ids: list[str]) -> dict[str, list[tuple[str, datetime]]]:
    """Per lead, the (Subject, CreatedDate) of the reminder and follow-up Tasks our
    integration user wrote on it."""
    me = getattr(cx.client, "user_id", None)
    out: dict[str, list[tuple[str, datetime]]] = {}
    if not me:
        return out
    for i in range(0, len(lead_ids), 300):
        where = format_soql("WhoId IN {} AND CreatedById = {} AND Subject IN {}", lead_ids[i:i + 300], me,
                            [*REMINDER_SUBJECTS, *FOLLOWUP_SUBJECTS])
        for r in cx.client.query(soql_select("Task", ["WhoId", "Subject", "CreatedDate"], where=where)):
            at = parse_sf_datetime(r.get("CreatedDate"))
            if at is not None and r.get("WhoId"):
                out.setdefault(r["WhoId"], []).append((r.get("Subject") or "", at))
    return out


def add_offers_by_day(state: RoutingState, history: Iterable[list[tuple[datetime, str, str]]], now: datetime,
                      accepted: str | None) -> None:
    """Add to the daily caps' counts the partners our user set on these leads (each one an
    offer) in the last two days, each on the partner's own day as the caps count it: a
    partner at its Daily_Cap__c this morning stays there when the state is lost at noon.
    A partner set in the same save as the routing status `accepted` (the org's spelling of
    Accepted) was no offer: a rep's pool pick-up, or a lead back with its distributor; the
    live state counts those against capacity, not the daily cap, and so does this."""
    since = now - timedelta(days=2)
    for entries in history:
        held = {at for at, field, value in entries if field == "status" and value == accepted}
        for at, field, value in entries:
            if field == "PartnerAccount" and value and since <= at <= now and at not in held:
                day = state.daily.setdefault(state.day_of(value, at), {})
                day[value] = day.get(value, 0) + 1


class Rotations:
    """Fair rotation goes on where it stood: each rule's turn (for each set of partners it
    admits: a country's, a distributor's resellers) passes the partner of its latest offer —
    still on a Lead, or since ended as LeadHistory dates it — and each partner's rep turn
    the rep that offer went to (a new state would otherwise start every rotation again at
    the first partner). Leads are added a
    page at a time; only the latest offer per rotation is kept, never the leads."""

    def __init__(self, wb: dict[str, str], router: Router, convert: Callable[[dict[str, Any]], Any],
                 rule_names: Iterable[str] = ()):
        self.rule_field, self.at_field = wb.get("rule"), wb.get("offered_at")
        self.partner_field = partner_field(wb) or ""
        self.rule_names = list(rule_names)
        self.router, self.convert = router, convert
        # one run offers its batch at one time, in the order it read the leads (oldest first):
        # among offers made at the same time the lead read last (the highest id) was offered last
        self.rules: dict[str, tuple[datetime, str, str]] = {}  # key → (offered at, lead id, partner)
        self.reps: dict[str, tuple[datetime, str, str]] = {}  # partner → (offered at, lead id, rep)

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        if not self.rule_field or not self.at_field:
            return
        for rec in records:
            at, partner, rule = parse_sf_datetime(rec.get(self.at_field)), rec.get(self.partner_field), \
                rec.get(self.rule_field)
            if at is None or not partner:
                continue
            if rule:
                lead = self.convert(rec)  # a record that no longer converts moves its rule's pointer only
                keys = self.router.rotation_of(lead, rule, partner) if isinstance(lead, Lead) else {rule: partner}
                for key, pid in keys.items():
                    if (at, rec["Id"]) >= self.rules.get(key, (at, "", ""))[:2]:
                        self.rules[key] = (at, rec["Id"], pid)
            owner = rec.get("OwnerId")
            if owner and not owner.startswith(QUEUE_PREFIX) and (at, rec["Id"]) >= self.reps.get(partner, (at, "", ""))[:2]:
                self.reps[partner] = (at, rec["Id"], owner)

    def add_history(self, records: Iterable[dict[str, Any]], history: Mapping[str, list[tuple[datetime, str, str]]],
                    rep_partner: Mapping[str, str], accepted: str | None) -> None:
        """The offers our user made on these leads, as LeadHistory dates them: an offer since
        ended (lapsed, rejected, escalated, released) moved its rotations too, and the Lead
        holds it no more. Each partner set counts under the lead's rule where that rule
        admits the partner for the lead; each rep set moves its partner's rep turn. A
        partner or owner set in the same save as the status Accepted was no offer (a pool
        pick-up, a lead back with its distributor)."""
        for rec in records:
            entries = history.get(rec["Id"])
            if not entries:
                continue
            held = {at for at, field, value in entries if field == "status" and value == accepted}
            rule, lead = rec.get(self.rule_field or ""), None
            for at, field, value in entries:
                if not value or at in held:
                    continue
                if field == "PartnerAccount":
                    lead = lead if lead is not None else self.convert(rec)
                    if not isinstance(lead, Lead):
                        continue
                    # the lead's rule; else (an escalated lead names the escalation) the book's
                    # first rule that admits this partner for the lead, as routing tries them
                    for name in dict.fromkeys([*([rule] if rule else []), *self.rule_names]):
                        keys = self.router.rotation_of(lead, name, value)
                        if len(keys) >= 2:
                            break
                    else:
                        continue
                    for key, pid in keys.items():
                        if (at, rec["Id"]) >= self.rules.get(key, (at, "", ""))[:2]:
                            self.rules[key] = (at, rec["Id"], pid)
                elif field in OWNER_FIELDS and not value.startswith(QUEUE_PREFIX):
                    partner = rep_partner.get(value)
                    if partner and (at, rec["Id"]) >= self.reps.get(partner, (at, "", ""))[:2]:
                        self.reps[partner] = (at, rec["Id"], value)

    def apply(self, state: RoutingState) -> None:
        state.rotation.update({key: pid for key, (_, _, pid) in self.rules.items()})
        state.rep_rotation.update({pid: rep for pid, (_, _, rep) in self.reps.items()})


ASKED_AGAIN_DAYS = 30  # a Pending older than this was seen by the connector that ran then


def _put_back_by_undo(cx: Context, field: str, fields: list[str]) -> Iterable[dict[str, Any]]:
    """Leads `leadrouter undo --apply` gave back with no routing status (a new lead's): their
    reason says so (lead_words.PUT_BACK_BY_UNDO). A person routes one again by setting Pending."""
    reason = cx.mappings.writeback_fields().get("reason")
    if not reason:  # undo wrote no mark: nothing tells them from new leads
        return []
    return cx.client.query(soql_select(cx.mappings.sobject("lead"), fields, where=format_soql(
        f"{ident(field)} = null AND {ident(reason)} LIKE {{}}", words.PUT_BACK_BY_UNDO + "%")))


def _asked_again(cx: Context, field: str, pending: str, fields: list[str], now: datetime) -> list[dict[str, Any]]:
    """Leads set back to Pending lately: those our user routed before (the caller keeps only
    leads whose status our user wrote) come back with their declines and holders rather than
    being routed as new — and offered again to a partner that rejected them. Whoever set
    Pending: an admin's tool may log in as the integration user too (the connector itself
    never writes Pending)."""
    since = now - timedelta(days=ASKED_AGAIN_DAYS)
    return list(cx.client.query(soql_select(cx.mappings.sobject("lead"), fields, where=format_soql(
        f"{ident(field)} = {{}} AND SystemModstamp >= {{}}", pending, since))))


def hand_down_in_history(history: list[tuple[datetime, str, str]], reseller: str | None,
                   partners: Mapping[str, Any]) -> tuple[str, str | None, datetime, datetime] | None:
    """(distributor, its rep, offered since, handed down at) when the offer to `reseller`
    (live or accepted) is a hand-down: our user set the reseller's distributor on the lead, its rep
    accepted (an "accepted" answer), and our user then set one of its resellers. None
    otherwise — a distributor that declined or let the lead lapse handed nothing down."""
    parent = getattr(partners.get(reseller or ""), "parent_id", None)
    dist: tuple[str, datetime] | None = None
    accepted_at: datetime | None = None
    for at, field, value in history:
        if field == "PartnerAccount":
            if value and value == parent:
                dist, accepted_at = (value, at), None
            elif dist is not None and accepted_at is not None and value == reseller:
                # its rep: the owner our user set with the distributor, before any hand-down
                return dist[0], _owner_at(history, dist[1], accepted_at), dist[1], accepted_at
            elif value != parent and getattr(partners.get(value), "parent_id", None) != parent:
                dist = None  # the lead left the distributor's family
        elif field == "accepted" and dist is not None:
            accepted_at = accepted_at or at
    return None


def _owner_at(history: list[tuple[datetime, str, str]], since: datetime, before: datetime) -> str | None:
    """The last owner our user set from `since` until just before `before`."""
    found = None
    for at, field, value in history:
        if field in OWNER_FIELDS and since <= at < before:
            found = value
    return found


def accepted_by(history: list[tuple[datetime, str, str]], partner: str | None,
                routing: Any) -> tuple[str | None, str | None, datetime | None]:
    """(the pool's queue, the rep who took it, when) for a lead taken from a pool: the first
    of the partner's reps to set themselves owner after our user put it in the pool; or
    (None, the last owner our user set, None) for an offer to a rep. (None, None, None)
    when the history does not say."""
    queue: str | None = None
    taker: tuple[str, datetime] | None = None
    ours: str | None = None
    for at, field, value in history:
        if field in OWNER_FIELDS:
            ours = value
            if value.startswith(QUEUE_PREFIX) and value in routing.pools:
                queue, taker = value, None
            elif not value.startswith(QUEUE_PREFIX):
                queue = None
        elif field == "taken" and queue and taker is None and routing.rep_partner.get(value) == partner:
            taker = (value, at)
    if queue and taker:
        return queue, taker[0], taker[1]
    if ours and not ours.startswith(QUEUE_PREFIX) and routing.rep_partner.get(ours) == partner:
        return None, ours, None
    return None, None, None


def accepting_rep(owner: str | None, partner: str | None, routing: Any) -> str | None:
    """The rep the rebuilt acceptance names where LeadHistory no longer says which rep our
    user gave the lead to (Owner not tracked, or its rows past retention): the owner, when
    one of the partner's reps; else one of that partner's reps stands in for the unknown
    one. An owner who is no rep of the partner — a person of the org, another partner's rep
    — moved the lead after the acceptance, and the re-read after the rebuild then finds the
    owner changed and takes the move for what it is (a person's takeover), as the running
    connector did. (Taking that owner for the accepting rep left the lead Accepted, the
    partner's, on a person's desk.)"""
    if owner and routing.rep_partner.get(owner) == partner:
        return owner
    return min((r for r, p in routing.rep_partner.items() if p == partner), default=owner) if partner else owner


def accepted_at(history: list[tuple[datetime, str, str]], partner: str | None,
                accepted: str | None) -> datetime | None:
    """When the acceptance a lead holds was given, from its history (`_our_history`): the
    partner's rep setting the answer to Accepted — the time the live state keeps (the rep's
    save) — after our user last set that partner on the lead and no later than our user
    then set the routing status to `accepted`; without that row (the answer field's history
    not tracked) the routing status's own row, a poll interval later at most. None when the
    history holds neither (not tracked when the lead was accepted)."""
    offered: datetime | None = None  # our user last set this partner on the lead
    answered: datetime | None = None  # a rep's Accepted since
    marked: tuple[datetime, datetime | None] | None = None  # (our Accepted status, the answer before it)
    for at, field, value in history:  # oldest first
        if field == "PartnerAccount" and value == partner:
            offered, answered = at, None
        elif field == "accepted" and (offered is None or at >= offered):
            answered = at
        elif field == "status" and accepted is not None and value == accepted:
            marked = (at, answered)
    if marked is not None:
        return marked[1] or marked[0]
    return answered


def response_values(cx: Context) -> tuple[str, str, str] | None:
    """(the Lead field the partner's answer is in, its rejected and accepted values as the
    org spells them), or None when the org maps no answer field."""
    field = next(iter(cx.mappings.writeback({"response": Response.REJECTED.value}).items()), None)
    if field is None:
        return None
    accepted = cx.mappings.writeback({"response": Response.ACCEPTED.value}).get(field[0])
    return field[0], str(field[1]), str(accepted)


def rejection_code_field(cx: Context) -> str | None:
    """The Lead field of the rejection code (Rejection_Reason_Code__c, the restricted list of
    reasons), where the connector writes it — and so clears it whenever it offers the lead on,
    so that the code LeadHistory last shows is the last answering rep's; None where the org
    lacks it or the integration user may not edit it (left out: writeback.toml marks it
    optional)."""
    ms = cx.mappings
    field = ms.writeback_fields().get("rejection_code")
    return field if field and ms.writeback_sobject() == ms.sobject("lead") else None


def _our_history(cx: Context, lead_ids: list[str], status_field: str, reason_field: str | None = None,
                 rejected: tuple[str, str, str] | None = None,
                 ) -> tuple[dict[str, list[tuple[datetime, str, str]]], set[str]]:
    """Per lead, oldest first, (when, field, new value): the owner, partner and routing
    status (field "status") changes our integration user made (a partner cleared as ""),
    the rejection reasons anyone else gave
    (field "reason"), the rejections anyone else answered (field "declined") and the owners
    anyone else set (field "taken"); and the leads whose routing status our user wrote."""
    me = getattr(cx.client, "user_id", None)
    out: dict[str, list[tuple[datetime, str, str]]] = {}
    ours: set[str] = set()
    if not me or not lead_ids:
        return out, ours
    # a rep's answer, never our own clearing of it when the lead moves on; and who else
    # moved the lead (a rep's pool pick-up is the rep's own owner change)
    # the rejection code too (a rep rejecting on the Lead's page may give no words): read with
    # the reason it was saved with, as the live lead stream reads it (jobs/poll.rejection_words)
    code_field = rejection_code_field(cx) if reason_field else None
    answers = [f for f in (reason_field, rejected[0] if rejected else None, code_field) if f]
    codes: dict[tuple[str, datetime], tuple[str, str]] = {}  # (lead, when) → (code, who)
    # an org that keeps no partner on the Lead (no partner_id in writeback.toml): each owner
    # our user set is the partner of its rep (none for a queue), as PartnerAccount says elsewhere
    partner_name = _partner_history_name(partner_field(cx.mappings.writeback_fields()))
    rep_partner = None if partner_name else cx.routing().rep_partner
    # the partner field's rows, whatever it is called, read as PartnerAccount's
    fields = [*OWNER_FIELDS, *([partner_name] if partner_name else []), status_field]
    for i in range(0, len(lead_ids), 300):
        chunk = lead_ids[i:i + 300]
        where = format_soql("LeadId IN {} AND ((CreatedById = {} AND Field IN {}) OR "
                            "(Field IN {} AND CreatedById != {}))", chunk, me,
                            fields, [*answers, *OWNER_FIELDS], me)
        soql = soql_select("LeadHistory", ["LeadId", "Field", "NewValue", "CreatedDate", "CreatedById"],
                           where=where, order_by=("CreatedDate", "Id"))
        for r in cx.client.query(soql):
            value = r.get("NewValue")
            at = parse_sf_datetime(r.get("CreatedDate"))
            if partner_name and r["Field"] == partner_name:
                r = {**r, "Field": "PartnerAccount"}
            if r["Field"] == status_field:
                ours.add(r["LeadId"])
                if at is not None and isinstance(value, str):
                    out.setdefault(r["LeadId"], []).append((at, "status", value))
                continue
            if at is None:
                continue
            if code_field and r["Field"] == code_field:
                if isinstance(value, str) and value.strip():
                    codes[(r["LeadId"], at)] = (value.strip(), str(r.get("CreatedById") or ""))
            elif r["Field"] == reason_field:
                if isinstance(value, str) and value.strip():
                    out.setdefault(r["LeadId"], []).append((at, "reason", value.strip()))
                    out[r["LeadId"]].append((at, "declined_by", str(r.get("CreatedById") or "")))
            elif rejected and r["Field"] == rejected[0]:
                # NewValue cannot be filtered in SOQL (anyType): only a change to an answer counts
                if value == rejected[1]:
                    out.setdefault(r["LeadId"], []).append((at, "declined", value))
                    out[r["LeadId"]].append((at, "declined_by", str(r.get("CreatedById") or "")))
                elif value == rejected[2]:
                    out.setdefault(r["LeadId"], []).append((at, "accepted", value))
            elif r["Field"] in OWNER_FIELDS and r.get("CreatedById") != me:
                if isinstance(value, str) and len(value) in (15, 18):
                    out.setdefault(r["LeadId"], []).append((at, "taken", value))
            elif isinstance(value, str) and len(value) in (15, 18):
                out.setdefault(r["LeadId"], []).append((at, r["Field"], value))
                # Salesforce logs an owner change twice, as ids and as names: the id's row only
                if rep_partner is not None and r["Field"] in OWNER_FIELDS and value.isalnum() \
                        and value[:3] in ("005", QUEUE_PREFIX):
                    out[r["LeadId"]].append((at, "PartnerAccount", rep_partner.get(id18(value), "")))
            elif r["Field"] == "PartnerAccount" and value is None:
                # a pool or a queue held it after: an answer then is no earlier partner's
                out.setdefault(r["LeadId"], []).append((at, r["Field"], ""))
    _with_codes(out, codes)
    return out, ours


def _with_codes(out: dict[str, list[tuple[datetime, str, str]]],
                codes: dict[tuple[str, datetime], tuple[str, str]]) -> None:
    """A code saved with a reason joins it ("No capacity: two reps left"); one saved with no
    words is the reason, by the rep who saved it."""
    for (lead_id, at), (code, by) in codes.items():
        rows = out.setdefault(lead_id, [])
        said = [i for i, (when, field, _) in enumerate(rows) if when == at and field == "reason"]
        for i in said:
            rows[i] = (at, "reason", with_code(rows[i][2], code))
        if not said:
            rows += [(at, "reason", with_code(None, code)), (at, "declined_by", by)]
            rows.sort(key=lambda row: row[0])  # stable: rows of one save keep their order


def pool_declines_in_history(history: list[tuple[datetime, str, str]], routing: Any) -> dict[str, tuple[datetime, str]]:
    """{member partner: (declined at, reason)}: the declines pool members' reps gave while
    our user had the lead in one of the pools (the partner is off a pool lead, so `declines`
    cannot name them: the rep who answered does). A reason and its answer are one save."""
    pooled = False
    reasons: dict[datetime, str] = {}
    by: list[tuple[datetime, str]] = []
    for at, field, value in history:
        if field in OWNER_FIELDS:  # our user's: in a pool from now on, or not
            pooled = value in routing.pools
        elif field == "reason":
            reasons[at] = value
        elif field == "declined_by" and pooled:
            by.append((at, value))
    out: dict[str, tuple[datetime, str]] = {}
    for at, rep in by:
        partner = routing.rep_partner.get(rep)
        if partner:
            out.setdefault(partner, (at, reasons.get(at, NO_REASON)))
    return out


def declines(history: list[tuple[datetime, str, str]]) -> dict[str, tuple[datetime, datetime, str]]:
    """{partner: (offered since, declined at, reason)} from one lead's history: a reason, or
    a rejection answered without one, is the decline of the partner our user had set last
    before it (the portal writes the answer while the lead is still that partner's). The
    answer and its reason are one save, so their rows share a time in either order: the
    reason wins over "no reason given"."""
    out: dict[str, tuple[datetime, datetime, str]] = {}
    partner: str | None = None
    since: datetime | None = None
    for at, field, value in history:
        if field == "PartnerAccount":
            partner, since = value, at
        elif not partner or since is None:
            continue
        elif field == "reason" and out.get(partner, (since, at, NO_REASON))[2] == NO_REASON:
            out[partner] = (since, out[partner][1] if partner in out else at, value)
        elif field == "declined":
            out.setdefault(partner, (since, at, NO_REASON))
    return out

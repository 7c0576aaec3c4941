"""Build the routing engine's inputs from the stored partner snapshot.

The snapshot holds raw Salesforce records, so the current mappings are applied at
build time: a mapping edit takes effect at the next start without a re-download.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from jobs import feedback, feedback_account, learning, performance, ratings
from jobs.state import store as st
from mappings import Unroutable
from rules.index import PartnerIndex
from rules.model import Partner, Rep
from rules.router import Router

if TYPE_CHECKING:
    from jobs.context import Context


class NoPartnersYet(RuntimeError):
    """Routing was asked for before any partner sync succeeded: an outage with its cause
    logged elsewhere (the sync's own job_failed line), not a bug, so jobs/app.py logs it
    in one line without a traceback."""

    def __init__(self) -> None:
        super().__init__(
            "no partners in the snapshot yet, so no lead was routed: no partner sync has succeeded (the "
            "sync_partners job's own job_failed line says why), or the org has no partner Accounts matching "
            "the partner mapping's filter; the leads wait unrouted and routing runs again at the next poll")


@dataclass
class Routing:
    """What the engine needs, rebuilt from the partner snapshot when it changes."""

    router: Any
    index: Any
    partners: dict[str, Any]
    rep_partner: dict[str, str]  # rep (User) id -> partner (Account) id
    pools: dict[str, Any]  # queue id -> Pool
    queue_ids: dict[str, str]  # queue DeveloperName -> id
    generation: int
    learning: Any = None  # jobs.learning.Live: the predictive rules' learner, when a rule has one
    feedback: Any = None  # jobs.feedback.Adjustments in force
    # (record id, why) for partner, rep and pool records the mappings dropped or read in
    # part ('Sales_Territory__c: coverage items not understood: …'): validate shows them all
    problems: tuple[tuple[str | None, str], ...] = ()
    queue_labels: dict[str, str] = field(default_factory=dict)  # queue DeveloperName -> label
    # partner (Account) id -> its name, of every partner record in the snapshot: one the
    # mappings could not read is still named by its name on the Lead, not by its Id
    partner_names: dict[str, str] = field(default_factory=dict)

    def partner_name(self, partner_id: str | None) -> str | None:
        """A partner as the Lead names it; None when no name can be read of it."""
        p = self.partners.get(partner_id or "")
        return p.name if p is not None and p.name else self.partner_names.get(partner_id or "")


def _partner_names(ms: Any, records: list[dict[str, Any]]) -> dict[str, str]:
    id_field = (ms.source_fields("partner").get("id") or ("Id",))[0]
    name_field = (ms.source_fields("partner").get("name") or ("Name",))[0]
    return {r[id_field]: str(r[name_field]).strip() for r in records
            if isinstance(r.get(id_field), str) and r.get(name_field) and str(r[name_field]).strip()}


def build_routing(cx: Context, conn: Connection, generation: int, earlier: Routing | None = None):
    """`earlier`: the routing this one replaces, whose words for what the org no longer has
    (the label of a queue deleted since) the Lead still says."""
    ms = cx.mappings
    log = cx.log(component="partners")
    problems: list[tuple[str | None, str]] = []

    def warn(record_id, reason):  # noqa: ANN001
        problems.append((record_id, reason))

    to_partner, to_rep, to_dealreg = ms.partner_converter(warn), ms.rep_converter(warn), ms.dealreg_converter(warn)
    if not st.snapshot_records(conn, "partner"):
        raise NoPartnersYet()
    reps = [r for r in (to_rep(x) for x in st.snapshot_records(conn, "rep")) if isinstance(r, Rep)]
    by_partner: dict[str, list[Rep]] = {}
    for r in reps:
        by_partner.setdefault(r.partner_id, []).append(r)
    partners: dict[str, Partner] = {}
    records = st.snapshot_records(conn, "partner")
    reviewed = feedback_account.org_reviews(records)  # ops reviews on the Accounts: they outlive the state
    for rec in records:
        p = to_partner(rec)
        if isinstance(p, Unroutable):
            problems.append((p.record_id, p.reason))
            continue
        p.reps = tuple(sorted(by_partner.get(p.id, ()), key=lambda r: r.id))
        partners[p.id] = p
    dealregs = [d for d in (to_dealreg(x) for x in st.snapshot_records(conn, "dealreg")) if not isinstance(d, Unroutable)]
    pools = ms.pool_builder(st.snapshot_records(conn, "pool"), st.snapshot_records(conn, "pool_member"), reps, warn)
    queue_ids = {r["DeveloperName"]: r["Id"] for r in st.snapshot_records(conn, "queue") if r.get("DeveloperName")}
    # issue 17: performance facts as partner attributes, and the predictive rules' learner
    now = cx.clock.now()
    # what happened to offers: this state's, or — for an ops tool routing on a private
    # snapshot (jobs/ops/context.py) — the live state's, so it shows what production does
    history = getattr(cx, "history_store", None)
    with history.connect() if history is not None else nullcontext(conn) as past:
        # partners' ratings of their leads (one query, when the score or `lead_quality` is used)
        rated = ratings.ratings(cx.client, now, partner_field=performance.lead_partner_field(cx.mappings),
                                conn=past) if ratings.wants_ratings(cx.book) else None
        if performance.wanted(cx.book):
            performance.attach(partners.values(), performance.facts(past, cx.client, now, cx.book.settings.calendar,
                                                                 cx.mappings.currencies,
                                                                 performance.lead_partner_field(cx.mappings)),
                               ratings.quality(rated or (), now))
        live = learning.for_routing(cx, past, partners, now)
        learning.rate(past, live, rated)  # leads like ones partners rated low score lower
        adjustments = feedback.gather(past, partners, ms.lead_converter(), now, rated, reviewed or {})
    feedback.apply(partners.values(), adjustments)  # "No capacity" declines throttle the caps
    index = PartnerIndex.build(partners.values(), cx.book, pools=pools, deal_registrations=dealregs)
    escalation = cx.book.settings.escalation_queue
    known = dict(queue_ids)
    if escalation not in queue_ids and escalation not in index.pools:
        # The escalation queue went from the org (deleted while running, or renamed): the
        # leads that must escalate are held, saying so (jobs/lifecycle.hold_escalation), and
        # everything else routes on; the router is told the queue has no id for now.
        known[escalation] = None  # type: ignore[assignment]
        log.warning("escalation_queue_missing", queue=escalation,
                    problem=f"the escalation queue {escalation} is not in the org (deleted or renamed): leads that "
                            "must escalate are held, Unroutable with a reason saying so; every other lead routes on",
                    fix=f"create the queue {escalation} again (Setup > Queues, supported object Lead) or name an "
                        "existing queue in the rules file's [settings] escalation_queue; the held leads escalate at "
                        "the next cycle after that")
    gone = sorted(n for n in cx.book.queue_names() if n not in known and n not in index.pools)
    if gone:
        # A pool or fallback queue went from the org while running: a pool rule passes the
        # lead to the next rule, a fallback escalates it, and everything else routes on.
        known.update(dict.fromkeys(gone))  # type: ignore[arg-type]
        log.warning("queues_missing", queues=gone,
                    problem=f"the rules file names {', '.join(gone)}, which the org no longer has (deleted or "
                            "renamed): a pool rule naming one passes its leads to the next rule, a fallback to one "
                            "escalates them",
                    fix="create the queues again (Setup > Queues, supported object Lead) or change the rules file")
    # a queue deleted since the last build is named as the admin knew it: its last label
    labels = {**(earlier.queue_labels if earlier is not None else {}),
              **{r["DeveloperName"]: r["Name"] for r in st.snapshot_records(conn, "queue")
                 if r.get("DeveloperName") and r.get("Name")}}
    router = Router(cx.book, index, queue_ids=known, learner=live.learner if live else None, queue_labels=labels)
    feedback.hook(router, adjustments)  # excluded industries and stopped areas, in every decision
    rep_partner = {r.id: r.partner_id for r in reps}
    if problems or index.problems:
        log.warning("partner_snapshot_problems", count=len(problems) + len(index.problems),
                    first=[f"{rid}: {why}" for rid, why in problems[:5]] + [_said(cx, p) for p in index.problems[:5]])
    log.info("routing_built", partners=len(partners), reps=len(reps), pools=len(pools),
             deal_registrations=len(dealregs), queues=len(queue_ids))
    return Routing(router=router, index=index, partners=partners, rep_partner=rep_partner,
                   pools={p.id: p for p in pools}, queue_ids=queue_ids, generation=generation, learning=live,
                   feedback=adjustments, problems=tuple(problems), queue_labels=labels,
                   partner_names=_partner_names(ms, records))


def _said(cx: Context, problem: Any) -> str:
    """A partner index problem naming the org's field for its attribute (partner.toml)."""
    fields = cx.mappings.source_fields("partner").get(problem.attribute or "") or ()
    said = problem.said(" / ".join(fields) or None)
    return f"partner {problem.partner} ({problem.partner_id}): {said}"

"""Feedback that acts (issue 17, item 3): a partner's rejection reasons, from the restricted
list (Rejection_Reason_Code__c, which the portal writes at the head of Rejection_Reason__c),
adjust how it is routed to — visibly, and undone by ops.

- "No capacity": the partner's inferred capacity drops to 70 % of what it was (never
  below 1, never above its declared Capacity__c) and rises by one with each offer it
  accepts: gradual throttling that recovers. It is the cap every strategy respects.
- "Not our product/industry": the rep does not say which, so each such decline counts
  against the lead's industry and against each of its products, and each lead the
  partner took (an accepted offer, a pool pick-up) counts for its industry and each of
  its products. A key — an industry, or a product — is excluded when its declines reach
  `EXCLUDE_AFTER` and outnumber the leads with that key the partner took, in the same
  window: said 3× for Security Suite leads, took 0 → no Security Suite leads; said 2× for
  Banking leads (both of them Security Suite leads), took 5 Banking leads → Banking stays.
  A lead without an industry counts for its products alone. The partner is not offered a
  lead of an excluded industry, nor one carrying any excluded product; `explain` names
  why ("already said 'Not our product/industry' 3× for Security Suite leads, took 0 … —
  skips this lead") on each lead it skips. Keys compare without regard to case.
- "Out of territory": counted per area — the lead's state (`US-CA`) when it has one, else
  its country, the finest place the coverage model knows besides postal prefixes — and
  listed as a coverage fix to review (`validate`, `leadrouter feedback`, the report);
  after `STOP_AFTER` such declines in one area the partner is no longer offered that
  area's leads (a stop on a country covers its states too), named the same way.

Everything is derived from the offers table and the leads we read (the last 90 days),
recomputed at each routing build and at least hourly; nothing is stored but an ops
review: `leadrouter feedback reset PARTNER_ID` sets a time from which that partner's
feedback counts afresh (its throttle lifted, its exclusions and stops cleared);
`reset PARTNER_ID --area US-CA` clears only that area's territory declines.
(Acceptances before a review count no more either: a review starts the count afresh.)
`leadrouter feedback [--json]` lists every adjustment in force.

The org holds what outlives the state: the declines themselves (Rejection_Reason__c is
history-tracked; jobs/recovery.py rebuilds them), each ops review on the partner's
Account, and the adjustments in force in words there too (`show`): jobs/feedback_account.py.
The partners' rating of lead quality is jobs/ratings.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.engine import Connection

from jobs.feedback_account import SHOWN_FIELD, SHOWN_LENGTH, account_fields, org_reviews
from jobs.logging import get_logger
from jobs.ratings import Rating, org_quality, quality
from jobs.state import store as st
from jobs.state.schema import exclusions as EXCLUSIONS
from jobs.state.schema import offers as OFFERS
from jobs.state.schema import watermarks as WATERMARKS
from rules.explain import clip
from jobs.timeutil import as_utc
from rules.model import DecisionKind, Lead, Partner

NO_CAPACITY, NOT_OUR_FIT, OUT_OF_TERRITORY = "No capacity", "Not our product/industry", "Out of territory"
INDUSTRY, PRODUCT = "industry", "product"  # what a "Not our product/industry" decline counts against
# "Not our product/industry" declines of one industry's (or one product's) leads before it is
# excluded — and only if they outnumber the leads with it that the partner took
EXCLUDE_AFTER = 2
# "Out of territory" declines in one area before the partner stops getting it: one more than
# for an industry, because a lead's address is wrong more often than its industry (a
# head-office country, a mistyped state), and a stop takes a whole area from the partner
STOP_AFTER = 3
THROTTLE = 0.7  # a "No capacity" decline keeps this share of the inferred capacity
WINDOW = timedelta(days=90)
REFRESH = timedelta(hours=1)
_REVIEW = "feedback:"  # watermark name prefix: the time ops last reviewed a partner's feedback
log = get_logger(component="feedback")


@dataclass
class Adjustments:
    at: datetime
    capacity: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # partner → (inferred, declared, declines)
    excluded: dict[str, dict[str, int]] = field(default_factory=dict)  # partner → industry → declines (≥ N)
    excluded_products: dict[str, dict[str, int]] = field(default_factory=dict)  # partner → product → declines (≥ N)
    # partner → (INDUSTRY | PRODUCT, key) → leads with it the partner took: kept for the keys
    # it said "Not our product/industry" about (what an exclusion is weighed against)
    took: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    territory: dict[str, dict[str, int]] = field(default_factory=dict)  # partner → area → declines
    stopped: dict[str, dict[str, int]] = field(default_factory=dict)  # partner → area → declines (≥ STOP_AFTER)
    reviewed: dict[str, datetime] = field(default_factory=dict)  # partner, or "partner@area" → last ops review
    names: dict[str, str] = field(default_factory=dict)  # partner → name, for the words on the Lead
    rated: list[Rating] | None = None  # the partners' ratings of their leads; None: not read (or no field)
    quality: dict[str, tuple[float, int]] = field(default_factory=dict)  # partner → (average rating, ratings)
    org_quality: tuple[float, int] | None = None  # the org's own people's (average rating, ratings)
    _by_key: dict[tuple[str, str], dict[str, str]] | None = field(default=None, repr=False, compare=False)

    def barred_for(self, lead: Lead) -> dict[str, str]:
        """Partners kept from this lead by their own feedback — excluded from its industry or
        from any of its products, or stopped in its area (a stop on a country holds for its
        states) — and why."""
        if self._by_key is None:
            by: dict[tuple[str, str], dict[str, str]] = {}
            for kind, table in ((INDUSTRY, self.excluded), (PRODUCT, self.excluded_products)):
                for pid, per in table.items():
                    for key, n in per.items():
                        by.setdefault((kind, _fold(key)), {})[pid] = (
                            f"{self.fit_words(pid, kind, key)} (feedback; undo: "
                            f"leadrouter feedback reset {pid}) — skips")
            for pid, per in self.stopped.items():
                for area, n in per.items():
                    by.setdefault(("area", area), {})[pid] = (
                        f"said '{OUT_OF_TERRITORY}' {n}× for {area} leads (feedback; undo: "
                        f"leadrouter feedback reset {pid} --area {area}) — skips")
            self._by_key = by
        if not self._by_key:
            return {}
        out: dict[str, str] = {}
        for key in (("area", lead.country), ("area", lead.state), (INDUSTRY, lead.industry)):
            if key[1]:
                out.update(self._by_key.get(key if key[0] == "area" else (INDUSTRY, _fold(key[1]))) or {})
        for product in sorted(lead.products) if lead.products else ():  # its industry's why first, then by name
            for pid, why in (self._by_key.get((PRODUCT, _fold(product))) or {}).items():
                out.setdefault(pid, why)
        return out

    def fit_words(self, partner_id: str, kind: str, key: str) -> str:
        """ "said 'Not our product/industry' 3× for Security Suite leads, took 0": the rule in
        words — its declines of leads with that industry or product, against those it took."""
        n = (self.excluded if kind == INDUSTRY else self.excluded_products).get(partner_id, {}).get(key, 0)
        took = self.took.get(partner_id, {}).get((kind, key), 0)
        return f"said '{NOT_OUR_FIT}' {n}× for {key} leads, took {took}"

    def count(self) -> int:
        """Adjustments in force: throttles, excluded industries and products, stopped areas."""
        return (len(self.capacity) + sum(len(v) for v in self.excluded.values())
                + sum(len(v) for v in self.excluded_products.values())
                + sum(len(v) for v in self.stopped.values()))

    def stale(self, now: datetime) -> bool:
        return now - self.at >= REFRESH

    def to_dict(self, names: Mapping[str, str] | None = None) -> dict[str, Any]:
        name = {**self.names, **(names or {})}.get
        return {
            "count": self.count(),
            "throttled": [{"partner_id": p, "partner": name(p, p), "capacity": c, "declared": d, "declines": n}
                          for p, (c, d, n) in sorted(self.capacity.items())],
            # industries, as ever: a consumer reading e["industry"] of each entry reads on; products
            # are a list of their own (a product entry here would have broken that reader)
            "excluded": [{"partner_id": p, "partner": name(p, p), "industry": i, "declines": n,
                          "accepted": self.took.get(p, {}).get((INDUSTRY, i), 0)}
                         for p, per in sorted(self.excluded.items()) for i, n in sorted(per.items())],
            "excluded_products": [{"partner_id": p, "partner": name(p, p), "product": i, "declines": n,
                                   "accepted": self.took.get(p, {}).get((PRODUCT, i), 0)}
                                  for p, per in sorted(self.excluded_products.items()) for i, n in sorted(per.items())],
            "stopped": [{"partner_id": p, "partner": name(p, p), "area": a, "declines": n}
                        for p, per in sorted(self.stopped.items()) for a, n in sorted(per.items())],
            "out_of_territory": [{"partner_id": p, "partner": name(p, p), "area": a, "country": a[:2], "declines": n,
                                  "stopped": a in self.stopped.get(p, {}),
                                  "fix": f"review whether {name(p, p)} covers {a} (its Coverage__c, or the rule's "
                                         f"territory, says so), then: leadrouter feedback reset {p} --area {a}"}
                                 for p, per in sorted(self.territory.items()) for a, n in sorted(per.items())],
            "lead_quality": [{"partner_id": p, "partner": name(p, p), "average_rating": avg, "ratings": n}
                             for p, (avg, n) in sorted(self.quality.items())],
            "org_lead_quality": ({"average_rating": self.org_quality[0], "ratings": self.org_quality[1]}
                                 if self.org_quality else None),
            # ratings LeadHistory did not say who set: credited to the partner holding the lead
            "ratings_credited_to_holder": sum(1 for r in self.rated or () if r.by_holder),
            "ratings_read": self.rated is not None,
            "reviewed": {p: t.isoformat() for p, t in sorted(self.reviewed.items())},
        }


def gather(conn: Connection, partners: Mapping[str, Partner], to_lead: Any, now: datetime,
           rated: list[Rating] | None = None, org: Mapping[str, datetime] | None = None) -> Adjustments:
    """What the partners' answers of the last 90 days say, since each one's last review
    (and, given the org's ratings, what each partner thinks of the leads it got).
    `org`: the reviews on the partners' Accounts (`org_reviews`); by default those of the
    partner snapshot in `conn`."""
    from jobs.learning import _leads

    if org is None:
        org = org_reviews(st.snapshot_records(conn, "partner"))
    reviewed = later(reviews(conn), org or {})
    rows = list(conn.execute(
        select(OFFERS.c.lead_id, OFFERS.c.partner_id, OFFERS.c.kind, OFFERS.c.status, OFFERS.c.accepted_at,
               OFFERS.c.closed_at, OFFERS.c.close_reason)
        .where(OFFERS.c.partner_id.is_not(None), OFFERS.c.offered_at >= now - WINDOW)))
    # (when, partner, accepted | taken | reason, lead): "taken", a pool pick-up, is a lead the
    # partner took as an accepted offer is, but gives no capacity back (no offer was made to it)
    answers: list[tuple[datetime, str, str, str | None]] = []
    for r in rows:
        if r.accepted_at is not None:
            answers.append((as_utc(r.accepted_at), r.partner_id, "accepted" if r.kind == "offer" else "taken",
                            r.lead_id))
        elif r.kind == "offer" and r.status == "rejected" and r.closed_at is not None:
            answers.append((as_utc(r.closed_at), r.partner_id, code_of(r.close_reason), r.lead_id))
    answers += pool_declines(conn, now)
    # the leads taken are read only for partners that said "Not our product/industry" at all
    fitting = {pid for _, pid, what, _ in answers if what == NOT_OUR_FIT}
    need = {lid for _, pid, what, lid in answers
            if what in (NOT_OUR_FIT, OUT_OF_TERRITORY) or (pid in fitting and what in ("accepted", "taken"))}
    leads: dict[str, Lead] = _leads(conn, need, to_lead) if need else {}
    adj = Adjustments(at=now, reviewed=reviewed, names={p.id: p.name for p in partners.values()})
    level: dict[str, float] = {}
    declines: dict[str, int] = {}
    said: dict[str, dict[tuple[str, str], int]] = {}  # partner → (kind, folded key) → "Not our …" declines
    took: dict[str, dict[tuple[str, str], int]] = {}  # partner → (kind, folded key) → leads taken
    spelt: dict[tuple[str, str], str] = {}  # (kind, folded key) → its spelling as first met
    for at, pid, what, lid in sorted(answers, key=lambda a: a[0]):
        if pid not in partners or (pid in reviewed and at <= reviewed[pid]):
            continue
        declared = partners[pid].capacity
        if what == NO_CAPACITY and declared:
            level[pid] = max(1.0, int(level.get(pid, declared) * THROTTLE))
            declines[pid] = declines.get(pid, 0) + 1
        elif what == "accepted" and pid in level and declared:
            level[pid] = min(float(declared), level[pid] + 1)
        if what in (NOT_OUR_FIT, "accepted", "taken"):
            if what != NOT_OUR_FIT and pid not in fitting:
                continue
            per = (said if what == NOT_OUR_FIT else took).setdefault(pid, {})
            for kind, folded, spelling in fit_keys(leads.get(lid or "")):
                spelt.setdefault((kind, folded), spelling)
                per[(kind, folded)] = per.get((kind, folded), 0) + 1
        elif what == OUT_OF_TERRITORY:
            key = area_of(leads.get(lid or ""))
            if not key:
                continue
            area_review = reviewed.get(f"{pid}@{key}")
            if area_review is not None and at <= area_review:
                continue
            per = adj.territory.setdefault(pid, {})
            per[key] = per.get(key, 0) + 1
    for pid, lv in level.items():
        declared = partners[pid].capacity or 0
        if int(lv) < declared:
            adj.capacity[pid] = (int(lv), declared, declines[pid])
    for pid, per in said.items():
        mine = took.get(pid, {})
        adj.took[pid] = {(kind, spelt[(kind, folded)]): mine.get((kind, folded), 0) for kind, folded in per}
        for (kind, folded), n in per.items():
            if n >= EXCLUDE_AFTER and n > mine.get((kind, folded), 0):
                table = adj.excluded if kind == INDUSTRY else adj.excluded_products
                table.setdefault(pid, {})[spelt[(kind, folded)]] = n
    for pid, per in adj.territory.items():
        stop = {a: n for a, n in per.items() if n >= STOP_AFTER}
        if stop:
            adj.stopped[pid] = stop
    if rated is not None:
        adj.rated = rated
        adj.quality = quality(rated, now)
        adj.org_quality = org_quality(rated, now)
    return adj


def pool_declines(conn: Connection, now: datetime) -> list[tuple[datetime, str, str, str | None]]:
    """A pool member's decline, as (when, partner, reason code, lead): no offer was made to
    the partner itself, so only its bar on the lead (an exclusion "rejected") holds it. A
    bar whose partner had an offer of the lead (a pushed offer, a hand-back) is that
    offer's decline, counted from the offers already."""
    offered = select(OFFERS.c.id).where(OFFERS.c.lead_id == EXCLUSIONS.c.lead_id,
                                        OFFERS.c.partner_id == EXCLUSIONS.c.partner_id)
    pooled = select(OFFERS.c.id).where(OFFERS.c.lead_id == EXCLUSIONS.c.lead_id, OFFERS.c.kind == "pool")
    rows = conn.execute(
        select(EXCLUSIONS.c.lead_id, EXCLUSIONS.c.partner_id, EXCLUSIONS.c.reason, EXCLUSIONS.c.at)
        .where(EXCLUSIONS.c.outcome == "rejected", EXCLUSIONS.c.at >= now - WINDOW,
               pooled.exists(), ~offered.exists()))
    return [(as_utc(r.at), r.partner_id, code_of(r.reason), r.lead_id) for r in rows]


def from_state(conn: Connection, ms: Any) -> Adjustments | None:
    """The adjustments in force as the state database tells them, for readers that do not
    ask the org (`status`, `report`): the partners of the snapshot, as of the last job run
    (Salesforce's time as the job took it). None before any job ran or partner was read."""
    from sqlalchemy import func

    from jobs.state.schema import job_runs

    now = conn.execute(select(func.max(job_runs.c.started))).scalar()
    if now is None:
        return None
    to_partner = ms.partner_converter(lambda *_: None)
    partners = {p.id: p for p in (to_partner(r) for r in st.snapshot_records(conn, "partner")) if isinstance(p, Partner)}
    if not partners:
        return None
    return gather(conn, partners, ms.lead_converter(), as_utc(now))


def area_of(lead: Lead | None) -> str | None:
    """Where "Out of territory" is counted: the lead's state (ISO 3166-2, `US-CA`) when it
    has one, else its country — the places a partner's coverage names."""
    if lead is None:
        return None
    return lead.state or lead.country or None


def fit_keys(lead: Lead | None) -> list[tuple[str, str, str]]:
    """What a "Not our product/industry" decline of this lead counts against, and an
    acceptance of it for: (INDUSTRY | PRODUCT, the key without regard to case, as spelt)."""
    if lead is None:
        return []
    keys = [(INDUSTRY, lead.industry)] if lead.industry and lead.industry.strip() else []
    keys += [(PRODUCT, p) for p in sorted(lead.products or ()) if p and p.strip()]
    return [(kind, _fold(key), key.strip()) for kind, key in keys]


def _fold(key: str) -> str:
    return key.strip().casefold()


def code_of(reason: str | None) -> str:
    """The restricted code at the head of Rejection_Reason__c ("No capacity: two reps on leave")."""
    text = (reason or "").strip()
    for code in (NO_CAPACITY, NOT_OUR_FIT, OUT_OF_TERRITORY):
        if text.lower().startswith(code.lower()):
            return code
    return text


def apply(partners: Iterable[Partner], adj: Adjustments) -> None:
    """The inferred capacities become the partners' caps (before PartnerIndex.build), and
    their `extra` says so (`inferred_capacity`, for reports and rule conditions)."""
    for p in partners:
        throttled = adj.capacity.get(p.id)
        if throttled is not None:
            p.extra["inferred_capacity"] = throttled[0]
            p.capacity = throttled[0]


def current_routing(cx: Any, now: datetime) -> Any:
    """The connector's routing build, built again first when the feedback it holds is
    REFRESH old: answers keep coming without a partner sync, so feedback is re-read at
    least hourly."""
    routing = cx.routing()
    if routing.feedback is not None and routing.feedback.stale(now):
        cx.snapshot_changed()
        routing = cx.routing()
    return routing


def skipped(lead: Lead, adj: Adjustments | None) -> dict[str, str]:
    """Who the router (hooked) will skip for this lead by their feedback, and why."""
    return adj.barred_for(lead) if adj is not None else {}


def hook(router: Any, adj: Adjustments) -> None:
    """Every decision of this router skips the partners their feedback keeps from a lead."""
    router.eligibility.barred = adj.barred_for


def note(decision: Any, skipped: Mapping[str, str], adj: Adjustments | None) -> None:
    """Say on the Lead (Routing_Reason__c, and the decision's trace) which partners its own
    feedback kept from this lead — only those a rule would otherwise have considered. A lead
    offered to a partner or put in a pool is one partner users see: there it says "a
    partner", never which (a partner must not learn another's name from its lead); the
    trace, which `explain` and the report show, names it."""
    if not skipped or adj is None:
        return
    trials = (decision.explanation or {}).get("rules") or ()
    barred = {k for t in trials for k in (t.get("excluded_counts") or {})}
    mine = [(pid, why) for pid, why in sorted(skipped.items()) if f"already {why} this lead" in barred]
    if not mine:
        return
    decision.explanation["feedback"] = {pid: why for pid, why in mine}
    reason = decision.reason
    for _, why in mine:  # a reason of "none eligible" quotes the exclusion whole: the note below says it once
        reason = reason.replace(f"already {why} this lead", "kept away by its own feedback")
    seen_by_partners = decision.kind in (DecisionKind.OFFER, DecisionKind.POOL)
    words = "; ".join(f"{'a partner' if seen_by_partners else adj.names.get(pid, pid)} {_short(why)}"
                      for pid, why in mine)
    text = f"{reason} · skipped by its own feedback: {words}"
    decision.reason = clip(text)


def _short(why: str) -> str:
    """ "said 'Out of territory' 3× for US-CA leads (feedback; …) — skips" → "said 'Out of territory' 3× for US-CA";
    "said 'Not our product/industry' 2× for Security Suite leads, took 0 (feedback; …) — skips" → all before " (" """
    said = why.split(" (feedback", 1)[0]
    return said[:-len(" leads")] if said.endswith(" leads") else said


def reviews(conn: Connection) -> dict[str, datetime]:
    """partner (or "partner@area") → when ops last reviewed its feedback."""
    rows = conn.execute(select(WATERMARKS.c.name, WATERMARKS.c.value).where(WATERMARKS.c.name.like(_REVIEW + "%")))
    return {r.name[len(_REVIEW):]: as_utc(r.value) for r in rows}


def reset(conn: Connection, partner_id: str, now: datetime, area: str | None = None) -> None:
    """Ops reviewed this partner's feedback (or only its "Out of territory" declines in
    one area): what came before counts no more."""
    st.set_watermark(conn, _REVIEW + partner_id + (f"@{area}" if area else ""), now, now)


def later(*sources: Mapping[str, datetime]) -> dict[str, datetime]:
    """Each review at its latest time among the sources (the state's and the org's): a
    review written to one and not yet, or no longer, to the other still holds."""
    out: dict[str, datetime] = {}
    for source in sources:
        for key, at in source.items():
            if key not in out or at > out[key]:
                out[key] = at
    return out


def words(adj: Adjustments, partner_id: str) -> str:
    """The partner's adjustments in force as SHOWN_FIELD says them to a channel manager,
    with the undo; "" when none."""
    parts = []
    if partner_id in adj.capacity:
        c, d, n = adj.capacity[partner_id]
        parts.append(f"capacity {c} of {d} after {n} '{NO_CAPACITY}' decline{'s' if n != 1 else ''}")
    for kind, table in ((INDUSTRY, adj.excluded), (PRODUCT, adj.excluded_products)):
        for key, n in sorted(table.get(partner_id, {}).items()):
            took = adj.took.get(partner_id, {}).get((kind, key), 0)
            parts.append(f"no {key} leads after {n} '{NOT_OUR_FIT}'" + (f", took {took}" if took else ""))
    stopped = sorted(adj.stopped.get(partner_id, {}).items())
    parts += [f"stopped in {area} after {n} '{OUT_OF_TERRITORY}'" for area, n in stopped]
    if not parts:
        return ""
    undo = f"leadrouter feedback reset {partner_id}"
    if len(parts) == 1 and len(stopped) == 1:
        undo += f" --area {stopped[0][0]}"  # lifts that stop and keeps the partner's other declines counted
    text = " · ".join(parts) + f" — undo: {undo}"
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH - 1] + "…"


def show(cx: Any, now: datetime) -> dict[str, int]:
    """Write the adjustments in force to each partner's Account (SHOWN_FIELD) where its
    words changed — one collection call per 200 Accounts, nothing when none changed.
    Compared with what the partner sync read from the Account, so a text a person
    edited is put back, and an Account already saying it is not written again."""
    sobject = cx.mappings.sobject("partner")
    if not account_fields(cx.client, sobject).get(SHOWN_FIELD):
        return {}
    with cx.store.connect() as conn:
        records = {r["Id"]: r for r in st.snapshot_records(conn, "partner") if SHOWN_FIELD in r}
    if not records:
        return {}
    routing = current_routing(cx, now)
    adj = routing.feedback
    if adj is None:
        return {}
    changes = [(pid, text) for pid, rec in sorted(records.items()) if pid in routing.partners
               for text in [words(adj, pid)] if text != (rec.get(SHOWN_FIELD) or "")]
    if not changes:
        return {}
    results = cx.client.update(sobject, [{"Id": pid, SHOWN_FIELD: text or None} for pid, text in changes])
    done = []
    for (pid, text), result in zip(changes, results):
        if result.ok:
            done.append({**records[pid], SHOWN_FIELD: text or None})
        else:
            log.warning("feedback_not_shown", account=pid, code=result.code, error=(result.message or "")[:200],
                        fix=result.fix or f"give the integration user edit access to {sobject}.{SHOWN_FIELD} "
                                          "and to partner Accounts (salesforce/README.md)")
    if done:  # until the next sync reads them back: the same words are not written twice
        with cx.store.begin() as conn:
            st.put_snapshot(conn, "partner", done, now)
    return {"feedback_shown": len(done), "feedback_show_failed": len(changes) - len(done)}

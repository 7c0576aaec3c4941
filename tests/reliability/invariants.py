"""What "nothing lost, nothing offered twice" means, checked from both sides.

The org is the ground truth a vendor sees: every lead's Routing_Status__c, OwnerId and
PartnerAccountId, and the LeadHistory rows of OwnerId changes the integration user
made (one per offer: a rep of a partner, or a pool's queue). The state database is
the connector's own memory: its offers table and outbox. A verdict compares both:

- lost: a lead that was routable when the run began and, once the run has settled,
  is neither in a final state (Accepted, Escalated, Unroutable, Closed) nor in a live
  offer the connector still watches, nor deliberately let go;
- stranded: let go "because a person took over" although only the connector and
  partner reps ever edited it — not final in the org, and nobody watches it;
- offered twice: two live offers at once, or an offer to a partner (or pool) the lead
  had already been offered to, seen in the org's history or in the offers table;
- cross-partner: a lead owned by one partner's rep but tagged with another partner;
- disagreements: the org shows an owner or an attempt number the state does not.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from jobs.state import schema

FINAL = ("Accepted", "Escalated", "Unroutable", "Closed")
ROUTABLE = (None, "", "Pending")
# Queues that end routing rather than offer the lead to partners.
NOT_OFFERS = ("Channel_Escalations", "Unassigned_Partner_Leads", "Inside_Sales")
# Lead states where the connector deliberately let go: a person or Salesforce took over.
LET_GO = ("released", "closed")
EXAMPLES = 8
SAME_WRITE_SECONDS = 0.001


@dataclass(frozen=True)
class Baseline:
    """The org before the run: which leads the connector owes a decision, and which
    history rows were already there (seeding writes some)."""

    routable: frozenset[str]
    history_before: frozenset[str]


def baseline(org: Any) -> Baseline:
    with org.lock:
        routable = frozenset(
            r["Id"] for r in org.records("Lead")
            if not r.get("IsConverted") and not r.get("Do_Not_Route__c")
            and r.get("Routing_Status__c") in ROUTABLE
        )
        history = frozenset(h["Id"] for h in org.records("LeadHistory"))
    return Baseline(routable, history)


def extend(base: Baseline, org: Any, lead_ids: list[str]) -> Baseline:
    """The baseline plus leads created during the run (new leads arriving)."""
    return Baseline(base.routable | frozenset(lead_ids), base.history_before)


@dataclass
class Verdict:
    leads: int
    org_status: dict[str, int]
    live_offers: int
    let_go: int
    offers_in_state: int
    offers_in_org: int
    redistributions: int
    open_outbox: int
    lost: list[str] = field(default_factory=list)
    stranded: list[str] = field(default_factory=list)
    offered_twice: list[str] = field(default_factory=list)
    cross_partner: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return not (self.lost or self.offered_twice or self.cross_partner or self.disagreements
                    or self.open_outbox)

    def figures(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "final_or_live": self.leads - len(self.lost),
            "org_status": self.org_status,
            "live_offers": self.live_offers,
            "let_go_to_a_person": self.let_go,
            "offers_state": self.offers_in_state,
            "offers_org": self.offers_in_org,
            "redistributions": self.redistributions,
            "lost": len(self.lost),
            "stranded_let_go_without_a_person": len(self.stranded),
            "offered_twice": len(self.offered_twice),
            "cross_partner": len(self.cross_partner),
            "org_state_disagreements": len(self.disagreements),
            "open_outbox": self.open_outbox,
        }

    def assert_sound(self, context: str = "") -> None:
        problems = []
        for name in ("lost", "offered_twice", "cross_partner", "disagreements"):
            items = getattr(self, name)
            if items:
                problems.append(f"{len(items)} {name.replace('_', ' ')}, e.g. " + "; ".join(items[:EXAMPLES]))
        if self.open_outbox:
            problems.append(f"{self.open_outbox} outbox entries still open after the run settled")
        assert not problems, (f"{context}: " if context else "") + " | ".join(problems)


def offers_in_history(rows: list[tuple[Any, str, str]]) -> list[str]:
    """The owners the integration user gave a lead *as an offer*: an OwnerId change
    whose write leaves Routing_Status__c at Offered. A hand-back to a distributor that
    already accepted (status Accepted) or an escalation is not an offer, and neither is
    the owner put back where the integration user last set it (a pick-up refused — barred,
    not admitted by the pool's rule, an outsider's: someone else moved it in between; a
    write of an unchanged owner leaves no row). One write's history rows are stamped within
    microseconds of each other."""
    rows = sorted(rows)
    offered: list[str] = []
    status = None
    last = None  # the owner the integration user set last
    for i, (at, fld, value) in enumerate(rows):
        if fld == "Routing_Status__c":
            status = value
            continue
        if value and value == last:
            continue  # put back: the same offer goes on
        last = value
        after = status
        for later_at, later_fld, later_value in rows[i + 1:]:
            if (later_at - at).total_seconds() > SAME_WRITE_SECONDS:
                break
            if later_fld == "Routing_Status__c":
                after = later_value
        if value and after == "Offered":
            offered.append(value)
    return offered


def check(org: Any, store: Any, base: Baseline) -> Verdict:
    """Compare the org and the state database for every lead the run owed a decision."""
    with org.lock:
        integration = org.integration_user_id
        queues = dict(org.queue_ids)
        rep_partner = {u["Id"]: u.get("AccountId") for u in org.records("User") if u.get("AccountId")}
        leads = {lid: dict(org.get("Lead", lid) or {}) for lid in base.routable}
        history: dict[str, list[tuple[Any, str, str]]] = {}
        for h in org.records("LeadHistory"):
            if h["Id"] in base.history_before or h["CreatedById"] != integration or h["LeadId"] not in leads:
                continue
            if h["Field"] in ("Owner", "Routing_Status__c"):
                history.setdefault(h["LeadId"], []).append((h["CreatedDate"], h["Field"], h["NewValue"]))
    final_queues = {queues[n] for n in NOT_OFFERS if n in queues}

    with store.connect() as conn:
        offers: dict[str, list[dict[str, Any]]] = {}
        for r in conn.execute(select(schema.offers).order_by(schema.offers.c.id)):
            if r.lead_id in leads:
                offers.setdefault(r.lead_id, []).append(dict(r._mapping))
        local = {r.lead_id: dict(r._mapping) for r in conn.execute(select(schema.leads))
                 if r.lead_id in leads}
        open_outbox = sum(1 for r in conn.execute(select(schema.outbox.c.status))
                          if r.status in ("pending", "sent"))

    v = Verdict(leads=len(leads), org_status={}, live_offers=0, let_go=0, offers_in_state=0, offers_in_org=0,
                redistributions=0, open_outbox=open_outbox)
    status_counts: Counter[str] = Counter()
    for lead_id, rec in leads.items():
        status = rec.get("Routing_Status__c") or "(none)"
        status_counts[status] += 1
        mine = offers.get(lead_id, [])
        live = [o for o in mine if o["status"] == "live"]
        v.offers_in_state += len(mine)
        v.redistributions += sum(1 for o in mine if o["attempt"] > 1)

        # -- offered twice, as the state sees it
        if len(live) > 1:
            v.offered_twice.append(f"{lead_id}: {len(live)} live offers in the state at once")
        targets = [("partner", o["partner_id"]) if o["kind"] == "offer" else ("pool", o["queue_id"]) for o in mine]
        for target, n in Counter(targets).items():
            if n > 1:
                v.offered_twice.append(f"{lead_id}: offered to {target[0]} {target[1]} {n} times (state)")

        # -- offered twice, as the org's history shows it
        seen: Counter[tuple[str, str]] = Counter()
        for owner in offers_in_history(history.get(lead_id, [])):
            if owner in final_queues:
                continue
            key = ("partner", rep_partner[owner]) if owner in rep_partner else ("pool", owner)
            seen[key] += 1
        v.offers_in_org += sum(seen.values())
        for target, n in seen.items():
            if n > 1:
                v.offered_twice.append(f"{lead_id}: owner set to {target[0]} {target[1]} {n} times (org history)")

        # -- a partner seeing a lead meant for another
        owner = rec.get("OwnerId")
        if owner in rep_partner and rec.get("PartnerAccountId") not in (None, rep_partner[owner]):
            v.cross_partner.append(f"{lead_id}: owned by a rep of {rep_partner[owner]} but tagged "
                                   f"PartnerAccountId {rec.get('PartnerAccountId')}")

        # -- lost, or where the org and the state disagree
        state_row = local.get(lead_id) or {}
        if status in FINAL:
            if status != "Unroutable" and state_row.get("attempt") not in (None, 0) \
                    and rec.get("Routing_Attempt__c") not in (None, state_row.get("attempt")):
                v.disagreements.append(f"{lead_id}: Routing_Attempt__c {rec.get('Routing_Attempt__c')} in the org, "
                                       f"{state_row.get('attempt')} in the state")
            continue
        if live:
            v.live_offers += 1
            if status != "Offered" or owner != live[0]["owner_id"]:
                v.disagreements.append(f"{lead_id}: live offer to {live[0]['owner_id']} in the state, org shows "
                                       f"{status} owned by {owner}")
            elif rec.get("Routing_Attempt__c") not in (None, live[0]["attempt"]):
                # a re-offer to the same rep moves no OwnerId (no history row) but does
                # move the attempt: this is where the org would show it
                v.disagreements.append(f"{lead_id}: Routing_Attempt__c {rec.get('Routing_Attempt__c')} in the org, "
                                       f"live offer attempt {live[0]['attempt']} in the state")
            continue
        if state_row.get("state") in LET_GO and state_row.get("reason"):
            v.let_go += 1
            editor = rec.get("LastModifiedById")
            if editor == integration or editor in rep_partner:
                # Only the connector and partner reps ever touched it, yet the connector
                # let it go as if a person had taken over: nobody watches it any more.
                v.stranded.append(f"{lead_id}: org shows {status} (Partner_Response__c "
                                  f"{rec.get('Partner_Response__c')}) last edited by {editor}; state let it go: "
                                  f"{state_row.get('reason')}")
            continue
        v.lost.append(f"{lead_id}: org shows {status} owned by {owner}, state shows "
                      f"{state_row.get('state', 'nothing')}")
    v.org_status = dict(sorted(status_counts.items()))
    return v

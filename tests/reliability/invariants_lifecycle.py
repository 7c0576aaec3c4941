"""The lead lifecycle's promises, checked as an admin would: from the org alone.

Nothing here reads the connector's state database. What the org shows is the Lead
(owner, partner, Routing_Status__c, Do_Not_Route__c), its LeadHistory (Owner,
PartnerAccount and Routing_Status__c are tracked: who changed what, when), the users
(a partner rep is UserType PowerPartner with an AccountId) and the accounts. Read
in-process from a sandbox org (`OrgView.from_org`) or over SOQL with simple-salesforce
(`OrgView.from_soql`), the same three checks run:

(a) `barred_got_back`: no partner (and no pool queue) gets a lead back after its offer
    of that lead ended — rejected or lapsed. An offer "ended" when the integration user
    moved an Offered lead away from the partner (or the pool) to someone else and did
    not mark it Released. A distributor that *accepted* and had the lead handed down to
    a reseller and back is not barred: it never lost an offer. A rep's own pick-up from
    a pool is judged after the connector's cycle (the connector undoes a barred one), so
    only the integration user's writes and the lead as it is now count as "holding".
    Blind spot: the org keeps no history of Partner_Response__c or Routing_Paused__c,
    so an offer withdrawn because the partner paused (or its rep was deactivated) looks
    like a lapse; such losses are not counted while the partner is paused (the rep
    inactive) now. Likewise a distributor's hand-down leaves the Lead Offered, as a
    redistribution does: a move from a distributor to one of its own resellers is
    taken for a hand-down, never for the distributor's rejection.
(b) `owner_partner_mismatch`: on every lead the connector touched, a partner rep as
    owner means PartnerAccountId is that rep's account; a queue or an internal user as
    owner means no PartnerAccountId (converted leads aside: nobody can write to
    them any more). A Released lead someone moved after the
    connector's last write (a rep pulling a lead that was let go from a queue) is
    theirs: the connector keeps its hands off, so it is not judged.
(c) `takeover_not_released`: every lead a person took over — its owner last moved by a
    user who is neither the integration user nor a partner rep (after the connector's
    first write), or Do_Not_Route__c ticked — says Routing_Status__c = Released.
    A person moving the lead from one rep of a partner to another rep of the same
    partner is not counted: the lifecycle table calls that passing it to a colleague
    (the offer stands), whoever makes the move.

Each returns a list of `Violation(lead_id, why)`; `audit(view)` runs all three.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

RELEASED = "Released"
OFFERED = "Offered"
PARTNER_USER = "PowerPartner"
TRACKED = {"Owner": "owner", "ownerAssignment": "owner", "PartnerAccount": "partner", "Routing_Status__c": "status"}
SAME_WRITE = timedelta(milliseconds=1)  # one write's history rows are stamped microseconds apart
_ID_PREFIXES = ("005", "00G", "001")  # users, queues, accounts: real orgs add name rows beside id rows


@dataclass(frozen=True)
class Violation:
    lead_id: str
    why: str

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.why}"


@dataclass(frozen=True)
class Snap:
    """What the Lead showed between two writes."""

    owner: str | None
    partner: str | None
    status: str | None


@dataclass(frozen=True)
class Write:
    """One save of a lead, as its history rows show it."""

    at: datetime
    by: str
    before: Snap
    after: Snap


@dataclass
class OrgView:
    """The org as an admin's SOQL sees it (only live leads; deleted ones are gone)."""

    integration_user_id: str
    leads: dict[str, dict[str, Any]]
    history: dict[str, list[dict[str, Any]]]
    users: dict[str, dict[str, Any]]
    accounts: dict[str, dict[str, Any]]
    pool_queues: set[str] = field(default_factory=set)

    # ---------------------------------------------------------------- reading
    @classmethod
    def from_org(cls, org: Any) -> "OrgView":
        """A sandbox `Org` read in-process (under its lock: one consistent moment)."""
        with org.lock:
            return cls.build(
                org.integration_user_id,
                leads=[dict(r) for r in org.records("Lead")],
                history=[dict(h) for h in org.records("LeadHistory")],
                users=[dict(u) for u in org.records("User")],
                accounts=[dict(a) for a in org.records("Account")],
                queues=[dict(g) for g in org.records("Group") if g.get("Type") == "Queue"],
                members=[dict(m) for m in org.records("GroupMember")],
            )

    @classmethod
    def from_soql(cls, query_all: Callable[[str], Any], integration_username: str) -> "OrgView":
        """Over the API: `query_all` is simple-salesforce's `Salesforce.query_all`."""
        def rows(soql: str) -> list[dict[str, Any]]:
            return [{k: v for k, v in r.items() if k != "attributes"} for r in query_all(soql)["records"]]

        users = rows("SELECT Id, Username, UserType, AccountId, IsActive FROM User")
        me = next((u["Id"] for u in users if u.get("Username") == integration_username), None)
        if me is None:
            raise ValueError(f"no User with Username {integration_username!r}: pass the connector's login user")
        return cls.build(
            me,
            leads=rows("SELECT Id, OwnerId, PartnerAccountId, Routing_Status__c, Routing_Reason__c, "
                       "Do_Not_Route__c, IsConverted FROM Lead"),
            history=rows("SELECT Id, LeadId, Field, OldValue, NewValue, CreatedById, CreatedDate FROM LeadHistory "
                         "WHERE Field IN ('Owner', 'ownerAssignment', 'PartnerAccount', 'Routing_Status__c')"),
            users=users,
            accounts=rows("SELECT Id, Name, ParentId, Partner_Role__c, Routing_Paused__c FROM Account "
                          "WHERE IsPartner = true"),
            queues=rows("SELECT Id, DeveloperName FROM Group WHERE Type = 'Queue'"),
            members=rows("SELECT GroupId, UserOrGroupId FROM GroupMember"),
        )

    @classmethod
    def build(cls, integration_user_id: str, *, leads: Iterable[dict], history: Iterable[dict],
              users: Iterable[dict], accounts: Iterable[dict], queues: Iterable[dict],
              members: Iterable[dict]) -> "OrgView":
        users_by_id = {u["Id"]: u for u in users}
        queue_ids = {q["Id"] for q in queues}
        # a pool is a queue partner reps pull from: one with a partner rep among its members
        pools = {m["GroupId"] for m in members if m["GroupId"] in queue_ids
                 and (users_by_id.get(m["UserOrGroupId"]) or {}).get("UserType") == PARTNER_USER}
        leads_by_id = {r["Id"]: r for r in leads if not r.get("IsDeleted")}
        by_lead: dict[str, list[dict[str, Any]]] = {}
        for h in history:
            if h["LeadId"] in leads_by_id and h["Field"] in TRACKED and _is_id_or_blank(h):
                by_lead.setdefault(h["LeadId"], []).append({**h, "CreatedDate": _when(h["CreatedDate"])})
        for rows in by_lead.values():
            rows.sort(key=lambda h: (h["CreatedDate"], h["Id"]))
        return cls(integration_user_id, leads_by_id, by_lead, users_by_id, {a["Id"]: a for a in accounts}, pools)

    # ---------------------------------------------------------------- who is who
    def partner_of(self, user_id: str | None) -> str | None:
        u = self.users.get(user_id or "")
        return u.get("AccountId") if u and u.get("UserType") == PARTNER_USER else None

    def is_person(self, user_id: str | None) -> bool:
        """Someone in the org who is neither the connector nor a partner's rep."""
        return bool(user_id) and user_id != self.integration_user_id and self.partner_of(user_id) is None \
            and user_id in self.users

    def same_partner(self, a: str | None, b: str | None) -> bool:
        """Two reps of one partner: a move between them passes the lead to a colleague
        (rules.lifecycle PASSED_TO_COLLEAGUE, whoever makes it), not a takeover."""
        p = self.partner_of(a)
        return p is not None and p == self.partner_of(b)

    def holders(self, snap: Snap) -> set[str]:
        """The offer targets holding the lead: the owner's partner, the partner field, a pool queue."""
        held = {p for p in (self.partner_of(snap.owner), snap.partner) if p}
        if snap.owner in self.pool_queues:
            held.add(snap.owner)
        return held

    def name(self, target: str) -> str:
        a = self.accounts.get(target)
        return f"{a.get('Name') or target} ({target})" if a else f"pool {target}"

    def touched(self) -> list[str]:
        """Leads the connector wrote to (an integration-user history row)."""
        me = self.integration_user_id
        return sorted(lid for lid, rows in self.history.items() if any(h["CreatedById"] == me for h in rows))

    def now(self, lead_id: str) -> Snap:
        r = self.leads[lead_id]
        return Snap(r.get("OwnerId"), r.get("PartnerAccountId"), r.get("Routing_Status__c"))

    def writes(self, lead_id: str) -> list[Write]:
        """The lead's saves in order, each with what the Lead showed before and after.
        Rows of one save share a user and lie within a millisecond; a field seen twice
        starts a new save."""
        rows = self.history.get(lead_id, [])
        current = self.now(lead_id)
        start = {"owner": current.owner, "partner": current.partner, "status": current.status}
        for key in start:  # a field's value before its first change
            first = next((h for h in rows if TRACKED[h["Field"]] == key), None)
            if first is not None:
                start[key] = first["OldValue"] or None
        groups: list[list[dict[str, Any]]] = []
        for h in rows:
            g = groups[-1] if groups else None
            if (g is None or h["CreatedById"] != g[0]["CreatedById"] or h["CreatedDate"] - g[-1]["CreatedDate"] > SAME_WRITE
                    or any(TRACKED[x["Field"]] == TRACKED[h["Field"]] for x in g)):
                groups.append([h])
            else:
                g.append(h)
        out, values = [], dict(start)
        for g in groups:
            before = Snap(**values)
            for h in g:
                values[TRACKED[h["Field"]]] = h["NewValue"] or None
            out.append(Write(g[0]["CreatedDate"], g[0]["CreatedById"], before, Snap(**values)))
        return out

    # ---------------------------------------------------------------- blind spots
    def handed_down(self, target: str, after: Snap) -> bool:
        """A distributor's lead offered on to one of its resellers. The hand-down follows
        the distributor's acceptance and leaves the Lead Offered, as a redistribution
        does: the org cannot tell them apart, so a move from a distributor to its own
        reseller is taken for a hand-down (the distributor keeps its claim)."""
        a = self.accounts.get(target) or {}
        if a.get("Partner_Role__c") != "Distributor":
            return False
        return any((self.accounts.get(x) or {}).get("ParentId") == target for x in self.holders(after))

    def withdrawn_not_declined(self, target: str, before: Snap) -> bool:
        """An offer the connector may have withdrawn rather than seen declined: the partner
        is paused now, or the rep it was offered to is inactive now (see the module doc)."""
        a = self.accounts.get(target)
        if a is not None and a.get("Routing_Paused__c"):
            return True
        rep = self.users.get(before.owner or "")
        return bool(rep and self.partner_of(before.owner) == target and not rep.get("IsActive", True))


# ---------------------------------------------------------------------- (a)
def barred_got_back(view: OrgView) -> list[Violation]:
    """A partner (or pool) that lost an offer of a lead holds that lead again."""
    out: list[Violation] = []
    me = view.integration_user_id
    for lead_id in view.touched():
        barred: dict[str, datetime] = {}
        found: set[str] = set()
        for w in view.writes(lead_id):
            if w.by != me:
                continue
            if w.before.status == OFFERED and w.after.status != RELEASED:
                for t in view.holders(w.before) - view.holders(w.after):
                    if not view.withdrawn_not_declined(t, w.before) and not view.handed_down(t, w.after):
                        barred.setdefault(t, w.at)
            if w.after.status != RELEASED:
                for t in (view.holders(w.after) & barred.keys()) - found:
                    found.add(t)
                    out.append(Violation(lead_id, (
                        f"{view.name(t)} lost its offer at {_t(barred[t])} (rejected or lapsed) and the connector "
                        f"gave it the lead again at {_t(w.at)}: owner {w.after.owner}, partner {w.after.partner}, "
                        f"status {w.after.status}")))
        now = view.now(lead_id)
        if now.status != RELEASED:
            for t in (view.holders(now) & barred.keys()) - found:
                out.append(Violation(lead_id, (
                    f"{view.name(t)} lost its offer at {_t(barred[t])} (rejected or lapsed) and holds the lead now: "
                    f"owner {now.owner}, partner {now.partner}, status {now.status} (a pick-up the connector "
                    "did not undo)")))
    return out


# ---------------------------------------------------------------------- (b)
def owner_partner_mismatch(view: OrgView) -> list[Violation]:
    """The Lead's owner and PartnerAccountId tell different stories."""
    out: list[Violation] = []
    me = view.integration_user_id
    for lead_id in view.touched():
        if view.leads[lead_id].get("IsConverted"):
            continue  # converted: Salesforce takes no more writes; it is the opportunity's now
        now = view.now(lead_id)
        if now.status == RELEASED and _changed_after_release(view, lead_id, me):
            continue  # someone moved it after the connector let go: theirs, hands off
        rep_of = view.partner_of(now.owner)
        if rep_of is not None:
            if now.partner != rep_of:
                out.append(Violation(lead_id, (
                    f"owned by a rep ({now.owner}) of {view.name(rep_of)} but PartnerAccountId is {now.partner} "
                    f"(status {now.status})")))
        elif now.partner:
            kind = "queue" if (now.owner or "").startswith("00G") else "internal user"
            out.append(Violation(lead_id, (
                f"owned by {kind} {now.owner} but PartnerAccountId is {view.name(now.partner)} "
                f"(status {now.status})")))
    return out


def _changed_after_release(view: OrgView, lead_id: str, me: str) -> bool:
    """Owner or partner changed by someone else after the connector's last write."""
    writes = view.writes(lead_id)
    ours = [w.at for w in writes if w.by == me]
    return bool(ours) and any(w.by != me and w.at > ours[-1] and w.before != w.after for w in writes)


# ---------------------------------------------------------------------- (c)
def takeover_not_released(view: OrgView) -> list[Violation]:
    """A person has the lead, yet the Lead does not say Released."""
    out: list[Violation] = []
    me = view.integration_user_id
    for lead_id in view.touched():
        lead = view.leads[lead_id]
        if lead.get("IsConverted"):
            continue  # converted: Salesforce takes no more writes, the connector closes it quietly
        writes = view.writes(lead_id)
        first_ours = next((w.at for w in writes if w.by == me), None)
        # the last move of the owner decides who has the lead: a person's, unless the
        # connector moved it since (routed again after someone set Pending)
        moves = [w for w in writes if w.after.owner != w.before.owner
                 and not (view.is_person(w.by) and view.same_partner(w.before.owner, w.after.owner))]
        last = moves[-1] if moves else None
        why = None
        if lead.get("Do_Not_Route__c"):
            why = "Do_Not_Route__c is ticked"
        elif last is not None and view.is_person(last.by) and first_ours is not None and last.at > first_ours:
            why = f"a person ({last.by}) set the owner to {last.after.owner} at {_t(last.at)}"
        if why and lead.get("Routing_Status__c") != RELEASED:
            out.append(Violation(lead_id, (
                f"{why}, yet Routing_Status__c is {lead.get('Routing_Status__c')} "
                f"(reason: {lead.get('Routing_Reason__c')!r})")))
    return out


CHECKS = {
    "barred_partner_got_lead_back": barred_got_back,
    "owner_partner_inconsistent": owner_partner_mismatch,
    "takeover_not_released": takeover_not_released,
}


def audit(view: OrgView) -> dict[str, list[Violation]]:
    return {name: check(view) for name, check in CHECKS.items()}


def coverage(view: OrgView) -> dict[str, int]:
    """How much each check had to look at, so a clean audit is not an empty one."""
    me = view.integration_user_id
    touched = view.touched()
    offers_ended = taken = handed_down = back_to_distributor = 0
    for lead_id in touched:
        writes = view.writes(lead_id)
        for w in writes:
            if w.by != me or w.before.status != OFFERED or w.after.status == RELEASED:
                continue
            lost = view.holders(w.before) - view.holders(w.after)
            if any(view.handed_down(t, w.after) for t in lost):
                handed_down += 1
            elif lost:
                offers_ended += 1
            if w.after.status == "Accepted" and any(
                    (view.accounts.get(t) or {}).get("ParentId") in view.holders(w.after) for t in lost):
                back_to_distributor += 1  # a reseller's offer ended and its distributor has the lead again
        if view.leads[lead_id].get("Do_Not_Route__c") or any(view.is_person(w.by) for w in writes):
            taken += 1
    return {"leads_touched": len(touched), "offers_ended": offers_ended, "handed_down": handed_down,
            "handed_back_to_distributor": back_to_distributor, "leads_a_person_touched": taken}


def explain(violations: dict[str, list[Violation]], limit: int = 5) -> str:
    """A failure message: each broken promise with a few leads and why."""
    parts = []
    for name, items in violations.items():
        if items:
            parts.append(f"{name}: {len(items)}, e.g. " + "; ".join(str(v) for v in items[:limit]))
    return " | ".join(parts)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    s = str(value).strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    elif len(s) > 5 and s[-5] in "+-" and s[-4:].isdigit():
        s = s[:-2] + ":" + s[-2:]
    return datetime.fromisoformat(s).astimezone(timezone.utc)


def _is_id_or_blank(h: dict[str, Any]) -> bool:
    """Real orgs write a second Owner/PartnerAccount row with names; keep the id rows."""
    if h["Field"] == "Routing_Status__c":
        return True
    return all(v in (None, "") or (isinstance(v, str) and v[:3] in _ID_PREFIXES and len(v) in (15, 18))
               for v in (h.get("OldValue"), h.get("NewValue")))


def _t(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC"

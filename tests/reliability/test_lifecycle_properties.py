"""Random event sequences through the real loop; after every step the org keeps the lifecycle's promises.

The connector runs as in production (HTTPS to a sandbox org, its jobs, a SQLite state
file, the org's clock); the test plays the people around it — partner reps answering
or pulling leads from the pool, an admin taking a lead over or deleting it, a partner
pausing, an account hierarchy bent into a loop — in an order Hypothesis draws. After
each event and one connector cycle, the three admin-visible invariants of
`invariants_lifecycle` are read from the org alone.

The world is made so every path can happen: North American leads go first to one
partner A (the only one with an enterprise team), and once A rejects or lets the
offer lapse, to the NA pool whose members include reps of A and of another partner
B. So a rep of A pulling the lead from the pool is a barred partner's pick-up, and B
and A pulling the same lead is a second pick-up. Everything else goes round robin,
where distributors accept and hand leads down.

The org is seeded once per test and restored from a deep copy for each example, each
with a fresh state database: examples do not see each other.
"""
from __future__ import annotations

import copy
import itertools
from datetime import timedelta
from collections import Counter
from pathlib import Path
from typing import Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.jobs.conftest import Loop, build_connector
from tests.jobs.rules_for_tests import BASE, ROTATION

from . import invariants_lifecycle as il

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

RULES = BASE + """
[territories]
NA = ["US", "CA", "MX"]

[[ruleset]]
name = "North America: the enterprise partner, then the pool"
when = 'country in ["US", "CA", "MX"]'

  [[ruleset.rule]]
  name = "Enterprise partner first"
  partners = "enterprise_team"
  match = { geography = true }
  distribute = "round_robin"

  [[ruleset.rule]]
  name = "North America pool"
  match = { territories = ["NA"], geography = true }
  pool = "Partner_Pool_NA"
  offer_hours = 24
""" + ROTATION

EVENTS = ("accept", "reject", "lapse", "pickup", "takeover", "do_not_route", "delete", "pause", "cyclic_parent")
LAPSE_HOURS = 25  # past the 24-hour offer windows


class World:
    """The seeded org, who A and B are, and how to put the org back as it was."""

    def __init__(self, sb, tmp_path: Path):
        self.sb, self.org, self.tmp = sb, sb.org, tmp_path
        org = self.org
        pool = org.queue_ids["Partner_Pool_NA"]
        members: dict[str, list[str]] = {}
        for m in org.records("GroupMember"):
            if m["GroupId"] == pool:
                rep = org.get("User", m["UserOrGroupId"])
                if rep and rep.get("IsActive") and rep.get("AccountId"):
                    members.setdefault(rep["AccountId"], []).append(rep["Id"])
        takers = sorted(p for p in members if not org.get("Account", p).get("Routing_Paused__c"))
        assert len(takers) >= 2, "the seed puts reps of several partners in the NA pool"
        self.a, self.b = takers[0], takers[1]
        self.rep_a, self.rep_b = sorted(members[self.a])[0], sorted(members[self.b])[0]
        self.pool = pool
        self.admin = org.admin_user_id
        for acc in org.records("Account"):
            if acc.get("IsPartner"):
                org.update("Account", acc["Id"], {"Enterprise_Team__c": acc["Id"] == self.a})
        for p in (self.a, self.b):  # both cover North America: the pool is theirs to pull from
            org.update("Account", p, {"Coverage__c": "US; CA; MX", "Capacity__c": 500.0, "Daily_Cap__c": 500.0})
        self.distributors = sorted(a["Id"] for a in org.records("Account") if a.get("Partner_Role__c") == "Distributor")
        self.baseline = copy.deepcopy(org.snapshot())
        self.runs = itertools.count(1)

    def fresh_loop(self) -> Loop:
        self.org.restore(copy.deepcopy(self.baseline))
        rules = self.tmp / "rules-lifecycle.toml"
        rules.write_text(RULES)
        cx = build_connector(self.sb, f"sqlite:///{self.tmp}/state-{next(self.runs)}.sqlite", rules=rules)
        return Loop(self.sb, cx)

    # ---- the people around the connector ----------------------------------------
    def leads(self, **where) -> list[dict]:
        return [r for r in self.org.records("Lead") if not r.get("IsConverted")
                and all(r.get(k) == v for k, v in where.items())]

    def pushed_offers(self, first: Iterable[str] = ()) -> list[dict]:
        """Offered leads owned by a partner rep, copied; those of the partners in `first`
        lead the list (so small draws reach them)."""
        first = list(first)
        offered = [dict(r) for r in self.leads(Routing_Status__c="Offered") if (r["OwnerId"] or "").startswith("005")]
        rank = {p: i for i, p in enumerate(first)}
        return sorted(offered, key=lambda r: (rank.get(r.get("PartnerAccountId"), len(first)), r["Id"]))

    def distributors_first(self) -> list[str]:
        """Distributors holding an offer (by id), then the others."""
        holding = {r.get("PartnerAccountId") for r in self.pushed_offers()}
        return sorted(self.distributors, key=lambda d: (d not in holding, d))

    def play(self, loop: Loop, event: str, n: int) -> str:
        """Do one event; return what was done (for the failure message)."""
        org = self.org
        if event in ("accept", "reject"):
            # A rejects (its lead goes to the pool); distributors accept (and hand down)
            offers = self.pushed_offers([self.a] if event == "reject" else self.distributors_first())
            if not offers:
                return f"{event}: no offer to answer"
            lead = offers[n % len(offers)]
            values = ({"Partner_Response__c": "Accepted"} if event == "accept" else
                      {"Partner_Response__c": "Rejected", "Rejection_Reason_Code__c": "No capacity",
                       "Rejection_Reason__c": "No capacity"})
            org.update("Lead", lead["Id"], values, as_user=lead["OwnerId"])
            return f"{event}: {lead['Id']} by {lead['OwnerId']} of {lead.get('PartnerAccountId')}"
        if event == "pickup":
            picker, partner = (self.rep_a, self.a) if n % 2 == 0 else (self.rep_b, self.b)
            in_pool = self.leads(OwnerId=self.pool)
            taken = [r for r in self.leads(Routing_Status__c="Accepted")
                     if r.get("PartnerAccountId") in (self.a, self.b) and r["OwnerId"] in (self.rep_a, self.rep_b)]
            candidates = sorted(in_pool, key=lambda r: r["Id"]) + sorted(taken, key=lambda r: r["Id"])
            candidates = [dict(r) for r in candidates if r["OwnerId"] != picker]
            if not candidates:
                return "pickup: nothing in the pool"
            lead = candidates[(n // 2) % len(candidates)]
            org.update("Lead", lead["Id"], {"OwnerId": picker}, as_user=picker)
            return f"pickup: {lead['Id']} (owner was {lead['OwnerId']}) by {picker} of {partner}"
        if event in ("takeover", "do_not_route", "delete"):
            routed = sorted((dict(r) for r in self.leads() if r.get("Routing_Status__c") not in (None, "Released")),
                            key=lambda r: r["Id"])
            if not routed:
                return f"{event}: no routed lead"
            lead = routed[n % len(routed)]
            if event == "takeover":
                org.update("Lead", lead["Id"], {"OwnerId": self.admin}, as_user=self.admin)
            elif event == "do_not_route":
                org.update("Lead", lead["Id"], {"Do_Not_Route__c": True}, as_user=self.admin)
            else:
                org.delete("Lead", lead["Id"], as_user=self.admin)
            return f"{event}: {lead['Id']} ({lead.get('Routing_Status__c')}, owner {lead['OwnerId']})"
        if event == "pause":
            holding = sorted({r["PartnerAccountId"] for r in self.pushed_offers() if r.get("PartnerAccountId")})
            holding = holding or [self.a]
            partner = holding[n % len(holding)]
            org.update("Account", partner, {"Routing_Paused__c": True}, as_user=self.admin)
            return f"pause: {partner}"
        if event == "cyclic_parent":
            d = self.distributors_first()[(n // 2) % len(self.distributors)]
            children = sorted(a["Id"] for a in org.records("Account") if a.get("ParentId") == d)
            if n % 2 == 0 or not children:
                org.update("Account", d, {"ParentId": d}, as_user=self.admin)
                return f"cyclic_parent: {d} is its own parent"
            org.update("Account", d, {"ParentId": children[0]}, as_user=self.admin)
            return f"cyclic_parent: {d} -> {children[0]} -> {d}"
        assert event == "lapse"
        return "lapse: the clock moves past every open deadline"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import sandbox

    tmp = tmp_path_factory.mktemp("lifecycle-properties")
    sb = sandbox.start(tmp / "org", seed="demo", partners=40, leads=60, random_seed=3, autosave=None)
    try:
        yield World(sb, tmp)
    finally:
        sb.stop()


def check(loop: Loop, done: list[str]) -> dict[str, int]:
    view = il.OrgView.from_org(loop.sb.org)
    violations = il.audit(view)
    assert not any(violations.values()), f"after {' → '.join(done)}: {il.explain(violations)}"
    return il.coverage(view)


def play_through(world: World, events: list[tuple[str, int]]) -> Counter[str]:
    """First routing, then each event and one connector cycle, the invariants checked
    after every cycle. Returns what the connector's jobs did, summed."""
    loop = world.fresh_loop()
    did: Counter[str] = Counter()
    try:
        done = ["first routing"]
        loop.cycle(partners_act=False)
        check(loop, done)
        for event, n in events:
            done.append(world.play(loop, event, n))
            results = loop.cycle(hours=LAPSE_HOURS if event == "lapse" else 0, partners_act=False)
            for r in results.values():
                did.update(r.counts)
            check(loop, done)
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()
    return did


steps = st.lists(st.tuples(st.sampled_from(EVENTS), st.integers(0, 255)), min_size=3, max_size=7)


@settings(max_examples=8, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(steps)
def test_random_event_sequences_keep_the_lifecycle_promises(world, events):
    play_through(world, events)


def test_the_paths_the_lifecycle_was_built_for_keep_the_promises(world):
    """One sequence that walks every hard path, and proof that it did: A rejects, so its
    lead goes to the pool; A's rep pulls it (barred: put back), B's rep takes it, A's rep
    takes it again (second pick-up: back to B); a distributor whose ParentId is itself
    accepts (no hand-down to itself), another hands down, ParentIds loop A→B→A, offers
    and the pool lapse; a partner pauses; a person takes one lead, ticks Do_Not_Route on
    another, deletes a third."""
    did = play_through(world, [
        ("reject", 0), ("pickup", 0), ("pickup", 1), ("pickup", 0),
        ("cyclic_parent", 0), ("accept", 0), ("accept", 0), ("cyclic_parent", 1),
        ("lapse", 0), ("takeover", 0), ("lapse", 0), ("pause", 0), ("do_not_route", 2), ("delete", 1)])
    walked = dict(did)
    assert did["rejected_then_pool"] == 1 and did["pickup_refused_barred"] == 1, walked
    assert did["accepted_from_pool"] == 1 and did["second_pickup_undone"] == 1, walked
    assert did["released_person_takes_over"] == 1 and did["released_do_not_route"] == 1, walked
    assert did["redistributed"] > 0 and any(k.startswith("accepted_then_hand_down") for k in did), walked


def test_the_checks_see_a_broken_promise(world):
    """The invariants are not vacuous: break each promise by hand in the org, as a faulty
    connector would, and each check names the lead."""
    loop = world.fresh_loop()
    try:
        loop.cycle(partners_act=False)
        org, me = world.org, world.org.integration_user_id
        a_leads = [r for r in world.pushed_offers() if r.get("PartnerAccountId") == world.a]
        assert len(a_leads) >= 3, "North American leads go to A first"
        barred, mismatched, ignored = (r["Id"] for r in a_leads[:3])
        rep_b = world.rep_b
        # (a) A's offer ends (the connector moves it on), then the connector hands it back to A
        org.update("Lead", barred, {"OwnerId": rep_b, "PartnerAccountId": world.b}, as_user=me)
        org.update("Lead", barred, {"OwnerId": world.rep_a, "PartnerAccountId": world.a,
                                    "Routing_Status__c": "Accepted"}, as_user=me)
        # (b) owner a rep of B, partner A
        org.update("Lead", mismatched, {"OwnerId": rep_b}, as_user=me)
        # (c) a person takes the lead and nobody says so
        org.update("Lead", ignored, {"OwnerId": world.admin}, as_user=world.admin)
        found = il.audit(il.OrgView.from_org(org))
        assert [v.lead_id for v in found["barred_partner_got_lead_back"]] == [barred]
        assert world.a in found["barred_partner_got_lead_back"][0].why
        assert mismatched in [v.lead_id for v in found["owner_partner_inconsistent"]]
        assert [v.lead_id for v in found["takeover_not_released"]] == [ignored]
        # ... and the connector's next cycle mends the takeover: the Lead says Released
        loop.cycle(partners_act=False)
        assert il.takeover_not_released(il.OrgView.from_org(org)) == []
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


def test_a_distributor_getting_its_handed_down_lead_back_is_not_a_bar(world):
    """The stated hand-back policy: accepted by a distributor, offered to its reseller,
    rejected there, back with the distributor — allowed; the reseller is barred."""
    org, me = world.org, world.org.integration_user_id
    org.restore(copy.deepcopy(world.baseline))
    d = world.distributors[0]
    reseller = next(a["Id"] for a in org.records("Account") if a.get("ParentId") == d)
    rep_of = {u["AccountId"]: u["Id"] for u in org.records("User") if u.get("AccountId") and u.get("IsActive")}
    lead = next(iter(world.leads()))["Id"]
    org.update("Lead", lead, {"OwnerId": rep_of[d], "PartnerAccountId": d, "Routing_Status__c": "Offered"}, as_user=me)
    org.clock.advance(timedelta(hours=1))  # d accepts; the connector hands it down
    org.update("Lead", lead, {"OwnerId": rep_of[reseller], "PartnerAccountId": reseller}, as_user=me)
    org.clock.advance(timedelta(hours=1))  # the reseller rejects; back to d
    org.update("Lead", lead, {"OwnerId": rep_of[d], "PartnerAccountId": d, "Routing_Status__c": "Accepted"},
               as_user=me)
    assert il.barred_got_back(il.OrgView.from_org(org)) == []
    org.clock.advance(timedelta(hours=1))  # ... but the reseller may not have it again
    org.update("Lead", lead, {"OwnerId": rep_of[reseller], "PartnerAccountId": reseller}, as_user=me)
    (v,) = il.barred_got_back(il.OrgView.from_org(org))
    assert v.lead_id == lead and reseller in v.why


def test_an_admin_reading_over_soql_sees_what_the_org_holds(world):
    """The bench reads the org over SOQL (simple-salesforce), as an admin would; that view
    finds the same writes, the same ended offers and the same breaches as the in-process one."""
    from tests.conftest import salesforce_client

    play_through(world, [("reject", 0), ("pickup", 0), ("takeover", 3)])
    org = world.org
    a_lead = next(r["Id"] for r in world.pushed_offers([world.a]) if r.get("PartnerAccountId") == world.a)
    org.update("Lead", a_lead, {"OwnerId": world.rep_b}, as_user=org.integration_user_id)  # (b) broken on purpose
    sf = salesforce_client(world.sb)
    try:
        over_soql = il.OrgView.from_soql(sf.query_all, world.sb.connection["username"])
    finally:
        sf.session.close()
    in_process = il.OrgView.from_org(org)
    assert over_soql.integration_user_id == org.integration_user_id
    assert il.coverage(over_soql) == il.coverage(in_process)
    assert il.coverage(over_soql)["offers_ended"] >= 2 and il.coverage(over_soql)["leads_a_person_touched"] == 1
    assert il.audit(over_soql) == il.audit(in_process)
    assert [v.lead_id for v in il.owner_partner_mismatch(over_soql)] == [a_lead]


def test_a_channel_manager_assigning_an_escalated_lead_to_a_partner_rep_leaves_it_consistent(world):
    loop = world.fresh_loop()
    try:
        loop.cycle(partners_act=False)
        escalated = sorted(r["Id"] for r in world.leads(Routing_Status__c="Escalated"))
        assert escalated, "the seed has leads no partner covers"
        lead_id = escalated[0]
        world.org.update("Lead", lead_id, {"OwnerId": world.rep_b}, as_user=world.admin)
        loop.cycle(partners_act=False)
        lead = world.org.get("Lead", lead_id)
        assert lead["Routing_Status__c"] == "Released" and lead["OwnerId"] == world.rep_b
        check(loop, ["first routing", f"a channel manager assigns escalated {lead_id} to B's rep {world.rep_b}"])
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


def test_a_pool_pick_up_and_a_do_not_route_tick_in_one_cycle_leave_the_lead_consistent(world):
    loop = world.fresh_loop()
    try:
        loop.cycle(partners_act=False)
        done = ["first routing", world.play(loop, "reject", 0)]
        loop.cycle(partners_act=False)
        (lead_id,) = [r["Id"] for r in world.leads(OwnerId=world.pool)]
        world.org.update("Lead", lead_id, {"OwnerId": world.rep_b}, as_user=world.rep_b)
        world.org.update("Lead", lead_id, {"Do_Not_Route__c": True}, as_user=world.admin)
        done.append(f"B's rep takes {lead_id} from the pool and a person ticks Do_Not_Route__c")
        loop.cycle(partners_act=False)
        assert world.org.get("Lead", lead_id)["Routing_Status__c"] == "Released"
        check(loop, done)
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()


def test_an_answer_and_a_takeover_in_one_cycle_leave_the_lead_telling_the_truth(world):
    loop = world.fresh_loop()
    try:
        loop.cycle(partners_act=False)
        lead = world.pushed_offers([world.a])[0]
        world.org.update("Lead", lead["Id"], {"Partner_Response__c": "Accepted"}, as_user=lead["OwnerId"])
        world.org.update("Lead", lead["Id"], {"OwnerId": world.admin}, as_user=world.admin)
        loop.cycle(partners_act=False)
        check(loop, ["first routing", f"{lead['OwnerId']} accepts {lead['Id']}, then a person takes it over"])
    finally:
        loop.cx.client.close()
        loop.cx.store.dispose()

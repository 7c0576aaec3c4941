"""The pool alert end to end: a lead put into a pool reaches the reps of the pool's members
as a pushed offer reaches its rep — once per offer, through the same emailSimple action,
saying it is a pool lead the first to accept gets, and by when. Partners in the field do not
watch list views. A member the lead is not for (barred, at its cap, not admitted by the
pool's rule) is not told of it: its pick-up would be undone."""
from __future__ import annotations

from collections import Counter

import pytest

from sandbox.simulator import Profile
from tests.emails import lead_of

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
POOL_ALERTS = {"notifications": {"mode": "email", "offer_alert": "email", "pool_alert": "members"}}


def alerts(org, lead_id: str | None = None) -> list:
    return [n for n in org.notifications.all("emailSimple")
            if lead_of(n) and lead_id in (None, lead_of(n))]


def admitted_member_reps(loop, queue_id: str, lead_id: str) -> dict[str, set[str]]:
    """{partner: its active reps in the queue} of the pool's members that cover the lead's
    country or state: those the test rules' pool rule (coverage only) admits for it."""
    sb = loop.sb.org
    lead = loop.cx.mappings.lead_converter()(sb.get("Lead", lead_id))
    places = {p for p in (lead.country, lead.state) if p}
    out: dict[str, set[str]] = {}
    for m in sb.table("GroupMember").values():
        user = sb.get("User", m["UserOrGroupId"]) if str(m["UserOrGroupId"]).startswith("005") else None
        if m["GroupId"] != queue_id or m["IsDeleted"] or not user or not user["IsActive"]:
            continue
        coverage = {c.strip() for c in (sb.get("Account", user["AccountId"]).get("Coverage__c") or "").split(";")}
        if places & coverage:
            out.setdefault(user["AccountId"], set()).add(user["Id"])
    return out


def pool_offers(loop) -> dict[str, dict]:
    return {lead: o for lead, o in loop.live().items() if o["kind"] == "pool"}


def test_each_admitted_members_reps_hear_of_a_pool_lead_once(org, make_loop):
    loop = make_loop(org, pools=True, settings=POOL_ALERTS)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    pooled = pool_offers(loop)
    assert pooled, "the test rules pool North American leads"
    for lead_id, offer in pooled.items():
        members = admitted_member_reps(loop, offer["queue_id"], lead_id)
        told = Counter(n.inputs["recipientId"] for n in alerts(org, lead_id))
        assert set(told) == set().union(*members.values()), lead_id
        assert max(told.values()) == 1, f"a rep was emailed the pool lead {lead_id} twice"
    loop.cycle(hours=1)
    loop.cycle(hours=1)
    again = Counter((lead_of(n), n.inputs["recipientId"]) for n in alerts(org)
                    if lead_of(n) in pooled)
    assert max(again.values()) == 1, "a later run told a pool member of the same offer again"


def test_a_pool_alert_says_the_first_to_accept_gets_the_lead_and_by_when(org, make_loop):
    loop = make_loop(org, pools=True, settings=POOL_ALERTS)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    lead_id, offer = sorted(pool_offers(loop).items())[0]
    [first, *_] = [n for n in alerts(org, lead_id)]
    body = first.inputs["emailBody"]
    assert "pool" in first.inputs["emailSubject"].lower() or "pool" in body.lower()
    assert "first" in body.lower() and "accept" in body.lower()
    assert f"{offer['deadline']:%Y-%m-%d %H:%M} UTC" in body
    assert f"/lightning/r/Lead/{lead_id}/view" in body


def _members_told_after(org, make_loop, change: dict) -> tuple[str, set[str], set[str]]:  # noqa: ANN001
    """A North American pool lead several members are admitted for: `change` made on the
    first member's Account, then one cycle. (that member, the other members, those told)."""
    loop = make_loop(org, pools=True, settings=POOL_ALERTS)
    queue = loop.queue_id("Partner_Pool_NA")
    shared = [(lead["Id"], m) for lead in org.org.records("Lead") if lead.get("Country") in ("US", "CA", "MX")
              and len(m := admitted_member_reps(loop, queue, lead["Id"])) >= 2]
    assert shared, "the seeded org has North American leads several members cover"
    lead_id, members = shared[0]
    changed, *others = sorted(members)
    org.org.update("Account", changed, change)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    assert pool_offers(loop)[lead_id]["queue_id"] == queue
    told = {loop.partner_of_rep(n.inputs["recipientId"]) for n in alerts(org, lead_id)}
    return changed, set(others), told


def test_a_member_at_its_capacity_is_not_told_of_a_pool_lead(org, make_loop):
    """Caps keep the connector from pushing more on a partner; telling it of a pool lead
    is pushing one. It may still pick the lead up from its list view."""
    full, others, told = _members_told_after(org, make_loop, {"Capacity__c": 0})  # no open offer more
    assert full not in told, "the member at its capacity was told of a pool lead"
    assert told == others


def test_a_paused_member_is_not_told_of_a_pool_lead(org, make_loop):
    """Routing_Paused__c stops the connector pushing leads on a partner (an admin's hold:
    holidays, a dispute); an email about a pool lead is one. Its reps may still pick the
    lead up from the queue's list view."""
    paused, others, told = _members_told_after(org, make_loop, {"Routing_Paused__c": True})
    assert paused not in told, "a paused member was told of a pool lead"
    assert told == others


def test_pool_alerts_stay_off_for_a_config_written_before_them(org, make_loop):
    """An existing config has no pool_alert: its pool members hear nothing new (a Flow may
    tell them already, and every pool lead would email every member's reps)."""
    loop = make_loop(org, pools=True, settings={"notifications": {"mode": "email"}})
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    pooled = pool_offers(loop)
    assert pooled and not [n for n in alerts(org) if lead_of(n) in pooled]


def test_a_state_rebuilt_from_the_org_does_not_alert_open_pool_offers_again(org, make_loop):
    loop = make_loop(org, pools=True, settings=POOL_ALERTS)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    told = len(alerts(org))
    assert told and pool_offers(loop)
    rebuilt = make_loop(org, pools=True, settings=POOL_ALERTS, name="rebuilt")  # the state file lost
    rebuilt.cycle(hours=1)
    assert pool_offers(rebuilt), "the rebuilt state carries the open pool offers on"
    assert len(alerts(org)) == told, "a rebuilt state told the pools' members again"


def test_a_member_that_declined_the_lead_is_not_told_of_it_again(org, make_loop):
    """A pool member's rep rejected the pool lead: that partner is barred from it. Were the
    lead pooled again (its offer's write confirmed once more), that member is left out."""
    from jobs import alerts as al
    from jobs.state.schema import leads as table

    from .test_outsider_answer_e2e import save_as
    from .test_portal_answer_e2e import ANSWERS

    loop = make_loop(org, pools=True, settings=POOL_ALERTS)
    org.simulator.set_profile("*", NEVER_ANSWER)
    loop.cycle()
    shared = [(lead, o, m) for lead, o in sorted(pool_offers(loop).items())
              if len(m := admitted_member_reps(loop, o["queue_id"], lead)) >= 2]
    assert shared, "a pool lead several members are admitted for"
    lead_id, offer, members = shared[0]
    decliner, *others = sorted(members)
    rep = sorted(members[decliner])[0]
    assert save_as(org, rep, lead_id, ANSWERS["reject_out_of_territory"]["fields"]).status_code == 204
    loop.cycle(partners_act=False)
    with loop.cx.store.connect() as conn:
        record = conn.execute(table.select().where(table.c.lead_id == lead_id)).mappings().one()["record"]
    live = loop.live()[lead_id]
    cx = loop.cx
    [(reps, left_out)] = al.pool_members(cx, cx.routing(), org.clock.now(), [(live, record)],
                                          cx.mappings.lead_converter()).values()
    assert not set(reps) & members[decliner], "the member that declined the lead was told of it"
    assert set(reps) == set().union(*(members[p] for p in others))
    assert left_out.get("barred (it rejected the lead or let it lapse)") == 1


def test_a_deposed_leader_whose_answer_comes_late_does_not_tell_the_pool_again(org, make_loop):
    """Active/standby on one state: the standby confirmed the old leader's pool writes and told
    the members. The old leader's late answer announces nothing more: one claim per offer."""
    from connector.writes import WriteResult
    from jobs import alerts as al
    from jobs import outbox
    from jobs.state.schema import outbox as table

    standby = make_loop(org, pools=True, settings=POOL_ALERTS)
    old = make_loop(org, pools=True, settings=POOL_ALERTS, name="state")
    org.simulator.set_profile("*", NEVER_ANSWER)
    org.faults.plan("lost_answer", endpoint="PATCH composite/sobjects", count=50)
    standby.cycle(raise_errors=False)
    org.faults.clear()
    told = len(alerts(org))
    with old.cx.store.connect() as conn:
        batch = [dict(r) for r in conn.execute(table.select().where(table.c.purpose == "pool")).mappings()]
    assert told and batch
    assert {e["lead_id"] for e in batch} <= {lead_of(n) for n in alerts(org)}
    now = org.clock.now()
    outbox.settle(old.cx, batch, [WriteResult(e["lead_id"], True, "ok") for e in batch], now, {})
    al.send_offer_alerts(old.cx, now, batch)
    assert len(alerts(org)) == told, "the pool's members were emailed the same lead a second time"

"""An accepted lead a person moved (its owner changed by someone of the org, not a rep of
the partner) while the state was lost: the rebuilt state must record what the running
connector would have — a person's takeover: Released, the reason naming who, the partner
matching the new owner, the acceptance over — not an acceptance still followed up on a
lead the partner no longer has. Two identical orgs, the same acceptances and moves: one
connector keeps its state, the other's is lost just before the moves are read."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.state.schema import leads as LEADS
from sandbox.simulator import Profile

from .conftest import pool_members_covering
from .test_escalation_queue_gone_e2e import _admin
from .test_outsider_answer_e2e import save_as
from .test_portal_answer_e2e import ANSWERS

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
START = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def _accept_two(sb, loop, pools: bool) -> list[str]:
    """Two leads accepted by a rep of their partner: offers accepted, or pool leads picked up."""
    taken: list[str] = []
    for lead_id, offer in sorted(loop.live().items()):
        if offer["kind"] == "offer" and not pools:
            rep = offer["rep_id"]
        elif offer["kind"] == "pool" and pools:
            reps = pool_members_covering(loop, offer["queue_id"], lead_id)
            if not reps:
                continue
            rep = sorted(reps.items())[0][1]
        else:
            continue
        fields = {**ANSWERS["accept"], **({"OwnerId": rep} if pools else {})}
        assert save_as(sb, rep, lead_id, fields).status_code == 204
        taken.append(lead_id)
        if len(taken) == 2:
            return taken
    pytest.skip("fewer than two leads to accept in this org")


def _moved(sb, pools: bool, lose: bool, make_loop, owner_tracked: bool = True):
    if not owner_tracked:  # the org keeps no Owner history (or it was purged, past its retention)
        sb.org.set_history_tracking("Lead", {"OwnerId": False})
    sb.simulator.set_profile("*", NEVER_ANSWER)
    loop = make_loop(sb, name=f"first-{pools}-{lose}", pools=pools)
    loop.cycle(partners_act=False)
    taken = _accept_two(sb, loop, pools)
    loop.cycle(hours=1, partners_act=False)
    assert {sb.org.get("Lead", i)["Routing_Status__c"] for i in taken} == {"Accepted"}
    # a person of the org takes one accepted lead for themself, and gives the other to a
    # rep of another partner
    admin = _admin(sb, loop)
    sb.clock.advance(timedelta(minutes=10))
    sb.org.update("Lead", taken[0], {"OwnerId": admin}, as_user=admin)
    other = next(u["Id"] for u in sorted(sb.org.table("User").values(), key=lambda u: u["Id"])
                 if u["IsActive"] and u.get("AccountId")
                 and u["AccountId"] != sb.org.get("Lead", taken[1])["PartnerAccountId"])
    sb.org.update("Lead", taken[1], {"OwnerId": other}, as_user=admin)
    if lose:
        loop = make_loop(sb, name=f"rebuilt-{pools}", pools=pools)
    loop.cycle(partners_act=False)
    leads = {i: sb.org.get("Lead", i) for i in taken}
    with loop.cx.store.connect() as conn:
        states = {r.lead_id: r.state for r in conn.execute(LEADS.select().where(LEADS.c.lead_id.in_(taken)))}
    return ({i: (r["Routing_Status__c"], r["OwnerId"], r["PartnerAccountId"], r["Routing_Reason__c"])
             for i, r in leads.items()}, states, {i: [o["status"] for o in loop.offers(i)] for i in taken})


@pytest.mark.parametrize("pools, owner_tracked", [(False, True), (True, True), (False, False)],
                         ids=["offered", "pooled", "offered-owner-history-untracked"])
def test_an_accepted_lead_a_person_moved_while_the_state_was_lost_is_taken_over_as_with_the_state_kept(
        sandbox_factory, make_loop, pools, owner_tracked):
    kept, rebuilt = (_moved(sandbox_factory(seed="demo", partners=40, leads=60, random_seed=3, start_at=START),
                            pools, lose, make_loop, owner_tracked) for lose in (False, True))
    kept_leads, kept_state, _ = kept
    rebuilt_leads, rebuilt_state, rebuilt_offers = rebuilt
    assert {s for s, *_ in kept_leads.values()} == {"Released"}, kept_leads
    assert set(kept_state.values()) == {"released"}, kept_state
    assert rebuilt_leads == kept_leads, "the rebuilt state did not take the person's move as the running one did"
    assert rebuilt_state == kept_state
    assert all("accepted" not in s for s in rebuilt_offers.values()), rebuilt_offers

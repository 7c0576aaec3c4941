"""The checker behind every figure: it must see a double offer, a lost lead and a
cross-partner tag when there is one, or its zeros mean nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.state import Store
from jobs.state import offers as of

from .invariants import baseline, check, offers_in_history

pytestmark = [pytest.mark.reliability, pytest.mark.xdist_group("reliability")]

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
US = timedelta(microseconds=5)


def test_an_owner_change_counts_as_an_offer_only_when_it_leaves_the_lead_offered():
    rows = [
        (T0, "Owner", "005A"), (T0 + US, "Routing_Status__c", "Offered"),  # first offer
        (T0 + timedelta(hours=1), "Owner", "005B"),  # redistribution: status stays Offered
        (T0 + timedelta(hours=2), "Owner", "005A"),  # hand back to a partner that accepted
        (T0 + timedelta(hours=2) + US, "Routing_Status__c", "Accepted"),
        (T0 + timedelta(hours=3), "Owner", "00GESC"), (T0 + timedelta(hours=3) + US, "Routing_Status__c", "Escalated"),
    ]
    assert offers_in_history(rows) == ["005A", "005B"]


def partner_reps(org) -> list[tuple[str, str]]:
    """(rep id, partner id) for two reps of two different partners."""
    seen: dict[str, str] = {}
    for u in org.records("User"):
        if u.get("AccountId") and u.get("IsActive") and u["AccountId"] not in seen.values():
            seen[u["Id"]] = u["AccountId"]
        if len(seen) == 2:
            break
    return list(seen.items())


def test_checker_finds_a_double_offer_a_lost_lead_and_a_cross_partner_tag(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed="demo", partners=12, leads=4, random_seed=1)
    org = sb.org
    base = baseline(org)
    twice, lost, crossed, fine = sorted(base.routable)
    (rep_a, partner_a), (rep_b, partner_b) = partner_reps(org)
    store = Store(f"sqlite:///{tmp_path}/state.sqlite")

    us = org.integration_user_id  # these edits stand for the connector's own writes

    # `twice`: offered to A, then B, then A again — in the org and in the state
    org.update("Lead", twice, {"OwnerId": rep_a, "PartnerAccountId": partner_a, "Routing_Status__c": "Offered"}, as_user=us)
    org.update("Lead", twice, {"OwnerId": rep_b, "PartnerAccountId": partner_b}, as_user=us)
    org.update("Lead", twice, {"OwnerId": rep_a, "PartnerAccountId": partner_a}, as_user=us)
    # `crossed`: A's rep owns it, B is tagged
    org.update("Lead", crossed, {"OwnerId": rep_a, "PartnerAccountId": partner_b, "Routing_Status__c": "Offered"},
               as_user=us)
    # `fine`: one offer, live in the state, shown in the org
    org.update("Lead", fine, {"OwnerId": rep_b, "PartnerAccountId": partner_b, "Routing_Status__c": "Offered"},
               as_user=us)
    with store.begin() as conn:
        for i, (partner, rep, status) in enumerate([(partner_a, rep_a, "rejected"), (partner_b, rep_b, "lapsed"),
                                                    (partner_a, rep_a, "live")]):
            of.insert_offer(conn, lead_id=twice, kind="offer", partner_id=partner, rep_id=rep, owner_id=rep,
                            attempt=i + 1, offered_at=T0, status=status)
        of.insert_offer(conn, lead_id=crossed, kind="offer", partner_id=partner_a, rep_id=rep_a, owner_id=rep_a,
                        attempt=1, offered_at=T0, status="live")
        of.insert_offer(conn, lead_id=fine, kind="offer", partner_id=partner_b, rep_id=rep_b, owner_id=rep_b,
                        attempt=1, offered_at=T0, status="live")

    verdict = check(org, store, base)
    store.dispose()
    assert [v.split(":")[0] for v in verdict.offered_twice] == [twice, twice]  # state and org history
    assert [v.split(":")[0] for v in verdict.lost] == [lost]
    assert [v.split(":")[0] for v in verdict.cross_partner] == [crossed]
    assert verdict.live_offers == 3 and not verdict.sound
    with pytest.raises(AssertionError, match="offered twice"):
        verdict.assert_sound()

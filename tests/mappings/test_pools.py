"""Pools: queues, their GroupMember rows and the reps behind them."""
from __future__ import annotations

from mappings import load_mappings
from mappings.sfid import to18
from rules.model import Pool, Rep

NA = to18("00G5g0000000001")
EMEA = to18("00G5g0000000002")
P1, P2 = "0015g0000000001AAA", "0015g0000000002AAA"
R1, R2, R3 = "0055g0000000001AAA", "0055g0000000002AAA", "0055g0000000003AAA"
INSIDE = "0055g0000000009AAA"


def test_a_pool_is_the_active_partner_reps_among_a_queues_members():
    ms = load_mappings()
    queues = [{"Id": NA, "Name": "Partner Pool NA", "DeveloperName": "Partner_Pool_NA"},
              {"Id": EMEA, "Name": "Partner Pool EMEA", "DeveloperName": "Partner_Pool_EMEA"}]
    members = [{"GroupId": NA, "UserOrGroupId": R1}, {"GroupId": NA, "UserOrGroupId": R2[:15]},
               {"GroupId": NA, "UserOrGroupId": INSIDE}, {"GroupId": NA, "UserOrGroupId": R3},
               {"GroupId": to18("00G5g0000000099"), "UserOrGroupId": R1}]
    reps = [Rep(id=R1, partner_id=P1), Rep(id=R3, partner_id=P2, active=False),
            {"Id": R2, "AccountId": P2, "IsActive": True}]
    pools = ms.pool_builder(queues, members, reps)
    assert pools == [
        Pool(id=NA, name="Partner Pool NA", developer_name="Partner_Pool_NA",
             member_rep_ids=frozenset({R1, R2}), member_partner_ids=frozenset({P1, P2})),
        Pool(id=EMEA, name="Partner Pool EMEA", developer_name="Partner_Pool_EMEA"),
    ]


def test_bad_rows_are_reported_not_dropped_silently():
    ms = load_mappings()
    heard = []
    pools = ms.pool_builder([{"Id": "not-an-id", "Name": "x"}], [{"GroupId": NA, "UserOrGroupId": None}],
                            [{"Id": R1, "AccountId": None}], warn=lambda rid, msg: heard.append((rid, msg)))
    assert pools == []
    assert heard == [(R1, "AccountId: required, but empty"),
                     ("not-an-id", 'Id: not a Salesforce id (15 or 18 letters and digits): "not-an-id"'),
                     (None, "UserOrGroupId: required, but empty")]

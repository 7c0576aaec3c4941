"""A state rebuilt from the org dates each acceptance when the partner's rep accepted (the
LeadHistory row that set the answer to Accepted), as the live state did, not at the lead's
last save: a rep who edits the lead a day later must not push its follow-up back by a day.
Where the org's history does not say (its fields not tracked when the lead was accepted),
the lead's LastModifiedDate is taken, and the log says so once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from sandbox.simulator import Profile

pytestmark = pytest.mark.e2e

NEVER_ANSWER = Profile("never answers", accept=0.0, reject=0.0, delay_hours=(0.1, 0.2))
ALWAYS_ACCEPT = Profile("always accept", accept=1.0, reject=0.0, delay_hours=(0.1, 0.2))


def accepted(loop) -> dict[str, dict]:
    """{lead id: its accepted offer} in this loop's state."""
    out = {}
    for lead_id in {r["Id"] for r in loop.sb.org.records("Lead")}:
        for o in loop.offers(lead_id):
            if o["status"] == "accepted":
                out[lead_id] = o
    return out


@pytest.fixture
def worked(org, make_loop):
    """Offers accepted by the partners' reps, each lead edited by its rep a day later."""
    org.simulator.set_profile("*", ALWAYS_ACCEPT)
    loop = make_loop(org)
    loop.cycle()
    loop.cycle(hours=1)
    org.simulator.set_profile("*", NEVER_ANSWER)
    taken = {lid: o for lid, o in accepted(loop).items() if org.org.get("Lead", lid)["Routing_Status__c"] == "Accepted"}
    assert len(taken) >= 5
    org.clock.advance(timedelta(days=1))
    for lead_id, offer in taken.items():
        org.org.update("Lead", lead_id, {"Title": "Head of IT"}, as_user=offer["accepted_by"])
    return loop, taken


def test_a_rebuilt_acceptance_is_dated_when_the_rep_accepted_not_at_the_reps_later_edit(org, make_loop, worked):
    loop, taken = worked
    fresh = make_loop(org, name="fresh")  # the state file is gone
    with capture_logs() as logs:
        fresh.cycle(partners_act=False)
    rebuilt = accepted(fresh)
    assert set(rebuilt) >= set(taken)
    for lead_id, offer in taken.items():
        assert rebuilt[lead_id]["accepted_at"] == offer["accepted_at"], lead_id
    assert not [e for e in logs if e["event"] == "accepted_at_not_in_history"]


def test_without_history_of_the_acceptance_the_last_save_dates_it_and_the_log_says_so_once(org, make_loop, worked):
    """The org began tracking these fields' history after the leads were accepted: LeadHistory
    holds no row of the answer, nor of the routing status, set to Accepted."""
    loop, taken = worked
    history = org.org.table("LeadHistory")
    untracked = sorted(taken)[:3]
    for hid, row in list(history.items()):
        if row["LeadId"] in untracked and row["Field"] in ("Partner_Response__c", "Routing_Status__c") \
                and row["NewValue"] == "Accepted":
            del history[hid]
    fresh = make_loop(org, name="fresh")
    with capture_logs() as logs:
        fresh.cycle(partners_act=False)
    rebuilt = accepted(fresh)
    for lead_id, offer in taken.items():
        saved = org.org.get("Lead", lead_id)["LastModifiedDate"]
        saved = saved.replace(microsecond=saved.microsecond // 1000 * 1000)  # as the API gives it: milliseconds
        want = saved if lead_id in untracked else offer["accepted_at"]
        assert rebuilt[lead_id]["accepted_at"] == want, lead_id
    [said] = [e for e in logs if e["event"] == "accepted_at_not_in_history"]
    assert said["log_level"] == "warning" and said["count"] == len(untracked)


def test_without_history_of_the_answer_the_routing_status_set_to_accepted_dates_it(org, make_loop, worked):
    """The answer field's history not tracked: our own routing status Accepted, written when
    the connector read the answer, dates it (a poll interval after the rep at most), not the
    rep's edit a day later."""
    loop, taken = worked
    history = org.org.table("LeadHistory")
    marked = {}
    for hid, row in list(history.items()):
        if row["LeadId"] in taken and row["Field"] == "Partner_Response__c":
            del history[hid]
        elif row["LeadId"] in taken and row["Field"] == "Routing_Status__c" and row["NewValue"] == "Accepted":
            marked[row["LeadId"]] = row["CreatedDate"].replace(microsecond=row["CreatedDate"].microsecond // 1000 * 1000)
    fresh = make_loop(org, name="fresh")
    fresh.cycle(partners_act=False)
    rebuilt = accepted(fresh)
    for lead_id, offer in taken.items():
        if offer["kind"] == "offer":  # (a pool lead's is its rep's taking of the owner)
            assert rebuilt[lead_id]["accepted_at"] == marked[lead_id], lead_id
            assert offer["accepted_at"] <= marked[lead_id] <= offer["accepted_at"] + timedelta(hours=2)

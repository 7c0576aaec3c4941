"""Alpen Systeme never created the queues the shipped rules name (tests/jobs/alpen_org.py,
with its Channel_Escalations and Unassigned_Partner_Leads deleted): the first start is
refused, as README says, and the message must say how to get going — the fix read
"known: Inside_Sales", naming neither creating the queue nor the setting to change."""
from __future__ import annotations

import pytest

from jobs.cli import main

from .alpen_org import alpen_fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def alpen(sandbox_factory, tmp_path, monkeypatch):
    a = alpen_fixture(sandbox_factory, tmp_path, monkeypatch)
    for dev in ("Channel_Escalations", "Unassigned_Partner_Leads"):
        queue = a.queues.pop(dev)
        for link in list(a.org.records("QueueSobject")):
            if link["QueueId"] == queue:
                a.org.delete("QueueSobject", link["Id"])
        a.org.delete("Group", queue)
    return a


def test_a_first_start_in_an_org_without_the_rules_queues_says_how_to_get_going(alpen, capfd):
    a = alpen
    lead = a.new_lead("Noch keine Queues GmbH", "DE")
    capfd.readouterr()
    try:
        code = main(["once", "--init", "--config", str(a.config)])
    except SystemExit as stopped:
        code = stopped.code
    said = " ".join(capfd.readouterr().err.split())
    assert code == 2, said
    for queue, key in (("Channel_Escalations", "escalation_queue"), ("Unassigned_Partner_Leads", "fallback_queue")):
        assert f"unknown queue '{queue}'" in said, said
        assert f"create the queue {queue} (Setup > Queues, supported object Lead)" in said, said
        assert f"name an existing queue in [settings] {key}" in said, said
    assert a.lead(lead)["Zuweisung__c"] is None  # nothing written

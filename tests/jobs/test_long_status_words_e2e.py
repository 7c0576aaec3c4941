"""Routing_Reason__c holds 255 characters. A released lead's reason ends with how to have it
routed again, and the released reasons cut their middle (names, details) so that instruction
fits whole — measured in the shipped words ("set Routing Status to Pending"). The write-back
puts the org's field and word in their place afterwards: an org whose status field and
Pending word are much longer (`Vertriebspartner_Zuweisungsstatus__c`, `Wartet_auf_Verteilung`)
had the text grow past 255 and cut at its end, so the instruction an admin follows was cut
off. The middle gives way instead, with "…", and the instruction stays whole."""
from __future__ import annotations

import pytest

from mappings.textlen import sf_length

from . import alpen_org
from .alpen_org import STATUS, _picklist, alpen_fixture

pytestmark = pytest.mark.e2e

FIELD, PENDING = "Vertriebspartner_Zuweisungsstatus__c", "Wartet_auf_Verteilung"
LABEL = "Vertriebspartner Zuweisungsstatus"  # the field as the Lead's page shows it (alpen_org: its label)


@pytest.fixture
def alpen(sandbox_factory, tmp_path, monkeypatch):
    """Alpen Systeme, whose status picklist has a long name and a long word for Pending."""
    words = [PENDING if v == STATUS["Pending"] else v for v in STATUS.values()]
    fields = {**alpen_org.FIELDS, "Lead": [*alpen_org.FIELDS["Lead"], (FIELD, "Picklist", _picklist(words), True)]}
    monkeypatch.setattr(alpen_org, "FIELDS", fields)
    a = alpen_fixture(sandbox_factory, tmp_path, monkeypatch)
    for name in ("writeback.toml", "lead.toml"):
        path = a.work / "mappings" / name
        text = path.read_text()
        assert 'field = "Zuweisung__c"' in text and '"Ausstehend"' in text
        path.write_text(text.replace('field = "Zuweisung__c"', f'field = "{FIELD}"')
                        .replace('"Ausstehend"', f'"{PENDING}"'))
    return a


def test_a_long_owner_name_gives_way_and_the_orgs_long_instruction_stays_whole(alpen):
    a = alpen
    a.org.update("User", a.admin, {"FirstName": "Maximiliane-Alexandra Konstanze",
                                   "LastName": "von Hohenzollern-Sigmaringen-Wittelsbach und Württemberg-Teck"},
                 system=True)
    lead = a.new_lead("Sehr Lange Firmenbezeichnung Maschinenbau und Anlagentechnik GmbH & Co. KG", "DE")
    a.once(init=True)
    assert a.lead(lead)[FIELD] == "Angeboten"
    a.org.update("Lead", lead, {"OwnerId": a.admin}, as_user=a.admin)  # a person takes it
    a.once(hours=1)
    seen = a.lead(lead)
    assert seen[FIELD] == "Freigegeben", seen
    reason = seen["Routing_Reason__c"]
    assert sf_length(reason) <= 255, reason
    assert reason.endswith(f"; to have it routed again, set {LABEL} to {PENDING}: leadrouter routes it at its next "
                           "run"), reason
    assert reason.startswith("taken over by a person: owner set to Maximiliane") and "…; to have" in reason, reason

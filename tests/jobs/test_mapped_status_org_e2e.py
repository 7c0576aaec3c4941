"""An org that keeps the routing status on its own picklist, in its own words
(tests/jobs/alpen_org.py: `Zuweisung__c`, "Ausstehend" for Pending, mapped both ways as
mappings/README.md says). `once` routes what the org calls Pending; the ops tools must
see the same leads and their words must name what works in this org."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from jobs.cli import main

from .alpen_org import alpen_fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def alpen(sandbox_factory, tmp_path, monkeypatch):
    return alpen_fixture(sandbox_factory, tmp_path, monkeypatch)


def _dry_run(a) -> dict[str, dict]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["dry-run", "--config", str(a.config), "--format", "json"])
    assert code == 0, buf.getvalue()[-2000:]
    return {r["lead_id"]: r for r in json.loads(buf.getvalue())}


def test_dry_run_lists_a_lead_set_to_the_orgs_word_for_pending_as_once_routes_it(alpen):
    a = alpen
    fresh = a.new_lead("Neu vom Webformular", "DE")
    asked = a.new_lead("Bitte routen", "DE", Zuweisung__c="Ausstehend")  # a person's Pending, in the org's word
    rows = _dry_run(a)
    assert fresh in rows
    assert asked in rows, f"dry-run left out the lead set to Ausstehend (the org's Pending): {sorted(rows)}"
    assert rows[asked]["outcome"] == "offer", rows[asked]

    a.once(init=True)
    assert a.lead(asked)["Zuweisung__c"] == "Angeboten"  # once routed it: dry-run showed what once does

"""The integration permission set grants exactly what the connector uses — no more, no less —
and salesforce/README.md documents every grant.

"Used" comes from the shipped mappings (every field each object is read with, the
fields their filters name, every field written back); "granted" from the permission
set's XML. Standard fields follow object permissions, so field grants are compared for
custom fields, and object grants for the objects that need one.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from connector.lease import OBJECT as LEASE_OBJECT
from connector.lease import WRITTEN as LEASE_WRITTEN
from jobs.feedback_account import REVIEW_FIELD, SHOWN_FIELD
from jobs.ratings import RATING_FIELD
from mappings import load_mappings
from mappings.filters import filter_fields

ROOT = Path(__file__).resolve().parents[2]
PERMSET = ROOT / "salesforce/force-app/main/default/permissionsets/LeadRouter_Integration.permissionset-meta.xml"
README = ROOT / "salesforce" / "README.md"
NS = {"m": "http://soap.sforce.com/2006/04/metadata"}
KINDS = ("lead", "partner", "rep", "dealreg", "pool", "pool_member")
# Readable by every API user (README says so): nothing to grant.
OPEN_TO_ALL = {"User", "Group", "GroupMember", "QueueSobject"}


def _bool(node, tag: str) -> bool:
    return (node.findtext(f"m:{tag}", namespaces=NS) or "").strip() == "true"


@pytest.fixture(scope="module")
def granted():
    root = ET.parse(PERMSET).getroot()
    fields = {fp.findtext("m:field", namespaces=NS): (_bool(fp, "readable"), _bool(fp, "editable"))
              for fp in root.findall("m:fieldPermissions", NS)}
    objects = {op.findtext("m:object", namespaces=NS): {tag: _bool(op, tag) for tag in (
        "allowRead", "allowEdit", "allowCreate", "allowDelete", "viewAllRecords", "modifyAllRecords")}
        for op in root.findall("m:objectPermissions", NS)}
    system = {up.findtext("m:name", namespaces=NS) for up in root.findall("m:userPermissions", NS) if _bool(up, "enabled")}
    return fields, objects, system


@pytest.fixture(scope="module")
def used():
    ms = load_mappings(None)
    read: set[str] = set()
    objects: set[str] = set()
    for kind in KINDS:
        sobject = ms.sobject(kind)
        objects.add(sobject)
        names = list(ms.soql_fields(kind)) + (filter_fields(ms.filter(kind)) if ms.filter(kind) else [])
        read |= {f"{sobject}.{n}" for n in names if "." not in n}
    # read outside the mappings, by a query of its own so an org without the field still routes
    read.add(f"{ms.sobject('lead')}.{RATING_FIELD}")
    wb = ms.writeback_sobject()
    written = {f"{wb}.{f}" for f in ms.writeback_fields().values()}
    # on the partner's Account, apart from the mappings (optional: an org without them routes):
    # ops reviews of its feedback, and the adjustments in force in words (jobs/feedback.py)
    written |= {f"{ms.sobject('partner')}.{f}" for f in (REVIEW_FIELD, SHOWN_FIELD)}
    # the org lease (connector/lease.py): its own object, read and written; its required
    # fields (Key__c, Term__c) take no field permission
    written |= {f"{LEASE_OBJECT}.{f}" for f in LEASE_WRITTEN}
    objects.add(LEASE_OBJECT)
    return read | written, written, objects, {wb, ms.sobject("partner"), LEASE_OBJECT}


def _custom(names: set[str]) -> set[str]:
    return {n for n in names if n.endswith("__c")}


def test_every_custom_field_the_connector_reads_is_readable(granted, used):
    fields, _, _ = granted
    read, _, _, _ = used
    missing = sorted(f for f in _custom(read) if not fields.get(f, (False, False))[0])
    assert missing == [], f"used but not granted: {missing}"


def test_every_custom_field_the_connector_writes_is_editable(granted, used):
    fields, _, _ = granted
    _, written, _, _ = used
    missing = sorted(f for f in _custom(written) if not fields.get(f, (False, False))[1])
    assert missing == [], f"written but not editable: {missing}"


def test_no_custom_field_is_granted_that_the_connector_does_not_use(granted, used):
    fields, _, _ = granted
    read, written, _, _ = used
    unused = sorted(set(fields) - _custom(read))
    assert unused == [], f"granted but unused: {unused}"
    needless_edit = sorted(f for f, (_, edit) in fields.items() if edit and f not in written)
    assert needless_edit == [], f"editable but never written: {needless_edit}"


def test_objects_are_granted_exactly_as_used(granted, used):
    _, objects, _ = granted
    _, _, read_objects, written_objects = used
    need = read_objects - OPEN_TO_ALL
    assert all(objects.get(o, {}).get("allowRead") for o in need), f"objects read without a grant: {need - set(objects)}"
    assert all(objects[o]["allowEdit"] for o in written_objects)
    unused = sorted(set(objects) - need)
    assert unused == [], f"objects granted but never read by the connector: {unused}"
    for name, perms in objects.items():
        if name == LEASE_OBJECT:  # its terms are inserted, and old ones deleted, by the connector itself
            assert perms["allowCreate"] and perms["allowDelete"] and perms["modifyAllRecords"], perms
            continue
        assert not perms["allowCreate"], f"{name}: the connector never creates"
        # Salesforce makes Modify All depend on Delete (a deploy refuses one without the
        # other); Modify All already lets the user delete every record, so no more is granted
        assert perms["allowDelete"] == perms["modifyAllRecords"], f"{name}: the connector never deletes"
        if name not in written_objects:
            assert not perms["allowEdit"] and not perms["modifyAllRecords"], f"{name}: the connector never edits it"


def test_the_readme_documents_every_field_grant_with_the_same_access(granted):
    fields, _, _ = granted
    documented: dict[str, bool] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or "__c" not in cells[0] or "." not in cells[0]:
            continue  # not a field row (a custom object's row in the objects table has no dot)
        first, *rest = [n.strip() for n in cells[0].split(",")]
        obj, _, name = first.partition(".")
        for field in [name, *rest]:
            documented[f"{obj}.{field}"] = cells[2] == "✓"
    assert set(documented) == set(fields), (
        f"undocumented: {sorted(set(fields) - set(documented))}; documented but not granted: "
        f"{sorted(set(documented) - set(fields))}")
    wrong = sorted(f for f, edit in documented.items() if fields[f][1] != edit)
    assert wrong == [], f"README's edit column disagrees with the permission set: {wrong}"


def test_the_readme_explains_every_object_and_system_permission(granted):
    _, objects, system = granted
    text = README.read_text(encoding="utf-8")
    for name in objects:
        assert re.search(rf"^\|\s*{name}\s*\|", text, re.M), f"object {name} is not in the README's table"
    for name in system:
        assert f"`{name}`" in text, f"system permission {name} is not explained"

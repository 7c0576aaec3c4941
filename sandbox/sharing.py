"""What a partner (portal) user may see and change of a Lead: record sharing and
field-level security for external users, as a real org applies them to every API call
made with that user's session.

Sharing: the external org-wide default for Lead is Private, as Salesforce sets it. A
partner user reaches a lead they own, a lead owned by a queue they are a member of (a
pool), and — as a partner super user (`User.IsPrmSuperUser`) — a lead owned by another
user of their own partner account. Nothing else: a lead re-offered to another partner
is out of reach of the first partner's reps. `Org.lead_sharing_external = "ReadWrite"`
stands for an org that opened leads to every external user (a sharing rule, or the
external default raised): then the connector's own check is all there is.

Field-level security: custom Lead fields as the shipped `LeadRouter_Partner_Rep`
permission set grants them (a field it does not list is invisible to a rep); standard
fields are editable except the partner relationship (`PartnerAccountId`), which the
channel side sets. A new owner must be the rep, a colleague of the rep's partner
account, or a queue the rep belongs to.

The other objects, for an external user (the external org-wide defaults are Private,
as Salesforce sets them): its own partner account (Read, through its portal role, never
edit) and the contacts on it (Controlled by Parent, read only here); an opportunity it owns
(or, as a super user, one its partner's users own); setup objects (users, groups, queue
members) read but never written, save its own User row — no Manage Users, so a rep cannot
join a queue to see the queue's leads; a custom object the permission set grants no
access to (LeadRouter_Lease__c) is not there at all (describe 404, SOQL INVALID_TYPE,
writes 404 NOT_FOUND); and of Account, only the standard fields (the custom ones are
granted to the integration user only). Reads leave out what is out of reach everywhere:
SOQL and its subqueries, SOSL, retrieve, getUpdated / getDeleted, list views, Bulk API 2.0.

Internal users (UserType Standard) see and change everything, as the integration user's
View All / Modify All give it.
"""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from sandbox.errors import SalesforceError

if TYPE_CHECKING:
    from sandbox.schema import Schema
    from sandbox.store import Org

EXTERNAL_TYPES = frozenset({"PowerPartner", "PowerCustomerSuccess", "CustomerSuccess", "CspLitePortal", "Guest"})
PERMISSION_SET = "LeadRouter_Partner_Rep"
# standard Lead fields no partner user may set, whatever the profile
INTERNAL_ONLY = frozenset({"PartnerAccountId"})
_NS = "{http://soap.sforce.com/2006/04/metadata}"


def external_user(org: Org, user_id: str | None) -> dict | None:
    """The User row when `user_id` is an external (portal) user, else None."""
    if not user_id:
        return None
    user = org.get("User", user_id)
    return user if user is not None and user.get("UserType") in EXTERNAL_TYPES else None


def _queues_of(org: Org, user_id: str) -> frozenset[str]:
    return frozenset(m["GroupId"] for m in org.table("GroupMember").values()
                     if m["UserOrGroupId"] == user_id and not m["IsDeleted"])  # fmt: skip


def lead_filter(org: Org, user: dict) -> Callable[[dict], bool]:
    """A row test: may this external user see the record? A lead (and edit it); a
    LeadHistory row, and a Task on a lead the user does not own, go with the lead; an
    account, a contact, an opportunity as the module says; other rows pass."""
    opened = getattr(org, "lead_sharing_external", "Private") == "ReadWrite"
    me, account = user["Id"], user.get("AccountId")
    queues = _queues_of(org, me)
    colleagues = frozenset(u["Id"] for u in org.table("User").values()
                           if account and u.get("AccountId") == account) if user.get("IsPrmSuperUser") else frozenset()  # fmt: skip

    def visible(row: dict) -> bool:
        prefix = str(row.get("Id", ""))[:3]
        if prefix == "017":  # LeadHistory: readable as far as its lead is
            lead = org.get("Lead", row.get("LeadId") or "")
            return lead is not None and visible(lead)
        if prefix == "00T":  # a Task: its owner's, else controlled by its parents (activities' default)
            if row.get("OwnerId") == me:
                return True
            for parent_id in (str(row.get("WhoId") or ""), str(row.get("WhatId") or "")):
                if parent_id[:3] in ("00Q", "001", "003", "006"):  # a lead, an account, a contact, an opportunity
                    parent = org.lookup(parent_id)
                    if parent is None or not visible(parent[1]):
                        return False
            return True
        if prefix == "001":  # Account: its own partner account, through its portal role
            return bool(account) and row.get("Id") == account
        if prefix == "003":  # Contact: controlled by its account
            return bool(account) and row.get("AccountId") == account
        if prefix == "006":  # Opportunity: Private, as Lead (no queues own opportunities)
            return row.get("OwnerId") == me or row.get("OwnerId") in colleagues
        if prefix != "00Q":
            return True
        if opened:
            return True
        owner = row.get("OwnerId")
        return owner == me or owner in queues or owner in colleagues

    return visible


def _insufficient_access() -> SalesforceError:
    return SalesforceError(400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")


# objects an external user reads (as far as sharing lets it) but never writes: setup
# objects need Manage Users / Customize Application, accounts and contacts are Read to it
_READ_ONLY = frozenset({"Account", "Contact", "User", "Group", "GroupMember", "QueueSobject",
                        "CustomNotificationType", "Organization", "Period", "FiscalYearSettings"})  # fmt: skip
_SHARED = frozenset({"Lead", "LeadHistory", "Task", "Account", "Contact", "Opportunity"})


def _not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def check_object(org: Org, user_id: str | None, sobject: str) -> None:
    """404 for an object the user has no access to at all (a custom object its permission
    sets do not grant), as Salesforce answers a resource that is not there for it."""
    if external_user(org, user_id) is not None and sobject not in _external_schema(org.schema).objects:
        raise _not_found()


def check_read(org: Org, user_id: str | None, sobject: str, record: dict) -> None:
    """404 for a record the external user cannot see (a lead, its history row, a task on it,
    another partner's account…), as Salesforce hides it."""
    user = external_user(org, user_id)
    if user is None:
        return
    check_object(org, user_id, sobject)
    if sobject in _SHARED and not lead_filter(org, user)(record):
        raise _not_found()


def _check_write(org: Org, user: dict, sobject: str, record_id: object) -> None:
    """An external user's write to anything but a Lead or a Task: the object must be there
    for it, a read-only one refused, a record out of its reach refused."""
    check_object(org, user["Id"], sobject)
    if sobject == "User" and record_id == user["Id"]:
        return  # a user edits its own User record (name, email…)
    if sobject in _READ_ONLY:
        raise _insufficient_access()
    record = org.get(sobject, record_id) if isinstance(record_id, str) else None
    if record is not None and sobject in _SHARED and not lead_filter(org, user)(record):
        raise _insufficient_access()


def check_update(org: Org, user_id: str | None, sobject: str, record_id: object, fields: dict) -> None:
    """Refuse an external user's Lead update the org would refuse: a lead out of their
    reach, a field their permissions do not let them edit, an owner outside their partner."""
    user = external_user(org, user_id)
    if user is None:
        return
    if sobject not in ("Lead", "Task"):
        _check_write(org, user, sobject, record_id)
        _check_references(org, user, sobject, fields)
        return
    if not isinstance(record_id, str):
        return
    if sobject == "Task":  # a task the user cannot see, it cannot edit either
        task = org.get("Task", record_id)
        if task is not None and not lead_filter(org, user)(task):
            raise _insufficient_access()
        _check_references(org, user, sobject, fields)
        return
    obj = org.schema.object("Lead")
    record = org.get("Lead", record_id)
    if obj is None or record is None or record["IsDeleted"]:
        return  # the store says NOT_FOUND / MALFORMED_ID / ENTITY_IS_DELETED as usual
    if not lead_filter(org, user)(record):
        raise _insufficient_access()
    readable, editable = partner_field_access()
    hidden, read_only = [], []
    for key in fields:
        f = obj.field(key) if isinstance(key, str) else None
        if f is None or f.name == "Id":
            continue  # the store names an unknown field; the record's own id may be echoed
        if f.custom and f.name not in readable:
            hidden.append(f.name)
        elif (f.custom and f.name not in editable) or f.name in INTERNAL_ONLY:
            read_only.append(f.name)
    if hidden:
        raise SalesforceError(400, "INVALID_FIELD", f"No such column '{hidden[0]}' on sobject of type Lead", hidden[:1])
    if read_only:
        raise SalesforceError(
            400, "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of this "
            f"field and verify that it is read/write for your profile or permission set.", read_only)  # fmt: skip
    owner_key = next((k for k in fields if isinstance(k, str) and k.lower() == "ownerid"), None)
    owner = fields.get(owner_key) if owner_key else None
    if owner_key and owner != record.get("OwnerId"):
        _check_new_owner(org, user, owner)


def check_create(org: Org, user_id: str | None, sobject: str, fields: dict | None = None) -> None:
    """The partner rep permission set grants no Lead create (allowCreate false); no
    external user creates a read-only object's record or one of an object not there for it,
    nor one whose lookups (`fields`) name a record out of its reach."""
    user = external_user(org, user_id)
    if user is None:
        return
    check_object(org, user_id, sobject)
    if sobject == "Lead" or sobject in _READ_ONLY:
        raise _insufficient_access()
    _check_references(org, user, sobject, fields or {})


def _check_references(org: Org, user: dict, sobject: str, fields: dict) -> None:
    """A lookup an external user writes must name a record it can see (a lead, an account…):
    Salesforce answers INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY otherwise. Owners are
    checked apart (_check_new_owner); a malformed or unknown id is the store's to refuse."""
    obj = org.schema.object(sobject)
    if obj is None:
        return
    visible = None
    for key, value in fields.items():
        f = obj.field(key) if isinstance(key, str) else None
        if f is None or f.type != "reference" or f.name == "OwnerId" or not isinstance(value, str) or not value:
            continue
        found = org.lookup(value)
        if found is None or found[0] not in _SHARED:
            continue
        visible = visible or lead_filter(org, user)
        if not visible(found[1]):
            raise SalesforceError(400, "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                                  "insufficient access rights on cross-reference id", [f.name])  # fmt: skip


def check_delete(org: Org, user_id: str | None, sobject: str, record_id: object = None) -> None:
    """The partner rep permission set grants no Lead delete; nor may an external user
    delete what it may not edit."""
    user = external_user(org, user_id)
    if user is None:
        return
    if sobject == "Lead":
        check_object(org, user_id, sobject)
        raise _insufficient_access()
    if sobject != "Task":
        _check_write(org, user, sobject, record_id)
    elif isinstance(record_id, str):
        task = org.get("Task", record_id)
        if task is not None and not lead_filter(org, user)(task):
            raise _insufficient_access()


def _check_new_owner(org: Org, user: dict, owner: object) -> None:
    """A partner user hands a lead only within reach: to themselves (taking it from a pool
    they belong to), a user of their own partner account, or a queue they are in."""
    if not isinstance(owner, str) or len(owner) not in (15, 18):
        return  # the store refuses a malformed id with its own message
    from sandbox import ids

    if not ids.is_valid(owner):
        return
    owner = ids.to18(owner)
    if owner.startswith("00G"):
        if owner in _queues_of(org, user["Id"]):
            return
    else:
        target = org.get("User", owner)
        if target is None or owner == user["Id"] or (user.get("AccountId") and target.get("AccountId") == user["AccountId"]):
            return
    raise SalesforceError(400, "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                          "insufficient access rights on cross-reference id", ["OwnerId"])  # fmt: skip


def schema_for(org: Org, user_id: str | None) -> Schema:
    """The org's schema as this user's field-level security shows it: for an external user,
    Lead without the custom fields the permission set does not let it read — so a record
    read leaves them out and a query naming one is INVALID_FIELD, as Salesforce answers."""
    if external_user(org, user_id) is None:
        return org.schema
    return _external_schema(org.schema)


@lru_cache(maxsize=8)
def _external_schema(schema: Schema) -> Schema:
    from sandbox.schema import Schema

    readable, _ = partner_field_access()
    granted = partner_objects()
    objects = {}
    for name, obj in schema.objects.items():
        if obj.custom and name not in granted:
            continue  # no object permission: the object is not there for the user
        if name == "Lead":
            obj = dataclasses.replace(obj, fields={n: f for n, f in obj.fields.items() if not f.custom or n in readable})
        elif name == "Account":  # no permission set grants a partner user the Account custom fields
            obj = dataclasses.replace(obj, fields={n: f for n, f in obj.fields.items() if not f.custom})
        objects[name] = obj
    return Schema(objects)


def describe_for(org: Org, user_id: str | None, summary: dict, fields: list[dict] | None = None) -> None:
    """Narrow a describe (its object summary, and its fields when given) in place to what
    an external user may do, as Salesforce answers describe for the caller: a tool that
    offers the fields describe calls updateable must not meet a refusal on save. Lead as
    the permission set grants it; a read-only object (an account, a contact, setup objects
    but the user's own User row) neither createable nor updateable."""
    name = summary.get("name")
    if (name not in _READ_ONLY and name != "Lead") or external_user(org, user_id) is None:
        return
    if name in _READ_ONLY and name != "User":  # its own User row aside, nothing it may write
        summary.update(createable=False, updateable=False, deletable=False, undeletable=False, mergeable=False)
        for f in fields or ():
            f.update(createable=False, updateable=False)
        return
    if name != "Lead":
        return
    summary.update(createable=False, deletable=False, undeletable=False, mergeable=False)
    if fields is None:
        return
    readable, editable = partner_field_access()
    kept = []
    for f in fields:
        if f["custom"] and f["name"] not in readable:
            continue
        if (f["custom"] and f["name"] not in editable) or f["name"] in INTERNAL_ONLY:
            f.update(createable=False, updateable=False)
        kept.append(f)
    fields[:] = kept


def _permission_set_file() -> Path:
    from sandbox.schema import default_sfdx_dir

    return default_sfdx_dir() / "force-app/main/default/permissionsets" / f"{PERMISSION_SET}.permissionset-meta.xml"


@lru_cache(maxsize=1)
def partner_objects() -> frozenset[str]:
    """The objects the partner rep permission set grants any access to (objectPermissions)."""
    root = ET.parse(_permission_set_file()).getroot()
    return frozenset((op.findtext(f"{_NS}object") or "").strip() for op in root.iter(f"{_NS}objectPermissions")
                     if (op.findtext(f"{_NS}allowRead") or "").strip() == "true")  # fmt: skip


@lru_cache(maxsize=1)
def partner_field_access() -> tuple[frozenset[str], frozenset[str]]:
    """(readable, editable) custom Lead fields of the partner rep permission set."""
    root = ET.parse(_permission_set_file()).getroot()
    readable: set[str] = set()
    editable: set[str] = set()
    for fp in root.iter(f"{_NS}fieldPermissions"):
        field = (fp.findtext(f"{_NS}field") or "").strip()
        obj, _, name = field.partition(".")
        if obj != "Lead" or not name:
            continue
        if (fp.findtext(f"{_NS}readable") or "").strip() == "true":
            readable.add(name)
        if (fp.findtext(f"{_NS}editable") or "").strip() == "true":
            editable.add(name)
    return frozenset(readable), frozenset(editable)

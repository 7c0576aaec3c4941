"""describeGlobal and describeSObject bodies, built from the schema."""
from __future__ import annotations

import base64
from typing import Any

from sandbox.schema import FieldDef, ObjectDef, Schema

_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int", "double": "xsd:double",
    "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date", "datetime": "xsd:dateTime",
    "anyType": "xsd:anyType",
}  # fmt: skip


def _urls(version: str, name: str) -> dict[str, str]:
    """Salesforce's urls for an object, less those the sandbox does not serve (compact
    layouts, layouts, default values, quick actions, the UI templates): a client that
    follows one (jsforce's compactLayouts()) must not meet a 404 the org would not give."""
    base = f"/services/data/v{version}/sobjects/{name}"
    return {
        "rowTemplate": f"{base}/{{ID}}",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "sobject": base,
    }


def _object_summary(obj: ObjectDef, version: str) -> dict[str, Any]:
    return {
        "activateable": False,
        "createable": obj.createable,
        "custom": obj.custom,
        "customSetting": False,
        "deletable": obj.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": obj.updateable,
        "mergeable": obj.name in ("Lead", "Account", "Contact"),
        "mruEnabled": obj.updateable,
        "name": obj.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": obj.updateable,
        "triggerable": obj.updateable,
        "undeletable": obj.deletable,
        "updateable": obj.updateable,
        "urls": _urls(version, obj.name),
    }


def describe_global(schema: Schema, version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_object_summary(o, version) for o in sorted(schema.objects.values(), key=lambda o: o.name)],
    }


def sobject_info(obj: ObjectDef, version: str) -> dict[str, Any]:
    return {"objectDescribe": _object_summary(obj, version), "recentItems": []}


def _picklist(f: FieldDef, controller: FieldDef | None = None) -> list[dict[str, Any]]:
    if f.picklist_entries:
        return [{"active": True, "defaultValue": False, "label": label, "validFor": _valid_for(controller, on),
                 "value": value} for value, label, on in f.picklist_entries]
    return [
        {"active": True, "defaultValue": v == f.default, "label": v, "validFor": None, "value": v}
        for v in f.picklist_values
    ]


def _valid_for(controller: FieldDef | None, value: str | None) -> str | None:
    """Salesforce's validFor: base64 of a bitmap, one bit per controlling value in describe's
    order, the first value the highest bit of the first byte."""
    if controller is None or value is None:
        return None
    values = [v for v, _, _ in controller.picklist_entries] or controller.picklist_values
    bits = bytearray((len(values) + 7) // 8)
    i = values.index(value)
    bits[i >> 3] |= 0x80 >> (i % 8)
    return base64.b64encode(bytes(bits)).decode()


def describe_field(f: FieldDef, obj: ObjectDef | None = None) -> dict[str, Any]:
    numeric = f.type in ("double", "currency", "percent")
    default = f.default
    # a long text area (over 255 characters) is neither filtered, sorted nor grouped; a
    # textarea of 255 (Street) is, as SOQL takes it (sandbox/soql/bind.py's long_text)
    long_text = f.type == "anyType" or (f.type == "textarea" and f.length > 255)
    return {
        "aggregatable": f.type not in ("textarea", "multipicklist", "anyType"),
        "autoNumber": False,
        "byteLength": f.length * 3,
        "calculated": f.calculated,
        "calculatedFormula": f.formula,
        "caseSensitive": f.case_sensitive,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": default if f.type not in ("picklist", "multipicklist") else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.default is not None or f.name in ("Id", "IsDeleted", "OwnerId", "CreatedDate",
                                                                  "CreatedById", "LastModifiedDate",
                                                                  "LastModifiedById", "SystemModstamp"),
        "controllerName": f.controller_name,
        "dependentPicklist": f.controller_name is not None,
        "digits": f.precision if f.type == "int" else 0,
        "externalId": f.external_id,
        "filterable": not long_text,
        # the sandbox evaluates formulas with blanks as blanks only (sandbox/formula.py)
        "formulaTreatNullNumberAsZero": False,
        "groupable": not long_text and f.type not in ("double", "currency", "percent", "datetime", "multipicklist"),
        "htmlFormatted": False,
        "idLookup": f.name in ("Id", "Username") or f.external_id,
        "inlineHelpText": f.description,
        "label": f.label,
        "length": f.length if f.type not in ("boolean", "int", "date", "datetime", "anyType") and not numeric else 0,
        "name": f.name,
        "nameField": f.name == "Name",
        "namePointing": f.name == "OwnerId" and len(f.reference_to) > 1,
        "nillable": f.nillable,
        "permissionable": f.custom or (f.nillable and f.updateable),
        "picklistValues": _picklist(f, obj.fields.get(f.controller_name) if obj and f.controller_name else None),
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": f.precision if numeric else 0,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale if numeric else 0,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": not long_text and f.type != "multipicklist",
        "type": f.type,
        "unique": f.name == "Username" or f.unique,
        "updateable": f.updateable,
    }


def child_relationships(obj: ObjectDef, schema: Schema) -> list[tuple[str | None, ObjectDef, FieldDef]]:
    """(relationship name or None, child object, its lookup field) for every lookup to `obj`.

    One list for describe's childRelationships and for the SOQL subqueries that name them,
    so a name describe advertises is a name a query may use, and no other."""
    out = []
    for other in schema.objects.values():
        for f in other.fields.values():
            if f.type == "reference" and obj.name in f.reference_to and f.name not in ("CreatedById", "LastModifiedById"):
                out.append((_child_relationship(other, f), other, f))
    return out


def describe_sobject(obj: ObjectDef, schema: Schema, version: str) -> dict[str, Any]:
    children = [
        {
            "cascadeDelete": False, "childSObject": child.name, "deprecatedAndHidden": False, "field": f.name,
            "junctionIdListNames": [], "junctionReferenceTo": [], "relationshipName": name, "restrictedDelete": False,
        }
        for name, child, f in child_relationships(obj, schema)
    ]  # fmt: skip
    return {
        **_object_summary(obj, version),
        "childRelationships": children,
        "fields": [describe_field(f, obj) for f in obj.fields.values()],
        "recordTypeInfos": _record_types(obj),
        "supportedScopes": [{"label": "All " + obj.label_plural.lower(), "name": "everything"}],
    }


# The objects that can have record types; an org that defines none still describes the
# master one on each (Salesforce's fixed id). Its `urls.layout` (describe/layouts/012…) is
# left out: the sandbox serves no page layouts, and advertises only what it serves.
_RECORD_TYPE_OBJECTS = frozenset({"Account", "Contact", "Lead", "Opportunity", "Task"})
MASTER_RECORD_TYPE_ID = "012000000000000AAA"


def _record_types(obj: ObjectDef) -> list[dict[str, Any]]:
    if not (obj.custom or obj.name in _RECORD_TYPE_OBJECTS):
        return []
    return [{
        "active": True, "available": True, "defaultRecordTypeMapping": True, "developerName": "Master",
        "master": True, "name": "Master", "recordTypeId": MASTER_RECORD_TYPE_ID, "urls": {},
    }]  # fmt: skip


# Salesforce's names for the standard lookups the sandbox has; a lookup not named here has
# no child relationship name (describe says null), as Lead.OwnerId has none on User.
_STANDARD_CHILDREN = {
    ("Contact", "AccountId"): "Contacts", ("Opportunity", "AccountId"): "Opportunities",
    ("Account", "ParentId"): "ChildAccounts", ("LeadHistory", "LeadId"): "Histories",
    ("GroupMember", "GroupId"): "GroupMembers", ("QueueSobject", "QueueId"): "QueueSobjects",
    ("User", "AccountId"): "Users", ("Lead", "PartnerAccountId"): "PartnerLeads",
    ("Task", "WhoId"): "Tasks", ("Task", "WhatId"): "Tasks",
}  # fmt: skip


def _child_relationship(child: ObjectDef, f: FieldDef) -> str | None:
    if f.custom:
        # a custom lookup's metadata <relationshipName> with __r (sandbox.metadata)
        return f.child_relationship_name
    return _STANDARD_CHILDREN.get((child.name, f.name))

"""sObject Relationships: GET sobjects/X/{id}/{relationship}, Salesforce's "friendly URLs".

A parent relationship (a lookup's relationship name: Account, Owner, PartnerAccount, Who,
a custom `…__r`) answers the record the lookup names, as a record GET answers it (404
NOT_FOUND when the lookup is empty); a child relationship (describe's childRelationships:
Contacts, Histories, Tasks…) answers the set of child records, `{"totalSize", "done",
"records"}` (200 and an empty set when there are none). `?fields=` narrows the records;
a field the object does not have, or the caller may not read, is 400 INVALID_FIELD. The
caller's sharing applies to the record in the URL and to what it reaches.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox import describe, sharing
from sandbox.https_server import Request, Response
from sandbox.jsonvalues import record_json
from sandbox.rest import _field_list, _url_id, readable_record, resource_not_found, sobject

if TYPE_CHECKING:
    from sandbox.handle import RunningOrg as Sandbox


def get_related(sb: Sandbox, request: Request) -> Response:
    obj = sobject(sb, request.params["type"])
    id18 = _url_id(obj, request.params["id"])
    name = request.params["relationship"]
    schema = sharing.schema_for(sb.org, request.user_id)
    with sb.org.lock:
        record = readable_record(sb, request.user_id, obj.name, id18)
        lookup = obj.relationship(name)
        if lookup is not None:
            target = record.get(lookup.name)
            found = sb.org.lookup(target) if target else None
            if found is None or found[1]["IsDeleted"]:
                raise resource_not_found()  # no record behind the lookup
            parent_type, parent = found
            sharing.check_read(sb.org, request.user_id, parent_type, parent)
            parent_obj = schema.object(parent_type) or sb.org.schema.object(parent_type)
            assert parent_obj is not None
            fields = _field_list(parent_obj, request.query.get("fields"))
            return Response(200, record_json(parent_obj, parent, request.version, fields, now=sb.org.clock.now()))
        child = next(((c, f) for rel, c, f in describe.child_relationships(obj, sb.org.schema)
                      if rel is not None and rel.lower() == name.lower()), None)  # fmt: skip
        if child is None:
            raise resource_not_found()
        child_obj, fk = child
        sharing.check_object(sb.org, request.user_id, child_obj.name)
        readable = schema.object(child_obj.name) or child_obj
        fields = _field_list(readable, request.query.get("fields"))
        user = sharing.external_user(sb.org, request.user_id)
        visible = sharing.lead_filter(sb.org, user) if user is not None else None
        rows = [r for r in sb.org.records(child_obj.name)
                if r.get(fk.name) == id18 and (visible is None or visible(r))]  # fmt: skip
        now = sb.org.clock.now()
        records = [record_json(readable, r, request.version, fields, now=now) for r in rows]
    return Response(200, {"totalSize": len(records), "done": True, "records": records})

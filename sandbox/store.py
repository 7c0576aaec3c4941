"""The in-memory org: tables of records, validated and stamped the way Salesforce does.

Every write goes through `create`/`update`/`delete`, which check fields against the
schema (names, read-only, types, lengths, restricted picklists, references), keep the
audit fields (CreatedDate ... SystemModstamp strictly increasing across the org),
run the org's active lead assignment rule unless the caller opted out, and record
field history on Lead. The REST layer, the seeders and the partner simulator all use
this one path, so the data a test sees is data a real org could hold.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sandbox import ids
from sandbox.clock import Clock
from sandbox.errors import SalesforceError, entity_is_deleted, not_found
from sandbox.schema import FieldDef, ObjectDef, Schema, load_schema
from sandbox.standard import TASK_CLOSED, history_field_name
from sandbox.values import coerce

AUDIT_FIELDS = frozenset(
    ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp")
)
# read-only fields a system caller (seeders, the simulator, data import with audit fields) may set
_SYSTEM_SETTABLE = frozenset(("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById"))
# the lead assignment rule's target: every Lead write without `Sforce-Auto-Assign: FALSE`
ASSIGNMENT_RULE_QUEUE = "Inside_Sales"
_ONE_TICK = timedelta(microseconds=1)

Listener = Callable[[str, str, "dict | None", dict], None]


def _history_data_type(f: FieldDef) -> str:
    return {"reference": "EntityId", "boolean": "Boolean", "datetime": "DateTime", "date": "Date",
            "double": "Double", "currency": "Currency", "int": "Double", "percent": "Double"}.get(f.type, "Text")  # fmt: skip


class Org:
    def __init__(self, schema: Schema | None = None, *, clock: Clock | None = None, bootstrap: bool = True):
        self.schema = schema or load_schema()
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self._tables: dict[str, dict[str, dict]] = {name: {} for name in self.schema.objects}
        self._serials: dict[str, int] = {}
        self._last_stamp = datetime.min.replace(tzinfo=self.clock.now().tzinfo)
        self.deleted_at: dict[str, datetime] = {}  # id18 -> when it went to the recycle bin
        self.version = 0  # moves on every write; persistence saves when it changed
        self.listeners: list[Listener] = []
        # when the org's setup (objects, fields, tracking) last changed, for describe's
        # If-Modified-Since: the sandbox reads its metadata when it starts
        self.metadata_modified = self.clock.now()
        self._undo: list[tuple] | None = None  # set inside atomic(): how to take writes back
        self._deferred: list[tuple] = []
        self._templates: dict[str, tuple[dict, list[str]]] = {}
        self.integration_user_id = ""
        self.admin_user_id = ""
        self.deployments: dict[str, Any] = {}  # Metadata API deploys by id (sandbox.metadata_deploy)
        self.deployed_zips: list[bytes] = []  # what they applied, in order: saved, and applied again at a restart
        self.queue_ids: dict[str, str] = {}
        # external users' org-wide default for Lead (sandbox/sharing.py): Private as
        # Salesforce sets it; "ReadWrite" for an org that opened leads to every partner user
        self.lead_sharing_external = "Private"
        # Setup → Deliverability → Access level: "all", or "system" / "none" (emailSimple refused)
        self.email_deliverability = "all"
        # single emails to external addresses a day (GMT): 5,000 for a licensed org, far fewer
        # in a Developer Edition or trial (sandbox/actions.py)
        self.single_email_max = 5000
        # True: every emailSimple recipient counts against it, users told by id and unlogged
        # emails too — the reading of Salesforce's older Actions guide (API 228: enforced for
        # simple email actions in orgs created from Spring '19). False: the API 244 reading
        self.single_email_counts_all = False
        # an integration user without View Setup and Configuration: FieldDefinition refused
        # (sandbox/field_definitions.py)
        self.field_definitions_refused = False
        # Setup → State and Country/Territory Picklists (with_state_country_picklists)
        self.address_picklists: Any = None
        self._organization_id = ""
        if bootstrap:
            from sandbox.bootstrap import bootstrap_org

            bootstrap_org(self)

    @property
    def organization_id(self) -> str:
        """The org's Id (00D…): its Organization row's, found again after a restore."""
        if not self._organization_id:
            row = next(iter(self.table("Organization").values()), None)
            self._organization_id = row["Id"] if row else ""
        return self._organization_id

    @organization_id.setter
    def organization_id(self, value: str) -> None:
        self._organization_id = value

    # ---- reading -------------------------------------------------------------------
    def table(self, sobject: str) -> dict[str, dict]:
        return self._tables[self._obj(sobject).name]

    def records(self, sobject: str, include_deleted: bool = False) -> Iterable[dict]:
        rows = self.table(sobject).values()
        return rows if include_deleted else (r for r in rows if not r["IsDeleted"])

    def get(self, sobject: str, id: str) -> dict | None:
        try:
            return self.table(sobject).get(ids.to18(id))
        except ValueError:
            return None

    def lookup(self, id: str) -> tuple[str, dict] | None:
        try:
            id18 = ids.to18(id)
        except ValueError:
            return None
        obj = self.schema.object_for_id(id18)
        if obj is None:
            return None
        record = self._tables[obj.name].get(id18)
        return (obj.name, record) if record is not None else None

    # ---- writing -------------------------------------------------------------------
    def create(
        self,
        sobject: str,
        fields: dict,
        *,
        as_user: str | None = None,
        auto_assign: bool = False,
        system: bool = False,
    ) -> str:
        """Insert a record and return its 18-char id. `system=True` lets seeders set the
        audit fields a data import with "Set Audit Fields" may set (CreatedDate ...)."""
        obj = self._obj(sobject)
        if not obj.createable and not system:
            raise SalesforceError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be inserted: {obj.name}")
        with self.lock:
            values = self._validate(obj, fields, creating=True, system=system)
            self._sync_addresses(obj, None, values, creating=True)
            user = as_user or self.integration_user_id
            template, required = self._template(obj)
            missing = [name for name in required if values.get(name) is None]
            if missing:
                raise SalesforceError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            record: dict[str, Any] = dict(template)  # every field present, in describe order
            record.update(values)
            if "OwnerId" in record and record["OwnerId"] is None:
                record["OwnerId"] = user
            self._check_owner(obj, record)
            self._check_unique(obj, record, None)
            if obj.name == "User" and record.get("ContactId"):
                # a partner user's account is its contact's (Salesforce derives it); the sandbox
                # takes AccountId on create for its seeds, never one the contact contradicts
                contact = self._tables["Contact"].get(record["ContactId"])
                theirs = contact.get("AccountId") if contact else None
                if record.get("AccountId") and theirs and record["AccountId"] != theirs:
                    raise SalesforceError(
                        400, "FIELD_INTEGRITY_EXCEPTION",
                        f"Account ID: a partner user's account is its contact's ({theirs}), not {record['AccountId']}",
                        ["AccountId"])
                record["AccountId"] = record.get("AccountId") or theirs
            if obj.name == "Group" and not record.get("DeveloperName"):
                record["DeveloperName"] = "".join(c if c.isalnum() else "_" for c in record["Name"])
            stamp = self._stamp()
            new_id = self._new_id(obj.key_prefix)
            record["Id"] = new_id
            record["IsDeleted"] = False
            record["CreatedDate"] = values.get("CreatedDate") or stamp
            record["CreatedById"] = values.get("CreatedById") or user
            record["LastModifiedDate"] = values.get("LastModifiedDate") or stamp
            record["LastModifiedById"] = values.get("LastModifiedById") or user
            record["SystemModstamp"] = stamp
            self._derive(obj, record)
            if obj.name == "Lead" and auto_assign:
                self._run_assignment_rule(record)
            self._tables[obj.name][new_id] = record
            self._log_undo(("create", obj.name, new_id))
            self.version += 1
            self._notify(obj.name, new_id, None, record)
            return new_id

    def update(
        self,
        sobject: str,
        id: str,
        fields: dict,
        *,
        as_user: str | None = None,
        auto_assign: bool = False,
        system: bool = False,
        acted_at: datetime | None = None,
    ) -> None:
        """`acted_at`: when the person acted, for a simulation stepped more coarsely than its
        people act (the partner simulator): the edit's LastModifiedDate and history rows carry
        it, where it falls after the record's last write; SystemModstamp stays the write's
        own, so incremental readers miss nothing."""
        obj = self._obj(sobject)
        if not obj.updateable and not system:
            raise SalesforceError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be updated: {obj.name}")
        with self.lock:
            record = self._existing(obj, id)
            values = self._validate(obj, fields, creating=False, system=system, record_id=record["Id"])
            if obj.name == "Lead" and record.get("IsConverted") and not system:
                raise SalesforceError(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
            self._sync_addresses(obj, record, values, creating=False)
            for name, value in values.items():
                f = obj.fields[name]
                if value is None and not f.nillable and f.type != "boolean":
                    raise SalesforceError(
                        400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name]
                    )
            before = dict(record)
            # An in-process edit that names no user is a person's (the org's admin): the
            # REST API always names the session's user, so only tests and seeders land here.
            user = as_user or self.admin_user_id or self.integration_user_id
            candidate = {**record, **values}
            self._log_undo(("update", record, before))
            self._check_owner(obj, candidate, changed=values)
            self._check_unique(obj, candidate, record["Id"])
            record.update(values)
            stamp = self._stamp()
            last = before.get("SystemModstamp")
            acted = acted_at if acted_at is not None and acted_at < stamp and (last is None or acted_at > last) \
                else stamp
            record["LastModifiedDate"] = values.get("LastModifiedDate") or acted
            record["LastModifiedById"] = values.get("LastModifiedById") or user
            record["SystemModstamp"] = stamp
            self._derive(obj, record)
            if obj.name == "Lead":
                assigned = auto_assign and self._run_assignment_rule(record)
                self._record_history(obj, before, record, user, owner_by_rule=assigned, at=acted)
            self.version += 1
            self._notify(obj.name, record["Id"], before, record)

    def delete(self, sobject: str, id: str, *, as_user: str | None = None) -> None:
        """Soft delete, like the recycle bin: the row stays, visible to queryAll."""
        obj = self._obj(sobject)
        if not obj.deletable:
            raise SalesforceError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {obj.name}")
        with self.lock:
            record = self._existing(obj, id)
            before = dict(record)
            self._log_undo(("update", record, before))
            self._log_undo(("deleted_at", record["Id"]))
            stamp = self._stamp()
            record["IsDeleted"] = True
            record["LastModifiedDate"] = stamp
            record["LastModifiedById"] = as_user or self.admin_user_id or self.integration_user_id
            record["SystemModstamp"] = stamp
            self.deleted_at[record["Id"]] = stamp
            self.version += 1
            self._notify(obj.name, record["Id"], before, record)

    # ---- internals -----------------------------------------------------------------
    def _obj(self, sobject: str) -> ObjectDef:
        obj = self.schema.object(sobject)
        if obj is None:
            raise SalesforceError(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{sobject}' is not supported.")  # fmt: skip
        return obj

    def _existing(self, obj: ObjectDef, id: Any) -> dict:
        if not isinstance(id, str) or not ids.is_valid(id) or id[:3] != obj.key_prefix:
            raise SalesforceError(400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {id}", ["Id"])
        record = self._tables[obj.name].get(ids.to18(id))
        if record is None:
            raise not_found()
        if record["IsDeleted"]:
            raise entity_is_deleted()
        return record

    def _template(self, obj: ObjectDef) -> tuple[dict, list[str]]:
        """A new record's starting values (defaults, else null/false) and its required fields."""
        cached = self._templates.get(obj.name)
        if cached is None:
            template = {
                f.name: f.default if f.default is not None else (False if f.type == "boolean" else None)
                for f in obj.fields.values()
            }
            cached = (template, [f.name for f in obj.fields.values() if f.required])
            self._templates[obj.name] = cached
        return cached

    def _validate(self, obj: ObjectDef, fields: dict, *, creating: bool, system: bool, record_id: str = "") -> dict:
        if not isinstance(fields, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", f"Expected a JSON object with the {obj.name} fields, got {type(fields).__name__}")  # fmt: skip
        out: dict[str, Any] = {}
        read_only: list[str] = []
        exact = obj.fields
        for key, value in fields.items():
            f = exact.get(key) or (obj.field(key) if isinstance(key, str) else None)
            if f is None:
                raise SalesforceError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [str(key)])  # fmt: skip
            if f.name == "Id" and not creating and isinstance(value, str) and ids.is_valid(value) and ids.to18(value) == record_id:
                continue  # echoing the record's own id in the body is allowed
            writable = f.createable if creating else f.updateable
            # a formula field holds no value to set, not even for a seeder: it is evaluated on read
            if not writable and (f.formula is not None
                                 or not (system and (f.name in _SYSTEM_SETTABLE or f.name not in AUDIT_FIELDS))):
                read_only.append(f.name)
                continue
            out[f.name] = self._coerce(obj, f, value)
        if read_only:
            raise SalesforceError(
                400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of "
                f"this field and verify that it is read/write for your profile or permission set.",
                read_only,
            )  # fmt: skip
        return out

    def _coerce(self, obj: ObjectDef, f: FieldDef, value: Any) -> Any:
        value = coerce(f, value)
        if value is None or f.type != "reference":
            return value
        target = self.schema.object_for_id(value)
        if target is not None and len(value) == 18:
            # fast path: an id the org handed out is well-formed by construction
            found = self._tables[target.name].get(value)
            if found is not None and target.name in f.reference_to and not found["IsDeleted"]:
                return value
        if not ids.is_valid(value):
            raise SalesforceError(400, "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
        id18 = ids.to18(value)
        found = self._tables[target.name].get(id18) if target is not None else None
        if target is None or target.name not in f.reference_to or found is None:
            raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        if found["IsDeleted"]:
            raise SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", [f.name])
        return id18

    def _check_owner(self, obj: ObjectDef, record: dict, changed: dict | None = None) -> None:
        """An owner must be an active user, or a queue that takes this object."""
        owner = record.get("OwnerId")
        if owner is None or (changed is not None and "OwnerId" not in changed):
            return
        if owner.startswith("00G"):
            group = self._tables["Group"][owner]
            takes_object = group.get("Type") == "Queue" and any(
                q["QueueId"] == owner and q["SobjectType"] == obj.name and not q["IsDeleted"]
                for q in self._tables["QueueSobject"].values()
            )
            if not takes_object:
                raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {owner} is not a queue for {obj.name}", ["OwnerId"])  # fmt: skip
        else:
            user = self._tables["User"].get(owner)
            if user is not None and not user.get("IsActive", True):
                raise SalesforceError(
                    400, "INACTIVE_OWNER_OR_USER",
                    f"operation performed with inactive user [{owner}] as owner of {obj.name.lower()}", ["OwnerId"],
                )  # fmt: skip

    def _check_unique(self, obj: ObjectDef, record: dict, record_id: str | None) -> None:
        """A unique field's value may be on one live record only: checked and written under the
        org's lock, so of two inserts racing with one value exactly one is refused, as
        Salesforce's unique index refuses it. The answer names the field and the record that
        has the value, with empty `fields`, in Salesforce's words. Rows in the recycle bin are
        not compared (whether Salesforce compares them is not confirmed)."""
        for f in obj.fields.values():
            value = record.get(f.name) if f.unique else None
            if value is None:
                continue
            key = value if f.case_sensitive or not isinstance(value, str) else value.lower()
            for other in self._tables[obj.name].values():
                theirs = other.get(f.name)
                if theirs is None or other["Id"] == record_id or other["IsDeleted"]:
                    continue
                if (theirs if f.case_sensitive or not isinstance(theirs, str) else theirs.lower()) == key:
                    raise SalesforceError(
                        400, "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: {other['Id']}", [])

    def set_history_tracking(self, sobject: str, tracked: dict[str, bool]) -> None:
        """Setup → Object Manager → <object> → Set History Tracking, for this org: each named
        field's history tracked or not, from now on (LeadHistory records only tracked fields;
        FieldDefinition.IsFieldHistoryTracked says so)."""
        self.metadata_modified = self.clock.now()
        import dataclasses

        from sandbox.schema import Schema

        with self.lock:
            obj = self._obj(sobject)
            unknown = sorted(n for n in tracked if obj.field(n) is None)
            if unknown:
                raise ValueError(f"{obj.name} has no field {', '.join(unknown)}")
            wanted = {obj.field(n).name: bool(v) for n, v in tracked.items()}  # type: ignore[union-attr]
            fields = {name: dataclasses.replace(f, track_history=wanted[name]) if name in wanted else f
                      for name, f in obj.fields.items()}
            self.schema = Schema({**self.schema.objects, obj.name: dataclasses.replace(obj, fields=fields)})
            self.version += 1

    def without_object(self, sobject: str) -> None:
        """The org as if `sobject`'s metadata had never been deployed (a custom object not
        installed yet): describe, SOQL and writes answer as for any unknown object."""
        self.metadata_modified = self.clock.now()
        from sandbox.schema import Schema

        with self.lock:
            obj = self._obj(sobject)
            self.schema = Schema({k: v for k, v in self.schema.objects.items() if k != obj.name})
            self._tables.pop(obj.name, None)
            self._templates.pop(obj.name, None)
            self.version += 1

    def deploy_objects(self, objects: dict[str, ObjectDef]) -> None:
        """The org after a Metadata API deploy (sandbox.metadata_deploy): each object named is
        as the deploy left it, a new custom object or an object whose fields the deploy added
        or changed. Existing records take a new field's default (null, false for a checkbox),
        as Salesforce adds a field to every row; describe, SOQL and writes see the new schema."""
        import dataclasses

        from sandbox import standard
        from sandbox.schema import Schema

        self.metadata_modified = self.clock.now()
        with self.lock:
            merged = {**self.schema.objects, **objects}
            history = merged["LeadHistory"]  # the shared schema's objects stay as they are
            merged["LeadHistory"] = dataclasses.replace(history, fields={
                **history.fields, "Field": dataclasses.replace(history.fields["Field"], picklist_values=[])})
            standard.name_history_fields(merged)
            for name, obj in objects.items():
                self._templates.pop(name, None)
                table = self._tables.setdefault(name, {})
                for record in table.values():
                    for f in obj.fields.values():
                        record.setdefault(f.name, f.default if f.default is not None
                                          else (False if f.type == "boolean" else None))
            self.schema = Schema(merged)
            self.version += 1

    def with_multi_currency(self, corporate: str, rates: dict[str, float]) -> None:
        """The org after an admin turned on multiple currencies (Setup → Company Information)
        and added these (ISO code → units per one of `corporate`): CurrencyType lists them,
        and Lead, Account and Opportunity gain CurrencyIsoCode (a restricted picklist of
        the codes), every record so far in the corporate currency, as Salesforce converts
        an org. Salesforce cannot turn it off again; nor can the sandbox."""
        self.metadata_modified = self.clock.now()
        from dataclasses import replace as copy

        from sandbox import standard
        from sandbox.schema import Schema

        codes = [corporate, *sorted(c for c in rates if c != corporate)]
        with self.lock:
            objects = dict(self.schema.objects)
            iso = standard.pick("CurrencyIsoCode", codes, label="Currency ISO Code", nillable=False,
                                restricted_picklist=True, default=corporate)
            for name in ("Lead", "Account", "Opportunity"):
                obj = copy(objects[name], fields=dict(objects[name].fields))  # the shared schema stays as it is
                obj.add_field(iso)
                objects[name] = obj
                self._templates.pop(name, None)
                for record in self._tables[name].values():
                    record.setdefault("CurrencyIsoCode", corporate)
            objects["CurrencyType"] = standard.currency_type(codes)
            self.schema = Schema(objects)
            self._tables.setdefault("CurrencyType", {})
            self.version += 1
        for code in codes:
            self.create("CurrencyType", {"IsoCode": code, "ConversionRate": 1.0 if code == corporate else rates[code],
                                         "DecimalPlaces": 0 if code in ("JPY", "KRW") else 2, "IsActive": True,
                                         "IsCorporate": code == corporate}, system=True)

    def with_state_country_picklists(self, states: dict[str, dict[str, str]] | None = None) -> None:
        """The org after an admin turned on State and Country/Territory Picklists
        (sandbox.address_picklists): Lead gains CountryCode and StateCode, Account
        BillingCountryCode and BillingStateCode; `states` adds an admin's own states
        (country code → state code → name: {"DE": {"BY": "Bavaria"}}). Records whose
        Country and State already hold a picklist's values get their codes, as the
        conversion Setup runs before enabling leaves them."""
        from dataclasses import replace as copy

        from sandbox.address_picklists import ADDRESSES, AddressPicklists
        from sandbox.schema import Schema

        picklists = AddressPicklists.standard(states)
        self.metadata_modified = self.clock.now()
        with self.lock:
            objects = dict(self.schema.objects)
            for name, prefixes in ADDRESSES.items():
                obj = copy(objects[name], fields=dict(objects[name].fields))  # the shared schema stays as it is
                for prefix in prefixes:
                    for f in picklists.fields(prefix):
                        obj.add_field(f)
                objects[name] = obj
                self._templates.pop(name, None)
                for record in self._tables[name].values():
                    for prefix in prefixes:
                        code = picklists._country_of(record.get(prefix + "Country") or "")
                        states_in = picklists.states.get(code or "", {})
                        state = next((k for k, v in states_in.items() if v == record.get(prefix + "State")), None)
                        record[prefix + "CountryCode"], record[prefix + "StateCode"] = code, state
            self.schema = Schema(objects)
            self.address_picklists = picklists
            self.version += 1

    def _sync_addresses(self, obj: ObjectDef, before: dict | None, values: dict, *, creating: bool) -> None:
        if self.address_picklists is None:
            return
        from sandbox.address_picklists import ADDRESSES

        for prefix in ADDRESSES.get(obj.name, ()):
            self.address_picklists.sync(obj, prefix, before, values, creating)

    def with_dated_rates(self, rates: dict[str, list[tuple[Any, float]]]) -> None:
        """The org after an admin enabled advanced currency management (Setup → Manage
        Currencies) and entered dated rates: `rates` maps an ISO code to (start date, units
        per one of the corporate currency) ranges. As Salesforce does, each active currency
        gets a first range from 0001-01-01 at its static rate (CurrencyType), which runs
        until the first date given; every range ends where the next starts (NextStartDate).
        DatedConversionRate becomes queryable (INVALID_TYPE before); the API cannot write it.
        Needs with_multi_currency first."""
        from datetime import date as _date

        from sandbox import standard
        from sandbox.schema import Schema

        with self.lock:
            if "CurrencyType" not in self.schema.objects:
                raise ValueError("advanced currency management needs multiple currencies: with_multi_currency first")
            static = {r["IsoCode"]: r["ConversionRate"] for r in self._tables["CurrencyType"].values()
                      if r.get("IsActive")}
            codes = list(self.schema.objects["CurrencyType"].fields["IsoCode"].picklist_values or static)
            objects = dict(self.schema.objects)
            objects["DatedConversionRate"] = standard.dated_conversion_rate(codes)
            self.schema = Schema(objects)
            self._tables.setdefault("DatedConversionRate", {})
            self.version += 1
        for code, first in static.items():
            ranges = sorted([(_date(1, 1, 1), first), *((_date.fromisoformat(str(d)), float(r))
                                                         for d, r in rates.get(code, ()))], key=lambda x: x[0])
            for (start, rate), after in zip(ranges, [*ranges[1:], None]):
                self.create("DatedConversionRate", {
                    "IsoCode": code, "ConversionRate": rate, "StartDate": start.isoformat(),
                    "NextStartDate": after[0].isoformat() if after else None}, system=True)

    def _derive(self, obj: ObjectDef, record: dict) -> None:
        name = obj.fields.get("Name")
        if name is not None and name.calculated:
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None
        if obj.name == "Opportunity":
            stage = record.get("StageName") or ""
            record["IsClosed"] = stage.startswith("Closed")
            record["IsWon"] = stage == "Closed Won"
        elif obj.name == "Task":
            record["IsClosed"] = record.get("Status") in TASK_CLOSED

    def _run_assignment_rule(self, record: dict) -> bool:
        """The org's active rule: every lead goes to Inside Sales. True when it took the owner."""
        queue = self.queue_ids.get(ASSIGNMENT_RULE_QUEUE)
        if queue and self._tables["Group"].get(queue):
            record["OwnerId"] = queue
            return True
        return False

    def _record_history(self, obj: ObjectDef, before: dict, after: dict, user: str, owner_by_rule: bool = False,
                        at: datetime | None = None) -> None:
        # Every row of one update carries the update's own time, as Salesforce dates a
        # transaction's history rows: a reader groups them by CreatedDate, and a thread
        # switch between two rows must not split one write in two.
        stamp = at or after["SystemModstamp"]
        for f in obj.fields.values():
            if f.track_history and before.get(f.name) != after.get(f.name):
                # Salesforce marks owner changes made by an assignment rule as "ownerAssignment"
                name = "ownerAssignment" if f.name == "OwnerId" and owner_by_rule else history_field_name(f)
                self._insert_history(after["Id"], f, before.get(f.name), after.get(f.name), user, name, stamp)

    def _insert_history(self, lead_id: str, f: FieldDef, old: Any, new: Any, user: str, name: str,
                        stamp: datetime) -> None:
        hid = self._new_id(ids.PREFIXES["LeadHistory"])
        self._log_undo(("create", "LeadHistory", hid))
        self._tables["LeadHistory"][hid] = {
            "Id": hid, "LeadId": lead_id, "Field": name, "DataType": _history_data_type(f),
            "OldValue": old, "NewValue": new, "IsDeleted": False, "CreatedDate": stamp, "CreatedById": user,
            "LastModifiedDate": stamp, "LastModifiedById": user, "SystemModstamp": stamp,
        }  # fmt: skip

    def _stamp(self) -> datetime:
        """Now, but always later than the previous write: SystemModstamp never ties or goes back."""
        now = self.clock.now()
        stamp = now if now > self._last_stamp else self._last_stamp + _ONE_TICK
        self._last_stamp = stamp
        return stamp

    def _new_id(self, prefix: str) -> str:
        n = self._serials.get(prefix, 0) + 1
        self._serials[prefix] = n
        return ids.make_id(prefix, n)

    def _notify(self, sobject: str, id18: str, before: dict | None, after: dict) -> None:
        if self._undo is not None:
            self._deferred.append((sobject, id18, before, after))
            return
        for listener in self.listeners:
            listener(sobject, id18, before, after)

    def _log_undo(self, entry: tuple) -> None:
        if self._undo is not None:
            self._undo.append(entry)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All writes inside succeed together or, if the block raises, are taken back
        (allOrNone). Listeners hear about the writes only once they are kept."""
        with self.lock:
            if self._undo is not None:  # nested: the outer block decides
                yield
                return
            self._undo, self._deferred = [], []
            try:
                yield
            except BaseException:
                self._rollback(self._undo)
                self._undo, self._deferred = None, []
                raise
            deferred = self._deferred
            self._undo, self._deferred = None, []
            for event in deferred:
                self._notify(*event)

    def _rollback(self, undo: list[tuple]) -> None:
        for entry in reversed(undo):
            if entry[0] == "create":
                self._tables[entry[1]].pop(entry[2], None)
            elif entry[0] == "update":
                record, before = entry[1], entry[2]
                record.clear()
                record.update(before)
            elif entry[0] == "deleted_at":
                self.deleted_at.pop(entry[1], None)
        self.version += 1

    # ---- persistence ---------------------------------------------------------------
    def snapshot(self) -> dict:
        """Everything needed to rebuild this org (see sandbox.persist)."""
        # tables are copied (not their rows) so the caller can pickle after releasing
        # the lock; a row written meanwhile is saved as it is then, and saved again next time
        with self.lock:
            return {
                "tables": {name: dict(table) for name, table in self._tables.items()},
                "serials": dict(self._serials),
                "last_stamp": self._last_stamp,
                "deleted_at": dict(self.deleted_at),
                "clock_offset": self.clock.offset,
                "integration_user_id": self.integration_user_id,
                "admin_user_id": self.admin_user_id,
                "queue_ids": dict(self.queue_ids),
                "deployed_zips": list(self.deployed_zips),
            }

    def restore(self, snap: dict) -> None:
        with self.lock:
            for name, table in snap["tables"].items():
                if name in self._tables:
                    self._tables[name] = table
            self._serials = snap["serials"]
            self._organization_id = ""  # the restored org's own, not the one bootstrapped before it
            self._last_stamp = snap["last_stamp"]
            self.deleted_at = snap["deleted_at"]
            self.clock.advance(snap["clock_offset"] - self.clock.offset)
            self.metadata_modified = self.clock.now()  # read again at this start
            self.integration_user_id = snap["integration_user_id"]
            self.admin_user_id = snap["admin_user_id"]
            self.queue_ids = snap["queue_ids"]
            self.version += 1
        self._redeploy(snap.get("deployed_zips", []))

    def _redeploy(self, zips: list[bytes]) -> None:
        """What Metadata API deploys added to this org, applied again over the schema of this
        start (salesforce/ as it now is), as an org keeps what was deployed to it. A deploy
        the schema of this start refuses (a field salesforce/ now defines otherwise) is left
        out, and said on stderr."""
        import io
        import sys
        import zipfile

        from sandbox.metadata_check import check

        for raw in zips:
            messages, changes = check(zipfile.ZipFile(io.BytesIO(raw)), self.schema.objects)
            failed = [f"{m.fullName}: {m.problem}" for m in messages if not m.success]
            if failed:
                print(f"sandbox: an earlier Metadata API deploy is not applied again: {'; '.join(failed)}",
                      file=sys.stderr)  # fmt: skip
                continue
            if changes:
                self.deploy_objects(changes)
            self.deployed_zips.append(raw)

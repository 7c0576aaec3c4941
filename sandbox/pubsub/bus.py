"""The org's event bus: every committed change to a selected object, in commit order.

The org's listeners hand each kept write here (after an allOrNone block, only once it
is kept); the bus turns it into a change event, Avro-encoded with the object's served
schema, and gives it the next replay id. Subscribers wait on the bus's condition.

Retention is 72 hours of the ORG's clock, as in Salesforce: an older event is gone,
and a replay id that points before the oldest kept event cannot be resumed from.
Replay ids are opaque bytes: the bus's epoch (a restarted sandbox keeps no events, so
an id from before the restart is as unusable as an expired one) and a serial number.
"""
from __future__ import annotations

import os
import struct
import xml.etree.ElementTree as ET
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.pubsub.avro import EventSchema, millis
from sandbox.schema import default_sfdx_dir

RETENTION = timedelta(hours=72)
# what Salesforce puts in recordIds of an overflow event: "all records of the entity"
WILDCARD_ID = "000000000000000AAA"
_REPLAY = struct.Struct(">IQ")
_AUDIT = frozenset(("SystemModstamp", "IsDeleted"))


def selected_entities(sfdx_dir: Path | None = None) -> tuple[str, ...]:
    """What the SFDX metadata selects for Change Data Capture (the ChangeEvents channel's
    members, salesforce/…/platformEventChannelMembers): the org starts as a deploy leaves it."""
    root = (sfdx_dir or default_sfdx_dir()) / "force-app" / "main" / "default" / "platformEventChannelMembers"
    out = []
    for path in sorted(root.glob("*.platformEventChannelMember-meta.xml")):
        tree = ET.parse(path).getroot()
        ns = {"m": "http://soap.sforce.com/2006/04/metadata"}
        channel, entity = tree.findtext("m:eventChannel", "", ns), tree.findtext("m:selectedEntity", "", ns)
        if channel == "ChangeEvents" and entity.endswith("ChangeEvent"):
            name = entity.removesuffix("ChangeEvent")
            out.append(name[:-2] + "__c" if name.endswith("__") else name)
    return tuple(out)


class ReplayIdError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Event:
    serial: int
    entity: str
    committed: datetime  # org time
    schema_id: str
    encode: Any  # () -> bytes: Avro-encoded when first delivered, not on the write path
    event_id: str
    _payload: bytes | None = None

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            self._payload = self.encode()
            self.encode = None  # the header and values it closed over can go
        return self._payload


class EventBus:
    def __init__(self, org: Any, entities: tuple[str, ...] | None = None):
        self.org = org
        self.epoch = int.from_bytes(os.urandom(4), "big")
        self.cond = threading.Condition()
        self._events: list[Event] = []
        self._first = 1  # serial of _events[0]
        self._next = 1
        self._commit_number = 0
        self.schemas: dict[str, EventSchema] = {}
        self.by_id: dict[str, EventSchema] = {}
        self.selected: set[str] = set()
        self.closed = False
        self.select(*(selected_entities() if entities is None else entities))

    # ---- set-up ------------------------------------------------------------------------
    def select(self, *entities: str) -> None:
        """The objects selected for Change Data Capture (Setup → Change Data Capture)."""
        with self.cond:
            self.selected = set(entities)
            for name in entities:
                if name not in self.schemas:
                    schema = EventSchema(self.org.schema.object(name))
                    self.schemas[name] = schema
                    self.by_id[schema.id] = schema

    def attach(self) -> None:
        self.org.listeners.append(self.on_write)
        threading.Thread(target=self._tick, name="pubsub-tick", daemon=True).start()

    def _tick(self) -> None:
        """Wake the waiting streams now and then (keep-alives, cancelled calls). Their waits
        are untimed, and this sleeps: a timed wait never returns under libfaketime
        (RELIABILITY.md, "The faketime hang"); time.sleep does."""
        while not self.closed:
            time.sleep(0.25)
            with self.cond:
                self.cond.notify_all()

    def detach(self) -> None:
        if self.on_write in self.org.listeners:
            self.org.listeners.remove(self.on_write)
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    # ---- publishing --------------------------------------------------------------------
    def on_write(self, sobject: str, id18: str, before: dict | None, after: dict) -> None:
        if sobject not in self.selected:
            return
        schema = self.schemas[sobject]
        if before is None:
            kind, values, changed, nulled = "CREATE", after, [], []
        elif after.get("IsDeleted") and not before.get("IsDeleted"):
            kind, values, changed, nulled = "DELETE", {}, [], []
        elif before.get("IsDeleted") and not after.get("IsDeleted"):
            kind, values, changed, nulled = "UNDELETE", after, [], []
        else:
            changed = [f.name for f in schema.fields if f.name not in _AUDIT and before.get(f.name) != after.get(f.name)]
            nulled = [name for name in changed if after.get(name) is None]
            kind, values = "UPDATE", {name: after.get(name) for name in changed}
        committed = after.get("SystemModstamp") or self.org.clock.now()
        user = after.get("LastModifiedById") or ""
        self._publish(schema, kind, [id18], values, changed, nulled, committed, user)

    def publish_gap(self, entity: str, record_ids: list[str], change_type: str = "GAP_UPDATE") -> None:
        """A gap event: Salesforce could not make the change event (a change made outside
        the application server, or one too large); the subscriber must read the records."""
        if not change_type.startswith("GAP_"):
            raise ValueError(f"gap events have a GAP_* change type, got {change_type!r}")
        self._publish(self.schemas[entity], change_type, list(record_ids), {}, [], [], self.org.clock.now(), "")

    def publish_overflow(self, entity: str) -> None:
        """An overflow event: a transaction changed more records than Salesforce sends events
        for; the subscriber must read everything of the entity that changed."""
        self._publish(self.schemas[entity], "GAP_OVERFLOW", [WILDCARD_ID], {}, [], [], self.org.clock.now(), "")

    def _publish(self, schema: EventSchema, kind: str, record_ids: list[str], values: dict, changed: list[str],
                 nulled: list[str], committed: datetime, user: str) -> None:
        with self.cond:
            self._commit_number += 1
            header = {
                "entityName": schema.entity, "recordIds": record_ids, "changeType": kind, "changeOrigin": "",
                "transactionKey": str(uuid.uuid4()), "sequenceNumber": 1, "commitTimestamp": millis(committed),
                "commitNumber": self._commit_number, "commitUser": user,
                "nulledFields": schema.bitmap(nulled), "diffFields": [], "changedFields": schema.bitmap(changed),
            }  # fmt: skip
            # encoded when a subscriber first reads it: a write path with no subscriber
            # (most of the time, and every burst) pays no Avro encoding
            event = Event(self._next, schema.entity, committed, schema.id,
                          lambda s=schema, h=header, v=dict(values): s.encode(h, v), str(uuid.uuid4()))
            self._events.append(event)
            self._next += 1
            self._prune()
            self.cond.notify_all()

    # ---- reading -----------------------------------------------------------------------
    def _prune(self) -> None:
        """Drop events older than the retention window (caller holds the condition)."""
        horizon = self.org.clock.now() - RETENTION
        drop = 0
        while drop < len(self._events) and self._events[drop].committed < horizon:
            drop += 1
        if drop:
            del self._events[:drop]
            self._first += drop

    def replay_id(self, serial: int) -> bytes:
        return _REPLAY.pack(self.epoch, serial)

    def latest_serial(self) -> int:
        return self._next - 1

    def start_after(self, preset: int, replay_id: bytes) -> int:
        """The first serial a new subscription delivers (0 LATEST, 1 EARLIEST, 2 CUSTOM)."""
        with self.cond:
            self._prune()
            if preset == 1:
                return self._first
            if preset != 2:
                return self._next
            if len(replay_id) != _REPLAY.size:
                raise ReplayIdError("sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted",
                                    "The Replay ID validation failed: it is not a replay ID this org issued.")
            epoch, serial = _REPLAY.unpack(replay_id)
            # the id's own event must still be kept (0: "before the first event", while none is gone)
            gone = serial < self._first and not (serial == 0 and self._first == 1)
            if epoch != self.epoch or gone or serial >= self._next:
                raise ReplayIdError(
                    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.invalid",
                    "The Replay ID validation failed: the replay ID is not valid or its event is past the "
                    "retention window (72 hours). Subscribe with EARLIEST or LATEST.")
            return serial + 1

    def take(self, position: int, entities: set[str], limit: int) -> tuple[list[Event], int]:
        """Up to `limit` events of `entities` from `position` on, and the next position
        (past any events of other objects skipped on the way). Caller holds the condition."""
        self._prune()
        position = max(position, self._first)
        out: list[Event] = []
        i = position - self._first
        while i < len(self._events) and len(out) < limit:
            event = self._events[i]
            if event.entity in entities:
                out.append(event)
            i += 1
        return out, self._first + i

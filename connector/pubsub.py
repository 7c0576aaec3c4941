"""Change Data Capture over Salesforce's Pub/Sub API: a subscriber that hands over batches.

    sub = Subscriber(PubSubConfig(url=...), credentials_from(client), client.policy)
    for batch in sub.batches("/data/LeadChangeEvent", stored_replay_id, stop):
        ...commit the batch's effects...
        store(batch.replay_id)          # only now: at-least-once, idempotent by record id

The subscription is pull-based: events are requested as they arrive, until `max_batch`
are held for the caller (Salesforce owes at most 100 at a time), and the caller stores a
replay id only after committing its batch — so a replay id is never past work that was
not committed, and events held when the process dies are sent again. Keep-alives arrive as empty batches carrying the latest replay id (store
it too: an idle subscriber's position stays inside the 72-hour retention).

Faults go through the one classifier (`errors.classify`): a dropped stream or
UNAVAILABLE resubscribes from the last batch handed over, with the retry policy's
backoff; UNAUTHENTICATED logs in again, once per expiry and a few times in a row at most
(retry.SESSION_RENEWALS); a replay id Salesforce no longer keeps
yields `Batch(reconcile=True)` and resubscribes from EARLIEST — the caller reads what
changed meanwhile (its reconciliation read) and loses nothing. Anything else raises
the connector exception for its kind, with the fix.
"""
from __future__ import annotations

import io
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import fastavro
import grpc
import structlog
from pydantic import SecretStr

from eventbus.v1 import pubsub_api_pb2 as pb
from eventbus.v1 import pubsub_api_pb2_grpc as pb_grpc

from .errors import REPLAY_ID_UNAVAILABLE, as_exception, classify
from .retry import SESSION_RENEWALS, RetryPolicy, session_keeps_ending

DEFAULT_URL = "api.pubsub.salesforce.com:7443"
# Salesforce owes a Subscribe call at most this many events across all its FetchRequests;
# it counts a larger request as this many (Pub/Sub API allocations, "flow control").
OUTSTANDING = 100
OVERFLOW = "GAP_OVERFLOW"


@dataclass(frozen=True)
class PubSubConfig:
    url: str = DEFAULT_URL  # host:port
    ca_bundle: Path | None = None  # None: the system's roots
    batch_size: int = 100  # events per FetchRequest (Salesforce allows up to 100)
    max_batch: int = 0  # events held ahead and handed over at most at once (0: batch_size)


@dataclass(frozen=True)
class Credentials:
    access_token: SecretStr
    instance_url: str
    tenant_id: str  # the org id

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("accesstoken", self.access_token.get_secret_value()), ("instanceurl", self.instance_url),
                ("tenantid", self.tenant_id))

    def __repr__(self) -> str:  # the token must never reach a log line
        return f"Credentials(instance_url={self.instance_url!r}, tenant_id={self.tenant_id!r}, access_token=**********)"


def credentials_from(client: Any) -> Callable[[bool], Credentials]:
    """The REST client's session as Pub/Sub credentials; `refresh=True` logs in again first.

    The tenant id is the org id, which Salesforce puts before the "!" of every session id.
    A refresh logs in only if no REST call has since the stream took its session (the jobs
    and the stream meet one expiry: one login, the client's `_refresh`)."""
    taken = [client._session]

    def get(refresh: bool) -> Credentials:
        if refresh:
            client._refresh(taken[0])
        taken[0] = client._session
        token = client.sf.session_id
        return Credentials(SecretStr(token), str(client.instance_url), token.split("!", 1)[0])

    return get


@dataclass(frozen=True)
class ChangeEvent:
    entity: str
    change_type: str  # CREATE UPDATE DELETE UNDELETE GAP_* GAP_OVERFLOW
    record_ids: tuple[str, ...]
    changed_fields: tuple[str, ...]
    nulled_fields: tuple[str, ...]
    commit_timestamp: datetime
    commit_user: str
    replay_id: bytes
    values: dict[str, Any] = field(default_factory=dict)  # the fields the event carries (non-null)

    @property
    def is_gap(self) -> bool:
        """The event carries no change: read these records to learn it."""
        return self.change_type.startswith("GAP_") and self.change_type != OVERFLOW

    @property
    def is_overflow(self) -> bool:
        """Too many changes for events: read everything of the entity that changed."""
        return self.change_type == OVERFLOW


@dataclass
class Batch:
    events: list[ChangeEvent]
    replay_id: bytes  # store once the events' effects are committed; b"" = nothing to store
    reconcile: bool = False  # the stored replay id was past retention: read what changed


class _Schema:
    def __init__(self, schema_json: str):
        raw = json.loads(schema_json)
        self.parsed = fastavro.parse_schema(raw)
        self.fields = raw["fields"]

    def decode(self, payload: bytes) -> dict[str, Any]:
        record = fastavro.schemaless_reader(io.BytesIO(payload), self.parsed, self.parsed)
        if not isinstance(record, dict):  # a change event's schema is a record: anything else is not ours
            raise ValueError(f"change event payload decoded to {type(record).__name__}, not a record")
        return record

    def field_names(self, bitmaps: list[str]) -> tuple[str, ...]:
        return decode_bitmaps(self.fields, bitmaps)


def decode_bitmaps(fields: list[dict[str, Any]], bitmaps: list[str]) -> tuple[str, ...]:
    """Field names from Salesforce's bitmap strings: "0x…" for top-level fields (bit n is
    field n of the schema), "p-0x…" for the nested fields of compound field p (Name,
    Address), named "Parent.Child"."""
    names: list[str] = []
    for bitmap in bitmaps:
        parent, _, bits = bitmap.rpartition("-")
        value = int(bits, 16)
        level, prefix = fields, ""
        if parent:
            outer = fields[int(parent)]
            kind = outer["type"]
            if isinstance(kind, list):  # a compound field that may be null: ["null", {record}]
                kind = next((t for t in kind if isinstance(t, dict)), kind)
            level, prefix = kind["fields"], outer["name"] + "."
        names += [prefix + level[i]["name"] for i in range(value.bit_length()) if value >> i & 1 and i < len(level)]
    return tuple(names)


class Subscriber:
    def __init__(self, config: PubSubConfig, credentials: Callable[[bool], Credentials], policy: RetryPolicy,
                 *, logger: Any = None):
        self.config = config
        self._credentials = credentials
        self._creds = credentials(False)
        self.policy = policy
        self.log = logger or structlog.get_logger("connector.pubsub")
        roots = Path(config.ca_bundle).read_bytes() if config.ca_bundle else None
        self._channel = grpc.secure_channel(config.url, grpc.ssl_channel_credentials(root_certificates=roots),
                                            options=[("grpc.keepalive_time_ms", 60_000)])
        self._stub = pb_grpc.PubSubStub(self._channel)
        self._schemas: dict[str, _Schema] = {}
        self.resubscribes = 0
        self.refreshes = 0
        # monotonic time the last response carrying events arrived (handed over or not):
        # a caller holding work back for more events to come can tell whether they still do
        self.events_arrived_at = 0.0

    def close(self) -> None:
        self._channel.close()

    # --- unary calls, through the retry policy ---------------------------------------
    def _refresh(self) -> None:
        self.refreshes += 1
        self._creds = self._credentials(True)

    def _unary(self, fn: Callable[[], Any], context: str) -> Any:
        return self.policy.call(fn, refresh=self._refresh, context=context, api="pubsub")

    def topic(self, name: str, *, timeout: float = 30) -> pb.TopicInfo:
        """The topic, if this org has it and the user may subscribe (ConfigError otherwise).
        `timeout`: seconds the call may take, connecting included (a check wants few)."""
        return self._unary(lambda: self._stub.GetTopic(pb.TopicRequest(topic_name=name),
                                                       metadata=self._creds.metadata(), timeout=timeout),
                           f"pubsub GetTopic {name}")

    def schema(self, schema_id: str) -> _Schema:
        """Schemas are fetched once per id: events name theirs, and it rarely changes."""
        if schema_id not in self._schemas:
            info = self._unary(lambda: self._stub.GetSchema(pb.SchemaRequest(schema_id=schema_id),
                                                            metadata=self._creds.metadata(), timeout=30),
                               "pubsub GetSchema")
            self._schemas[schema_id] = _Schema(info.schema_json)
        return self._schemas[schema_id]

    def decode(self, consumer_event: pb.ConsumerEvent) -> ChangeEvent:
        schema = self.schema(consumer_event.event.schema_id)
        record = schema.decode(consumer_event.event.payload)
        header = record.pop("ChangeEventHeader")
        return ChangeEvent(
            entity=header["entityName"], change_type=header["changeType"], record_ids=tuple(header["recordIds"]),
            changed_fields=schema.field_names(header["changedFields"]),
            nulled_fields=schema.field_names(header["nulledFields"]),
            commit_timestamp=datetime.fromtimestamp(header["commitTimestamp"] / 1000, tz=timezone.utc),
            commit_user=header["commitUser"], replay_id=bytes(consumer_event.replay_id),
            values={k: v for k, v in record.items() if v is not None},
        )

    # --- the stream ------------------------------------------------------------------
    def batches(self, topic: str, replay_id: bytes | None, stop: threading.Event) -> Iterator[Batch]:
        """Batches from after `replay_id` (from the tip when None) until `stop` is set."""
        position, preset = (replay_id, pb.CUSTOM) if replay_id else (b"", pb.LATEST)
        attempts, renewals = 0, 0
        while not stop.is_set():
            try:
                for batch in self._stream(topic, preset, position, stop):
                    attempts, renewals = 0, 0
                    if batch.replay_id:
                        position, preset = batch.replay_id, pb.CUSTOM
                    yield batch
                return  # stopped
            except grpc.RpcError as exc:
                if stop.is_set():
                    return
                failure = classify(exc)
                if failure.code == REPLAY_ID_UNAVAILABLE:
                    self.log.warning("pubsub replay id past retention; reading what changed instead", topic=topic)
                    position, preset = b"", pb.EARLIEST
                    yield Batch([], b"", reconcile=True)
                    continue
                if failure.kind == "session":
                    if renewals >= SESSION_RENEWALS:  # as a REST call: the org's policy, not a stale session
                        raise as_exception(session_keeps_ending(failure, renewals),
                                           context=f"pubsub Subscribe {topic}") from exc
                    renewals += 1
                    self.log.info("pubsub session expired, logging in again", topic=topic, renewal=renewals)
                    self._refresh()
                    continue
                if failure.kind == "transient" and attempts < self.policy.config.max_attempts:
                    attempts += 1
                    self.resubscribes += 1
                    wait = self.policy.backoff(attempts)
                    self.log.warning("pubsub stream ended, subscribing again", topic=topic, code=failure.code,
                                     attempt=attempts, wait_s=round(wait, 3))
                    _pause(stop, wait)
                    continue
                raise as_exception(failure, context=f"pubsub Subscribe {topic}") from exc

    def _stream(self, topic: str, preset: int, replay_id: bytes, stop: threading.Event) -> Iterator[Batch]:
        """One Subscribe call. Events are requested (in FetchRequests of at most `batch_size`)
        until `max_batch` are owed or held: Salesforce owes at most OUTSTANDING at a time,
        however many are asked for, so the credit is topped up as events arrive, not when the
        caller comes back. What has arrived when the caller comes back is handed over as one
        Batch. So a burst reaches the caller in large batches, a lone event at once."""
        n = min(self.config.batch_size, OUTSTANDING)
        most = max(n, self.config.max_batch or n)
        requests: queue.Queue[pb.FetchRequest | None] = queue.Queue()
        responses: queue.Queue[pb.FetchResponse | grpc.RpcError | None] = queue.Queue()
        credit = threading.Lock()
        owed = held = 0  # requested and not yet sent by the server; arrived and not yet handed over
        first = True

        def top_up() -> None:  # under `credit`
            nonlocal owed, first
            count = min(OUTSTANDING - owed, most - held - owed)
            owed += max(count, 0)
            while count > 0:
                take = min(n, count)
                if first:
                    requests.put(pb.FetchRequest(topic_name=topic, replay_preset=preset, replay_id=replay_id,
                                                 num_requested=take))
                    first = False
                else:
                    requests.put(pb.FetchRequest(num_requested=take))
                count -= take

        def send() -> Iterator[pb.FetchRequest]:
            while (req := requests.get()) is not None:
                yield req

        with credit:
            top_up()
        call = self._stub.Subscribe(send(), metadata=self._creds.metadata())

        def pump() -> None:  # responses as they come; the end (or the error) last
            nonlocal owed, held
            try:
                for response in call:
                    if response.events:
                        self.events_arrived_at = time.monotonic()
                        with credit:
                            owed, held = max(owed - len(response.events), 0), held + len(response.events)
                            top_up()
                    responses.put(response)
                responses.put(None)
            except grpc.RpcError as exc:
                responses.put(exc)

        finished = threading.Event()

        def watch_stop() -> None:  # a keep-alive can be minutes away: `stop` must not wait for it
            while not finished.is_set():
                if stop.is_set():
                    responses.put(None)
                    return
                time.sleep(0.1)

        threading.Thread(target=pump, name="pubsub-responses", daemon=True).start()
        threading.Thread(target=watch_stop, name="pubsub-stop", daemon=True).start()
        try:
            while not stop.is_set():
                item = responses.get()  # untimed: see _pause
                events: list[ChangeEvent] = []
                latest = b""
                while True:
                    if item is None:
                        return
                    if isinstance(item, grpc.RpcError):
                        raise item
                    events += [self.decode(e) for e in item.events]
                    latest = bytes(item.latest_replay_id) if not item.events else events[-1].replay_id
                    if len(events) >= most:
                        break
                    try:
                        item = responses.get_nowait()
                    except queue.Empty:
                        break
                if events:
                    latest = events[-1].replay_id
                yield Batch(events, latest)
                with credit:  # the caller is done with these: room for as many again
                    held -= len(events)
                    top_up()
        finally:
            finished.set()
            requests.put(None)
            call.cancel()


def _pause(stop: threading.Event, seconds: float) -> None:
    """`stop.wait(seconds)` in short sleeps: a timed wait on a thread primitive never returns
    under libfaketime (it fakes CLOCK_MONOTONIC, the kernel waits on the real one; see
    RELIABILITY.md), and time.sleep works."""
    end = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < end:
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))

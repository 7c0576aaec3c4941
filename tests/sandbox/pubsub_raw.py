"""A bare Pub/Sub API client for the sandbox tests: the generated stubs, grpcio and fastavro only."""
from __future__ import annotations

import io
import json
import queue
import threading
import time
from typing import Any, Iterator

import fastavro
import grpc

from eventbus.v1 import pubsub_api_pb2 as pb
from eventbus.v1 import pubsub_api_pb2_grpc as pb_grpc

LEAD_TOPIC = "/data/LeadChangeEvent"


class RawPubSub:
    def __init__(self, sb: Any, token: str | None = None):
        c = sb.connection
        self.sb = sb
        self.channel = grpc.secure_channel(c["pubsub_url"], grpc.ssl_channel_credentials(open(c["ca_file"], "rb").read()))
        self.stub = pb_grpc.PubSubStub(self.channel)
        self.token = token or sb.token()
        self.metadata = (("accesstoken", self.token), ("instanceurl", c["instance_url"]),
                         ("tenantid", self.token.split("!")[0]))
        self._schemas: dict[str, Any] = {}

    def close(self) -> None:
        self.channel.close()

    def topic(self, name: str = LEAD_TOPIC) -> pb.TopicInfo:
        return self.stub.GetTopic(pb.TopicRequest(topic_name=name), metadata=self.metadata, timeout=10)

    def decode(self, event: pb.ProducerEvent) -> dict:
        if event.schema_id not in self._schemas:
            info = self.stub.GetSchema(pb.SchemaRequest(schema_id=event.schema_id), metadata=self.metadata, timeout=10)
            self._schemas[event.schema_id] = (fastavro.parse_schema(json.loads(info.schema_json)), json.loads(info.schema_json))
        parsed = self._schemas[event.schema_id][0]
        return fastavro.schemaless_reader(io.BytesIO(event.payload), parsed, parsed)

    def field_names(self, schema_id: str) -> list[str]:
        return [f["name"] for f in self._schemas[schema_id][1]["fields"]]

    def subscribe(self, topic: str = LEAD_TOPIC, *, preset: int = pb.EARLIEST, replay_id: bytes = b"",
                  num_requested: int = 100) -> "Stream":
        return Stream(self, topic, preset, replay_id, num_requested)


class Stream:
    """An open Subscribe call; `more(n)` sends another FetchRequest, `next()` one response."""

    def __init__(self, raw: RawPubSub, topic: str, preset: int, replay_id: bytes, num_requested: int):
        self.requests: queue.Queue = queue.Queue()
        self.requests.put(pb.FetchRequest(topic_name=topic, replay_preset=preset, replay_id=replay_id,
                                          num_requested=num_requested))
        self.call = raw.stub.Subscribe(self._requests(), metadata=raw.metadata)
        self.responses: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _requests(self) -> Iterator[pb.FetchRequest]:
        while (req := self.requests.get()) is not None:
            yield req

    def _pump(self) -> None:
        try:
            for response in self.call:
                self.responses.put(response)
        except grpc.RpcError as e:
            self.responses.put(e)

    def more(self, n: int) -> None:
        self.requests.put(pb.FetchRequest(num_requested=n))

    def next(self, timeout: float = 10.0) -> pb.FetchResponse:
        end = time.monotonic() + timeout  # sleeps, not a timed get: faketime (RELIABILITY.md)
        while True:
            try:
                item = self.responses.get_nowait()
                break
            except queue.Empty:
                if time.monotonic() >= end:
                    raise
                time.sleep(0.005)
        if isinstance(item, grpc.RpcError):
            raise item
        return item

    def events(self, count: int, timeout: float = 10.0) -> list[pb.ConsumerEvent]:
        out: list[pb.ConsumerEvent] = []
        while len(out) < count:
            out.extend(self.next(timeout).events)
        return out

    def close(self) -> None:
        self.requests.put(None)
        self.call.cancel()

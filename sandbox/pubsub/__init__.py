"""The sandbox org's Pub/Sub API: Change Data Capture events over gRPC, TLS from the sandbox's CA.

`PubSubServer(sb)` hooks the org's listeners (every kept create, update, delete and
undelete of a selected object becomes a change event) and serves `eventbus.v1.PubSub`
on 127.0.0.1; its address ("127.0.0.1:<port>", host:port as Salesforce's
api.pubsub.salesforce.com:7443) goes into connection.json as `pubsub_url`.

    sb.pubsub.bus.select("Lead")            # only Lead selected for Change Data Capture
    sb.pubsub.bus.publish_gap("Lead", ids)  # a gap event for these records
    sb.pubsub.bus.publish_overflow("Lead")  # an overflow event
    sb.pubsub.service.keepalive_seconds = 1 # keep-alives every second instead of 270
"""
from __future__ import annotations

import re
import time
from concurrent import futures
from typing import Any

import grpc

from eventbus.v1 import pubsub_api_pb2_grpc as pb_grpc
from sandbox.pubsub.bus import EventBus
from sandbox.pubsub.service import PubSubService

MAX_STREAMS = 32


def _key_and_chain(server_pem: bytes) -> tuple[bytes, bytes]:
    """server.pem holds the private key then the certificate chain; gRPC wants them apart."""
    text = server_pem.decode()
    cut = re.search(r"-----END [A-Z ]*PRIVATE KEY-----", text).end()
    return text[:cut].encode() + b"\n", text[cut:].lstrip().encode()


class PubSubServer:
    def __init__(self, sb: Any, server_pem: bytes, org_id: str | None = None, port: int = 0):
        self.bus = EventBus(sb.org)
        self.service = PubSubService(self.bus, sb.auth, sb.faults, sb.url, org_id or sb.org.organization_id)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_STREAMS + 4, thread_name_prefix="sandbox-pubsub"),
                                   maximum_concurrent_rpcs=MAX_STREAMS)  # fmt: skip
        pb_grpc.add_PubSubServicer_to_server(self.service, self._server)
        key, chain = _key_and_chain(server_pem)
        credentials = grpc.ssl_server_credentials([(key, chain)])
        self.port = 0
        if port:  # a reopened org keeps its Pub/Sub port, as its HTTPS one, so configs written for it still work
            try:
                self.port = self._server.add_secure_port(f"127.0.0.1:{port}", credentials)
            except RuntimeError:  # taken: gRPC raises (or answers 0) and another port is used
                self.port = 0
        if not self.port:
            self.port = self._server.add_secure_port("127.0.0.1:0", credentials)
        self.url = f"127.0.0.1:{self.port}"
        self.bus.attach()
        self._server.start()

    def stop(self) -> None:
        self.bus.detach()
        stopped = self._server.stop(grace=0.5)
        end = time.monotonic() + 5
        while not stopped.is_set() and time.monotonic() < end:  # sleeps: see EventBus._tick
            time.sleep(0.02)

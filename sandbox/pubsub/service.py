"""The `eventbus.v1.PubSub` gRPC service over the org's event bus.

Every call is authenticated by its metadata as Salesforce does: `accesstoken` (a live
session of this org), `instanceurl` (this org's URL) and `tenantid` (the org id);
anything else is UNAUTHENTICATED. A session that expires while a stream is open ends
the stream with UNAUTHENTICATED too, at its next delivery or keep-alive.

Subscribe is pull-based: each FetchRequest adds `num_requested` (at most 100 outstanding,
as Salesforce counts them); events go out only while some are requested. With nothing to send the server sends an empty FetchResponse
carrying the latest replay id every `keepalive_seconds` (Salesforce: within 270 s).
The fault profiles reach here too: `unavailable` refuses a call, `stream_drop` ends an
open stream between two responses.
"""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Iterator

import grpc

from eventbus.v1 import pubsub_api_pb2 as pb
from eventbus.v1 import pubsub_api_pb2_grpc as pb_grpc
from sandbox.pubsub.avro import topic_entity
from sandbox.pubsub.bus import EventBus, ReplayIdError

ALL_CHANGES = "/data/ChangeEvents"
MAX_BATCH = 100  # events per FetchResponse at most
# Salesforce: at most 100 events requested across a Subscribe call's FetchRequests; more
# asked for counts as 100 (requested and not yet delivered)
MAX_PENDING = 100
_AUTH_ERROR = "sfdc.platform.eventbus.grpc.service.auth.error"


class _Abort(Exception):
    def __init__(self, status: grpc.StatusCode, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class PubSubService(pb_grpc.PubSubServicer):
    def __init__(self, bus: EventBus, auth: Any, faults: Any, instance_url: str, org_id: str,
                 keepalive_seconds: float = 270.0):
        self.bus = bus
        self.auth = auth
        self.faults = faults
        self.instance_url = instance_url.rstrip("/")
        self.org_id = org_id
        self.keepalive_seconds = keepalive_seconds
        self.subscriptions = 0  # streams opened, for tests and the admin page
        # events asked for beyond the 100 Salesforce owes at once (it ignores them): a client
        # relying on them would stall on a real org
        self.over_asked = 0

    # ---- helpers ----------------------------------------------------------------------
    def _fail(self, context: grpc.ServicerContext, abort: _Abort) -> None:
        context.set_trailing_metadata((("error-code", abort.code),))
        # Salesforce ends every error's message with the call's RPC id, for support cases
        context.abort(abort.status, f"{abort.message} rpcId: {uuid.uuid4()}")

    def _check(self, context: grpc.ServicerContext, rpc: str) -> str:
        """The caller's user id, or _Abort; an injected `unavailable` fault first."""
        fault = self.faults.decide_stream(f"pubsub/{rpc}", "call")
        if fault is not None:
            raise _Abort(grpc.StatusCode.UNAVAILABLE, "sfdc.platform.eventbus.grpc.service.unavailable",
                         "The service is temporarily unavailable. Try again later.")
        meta = {k: v for k, v in context.invocation_metadata()}
        return self._user(meta)

    def _user(self, meta: dict[str, Any]) -> str:
        token, url, tenant = meta.get("accesstoken"), meta.get("instanceurl"), meta.get("tenantid")
        if not token or not url or not tenant:
            missing = [k for k, v in (("accesstoken", token), ("instanceurl", url), ("tenantid", tenant)) if not v]
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, _AUTH_ERROR,
                         f"Authentication failed: missing metadata {', '.join(missing)}.")
        session = self.auth.session_user(f"Bearer {token}")
        if session is None:
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, _AUTH_ERROR,
                         "Authentication failed: the access token is invalid or has expired.")
        if str(url).rstrip("/") != self.instance_url or str(tenant) not in (self.org_id, self.org_id[:15]):
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, _AUTH_ERROR,
                         "Authentication failed: instanceurl or tenantid does not match the token's org.")
        return session[1]

    def _entities(self, topic: str) -> set[str]:
        if topic == ALL_CHANGES:
            return set(self.bus.selected)
        entity = topic_entity(topic)
        if entity is None or entity not in self.bus.selected:
            raise _Abort(grpc.StatusCode.NOT_FOUND, "sfdc.platform.eventbus.grpc.service.topic.not.found",
                         f"Topic {topic!r} was not found: select the object for Change Data Capture "
                         "(Setup → Change Data Capture) and check the topic name.")
        return {entity}

    def _may_view_all(self, user_id: str) -> bool:
        """Change Data Capture ignores sharing, so an object's events need View All on it (or
        View All Data): the integration user and admins have it, no partner (external) user
        does — the shipped partner permission set grants Lead read without View All."""
        from sandbox.sharing import external_user

        org = getattr(self.auth, "org", None)
        return org is None or external_user(org, user_id) is None

    def _readable(self, user_id: str, topic: str, entities: set[str]) -> set[str]:
        """The entities whose events this user receives; an object's own channel the user
        may not read is refused at subscription, /data/ChangeEvents is filtered per event
        (as Salesforce enforces each)."""
        if self._may_view_all(user_id):
            return entities
        if topic != ALL_CHANGES:
            raise _Abort(grpc.StatusCode.PERMISSION_DENIED, "sfdc.platform.eventbus.grpc.subscription.permission.denied",
                         f"Subscribing to {topic!r} needs the View All permission on {', '.join(sorted(entities))} "
                         "(or View All Data): change events ignore sharing.")  # fmt: skip
        return set()

    # ---- unary calls -------------------------------------------------------------------
    def GetTopic(self, request: pb.TopicRequest, context: grpc.ServicerContext) -> pb.TopicInfo:
        try:
            user_id = self._check(context, "GetTopic")
            entities = self._entities(request.topic_name)
        except _Abort as e:
            self._fail(context, e)
        schema_id = self.bus.schemas[next(iter(entities))].id if len(entities) == 1 and request.topic_name != ALL_CHANGES else ""
        can_subscribe = request.topic_name == ALL_CHANGES or self._may_view_all(user_id)
        return pb.TopicInfo(topic_name=request.topic_name, tenant_guid=self.org_id, can_publish=False,
                            can_subscribe=can_subscribe, schema_id=schema_id, rpc_id=str(uuid.uuid4()))

    def GetSchema(self, request: pb.SchemaRequest, context: grpc.ServicerContext) -> pb.SchemaInfo:
        try:
            self._check(context, "GetSchema")
            schema = self.bus.by_id.get(request.schema_id)
            if schema is None:
                raise _Abort(grpc.StatusCode.NOT_FOUND, "sfdc.platform.eventbus.grpc.schema.not.found",
                             f"Schema {request.schema_id!r} was not found.")
        except _Abort as e:
            self._fail(context, e)
        return pb.SchemaInfo(schema_json=schema.json, schema_id=schema.id, rpc_id=str(uuid.uuid4()))

    # ---- the stream --------------------------------------------------------------------
    def Subscribe(self, requests: Iterator[pb.FetchRequest], context: grpc.ServicerContext) -> Iterator[pb.FetchResponse]:
        try:
            user_id = self._check(context, "Subscribe")
            first = next(requests, None)
            if first is None:
                return
            entities = self._readable(user_id, first.topic_name, self._entities(first.topic_name))
            try:
                position = self.bus.start_after(int(first.replay_preset), bytes(first.replay_id))
            except ReplayIdError as e:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, e.code, str(e)) from None
            meta = {k: v for k, v in context.invocation_metadata()}
            self.subscriptions += 1
            yield from self._deliver(requests, context, first, entities, position, meta)
        except _Abort as e:
            self._fail(context, e)

    def _deliver(self, requests: Iterator[pb.FetchRequest], context: grpc.ServicerContext, first: pb.FetchRequest,
                 entities: set[str], position: int, meta: dict) -> Iterator[pb.FetchResponse]:
        bus = self.bus
        state = {"pending": min(MAX_PENDING, max(0, first.num_requested)), "ended": False, "bad_topic": None,
                 "half_closed": False}
        self.over_asked += max(0, first.num_requested - MAX_PENDING)

        def read_requests() -> None:  # the client's side of the stream: more requested, or done
            outcome = "half_closed"
            try:
                for req in requests:
                    with bus.cond:
                        if req.topic_name and req.topic_name != first.topic_name:
                            state["bad_topic"] = req.topic_name
                        asked = state["pending"] + max(0, req.num_requested)
                        self.over_asked += max(0, asked - MAX_PENDING)
                        state["pending"] = min(MAX_PENDING, asked)
                        bus.cond.notify_all()
            except Exception:  # the stream was cancelled or broke: the sender notices
                outcome = "ended"
            with bus.cond:
                # a client done sending (Subscribe(iter([request]))) still gets the events it
                # asked for: gRPC lets the server go on; the stream ends once none are owed
                state[outcome] = True
                bus.cond.notify_all()

        def finished() -> bool:
            return bool(state["ended"] or (state["half_closed"] and state["pending"] <= 0))

        threading.Thread(target=read_requests, name="pubsub-fetch-requests", daemon=True).start()
        last_sent = time.monotonic()
        while context.is_active():
            with bus.cond:
                events: list = []
                while not (bus.closed or finished() or state["bad_topic"]):
                    if state["pending"] > 0:
                        events, position = bus.take(position, entities, min(state["pending"], MAX_BATCH))
                        if events:
                            break
                    wait = self.keepalive_seconds - (time.monotonic() - last_sent)
                    if wait <= 0:
                        break
                    bus.cond.wait()  # woken by a new event, a request, or the bus's tick
                    if not context.is_active():
                        return
                if bus.closed or finished():
                    return
                if state["bad_topic"]:
                    raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "sfdc.platform.eventbus.grpc.subscription.topic.mismatch",
                                 f"Topic {state['bad_topic']!r} does not match the subscription's {first.topic_name!r}.")
                state["pending"] -= len(events)
                pending = state["pending"]
                latest = bus.replay_id(position - 1)
            self._user(meta)  # the session may have expired since the stream opened
            if self.faults.decide_stream("pubsub/Subscribe", "batch") is not None:
                raise _Abort(grpc.StatusCode.UNAVAILABLE, "sfdc.platform.eventbus.grpc.stream.reset",
                             "The stream was reset by the server. Subscribe again.")
            yield pb.FetchResponse(
                events=[pb.ConsumerEvent(event=pb.ProducerEvent(id=e.event_id, schema_id=e.schema_id, payload=e.payload),
                                         replay_id=bus.replay_id(e.serial)) for e in events],
                latest_replay_id=latest, rpc_id=str(uuid.uuid4()), pending_num_requested=pending)
            last_sent = time.monotonic()

    # ---- publishing ---------------------------------------------------------------------
    # The org's topics are change event channels only: Salesforce publishes change events
    # itself (GetTopic: can_publish false) and refuses a client's publish on them. The
    # status is gRPC's for a caller not allowed the operation; the error code is the
    # sandbox's reading (Salesforce's table does not name one for this case).
    def _refuse_publish(self, context: grpc.ServicerContext, topic: str) -> None:
        self._user({k: v for k, v in context.invocation_metadata()})
        self._entities(topic)
        raise _Abort(grpc.StatusCode.PERMISSION_DENIED, "sfdc.platform.eventbus.grpc.publish.not.permitted",
                     f"Publishing to {topic!r} is not allowed: change events are published by Salesforce when "
                     "records change (GetTopic answers can_publish false). Publish platform events to an "
                     "/event/... topic instead.")

    def Publish(self, request: pb.PublishRequest, context: grpc.ServicerContext) -> pb.PublishResponse:
        try:
            self._check(context, "Publish")
            self._refuse_publish(context, request.topic_name)
        except _Abort as e:
            self._fail(context, e)
        return pb.PublishResponse()  # not reached: every topic here refuses a publish

    def PublishStream(self, requests: Iterator[pb.PublishRequest], context: grpc.ServicerContext) -> Iterator[pb.PublishResponse]:  # fmt: skip
        try:
            self._check(context, "PublishStream")
            first = next(requests, None)
            if first is None:
                return
            self._refuse_publish(context, first.topic_name)
        except _Abort as e:
            self._fail(context, e)
        yield from ()

    def ManagedSubscribe(self, requests: Iterator[pb.ManagedFetchRequest], context: grpc.ServicerContext) -> Iterator[pb.ManagedFetchResponse]:  # fmt: skip
        """A managed subscription is a ManagedEventSubscription record (Tooling API); the org
        has none, so whichever one the first request names is not found."""
        try:
            self._check(context, "ManagedSubscribe")
            first = next(requests, None)
            if first is None:
                return
            name = first.subscription_id or first.developer_name
            raise _Abort(grpc.StatusCode.NOT_FOUND, "sfdc.platform.eventbus.grpc.managed.subscription.not.found",
                         f"Managed subscription {name!r} was not found: the org has no ManagedEventSubscription "
                         "of that id or developer name. Use Subscribe with a replay id instead.")
        except _Abort as e:
            self._fail(context, e)
        yield from ()

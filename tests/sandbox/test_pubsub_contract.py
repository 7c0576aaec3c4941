"""The wire contract, not our helpers: a client made from the .proto alone talks to the sandbox.

The client below is generated at test time from eventbus/v1/pubsub_api.proto with
grpcio-tools, runs in its own interpreter with none of the project importable, and
decodes the events with the schema the sandbox serves — what any Pub/Sub API client
(Salesforce's own examples included) would do.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "eventbus" / "v1" / "pubsub_api.proto"

CLIENT = textwrap.dedent('''
    import io, json, os, sys
    import fastavro, grpc
    import pubsub_api_pb2 as pb, pubsub_api_pb2_grpc as pb_grpc

    conn = json.load(open(sys.argv[1]))
    token = os.environ["PUBSUB_TOKEN"]
    channel = grpc.secure_channel(conn["pubsub_url"], grpc.ssl_channel_credentials(open(conn["ca_file"], "rb").read()))
    stub = pb_grpc.PubSubStub(channel)
    meta = (("accesstoken", token), ("instanceurl", conn["instance_url"]), ("tenantid", token.split("!")[0]))
    topic = stub.GetTopic(pb.TopicRequest(topic_name="/data/LeadChangeEvent"), metadata=meta, timeout=10)

    def requests():
        yield pb.FetchRequest(topic_name=topic.topic_name, replay_preset=pb.EARLIEST, num_requested=int(sys.argv[2]))
        while True:
            import time; time.sleep(60)

    out, schemas = [], {}
    for response in stub.Subscribe(requests(), metadata=meta, timeout=20):
        for ce in response.events:
            sid = ce.event.schema_id
            if sid not in schemas:
                schemas[sid] = json.loads(stub.GetSchema(pb.SchemaRequest(schema_id=sid), metadata=meta).schema_json)
            parsed = fastavro.parse_schema(schemas[sid])
            record = fastavro.schemaless_reader(io.BytesIO(ce.event.payload), parsed, parsed)
            header = record["ChangeEventHeader"]
            names = [f["name"] for f in schemas[sid]["fields"]]
            changed = [names[i] for b in header["changedFields"] for i in range(int(b, 16).bit_length()) if int(b, 16) >> i & 1]
            out.append({"type": header["changeType"], "ids": header["recordIds"], "changed": changed,
                        "company": record.get("Company"), "same_schema": sid == topic.schema_id})
        if len(out) >= int(sys.argv[2]):
            break
    mine = [m for m in sys.modules if m.split(".")[0] in ("sandbox", "connector", "jobs", "rules", "mappings", "eventbus")]
    print(json.dumps({"events": out, "project_modules": mine}))
''')


def _protoc(proto_dir: Path, out: Path) -> None:
    from grpc_tools import protoc

    args = ["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}", str(proto_dir / "pubsub_api.proto")]
    assert protoc.main(args) == 0, "protoc failed on the .proto"


def test_a_client_generated_from_the_proto_alone_subscribes_and_decodes(sandbox_factory, tmp_path):
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    shutil.copy(PROTO, client_dir / "pubsub_api.proto")
    _protoc(client_dir, client_dir)
    (client_dir / "client.py").write_text(CLIENT)
    sb = sandbox_factory()
    lead = sb.org.create("Lead", {"LastName": "Wire", "Company": "Contract Co"})
    sb.org.update("Lead", lead, {"Company": "Contract Co Ltd"})
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PUBSUB_TOKEN"] = sb.token()
    env["PYTHONPATH"] = str(client_dir)
    done = subprocess.run([sys.executable, "-P", str(client_dir / "client.py"), str(sb.data_dir / "connection.json"), "2"],
                          cwd=client_dir, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["project_modules"] == []
    create, update = result["events"]
    assert (create["type"], create["ids"], create["company"]) == ("CREATE", [lead], "Contract Co")
    assert update["type"] == "UPDATE" and update["company"] == "Contract Co Ltd"
    assert {"Company", "LastModifiedDate"} <= set(update["changed"]) and "LastName" not in update["changed"]
    assert create["same_schema"] and update["same_schema"]


def test_committed_stubs_match_the_proto(tmp_path):
    pytest.importorskip("grpc_tools")
    from grpc_tools import protoc

    args = ["protoc", f"-I{ROOT}", f"--python_out={tmp_path}", f"--grpc_python_out={tmp_path}", str(PROTO)]
    assert protoc.main(args) == 0
    for name in ("pubsub_api_pb2.py", "pubsub_api_pb2_grpc.py"):
        fresh = (tmp_path / "eventbus" / "v1" / name).read_text()
        committed = (ROOT / "eventbus" / "v1" / name).read_text()
        assert fresh == committed, (f"eventbus/v1/{name} is stale: regenerate it from the .proto "
                                    "(see eventbus/__init__.py)")


PUBLISHER = textwrap.dedent('''
    import json, os, sys
    import grpc
    import pubsub_api_pb2 as pb, pubsub_api_pb2_grpc as pb_grpc

    conn = json.load(open(sys.argv[1]))
    token = os.environ["PUBSUB_TOKEN"]
    channel = grpc.secure_channel(conn["pubsub_url"], grpc.ssl_channel_credentials(open(conn["ca_file"], "rb").read()))
    stub = pb_grpc.PubSubStub(channel)
    meta = (("accesstoken", token), ("instanceurl", conn["instance_url"]), ("tenantid", token.split("!")[0]))
    topic = stub.GetTopic(pb.TopicRequest(topic_name="/data/LeadChangeEvent"), metadata=meta, timeout=10)
    event = pb.ProducerEvent(id="1", schema_id=topic.schema_id, payload=b"\\x00")
    out = {"can_publish": topic.can_publish}

    def outcome(call):
        try:
            return {"ok": str(call())}
        except grpc.RpcError as e:
            return {"status": e.code().name, "details": e.details(), "error_code": dict(e.trailing_metadata() or ()).get("error-code")}

    out["publish"] = outcome(lambda: stub.Publish(pb.PublishRequest(topic_name=topic.topic_name, events=[event]),
                                                  metadata=meta, timeout=10))
    out["stream"] = outcome(lambda: list(stub.PublishStream(iter([pb.PublishRequest(topic_name=topic.topic_name, events=[event])]),
                                                            metadata=meta, timeout=10)))
    out["unknown"] = outcome(lambda: stub.Publish(pb.PublishRequest(topic_name="/event/Nope__e", events=[event]),
                                                  metadata=meta, timeout=10))
    out["anonymous"] = outcome(lambda: stub.Publish(pb.PublishRequest(topic_name=topic.topic_name, events=[event]), timeout=10))
    out["managed"] = outcome(lambda: list(stub.ManagedSubscribe(iter([pb.ManagedFetchRequest(developer_name="Lead_Changes", num_requested=1)]),
                                                                metadata=meta, timeout=10)))
    print(json.dumps(out))
''')


def test_publishing_a_change_event_is_refused_as_salesforce_refuses_it(sandbox_factory, tmp_path):
    """Change events are Salesforce's to publish (GetTopic says can_publish false): Publish and
    PublishStream on a change event channel answer PERMISSION_DENIED, not UNIMPLEMENTED (a
    server that lacks the method); an unknown topic is NOT_FOUND, no session UNAUTHENTICATED;
    ManagedSubscribe names a managed subscription the org does not have: NOT_FOUND."""
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    shutil.copy(PROTO, client_dir / "pubsub_api.proto")
    _protoc(client_dir, client_dir)
    (client_dir / "publisher.py").write_text(PUBLISHER)
    sb = sandbox_factory()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PUBSUB_TOKEN"] = sb.token()
    env["PYTHONPATH"] = str(client_dir)
    done = subprocess.run([sys.executable, "-P", str(client_dir / "publisher.py"), str(sb.data_dir / "connection.json")],
                          cwd=client_dir, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["can_publish"] is False
    for call in ("publish", "stream"):
        assert out[call]["status"] == "PERMISSION_DENIED", out[call]
        assert "/data/LeadChangeEvent" in out[call]["details"] and out[call]["error_code"]
    assert out["unknown"]["status"] == "NOT_FOUND"
    assert out["anonymous"]["status"] == "UNAUTHENTICATED"
    assert out["managed"]["status"] == "NOT_FOUND" and "Lead_Changes" in out["managed"]["details"]

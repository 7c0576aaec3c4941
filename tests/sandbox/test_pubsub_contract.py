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

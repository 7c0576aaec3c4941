"""Salesforce's Pub/Sub API wire contract (`eventbus.v1`), shared by both ends.

The sandbox serves it and the connector subscribes with it; neither may import the
other, so the contract lives here on its own, like a third-party client library:
`v1/pubsub_api.proto` (written from Salesforce's published contract: same package,
message names and field numbers) and the stubs grpcio-tools generated from it,
committed so running needs no code generation. Regenerate after editing the .proto:

    .venv/bin/python -m grpc_tools.protoc -I . --python_out=. --grpc_python_out=. eventbus/v1/pubsub_api.proto

(run from the repository root; tests/sandbox/test_pubsub_contract.py fails when the
committed stubs and the .proto disagree).
"""

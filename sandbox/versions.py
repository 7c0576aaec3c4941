"""The REST API versions the sandbox serves (a leaf: the API's routes and the Metadata API's
checks both read it)."""
from __future__ import annotations

# Up to Winter '27 (v68.0), the release an org runs in the sandbox's own time: the REST API
# Developer Guide's current examples use v66.0-v68.0 (e.g. "Get Records Using sObject
# Collections"), and a client written from them must not meet 404 on every call.
VERSIONS = [f"{n}.0" for n in range(50, 69)]

"""The REST API versions the sandbox serves (a leaf: the API's routes and the Metadata API's
checks both read it)."""
from __future__ import annotations

VERSIONS = [f"{n}.0" for n in range(50, 65)]

"""Drive a sandbox running in another process through its /__sandbox/ endpoints.

For benchmarks and the demo when the org lives out of process (its memory and CPU
kept apart from what is being measured):

    remote = RemoteSandbox.from_connection("org/connection.json")
    remote.reset_counters(); ...; remote.counters()["api_calls"]
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import requests


class RemoteSandbox:
    def __init__(self, connection: dict[str, Any], timeout: float = 30):
        self.connection = connection
        self.base = connection.get("admin_url") or connection["instance_url"] + "/__sandbox"
        self.timeout = timeout
        self._http = requests.Session()
        self._http.verify = connection["ca_file"]
        self._http.trust_env = False

    @classmethod
    def from_connection(cls, path: str | os.PathLike) -> RemoteSandbox:
        file = Path(path)
        if file.is_dir():
            file = file / "connection.json"
        return cls(json.loads(file.read_text()))

    def _call(self, method: str, path: str, body: dict | None = None, **params: Any) -> Any:
        r = self._http.request(method, self.base + path, json=body, params=params or None, timeout=self.timeout)
        if r.status_code >= 400:
            raise RuntimeError(f"sandbox admin {method} {path} answered {r.status_code}: {r.text}")
        return r.json()

    def status(self) -> dict:
        return self._call("GET", "")

    def counters(self) -> dict:
        return self._call("GET", "/counters")

    def reset_counters(self) -> dict:
        return self._call("POST", "/counters/reset")

    def requests(self, endpoint: str | None = None) -> list[dict]:
        return self._call("GET", "/requests", **({"endpoint": endpoint} if endpoint else {}))["requests"]

    def now(self) -> datetime:
        return datetime.strptime(self._call("GET", "/clock")["now"], "%Y-%m-%dT%H:%M:%S.%f%z")

    def advance(self, **delta: float) -> datetime:
        """advance(minutes=5) / advance(hours=2) / advance(days=1, seconds=30)."""
        return datetime.strptime(self._call("POST", "/clock/advance", delta)["now"], "%Y-%m-%dT%H:%M:%S.%f%z")

    def set_faults(self, profile: str | None = None, seed: int | None = None, plan: list[dict] | None = None,
                   clear: bool = False) -> dict:  # fmt: skip
        body: dict[str, Any] = {"clear": clear}
        if profile is not None:
            body["profile"] = profile
        if seed is not None:
            body["seed"] = seed
        if plan:
            body["plan"] = plan
        return self._call("POST", "/faults", body)

    def notifications(self, action: str | None = None) -> list[dict]:
        return self._call("GET", "/notifications", **({"action": action} if action else {}))["notifications"]

    def set_limit(self, maximum: int | None = None, used: int | None = None) -> dict:
        return self._call("POST", "/limits", {k: v for k, v in (("max", maximum), ("used", used)) if v is not None})

    def expire_sessions(self) -> None:
        self._call("POST", "/sessions/expire")

    def add_leads(self, count: int, random_seed: int = 0) -> list[str]:
        """`count` new leads in the running org (see sandbox.seed.add_leads); their ids."""
        return self._call("POST", "/leads", {"count": count, "random_seed": random_seed})["ids"]

    def save(self) -> str:
        return self._call("POST", "/save")["saved"]

    def close(self) -> None:
        self._http.close()

"""A raw HTTPS client for exact-JSON and header assertions (no simple-salesforce)."""
from __future__ import annotations

from typing import Any

import requests

from tests.conftest import client_credentials_token, https_session


class Raw:
    def __init__(self, sb: Any, version: str = "62.0"):
        self.sb = sb
        self.base = sb.connection["instance_url"]
        self.version = version
        self.session: requests.Session = https_session(sb.connection["ca_file"])
        self.token = client_credentials_token(sb.connection)

    def url(self, path: str) -> str:
        if path.startswith("/"):
            return self.base + path
        return f"{self.base}/services/data/v{self.version}/{path}"

    def request(self, method: str, path: str, *, headers: dict | None = None, **kwargs: Any) -> requests.Response:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return self.session.request(method, self.url(path), headers=all_headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.session.close()

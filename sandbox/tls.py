"""The sandbox's throwaway certificate authority and server certificate.

simple-salesforce only speaks https, so the sandbox serves TLS from a CA made for
it (trustme) and clients trust `ca.pem` alone. The CA and the server's key live under
the data directory, so a restarted sandbox keeps the CA that clients already trust.
"""
from __future__ import annotations

import os
import ssl
import threading
from pathlib import Path

import trustme

HOSTS = ("127.0.0.1", "localhost")


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o600)


_lock = threading.Lock()
_cached: tuple[bytes, bytes] | None = None


def _ca_and_server_pems() -> tuple[bytes, bytes]:
    """(CA certificate, server key + chain), made once per process: a test session starts
    hundreds of sandboxes and they can all share one throwaway CA."""
    global _cached
    with _lock:
        if _cached is None:
            ca = trustme.CA(organization_name="leadrouter sandbox CA")
            leaf = ca.issue_cert(*HOSTS, common_name="leadrouter sandbox")
            _cached = (ca.cert_pem.bytes(), leaf.private_key_and_cert_chain_pem.bytes())
        return _cached


def ensure_certificates(data_dir: Path) -> tuple[Path, Path]:
    """(ca_file, server_pem) under data_dir/tls, written on first use and reused after."""
    tls_dir = data_dir / "tls"
    ca_file, server_pem = tls_dir / "ca.pem", tls_dir / "server.pem"
    if ca_file.exists() and server_pem.exists():
        return ca_file, server_pem
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_pem, server = _ca_and_server_pems()
    _write_private(server_pem, server)
    ca_file.write_bytes(ca_pem)
    return ca_file, server_pem


def server_context(server_pem: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(server_pem))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx

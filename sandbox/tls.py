"""The sandbox's throwaway certificate authority and server certificate.

simple-salesforce only speaks https, so the sandbox serves TLS from a CA made for
it (trustme) and clients trust `ca.pem` alone. The CA and the server's key live under
the data directory, so a restarted sandbox keeps the CA that clients already trust.
"""
from __future__ import annotations

import os
import ssl
from pathlib import Path

import trustme

HOSTS = ("127.0.0.1", "localhost")


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o600)


def ensure_certificates(data_dir: Path) -> tuple[Path, Path]:
    """(ca_file, server_pem) under data_dir/tls, made on first use and reused after."""
    tls_dir = data_dir / "tls"
    ca_file, server_pem = tls_dir / "ca.pem", tls_dir / "server.pem"
    if ca_file.exists() and server_pem.exists():
        return ca_file, server_pem
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="leadrouter sandbox CA")
    leaf = ca.issue_cert(*HOSTS, common_name="leadrouter sandbox")
    _write_private(server_pem, leaf.private_key_and_cert_chain_pem.bytes())
    ca_file.write_bytes(ca.cert_pem.bytes())
    return ca_file, server_pem


def server_context(server_pem: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(server_pem))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx

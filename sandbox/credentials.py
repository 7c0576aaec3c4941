"""The connected app and integration user's secrets for one sandbox org.

Made on the first start and kept in `DATA/credentials.json` (mode 0600) so a
restarted sandbox accepts the same client id/secret, password, refresh token and JWT
key. The JWT key pair is the slow part (RSA), so it is made once per process and
reused for every fresh data directory - tests start many sandboxes.
"""
from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_key_lock = threading.Lock()
_cached_key: tuple[bytes, bytes] | None = None


@dataclass
class Credentials:
    client_id: str
    client_secret: str
    username: str
    password: str
    refresh_token: str
    private_key_file: str  # PEM the client signs JWT assertions with
    certificate_file: str  # the certificate "uploaded to the connected app"

    def certificate_pem(self) -> bytes:
        return Path(self.certificate_file).read_bytes()


def _jwt_key_pair() -> tuple[bytes, bytes]:
    """(private key PEM, self-signed certificate PEM), made once per process."""
    global _cached_key
    with _key_lock:
        if _cached_key is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leadrouter sandbox connected app")])
            now = datetime.now(timezone.utc)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=3650))
                .sign(key, hashes.SHA256())
            )
            _cached_key = (
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
                cert.public_bytes(serialization.Encoding.PEM),
            )
        return _cached_key


def load_or_create(data_dir: Path, username: str) -> Credentials:
    path = data_dir / "credentials.json"
    if path.exists():
        return Credentials(**json.loads(path.read_text()))
    key_pem, cert_pem = _jwt_key_pair()
    key_file, cert_file = data_dir / "jwt_private_key.pem", data_dir / "jwt_certificate.pem"
    key_file.write_bytes(key_pem)
    os.chmod(key_file, 0o600)
    cert_file.write_bytes(cert_pem)
    creds = Credentials(
        # Salesforce consumer keys are long opaque strings starting 3MVG
        client_id="3MVG9sandbox" + secrets.token_urlsafe(36).replace("-", "").replace("_", "")[:40],
        client_secret=secrets.token_hex(32).upper(),
        username=username,
        password=secrets.token_urlsafe(18),
        refresh_token="5Aep861" + secrets.token_urlsafe(60).replace("-", "x").replace("_", "y"),
        private_key_file=str(key_file),
        certificate_file=str(cert_file),
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(creds), indent=2))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return creds

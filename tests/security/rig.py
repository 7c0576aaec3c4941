"""Shared by the security tests: an org with partners and leads, and a connector built
from a config file for any auth method, with secrets only in the environment or files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.badinput.harness import CORPUS_RULES, config_text, q

SECRET_ENV = {
    "client_secret": "LR_SEC_CLIENT_SECRET",
    "refresh_token": "LR_SEC_REFRESH_TOKEN",
    "password": "LR_SEC_PASSWORD",
}
METHODS = ("jwt_bearer", "client_credentials", "refresh_token", "password")


def auth_block(method: str, connection: dict[str, Any]) -> str:
    cid = f"client_id = {q(connection['client_id'])}\n"
    secret = f'client_secret_env = "{SECRET_ENV["client_secret"]}"\n'
    if method == "jwt_bearer":
        return (f'method = "jwt_bearer"\n{cid}username = {q(connection["username"])}\n'
                f"private_key_file = {q(connection['private_key_file'])}\n")
    if method == "client_credentials":
        return f'method = "client_credentials"\n{cid}{secret}'
    if method == "refresh_token":
        return f'method = "refresh_token"\n{cid}{secret}refresh_token_env = "{SECRET_ENV["refresh_token"]}"\n'
    if method == "password":
        return (f'method = "password"\n{cid}username = {q(connection["username"])}\n{secret}'
                f'password_env = "{SECRET_ENV["password"]}"\n')
    raise ValueError(method)


def secret_env(connection: dict[str, Any]) -> dict[str, str]:
    return {var: connection[key] for key, var in SECRET_ENV.items()}


def write_config(directory: Path, sb, method: str, *, level: str = "debug", notify: bool = True,
                 ca_file: str | None = None, rules: Path = CORPUS_RULES, extra: str = "") -> Path:
    connection = dict(sb.connection)
    if ca_file is not None:
        connection["ca_file"] = ca_file
    if notify:
        type_id = next(r["Id"] for r in sb.org.records("CustomNotificationType"))
        extra += f'\n[notifications]\nmode = "custom"\ncustom_notification_type_id = {q(type_id)}\n'
    text = config_text(connection, rules=rules, auth=auth_block(method, connection), extra=extra)
    text = text.replace('level = "debug"', f'level = "{level}"')
    path = directory / "leadrouter.toml"
    path.write_text(text, encoding="utf-8")
    return path


def private_key_body(connection: dict[str, Any]) -> str:
    """The base64 body of the org's private key, without PEM armour or newlines."""
    text = Path(connection["private_key_file"]).read_text(encoding="utf-8")
    return "".join(line.strip() for line in text.splitlines() if line and not line.startswith("-----"))

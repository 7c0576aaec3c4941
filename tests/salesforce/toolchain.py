"""Where the Node toolchain that `./dev test` installs lives, and what a test does without it.

`./dev test` runs `npm ci` in salesforce/ (Node 22 from the `node` package, Salesforce's
CLI, the LWC Jest runner; ~1 minute once, then only when package-lock.json changes).
When that install failed it writes why to salesforce/.install-failed: tests that need
Node are skipped with that reason. When nothing was even tried (pytest run directly),
they are skipped with how to install — except under CI, where a missing toolchain is a
broken ./dev and fails.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SALESFORCE = Path(__file__).resolve().parents[2] / "salesforce"
BIN = SALESFORCE / "node_modules" / ".bin"
FAILED = SALESFORCE / ".install-failed"
NODE_MAJOR = 22


def require(*tools: str) -> dict[str, str]:
    """The environment for running `tools` (e.g. "sf") with Node 22 first on PATH;
    skips (or fails under CI) the calling test when they are not installed."""
    missing = [t for t in ("node", *tools) if not (BIN / t).exists()]
    if not missing:
        version = subprocess.run([str(BIN / "node"), "--version"], capture_output=True, text=True, timeout=30).stdout
        if version.startswith(f"v{NODE_MAJOR}."):
            env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
            env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
            return env
        missing = [f"node v{NODE_MAJOR} (found {version.strip() or 'nothing'})"]
    if FAILED.exists():
        reason = FAILED.read_text(encoding="utf-8", errors="replace").strip().splitlines()[0]
        pytest.skip(f"the Node toolchain could not be installed ({reason}); details in {FAILED}")
    message = (f"not installed: {', '.join(missing)} in {BIN}; `./dev test` installs them "
               f"(or: cd salesforce && npm ci)")
    if os.environ.get("CI"):
        pytest.fail(message + " — under CI ./dev must have installed them")
    pytest.skip(message)


def sf_env(connection: dict, home: Path) -> dict[str, str]:
    """The environment for Salesforce's CLI against a sandbox org: Node 22 first on PATH, its
    own HOME (sf keeps auth files there), the org's CA, a token to log in with, and no
    network beyond loopback (no telemetry, no update check)."""
    from tests.conftest import client_credentials_token

    env = require("sf")
    home.mkdir(exist_ok=True)
    env.update({
        "HOME": str(home),
        "SF_ACCESS_TOKEN": client_credentials_token(connection),
        "NODE_EXTRA_CA_CERTS": connection["ca_file"],
        "NO_PROXY": "127.0.0.1,localhost",
        "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true", "SF_SKIP_NEW_VERSION_CHECK": "true",
        "SF_USE_GENERIC_UNIX_KEYCHAIN": "true", "SF_CONTAINER_MODE": "true",
    })  # fmt: skip
    return env

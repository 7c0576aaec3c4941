"""Headless Chromium for tests that must see a page as a person would."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=5000",
]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(html_file: Path) -> str:
    """The DOM after the page's scripts ran."""
    exe = chromium()
    assert exe, "Chromium is not installed: ./dev test installs Debian's chromium package; or run `apt-get install chromium`"
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", html_file.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(html_file: Path, png: Path, size: str = "1200,1600") -> Path:
    exe = chromium()
    assert exe, "Chromium is not installed"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}", f"--screenshot={png}", html_file.resolve().as_uri()],
            capture_output=True,
            timeout=90,
            check=True,
        )
    return png

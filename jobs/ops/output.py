"""Files the ops tools write (`--out`): checked before any work, written whole or not at all."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def why_not_writable(path: Path) -> str | None:
    """Why `path` cannot take the output, in words for the person who typed it; None if it can."""
    if path.is_dir():
        return "is a directory; name a file in it, e.g. --out " + str(path / "out.txt")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"cannot be written: the directory {parent} does not exist"
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "cannot be written: permission denied"
    return None


def write_whole(path: Path, text: str) -> None:
    """Write through a temporary file beside `path`, so a reader never sees half a report.

    A symlink's target gets the text (the link stays); a pipe or a device (`/dev/stdout`) is
    written straight into: renamed over, the node itself would be replaced by a file.
    Raises OSError (the caller names the path) when nothing could be written."""
    real = path.resolve()
    if real.exists() and not real.is_file():
        with open(real, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", dir=real.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

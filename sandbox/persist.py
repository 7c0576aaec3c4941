"""The org on disk: one pickle under the data directory, replaced atomically.

Written on stop and, while the org changes, every few seconds; read on start, so a
restarted sandbox is the same org (records, id serials, clock, sessions, API usage).
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

FILE_NAME = "org.pickle"
FORMAT = 1


def save(data_dir: Path, state: dict[str, Any]) -> Path:
    path = data_dir / FILE_NAME
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump({"format": FORMAT, **state}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


def load(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / FILE_NAME
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh:
            state = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
        raise ValueError(
            f"{path}: cannot read the saved sandbox org ({exc}); delete the file to start from an empty org"
        ) from None
    if state.get("format") != FORMAT:
        raise ValueError(f"{path}: saved by another sandbox version (format {state.get('format')}); delete it to start afresh")  # fmt: skip
    return state

"""The state database's own files, made private (0600) before SQLite makes them with the
process umask: for every opener of a state database (jobs/state_path.py, Store)."""
from __future__ import annotations

import os
from pathlib import Path


def create_private(path: Path) -> bool:
    """Create a missing SQLite database file and its migration lock file 0600 (SQLite
    gives -wal and -shm the database's mode; filelock keeps an existing file's). True
    when the database file was created here. For every opener of a state database:
    `Store` (and through it the demo) should call it before SQLite creates the file
    with the process umask (0644)."""
    created = False
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        created = True
    except FileExistsError:
        pass  # there already, or another instance created it first: the same state
    lock = path.with_name(path.name + ".migrate.lock")
    if not lock.exists():
        os.close(os.open(lock, os.O_RDWR | os.O_CREAT, 0o600))
    return created

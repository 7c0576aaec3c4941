"""The state database's path, checked before anything opens it.

Found by trying it as a new user would: `validate` said "ready to run" for a directory
we cannot write; `once` then died with a PermissionError traceback, or, with a path it
could not open, claimed "another instance holds the leader lock" (exit 3); `status`
waited 61 s on the migration lock and printed a filelock traceback; and a directory
that did not exist was silently created with a fresh, empty state — the way a volume
that failed to mount turns into "every live offer forgotten".

So, for a SQLite state (PostgreSQL has no path to check):
- the directory must exist: it is never created unless `--init` says a new state is
  meant (a missing directory is far more often an unmounted volume than a first run);
- a missing database file in an existing directory is created, and the first run says
  so plainly in the log (a `state_created` warning, on stderr), naming `--init` (which says
  the new state is intended, and silences the warning) and what to do if the state was
  lost instead;
- directory and file must be writable, tried for real (root ignores permission bits,
  a read-only mount does not);
- the database, its -wal/-shm files (SQLite gives them the database's mode) and our
  lock files are created 0600: the state holds personal data.

Problems exit with EXIT_STATE (4) and one message naming the path and the fix.
"""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

EXIT_STATE = 4
STATUS_TIMEOUT = 2.0  # seconds `status` waits for a busy database before saying so


class StatePathError(Exception):
    def __init__(self, message: str, fix: str):
        super().__init__(f"{message}\n  fix: {fix}")
        self.message = message
        self.fix = fix


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory SQLite."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _who() -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(os.geteuid()).pw_name} (uid {os.geteuid()})"
    except (ImportError, KeyError):
        return f"uid {os.geteuid()}"


def _why(e: OSError) -> str:
    return e.strerror or errno.errorcode.get(e.errno or 0, str(e))


def _unwritable(directory: Path, e: OSError) -> StatePathError:
    return StatePathError(
        f"cannot create files in the state directory {directory}: {_why(e)} "
        "(SQLite keeps its -wal, -shm and lock files beside the database)",
        f"let the user running leadrouter, {_who()}, write there (chown/chmod, or a writable volume), "
        "or point [state] url at a writable directory")


def _probe_directory(directory: Path) -> None:
    probe = directory / f".leadrouter-probe-{os.getpid()}"
    try:
        os.close(os.open(probe, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as e:
        raise _unwritable(directory, e) from None
    try:
        probe.unlink()
    except OSError:
        pass


def problem(url: str, *, init: bool = False) -> StatePathError | None:
    """What stops the state at `url` from being used, or None. Creates nothing."""
    path = sqlite_path(url)
    if path is None:
        return None
    directory = path.parent
    if not directory.exists():
        if init:
            return None
        return StatePathError(
            f"the state directory {directory} does not exist",
            "mount or create it (a missing directory is usually a volume that did not mount: the state "
            "on it holds every live offer), or run `leadrouter once --init` once to start a new, empty state")
    if not directory.is_dir():
        return StatePathError(f"{directory} is not a directory, so it cannot hold the state database {path.name}",
                              "point [state] url at a file inside a directory, e.g. sqlite:///state/leadrouter.sqlite")
    if path.exists() and not path.is_file():
        return StatePathError(f"the state database path {path} is not a file",
                              "point [state] url at a file (it is created on the first run)")
    try:
        _probe_directory(directory)
    except StatePathError as e:
        return e
    if path.exists():
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as e:
            return StatePathError(f"cannot open the state database {path} for writing: {_why(e)}",
                                  f"let the user running leadrouter, {_who()}, read and write it "
                                  "(chown/chmod), or point [state] url elsewhere")
    return None


@dataclass
class Prepared:
    path: Path | None
    created: bool = False


def prepare(url: str, *, init: bool = False, rebuild: bool = False) -> Prepared:
    """Check the state path for `once`/`run`; create what is missing (0600 files, a 0700
    directory only with `init`). StatePathError when it cannot be used."""
    found = problem(url, init=init)
    if found is not None:
        raise found
    path = sqlite_path(url)
    if path is None:
        return Prepared(None)
    from jobs.state.files import create_private

    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)
        created = create_private(path)
    except OSError as e:
        raise _unwritable(path.parent, e) from None
    if created:
        _announce_new_state(path, init, rebuild)
    return Prepared(path, created)


def _announce_new_state(path: Path, init: bool, rebuild: bool = False) -> None:
    from jobs.logging import get_logger

    log = get_logger(component="state")
    if init or rebuild:
        # `state rebuild` is what the warning below asks for: a new file is its starting point
        log.info("state_created", path=str(path),
                 note="new, empty state database (" + ("--init" if init else "rebuilt from the org next") + ")")
        return
    note = (f"no state database at {path}: created a new, empty one. On a first run that is expected "
            "(pass --init to say so and silence this). If this deployment has run before, its state was "
            "lost: stop it and restore the file from a backup, or rebuild the live offers from the org "
            "(`leadrouter state rebuild`), before the next run.")
    log.warning("state_created", path=str(path), note=note)  # the log goes to stderr, pretty in a terminal


class Reader:
    """A read-only view of the state for `status`: no migration, no lock, never creates a
    file, and a busy database is an answer within STATUS_TIMEOUT, not a 61 s hang."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        from jobs.state.migrations import current_version

        path = sqlite_path(url)
        if path is not None:
            if not path.is_file():
                raise StatePathError(f"no state database at {path}",
                                     "check [state] url; the first `leadrouter once --init` (or run) creates it")
            self.engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true",
                                        connect_args={"timeout": STATUS_TIMEOUT})
        elif url.startswith("sqlite"):
            raise StatePathError("an in-memory state has nothing to show", "set [state] url to a file")
        else:
            self.engine = create_engine(url, connect_args={"connect_timeout": int(STATUS_TIMEOUT) + 1},
                                        pool_pre_ping=False)
        try:
            with self.engine.connect() as conn:
                self.version = current_version(conn)
        except Exception as e:  # noqa: BLE001 - a database we cannot read is an answer, not a traceback
            self.engine.dispose()
            if path is None:  # a server: said as `once`, `report` and `undo` say it (cannot reach … at host:port)
                from jobs.state.store import unreachable

                message, _, fix = unreachable(url, str(getattr(e, "orig", None) or e).splitlines()[0]).partition(
                    "\n  fix: ")
                raise StatePathError(message, fix) from None
            raise StatePathError(f"cannot read the state database: {str(e).splitlines()[0]}",
                                 "check [state] url and that the user running leadrouter can read it; "
                                 "a busy database answers on the next try") from None
        from jobs.state.schema import SCHEMA_VERSION

        if self.version is not None and self.version > SCHEMA_VERSION:
            # a newer leadrouter's tables may mean other things: say so rather than misread them
            from jobs.state.migrations import too_new
            from jobs.state.orgs import location

            self.engine.dispose()
            message, fix = too_new(location(url), self.version,
                                   SCHEMA_VERSION).split("\n  fix: ")
            raise StatePathError(message, fix)
        if self.version is None:
            self.engine.dispose()
            raise StatePathError("the state database has no leadrouter schema yet",
                                 "run `leadrouter once --init` (or `run`) against it first")

    @contextmanager
    def connect(self) -> Iterator[Any]:
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()

"""Taking turns at writing to SQLite, across the worker processes of one host.

SQLite has one writer at a time, and a writer that finds the database locked naps in SQLite's
busy handler (1, 2, 5 … 100 ms) before trying again. Two workers each committing a result per
message collide on about one commit in seven, and the naps then cost more time than all the
database work (measured: 0.64 ms per message on average, of which 0.46 ms in waits of a
millisecond or more). Batch loops queue on a file lock beside the database instead, and the
next one is woken the moment the lock is free. The lock dies with its process, so a killed
worker holds nobody up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from sqlalchemy.engine import Engine


def lock_file(engine: Engine) -> int | None:
    """An open lock file beside ``engine``'s SQLite database; None for other databases."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    try:
        return os.open(f"{url.database}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # e.g. a read-only folder: SQLite's own busy handler still serialises
        return None


@contextlib.contextmanager
def turn(fd: int | None) -> Iterator[None]:
    """Hold the lock (if any) around one short write transaction and its commit."""
    if fd is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)

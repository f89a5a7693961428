"""Taking turns at writing to SQLite: one writer at a time among this host's threads and processes.

SQLite has one writer per database, and a writer that finds the database locked naps in
SQLite's busy handler (1, 2, 5 … 100 ms) before trying again, so a short wait can become a
long one. Two workers each committing a result per message collided on about one commit in
seven, and the naps then cost more time than all the database work (measured: 0.64 ms per
message on average, of which 0.46 ms in waits of a millisecond or more). So every writer that
shares the database with others takes a *turn* first, and the next one is woken the moment the
turn ends:

- the threads of this process queue on one lock;
- the processes of this host (web processes, ``python worker.py``, ``newsletter import``)
  queue on a lock file beside the database (``<database>.writer-lock``, ``flock``). It dies
  with its process, so a killed worker holds nobody up.

A turn is both, the thread lock first: ``flock`` belongs to an open file, so threads sharing
one file would not exclude each other. Signups, draft saves, the confirmations' bookkeeping,
an import's chunks and the batch loops all take the same turn. It costs two system calls
(microseconds), against the milliseconds a collision costs; the lock file is opened once per
process. Other databases need no help: a turn there is nothing.

Two entry points, one lock: :func:`turn` around a transaction of the app's session, and
:func:`raw_turn` around one on a connection of one's own (the batch loop's Journal).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from functools import cache

from sqlalchemy.engine import Engine

from ..extensions import db

_THREADS = threading.Lock()


@contextlib.contextmanager
def turn() -> Iterator[None]:
    """Around one short write transaction of the app's session: the caller's statements, its
    commit or rollback go inside.

    With SQLite the transaction also takes SQLite's write lock before its first statement
    (``BEGIN IMMEDIATE``). A transaction that reads first and writes later must turn its read
    into a write, and SQLite refuses that at once, without waiting ("database is locked"),
    whenever another process wrote in between.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite":
        yield
        return
    with raw_turn(engine):
        connection = db.session.connection()
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield


@contextlib.contextmanager
def raw_turn(engine: Engine) -> Iterator[None]:
    """Around one short write transaction (its statements and the commit) on a DBAPI
    connection of ``engine`` that the caller owns."""
    if engine.dialect.name != "sqlite":
        yield
        return
    fd = _lock_file(engine.url.database or "", os.getpid())
    with _THREADS:
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


@cache
def _lock_file(database: str, pid: int) -> int | None:
    """The lock file beside ``database``, open for the process's life; None when there is none.

    Keyed by process: a child forked after the parent opened it would share the parent's open
    file, and the two would not exclude each other.
    """
    if database in ("", ":memory:"):
        return None
    try:
        return os.open(f"{database}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # e.g. a read-only folder: SQLite's own busy handler still serialises
        return None

"""Whose turn it is to read the bounce mailbox: at most once an interval, one process at a time.

With Redis, a key set for the interval and a lock held while polling; without, a lock file
beside the SQLite database (its modification time is the last poll), or a PostgreSQL advisory
lock with the interval kept per process; any other database, the interval per process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from ..extensions import db
from ..jobs import queues

_LAST_POLL: dict[str, float] = {}  # per process and database, for PostgreSQL without Redis
ADVISORY_KEY = int.from_bytes(b"bncmbox!", "big") >> 1  # any fixed 63-bit number of ours
_THREADS = threading.Lock()


@contextlib.contextmanager
def turn(interval: float, longest: float) -> Iterator[bool]:
    """True when this process is to poll now; nobody else polls until it is done (with Redis,
    for at most ``longest`` seconds or the interval, whichever is longer)."""
    conn = queues.redis()
    if conn is not None:
        yield from _redis_turn(conn, interval, longest)
        return
    url = make_url(db.engine.url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        yield from _file_turn(Path(f"{url.database}.bounce-mailbox"), interval)
    elif url.get_backend_name() == "postgresql":
        yield from _advisory_turn(interval)
    else:
        yield from _process_turn(interval)


def _redis_turn(conn, interval: float, longest: float) -> Iterator[bool]:  # type: ignore[no-untyped-def]
    running, token = queues.key("bounce-mailbox", "polling"), secrets.token_hex(8)
    if not conn.set(running, token, nx=True, ex=max(int(longest), int(interval))):
        yield False
        return
    try:
        due = conn.set(
            queues.key("bounce-mailbox", "polled"), b"1", nx=True, px=int(interval * 1000)
        )
        yield bool(due)
    finally:
        if conn.get(running) == token.encode():
            conn.delete(running)


def _file_turn(path: Path, interval: float) -> Iterator[bool]:
    if not _THREADS.acquire(blocking=False):  # flock belongs to an open file, not a thread
        yield False
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        if os.fstat(fd).st_size and time.time() - os.fstat(fd).st_mtime < interval:
            yield False
            return
        os.pwrite(fd, b"1", 0)
        os.utime(path)  # the last poll's time, for every process
        yield True
    finally:
        os.close(fd)  # releases the flock
        _THREADS.release()


def _advisory_turn(interval: float) -> Iterator[bool]:
    with db.engine.connect() as connection:
        key = ADVISORY_KEY
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
            yield False
            return
        try:
            yield from _process_turn(interval)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.commit()


def _process_turn(interval: float) -> Iterator[bool]:
    if not _THREADS.acquire(blocking=False):
        yield False
        return
    try:
        now, where = time.monotonic(), str(db.engine.url)
        due = where not in _LAST_POLL or now - _LAST_POLL[where] >= interval
        if due:
            _LAST_POLL[where] = now
        yield due
    finally:
        _THREADS.release()

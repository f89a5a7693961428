"""Short-lived "I am alive" keys: a running batch job's claim and a batch's pending job.

In Redis (shared by every worker on every host) when configured, else in this process (the
embedded queue is the only worker). A key that has expired means its owner is gone.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis

from .. import queue

# How long a claim survives its owner falling silent. Owners refresh it every half second,
# so a killed worker's claim is known dead within this many seconds.
CLAIM_TTL = 10.0

_local: dict[str, float] = {}
_local_lock = threading.Lock()


def new_claim_id() -> str:
    """A name for one run of one batch job: host, process and a random part."""
    return f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


def claim_key(claim_id: str) -> str:
    return queue.key("delivery", "claim", claim_id)


def batch_key(issue_id: int, batch_no: int) -> str:
    return queue.key("delivery", "batch", issue_id, batch_no)


def fan_out_key(issue_id: int) -> str:
    return queue.key("delivery", "fan-out", issue_id)


def scan_key() -> str:
    return queue.key("delivery", "reaper-scan")


def touch(key: str, ttl: float) -> None:
    """Create or refresh ``key`` for ``ttl`` seconds."""
    _touch(queue.redis(), key, ttl)


def drop(key: str) -> None:
    """Forget ``key`` (its owner finished cleanly)."""
    _drop(queue.redis(), key)


@contextmanager
def held(key: str, ttl: float) -> Iterator[None]:
    """Keep ``key`` alive while the block runs, however long, then drop it.

    A thread refreshes it, so a process killed inside the block lets it lapse within ``ttl``
    seconds: long single statements (a fan-out) are then redone soon, not after an hour.
    """
    conn, stop = queue.redis(), threading.Event()

    def refresh() -> None:
        while not stop.wait(ttl / 3):
            _touch(conn, key, ttl)

    _touch(conn, key, ttl)
    thread = threading.Thread(target=refresh, name="lease-refresh", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        _drop(conn, key)


def _touch(conn: Redis | None, key: str, ttl: float) -> None:
    if conn is not None:
        conn.set(key, b"1", px=int(ttl * 1000))
        return
    with _local_lock:
        _local[key] = time.monotonic() + ttl


def _drop(conn: Redis | None, key: str) -> None:
    if conn is not None:
        conn.delete(key)
        return
    with _local_lock:
        _local.pop(key, None)


def alive(keys: list[str]) -> list[bool]:
    """Which of ``keys`` still exist, in order."""
    if not keys:
        return []
    conn = queue.redis()
    if conn is not None:
        pipe = conn.pipeline(transaction=False)
        for k in keys:
            pipe.exists(k)
        return [bool(n) for n in pipe.execute()]
    now = time.monotonic()
    with _local_lock:
        return [_local.get(k, 0) > now for k in keys]

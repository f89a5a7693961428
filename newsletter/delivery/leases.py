"""Short-lived "I am alive" keys: a running batch job's claim and a batch's pending job.

In Redis (shared by every worker on every host) when configured, else in this process (the
embedded queue is the only worker). A key that has expired means its owner is gone.

A key held for a job still in the queue names that job (:func:`mark_queued`), so the reaper
can ask RQ about it instead of trusting it for its whole, long lifetime; the job's first line
replaces it with a short key it keeps refreshing (:func:`touch`, :func:`held`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from redis import Redis

from ..jobs import queues

# How long a claim survives its owner falling silent. Owners refresh it every half second,
# so a killed worker's claim is known dead within this many seconds.
CLAIM_TTL = 10.0

# Deletes a key only if it still holds the value read: a mark judged lost may not take a
# newer one with it.
_DROP_IF_UNCHANGED = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

_local: dict[str, float] = {}
_local_lock = threading.Lock()


def new_claim_id() -> str:
    """A name for one run of one batch job: host, process and a random part."""
    return f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


def claim_key(claim_id: str) -> str:
    return queues.key("delivery", "claim", claim_id)


def batch_key(issue_id: int, batch_no: int) -> str:
    return queues.key("delivery", "batch", issue_id, batch_no)


def fan_out_key(issue_id: int) -> str:
    return queues.key("delivery", "fan-out", issue_id)


def scan_key() -> str:
    return queues.key("delivery", "reaper-scan")


def touch(key: str, ttl: float) -> None:
    """Create or refresh ``key`` for ``ttl`` seconds."""
    _touch(queues.redis(), key, ttl)


def mark_queued(key: str, ttl: float) -> str:
    """Hold ``key`` for ``ttl`` seconds for a job about to be queued; returns the id to queue
    that job under. The mark records the id and the time, for :func:`queued_marks`."""
    job_id = uuid.uuid4().hex
    _touch(queues.redis(), key, ttl, f"{job_id}@{time.time():.3f}".encode())
    return job_id


@dataclass(frozen=True)
class QueuedMark:
    """A key held for a job that has not yet run its first line."""

    key: str
    job_id: str
    queued_at: float  # Unix time
    value: bytes


def queued_marks() -> list[QueuedMark]:
    """Every batch and fan-out key in Redis still held for a queued job (none without Redis:
    the embedded queue's jobs die only with the process that keeps their keys)."""
    conn = queues.redis()
    if conn is None:
        return []
    keys = [
        k
        for pattern in (batch_key("*", "*"), fan_out_key("*"))
        for k in conn.scan_iter(match=pattern, count=1000)
    ]
    marks = []
    for key, value in zip(keys, conn.mget(keys) if keys else [], strict=True):
        job_id, _, queued_at = (value or b"").decode().partition("@")
        if queued_at:
            marks.append(QueuedMark(key.decode(), job_id, float(queued_at), value))
    return marks


def drop_mark(mark: QueuedMark) -> bool:
    """Drop ``mark``'s key if it still holds that mark; True if it did."""
    conn = queues.redis()
    return conn is not None and bool(conn.eval(_DROP_IF_UNCHANGED, 1, mark.key, mark.value))


def drop(key: str) -> None:
    """Forget ``key`` (its owner finished cleanly)."""
    _drop(queues.redis(), key)


@contextmanager
def held(key: str, ttl: float) -> Iterator[None]:
    """Keep ``key`` alive while the block runs, however long, then drop it.

    A thread refreshes it, so a process killed inside the block lets it lapse within ``ttl``
    seconds: long single statements (a fan-out) are then redone soon, not after an hour.
    """
    conn, stop = queues.redis(), threading.Event()

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


def _touch(conn: Redis | None, key: str, ttl: float, value: bytes = b"1") -> None:
    if conn is not None:
        conn.set(key, value, px=int(ttl * 1000))
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
    conn = queues.redis()
    if conn is not None:
        pipe = conn.pipeline(transaction=False)
        for k in keys:
            pipe.exists(k)
        return [bool(n) for n in pipe.execute()]
    now = time.monotonic()
    with _local_lock:
        return [_local.get(k, 0) > now for k in keys]

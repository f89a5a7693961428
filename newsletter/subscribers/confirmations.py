"""Confirmation mails on their way. With Redis, a signup pushes the reader's id onto one list
and a drain job sends what waits, one mail after another over one connection. An RQ job per
signup cost the web request two pipelines and the mail worker ~5 ms of RQ's bookkeeping
(some thirty Redis round trips); a push is one round trip, a mail in a drain one more.
Without Redis each signup queues its own job on the embedded queue, which costs nothing.

What one job per signup guaranteed still holds. A drain is queued whenever the list goes from
empty to waiting, and one more per ``DRAIN_EVERY`` waiting, so several workers share a
backlog; a drain takes one id at a time, so a worker killed mid-drain loses at most the mail
in flight (as a killed job did); the periodic tick queues a drain whenever ids wait, in case
a web process died between its push and its drain, or a drain died. Drains are transactional
jobs and hand their worker back after ``TIME_SLICE``, like bulk batches, so a welcome mail or
an issue's batch is not kept waiting behind a long burst of signups.
"""

from __future__ import annotations

import logging
import time

from .. import queue
from ..extensions import db
from . import jobs

log = logging.getLogger(__name__)

WAITING = "confirmations"  # the Redis list of reader ids, under the installation's prefix
DRAIN_EVERY = 100
TIME_SLICE = 1.0


def request(subscriber_id: int | None) -> None:
    """Have the confirmation mail sent to this reader, if one is due (``None``: nobody; the
    same work is done, so the answer's timing says nothing about the address)."""
    conn = queue.redis()
    if conn is None:
        queue.enqueue(jobs.send_confirmation, subscriber_id, queue=queue.TRANSACTIONAL)
        return
    waiting = conn.rpush(queue.key(WAITING), subscriber_id or 0)
    if waiting == 1 or waiting % DRAIN_EVERY == 0:
        queue.enqueue(drain, queue=queue.TRANSACTIONAL)


def drain() -> int:
    """Send the waiting confirmation mails, oldest first, for up to ``TIME_SLICE`` seconds;
    returns how many went. What is left waits for the next drain, queued behind other jobs."""
    conn, key = queue.redis(), queue.key(WAITING)
    sent = 0
    ends = time.monotonic() + TIME_SLICE
    with jobs.opened_transport() as transport:
        while time.monotonic() < ends:
            raw = conn.lpop(key)
            if raw is None:
                return sent
            try:
                sent += jobs.send_confirmation(int(raw) or None, transport)
            except Exception:  # as a failed job would: logged, and the reader may ask again
                log.exception("confirmation mail to reader %s failed", int(raw))
            finally:
                db.session.remove()  # each mail reads afresh, as each job did
    queue.enqueue(drain, queue=queue.TRANSACTIONAL)
    return sent


def waiting() -> int:
    """How many readers wait for their confirmation mail (0 without Redis)."""
    conn = queue.redis()
    return int(conn.llen(queue.key(WAITING))) if conn is not None else 0


def rearm() -> None:
    """Queue a drain when ids wait (the periodic tick calls this; a spare drain is harmless)."""
    if waiting():
        queue.enqueue(drain, queue=queue.TRANSACTIONAL)

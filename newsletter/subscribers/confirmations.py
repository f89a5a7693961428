"""Confirmation mails on their way. With Redis, a signup pushes the subscriber's id onto one list
and a drain job sends what waits, one mail after another over one connection. An RQ job per
signup cost the web request two pipelines and the mail worker ~5 ms of RQ's bookkeeping
(some thirty Redis round trips); a push is one round trip, a mail in a drain one more. The
push is made by a thread of the web process (:class:`_Pusher`), so the signup answers without
waiting for it, and ids that arrive meanwhile go in one push. Without Redis each signup queues
its own job on the embedded queue, which costs nothing.

What one job per signup guaranteed still holds. A drain is queued whenever the list goes from
empty to waiting, and one more per ``DRAIN_EVERY`` waiting, so several workers share a
backlog; a drain takes one id at a time, so a worker killed mid-drain loses at most the mail
in flight (as a killed job did); the periodic tick queues a drain whenever ids wait, in case
a web process died between its push and its drain, or a drain died. Drains are transactional
jobs and hand their worker back after ``TIME_SLICE``, like bulk batches, so a welcome mail or
an issue's batch is not kept waiting behind a long burst of signups.

Nothing promised is lost. A signup notes in the subscriber's row that a mail is owed
(``confirmation_due_at``); sending it, or finding none due, clears that, and a temporary
SMTP failure leaves it. The tick sends again whatever has been owed for ``OWED_FOR`` once no
ids wait: ids on a Redis restarted empty, jobs of an embedded queue whose process died, a
push that failed or a process that died before its thread pushed, mails refused during an SMTP
outage. A process that exits normally pushes what it holds first.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import ColumnElement, bindparam, func, select, update

from ..extensions import db
from ..jobs import queues, writer
from ..mail.transports import TemporaryFailure
from ..models import Subscriber, utcnow
from . import jobs

log = logging.getLogger(__name__)

WAITING = "confirmations"  # the Redis list of subscriber ids, under the installation's prefix
DRAIN_EVERY = 100
TIME_SLICE = 1.0
OWED_FOR = timedelta(minutes=5)  # how long a mail may stay owed before the tick resends it
RESEND_AT_ONCE = 1000  # owed mails one tick queues again (the next tick takes the rest)


def request(subscriber_id: int | None) -> None:
    """Have the confirmation mail sent to this subscriber, if one is due (``None``: nobody; the
    same work is done, so the answer's timing says nothing about the address)."""
    if queues.redis() is None:
        queues.enqueue(deliver, subscriber_id, queue=queues.TRANSACTIONAL)
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    pusher = app.extensions.get(_PUSHER) or app.extensions.setdefault(_PUSHER, _Pusher(app))
    pusher.add(subscriber_id or 0)


def flush() -> None:
    """Push the ids this process still holds, now (a process about to exit; tests)."""
    pusher = current_app.extensions.get(_PUSHER)
    if pusher is not None:
        pusher.flush()


_PUSHER = "newsletter.confirmation_pusher"


class _Pusher:
    """This process's ids on their way to the Redis list, pushed by a thread of its own: the
    round trip was a fifth of a signup's time on a busy machine, waiting on Redis's turn at a
    core. While one push is under way the ids arriving meanwhile wait, then go in one."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._ids: list[int] = []
        self._arrived = threading.Condition()
        self._pushing = threading.Lock()  # held from taking ids until they are in Redis
        self._thread: threading.Thread | None = None
        atexit.register(self.flush)  # a worker stopping gracefully loses no id

    def add(self, subscriber_id: int) -> None:
        with self._arrived:
            self._ids.append(subscriber_id)
            self._arrived.notify()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="newsletter-confirmations", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        """Push what waits from the calling thread, after any push under way."""
        with self._pushing:
            with self._arrived:
                ids, self._ids = self._ids, []
            if not ids:
                return
            try:
                with self.app.app_context():
                    _push(ids)
            except Exception:  # Redis down: the mails stay owed, and the tick sends them
                log.exception("%d confirmation requests not pushed", len(ids))

    def _run(self) -> None:
        while True:
            with self._arrived:
                self._arrived.wait_for(lambda: self._ids)
            self.flush()


def _push(ids: list[int]) -> None:
    """Onto the list; a drain queued when it was empty and one more per ``DRAIN_EVERY``."""
    waiting = queues.redis().rpush(queues.key(WAITING), *ids)
    before = waiting - len(ids)
    for _ in range((before == 0) + waiting // DRAIN_EVERY - before // DRAIN_EVERY):
        queues.enqueue(drain, queue=queues.TRANSACTIONAL)


def deliver(subscriber_id: int | None) -> bool:
    """One confirmation mail, as a job of its own (the embedded queue, imports)."""
    owed = False
    try:
        return jobs.send_confirmation(subscriber_id)
    except TemporaryFailure:
        owed = True  # the tick sends it again later
        raise
    finally:
        if subscriber_id and not owed:
            _settle([subscriber_id])


def drain() -> int:
    """Send the waiting confirmation mails, oldest first, for up to ``TIME_SLICE`` seconds;
    returns how many went. What is left waits for the next drain, queued behind other jobs."""
    conn, key = queues.redis(), queues.key(WAITING)
    sent, settled = 0, []
    ends = time.monotonic() + TIME_SLICE
    try:
        with jobs.opened_transport() as transport:
            while time.monotonic() < ends:
                raw = conn.lpop(key)
                if raw is None:
                    return sent
                subscriber_id = int(raw) or None
                try:
                    sent += jobs.send_confirmation(subscriber_id, transport)
                except TemporaryFailure:  # still owed: the tick sends it again later
                    log.warning("confirmation mail to subscriber %s deferred", subscriber_id)
                    continue
                except Exception:  # as a failed job would: logged, and the subscriber may ask again
                    log.exception("confirmation mail to subscriber %s failed", subscriber_id)
                finally:
                    db.session.remove()  # each mail reads afresh, as each job did
                if subscriber_id:
                    settled.append(subscriber_id)
        queues.enqueue(drain, queue=queues.TRANSACTIONAL)
        return sent
    finally:
        _settle(settled)


def _settle(subscriber_ids: list[int]) -> None:
    """Nothing is owed any more to these subscribers, who were just mailed (or found to need no
    mail). A signup arriving after this moment stays owed until its own mail goes out; one
    arriving during the drain's slice is settled too, as a link was mailed to them then."""
    if not subscriber_ids:
        return
    table = Subscriber.__table__
    with writer.turn():
        db.session.execute(
            update(table)
            .where(
                table.c.id.in_(bindparam("ids", expanding=True)),
                table.c.confirmation_due_at <= utcnow(),
            )
            .values(confirmation_due_at=None),
            {"ids": subscriber_ids},
        )
        db.session.commit()


def waiting() -> int:
    """How many subscribers wait for their confirmation mail (0 without Redis)."""
    conn = queues.redis()
    return int(conn.llen(queues.key(WAITING))) if conn is not None else 0


def rearm() -> None:
    """Queue a drain when ids wait (the periodic tick calls this; a spare drain is harmless)."""
    if waiting():
        queues.enqueue(drain, queue=queues.TRANSACTIONAL)


def _owed_too_long(now: datetime) -> ColumnElement[bool]:
    return Subscriber.confirmation_due_at <= now - OWED_FOR


def overdue() -> int:
    """How many subscribers have been owed their confirmation mail for over ``OWED_FOR``."""
    return db.session.scalar(select(func.count()).where(_owed_too_long(utcnow()))) or 0


def resend_owed() -> int:
    """Request again the mails owed for longer than ``OWED_FOR`` (the periodic tick calls
    this); returns how many. Not while ids wait: a backlog is late, not lost. Each is owed
    anew from now, so one that keeps failing is tried every ``OWED_FOR``, not every tick."""
    if waiting():
        return 0
    now = utcnow()
    ids = list(
        db.session.scalars(
            select(Subscriber.id)
            .where(_owed_too_long(now))
            .order_by(Subscriber.confirmation_due_at)
            .limit(RESEND_AT_ONCE)
        )
    )
    if not ids:
        return 0
    with writer.turn():
        db.session.execute(
            update(Subscriber).where(Subscriber.id.in_(ids)).values(confirmation_due_at=now)
        )
        db.session.commit()
    log.info("%d confirmation mails were owed for over %s; sending them again", len(ids), OWED_FOR)
    for subscriber_id in ids:
        request(subscriber_id)
    return len(ids)

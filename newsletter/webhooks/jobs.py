"""Sending the outbox: claim a due delivery, call its endpoint, record the attempt, decide.

At least once, never twice at the same moment: a delivery is claimed by a conditional UPDATE
that moves its ``next_attempt_at`` a lease ahead (timeout × 2 + 5 s), so no other worker takes
it while the call runs. A worker killed mid-call leaves the delivery pending; when the lease
runs out the tick finds it due and it is sent again, with the same ``webhook-id``.

A 2xx delivers. Anything else (another status, a redirect, which is never followed, a
timeout, a refused connection, a URL that now resolves to a private address) is retried on
Standard Webhooks' schedule after the first attempt, ±10 % jitter, then fails. Every attempt
is kept (:class:`WebhookAttempt`). An endpoint whose deliveries have failed without a success
for three days is disabled (:mod:`.failing`); owners see it on the dashboard and may enable it
again.
"""

from __future__ import annotations

import http.client
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..jobs import queues, writer
from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage, utcnow
from . import outbox, ssrf, standard
from .outbox import DELIVERED, FAILED, PENDING

log = logging.getLogger(__name__)

# Seconds to wait after each failed attempt (Standard Webhooks' schedule); then failed.
SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
JITTER = 0.1
BATCH = 50  # deliveries looked at per query; a job runs until none is due
MAX_JOB_SECONDS = 120  # then it queues itself again, leaving the worker to other jobs
D = WebhookDelivery


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["WEBHOOK_TIMEOUT"] * 2 + 5)


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return (
        select(D.id, D.next_attempt_at)
        .join(WebhookEndpoint, WebhookEndpoint.id == D.endpoint_id)
        .where(
            D.status == PENDING,
            D.next_attempt_at <= now,
            WebhookEndpoint.disabled_at.is_(None),
        )
        .order_by(D.next_attempt_at, D.id)
    )


def deliver_due() -> int:
    """Send every due delivery (safe to run at once in any number of workers); how many were
    attempted here."""
    started, done = time.monotonic(), 0
    while True:
        due = db.session.execute(_due(utcnow()).limit(BATCH)).all()
        db.session.commit()  # end the read: the claims below must see others' claims
        if not due:
            return done
        for delivery_id, seen in due:
            if _claim(delivery_id, seen):
                _attempt(delivery_id)
                done += 1
            if time.monotonic() - started > MAX_JOB_SECONDS:
                queues.enqueue(deliver_due)
                return done


def deliver(delivery_id: int) -> bool:
    """Attempt one pending delivery now, due or not (a manual retry); False if another
    worker holds it or it is no longer pending."""
    seen = db.session.scalar(select(D.next_attempt_at).where(D.id == delivery_id))
    db.session.commit()
    if seen is None or not _claim(delivery_id, seen, due_only=False):
        return False
    _attempt(delivery_id)
    return True


def _claim(delivery_id: int, seen: datetime, due_only: bool = True) -> bool:
    """Compare-and-set: take the delivery if its due time is still the one read."""
    now = utcnow()
    where = [D.id == delivery_id, D.status == PENDING, D.next_attempt_at == seen]
    if due_only:
        where.append(D.next_attempt_at <= now)
    with writer.turn():
        won = db.session.execute(
            update(D).where(*where).values(next_attempt_at=now + _lease())
        ).rowcount
        db.session.commit()
    return won == 1


@dataclass(frozen=True)
class _Call:
    status_code: int | None
    error: str
    duration_ms: int


def _attempt(delivery_id: int) -> None:
    """Make one call for a claimed delivery and record it."""
    row = db.session.execute(
        select(
            WebhookMessage.msg_id, WebhookMessage.body, WebhookEndpoint.url, WebhookEndpoint.secret
        )
        .join(D, D.message_id == WebhookMessage.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == D.endpoint_id)
        .where(D.id == delivery_id)
    ).one()
    db.session.commit()  # no transaction stays open during the call
    call = _call(row.url, row.secret, row.msg_id, row.body)
    _record(delivery_id, call)


def _call(url: str, secret: str, msg_id: str, body: str) -> _Call:
    config = current_app.config
    started = time.monotonic()
    status, error = None, ""
    try:
        target = ssrf.check_url(url, config["WEBHOOK_ALLOW_PRIVATE"])
        headers = standard.headers(secret, msg_id, int(time.time()), body)
        headers["user-agent"] = "newsletter-webhooks"
        status = ssrf.post(target, body.encode(), headers, config["WEBHOOK_TIMEOUT"])
        if not 200 <= status < 300:
            error = f"HTTP {status}" + (
                " (redirects are not followed)" if 300 <= status < 400 else ""
            )
    except ssrf.URLRefused as exc:
        error = str(exc)
    except TimeoutError:
        error = "timed out"
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    except Exception as exc:  # anything else is a failed attempt too, never a stuck delivery
        log.exception("webhook call failed")
        error = f"{type(exc).__name__}: {exc}"[:500]
    return _Call(status, error, round((time.monotonic() - started) * 1000))


def _record(delivery_id: int, call: _Call) -> None:
    now = utcnow()
    with writer.turn():
        delivery = db.session.get_one(D, delivery_id)
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = call.status_code
        delivery.last_error = call.error
        if not call.error:
            delivery.status, delivery.next_attempt_at = DELIVERED, None
        elif delivery.attempts > len(SCHEDULE):
            delivery.status, delivery.next_attempt_at = FAILED, None
        else:
            delivery.next_attempt_at = now + _delay(delivery.attempts)
        db.session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                at=now,
                status_code=call.status_code,
                error=call.error,
                duration_ms=call.duration_ms,
            )
        )
        db.session.commit()


def _delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (scaled for tests)."""
    seconds = SCHEDULE[attempts - 1] * current_app.config["WEBHOOK_RETRY_SCALE"]
    return timedelta(seconds=seconds * random.uniform(1 - JITTER, 1 + JITTER))


# ---------------------------------------------------------------- the tick and the owners


def enqueue_due() -> None:
    """A tick chore: queue :func:`deliver_due` when some delivery is due (retries, lost
    hand-offs, leases of killed workers)."""
    found = db.session.execute(_due(utcnow()).limit(1)).first()
    if found is not None:
        queues.enqueue(deliver_due)


def retry_now(delivery_id: int) -> None:
    """An owner's "retry now": the delivery (failed or pending) is attempted at once."""
    with writer.turn():
        db.session.execute(
            update(D)
            .where(D.id == delivery_id, D.status != DELIVERED)
            .values(status=PENDING, next_attempt_at=utcnow())
        )
        db.session.commit()
    queues.enqueue(deliver, delivery_id)


def send_test(endpoint_id: int) -> int:
    """An owner's "send a test event": a ``webhook.test`` message to this endpoint only
    (enabled or not); the delivery's id."""
    db.session.get_one(WebhookEndpoint, endpoint_id)
    with writer.turn():
        [delivery_id] = outbox.write(
            outbox.TEST_EVENT, {"endpoint_id": endpoint_id, "test": True}, [endpoint_id]
        )
        db.session.commit()
    queues.enqueue(deliver, delivery_id)
    return delivery_id

"""The outbox: an event is written in the same transaction as the change it reports.

:func:`emit` adds a :class:`WebhookMessage` and one :class:`WebhookDelivery` per enabled
endpoint that chose the event to the caller's session, and never commits: the caller's commit
makes the change and its event real together, and a rollback drops both. After a commit
that carried any, :func:`newsletter.webhooks.jobs.deliver_due` is handed to the job queue, so
the first attempt is made within seconds; the tick picks up whatever that misses.

Whether any endpoint wants an event is cached per process for :data:`CACHE_SECONDS` (and
forgotten at once when this process changes an endpoint), so a signup with no webhooks set up
costs a dictionary look-up. An endpoint added in another process starts hearing events
within those seconds.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import WebhookDelivery, WebhookEndpoint, WebhookMessage, utcnow
from .standard import new_msg_id

EVENTS = (
    "subscriber.created",
    "subscriber.confirmed",
    "subscriber.unsubscribed",
    "subscriber.bounced",
    "subscriber.complained",
    "subscriber.erased",
    "issue.sent",
)
TEST_EVENT = "webhook.test"  # sent only by an owner's "send a test event"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
CACHE_SECONDS = 2.0
_CACHE = "newsletter.webhook_events"  # app.extensions key: (expires, events wanted)
_HANDOFF = "newsletter.webhooks_due"  # session.info key: messages written, not yet handed off


def emit(event_type: str, data: dict[str, Any]) -> None:
    """Record the event for every enabled endpoint that chose it, in the current transaction
    (the caller commits). Nothing at all when no endpoint wants it."""
    if event_type not in _wanted():
        return
    chosen = [
        row.id
        for row in db.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.events).where(
                WebhookEndpoint.disabled_at.is_(None)
            )
        )
        if event_type in (row.events or [])
    ]
    if chosen:
        write(event_type, data, chosen)


def write(event_type: str, data: dict[str, Any], endpoint_ids: list[int]) -> list[int]:
    """Add the message and its deliveries to these endpoints; their ids (caller commits)."""
    now = utcnow()
    body = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    message = WebhookMessage(
        msg_id=new_msg_id(),
        event_type=event_type,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    deliveries = [
        WebhookDelivery(message_id=message.id, endpoint_id=e, next_attempt_at=now, status=PENDING)
        for e in endpoint_ids
    ]
    db.session.add_all(deliveries)
    db.session.flush()
    _hand_off_after_commit()
    return [d.id for d in deliveries]


def forget_endpoints() -> None:
    """Forget which events endpoints want (after an endpoint is added, changed or removed)."""
    current_app.extensions.pop(_CACHE, None)


def _wanted() -> frozenset[str]:
    """The events some enabled endpoint chose, cached for a moment."""
    cached = current_app.extensions.get(_CACHE)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    rows = db.session.scalars(
        select(WebhookEndpoint.events).where(WebhookEndpoint.disabled_at.is_(None))
    )
    wanted = frozenset(e for events in rows for e in (events or []))
    current_app.extensions[_CACHE] = (now + CACHE_SECONDS, wanted)
    return wanted


def _hand_off_after_commit() -> None:
    db.session.info[_HANDOFF] = True
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    if session.info.pop(_HANDOFF, False):
        from ..jobs import queues
        from . import jobs

        try:
            queues.enqueue(jobs.deliver_due)
        except Exception:  # Redis down: the tick sends them (the commit stands)
            current_app.logger.warning("webhooks: hand-off failed; the tick will send them")


def _after_rollback(session: Session) -> None:
    session.info.pop(_HANDOFF, None)


@event.listens_for(WebhookEndpoint, "after_insert")
@event.listens_for(WebhookEndpoint, "after_update")
@event.listens_for(WebhookEndpoint, "after_delete")
def _endpoint_changed(mapper: Any, connection: Any, target: WebhookEndpoint) -> None:
    forget_endpoints()

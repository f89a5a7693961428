"""The webhook log is kept as long as delivery records are.

A message's body names the subscriber it is about (id, email), so it goes with the issues'
delivery rows: ``DELIVERY_RETENTION_DAYS`` after it was emitted (0 keeps it forever), once none
of its deliveries is pending. A message still being retried, or waiting for its disabled
endpoint to be enabled again, keeps its body, so every retry sends what the first attempt did.
Its deliveries and their attempts go with it (ON DELETE CASCADE, which SQLite enforces here:
``database.py`` turns foreign keys on for every connection). Runs on every tick.

However short the setting, messages of the last twice :data:`~.failing.DISABLE_AFTER` are kept:
their attempts are how the tick tells an endpoint that has failed for that long, and disables
it (with only that long kept, the oldest failure left would never be quite old enough).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, select

from ..delivery.retention import CHUNK, cutoff
from ..extensions import db
from ..jobs import writer
from ..models import WebhookDelivery, WebhookMessage, utcnow
from .failing import DISABLE_AFTER
from .outbox import PENDING

M = WebhookMessage


def purge_messages() -> int:
    """Delete settled webhook messages emitted before the cutoff, with their deliveries and
    attempts; return how many messages went."""
    before = cutoff("DELIVERY_RETENTION_DAYS")
    if before is None:
        return 0
    old = _older_than(min(before, utcnow() - 2 * DISABLE_AFTER))
    settled = ~exists().where(WebhookDelivery.message_id == M.id, WebhookDelivery.status == PENDING)
    purged = 0
    while True:
        # One statement per chunk, in its own short transaction: the pending check and the
        # deletion happen together, so a delivery an owner retries meanwhile keeps its message.
        chunk = select(M.id).where(*old, settled).order_by(M.id).limit(CHUNK)
        with writer.turn():
            gone = db.session.execute(
                delete(M).where(M.id.in_(chunk)).execution_options(synchronize_session=False)
            ).rowcount
            db.session.commit()
        purged += gone
        if gone < CHUNK:
            return purged


def _older_than(before: datetime) -> list[ColumnElement[bool]]:
    """Conditions for messages emitted before ``before``, cheap on a large log.

    ``created_at`` has no index, but ids grow with it: the first message at or after the
    cutoff, found by walking the primary key past the old messages still kept (few: those
    pending), bounds the ids, so a tick with nothing to delete never reads the whole log.
    """
    first_kept = db.session.scalar(
        select(M.id).where(M.created_at >= before).order_by(M.id).limit(1)
    )
    db.session.commit()  # end the read: each chunk below is a write transaction of its own
    old = [M.created_at < before]
    return old if first_kept is None else [M.id < first_kept, *old]

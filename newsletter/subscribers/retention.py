"""What the subscribers' side keeps only for a while: signups never confirmed go after
``UNCONFIRMED_PURGE_DAYS``; a consent event's IP is blanked after ``CONSENT_IP_RETENTION_DAYS``
(0 keeps it), while the event itself (when, what text was shown) stays as proof of consent.
Both run on every tick and are cheap when there is nothing to do. Delivery records have
their own retention in ``delivery/retention.py``.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, update

from ..delivery.retention import cutoff
from ..extensions import db
from ..models import ConsentEvent, Subscriber, SubscriberStatus, utcnow


def purge_unconfirmed() -> int:
    """Delete signups never confirmed within UNCONFIRMED_PURGE_DAYS; returns how many."""
    before = utcnow() - timedelta(days=current_app.config["UNCONFIRMED_PURGE_DAYS"])
    # ON DELETE CASCADE takes their subscriptions and consent events along.
    result = db.session.execute(
        delete(Subscriber).where(
            Subscriber.status == SubscriberStatus.PENDING, Subscriber.created_at < before
        )
    )
    db.session.commit()
    return result.rowcount or 0


def purge_consent_ips() -> int:
    """Blank the IP of consent events older than the cutoff; return how many."""
    before = cutoff("CONSENT_IP_RETENTION_DAYS")
    if before is None:
        return 0
    result = db.session.execute(
        update(ConsentEvent)
        .where(ConsentEvent.created_at < before, ConsentEvent.ip.is_not(None))
        .values(ip=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount

"""Endpoints that keep failing: which they are, since when, and disabling them.

An endpoint whose attempts have all failed since its last success (or since it was enabled
again) is *failing*; once that has lasted :data:`DISABLE_AFTER` the tick disables it
(:func:`disable_failing`), and its deliveries wait until an owner enables it again. The
dashboard lists both kinds (:func:`failing_endpoints`, :func:`disabled_endpoints`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from ..extensions import db
from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from . import outbox

log = logging.getLogger(__name__)

DISABLE_AFTER = timedelta(days=3)
D = WebhookDelivery


def disable_failing() -> list[int]:
    """A tick chore: disable every endpoint that has failed without a success for
    :data:`DISABLE_AFTER`; their ids (the tick commits)."""
    cutoff = utcnow() - DISABLE_AFTER
    disabled = []
    for endpoint in failing_endpoints():
        if endpoint.failing_since <= cutoff:
            db.session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.disabled_at.is_(None))
                .values(disabled_at=utcnow())
            )
            log.warning("webhook endpoint %s disabled: failing since %s", endpoint.id, cutoff)
            disabled.append(endpoint.id)
    if disabled:
        outbox.forget_endpoints()
    return disabled


@dataclass(frozen=True)
class Failing:
    """An enabled endpoint whose latest attempts all failed, since when, and the last error."""

    id: int
    url: str
    failing_since: datetime
    last_error: str


def failing_endpoints() -> list[Failing]:
    """Enabled endpoints whose attempts have failed since their last success (for the
    dashboard), oldest failure first."""
    ok = (WebhookAttempt.status_code >= 200) & (WebhookAttempt.status_code < 300)
    A = WebhookAttempt
    last_ok = (
        select(func.max(A.at))
        .join(D, D.id == A.delivery_id)
        .where(D.endpoint_id == WebhookEndpoint.id, ok)
        .scalar_subquery()
    )
    first_failure = (
        select(func.min(A.at, type_=A.__table__.c.at.type))
        .join(D, D.id == A.delivery_id)
        .where(
            D.endpoint_id == WebhookEndpoint.id,
            ~ok | A.status_code.is_(None),
            (A.at > last_ok) | last_ok.is_(None),
            A.at >= WebhookEndpoint.enabled_at,
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.url, first_failure.label("since"))
        .where(WebhookEndpoint.disabled_at.is_(None))
        .order_by(WebhookEndpoint.id)
    ).all()
    found = []
    for endpoint_id, url, since in rows:
        if since is None:
            continue
        last_error = db.session.scalar(
            select(A.error)
            .join(D, D.id == A.delivery_id)
            .where(D.endpoint_id == endpoint_id)
            .order_by(A.at.desc(), A.id.desc())
            .limit(1)
        )
        found.append(Failing(endpoint_id, url, _aware(since), last_error or ""))
    return sorted(found, key=lambda f: f.failing_since)


def disabled_endpoints() -> list[WebhookEndpoint]:
    """Endpoints disabled for failing (owners are told on the dashboard)."""
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.disabled_at.is_not(None))
            .order_by(WebhookEndpoint.disabled_at.desc())
        )
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

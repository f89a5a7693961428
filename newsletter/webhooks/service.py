"""Webhook endpoints: add, list, change, enable and remove the other systems that hear of our
events, and read their delivery log. Used by the admin pages, the REST API and the
``newsletter webhooks`` commands.

A secret is made here, shown to owners, and never written to a log or the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from ..accounts import audit
from ..errors import NotAllowed, NotFound
from ..extensions import db
from ..models import WebhookDelivery, WebhookEndpoint, WebhookMessage, utcnow
from . import ssrf
from .outbox import EVENTS
from .standard import new_secret

MAX_URL = 2000  # the column's length
MAX_DESCRIPTION = 200
LOG_SIZE = 50  # deliveries shown on an endpoint's page


class EndpointProblem(NotAllowed):
    """The endpoint cannot be added or changed as asked; ``str(exc)`` says why, ``field``
    names the field it is about (``url``, ``events``, ``description``)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class NoSuchEndpoint(NotFound):
    """There is no webhook endpoint with that id."""

    def __init__(self, endpoint_id: int | str) -> None:
        super().__init__(f"no such webhook endpoint: {endpoint_id}")


@dataclass(frozen=True)
class LoggedDelivery:
    """One line of an endpoint's delivery log."""

    id: int
    event_type: str
    msg_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime


def parse_events(events: str | list[str] | tuple[str, ...]) -> list[str]:
    """The chosen events from a list or a comma-separated string, checked against
    :data:`EVENTS`, in their canonical order; an unknown one is refused by name."""
    names = events.split(",") if isinstance(events, str) else list(events)
    chosen = {name.strip() for name in names if name.strip()}
    unknown = sorted(chosen - set(EVENTS))
    if unknown:
        raise EndpointProblem(
            f"Unknown event {', '.join(repr(u) for u in unknown)}; "
            f"the events are {', '.join(EVENTS)}.",
            field="events",
        )
    if not chosen:
        raise EndpointProblem("Choose at least one event.", field="events")
    return [event for event in EVENTS if event in chosen]


def check_url(url: str) -> str:
    """The URL, trimmed, if we may call it: http or https with a host, and not on a loopback or
    private network unless ``NEWSLETTER_WEBHOOK_ALLOW_PRIVATE`` is set."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise EndpointProblem(f"The URL is longer than {MAX_URL} characters.", "url")
    try:
        ssrf.check_url(url, bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE")))
    except ssrf.URLRefused as exc:
        raise EndpointProblem(str(exc), "url") from None
    return url


def _description(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_DESCRIPTION:
        raise EndpointProblem(
            f"The description is longer than {MAX_DESCRIPTION} characters.", "description"
        )
    return text


def add(url: str, events: str | list[str], description: str = "") -> WebhookEndpoint:
    """A new endpoint, enabled, with a new secret (read it from ``.secret`` to show it)."""
    endpoint = WebhookEndpoint(
        url=check_url(url),
        events=parse_events(events),
        description=_description(description),
        secret=new_secret(),
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook.add", _named(endpoint))
    db.session.commit()
    return endpoint


def listed() -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get(endpoint_id: int) -> WebhookEndpoint:
    """The endpoint with this id, or :class:`NoSuchEndpoint`."""
    found = db.session.get(WebhookEndpoint, endpoint_id)
    if found is None:
        raise NoSuchEndpoint(endpoint_id)
    return found


def change(endpoint_id: int, changes: dict[str, Any]) -> WebhookEndpoint:
    """Change only the fields given (``url``, ``events``, ``description``, ``enabled``),
    keeping the rest; each is checked as when added."""
    endpoint = get(endpoint_id)
    if "url" in changes:
        endpoint.url = check_url(changes["url"])
    if "events" in changes:
        endpoint.events = parse_events(changes["events"])
    if "description" in changes:
        endpoint.description = _description(changes["description"])
    if "enabled" in changes and changes["enabled"] == (endpoint.disabled_at is not None):
        endpoint.disabled_at = None if changes["enabled"] else utcnow()
        if changes["enabled"]:
            endpoint.enabled_at = utcnow()  # a fresh start: the old failures no longer count
    audit.record("webhook.change", f"{_named(endpoint)}: {', '.join(sorted(changes))}")
    db.session.commit()
    return endpoint


def enable(endpoint_id: int, enabled: bool = True) -> WebhookEndpoint:
    """Call the endpoint again (after it was disabled, by hand or for failing), or stop."""
    return change(endpoint_id, {"enabled": enabled})


def remove(endpoint_id: int) -> None:
    """Remove the endpoint with its delivery log (the database cascades)."""
    endpoint = get(endpoint_id)
    named = _named(endpoint)
    db.session.delete(endpoint)
    audit.record("webhook.remove", named)
    db.session.commit()


def delivery_log(endpoint_id: int, limit: int = LOG_SIZE) -> list[LoggedDelivery]:
    """The endpoint's latest deliveries, newest first, with their attempts and last answer."""
    rows = db.session.execute(
        select(WebhookDelivery, WebhookMessage.event_type, WebhookMessage.msg_id)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [
        LoggedDelivery(
            id=d.id,
            event_type=event_type,
            msg_id=msg_id,
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            last_attempt_at=d.last_attempt_at,
            next_attempt_at=d.next_attempt_at,
            created_at=d.created_at,
        )
        for d, event_type, msg_id in rows
    ]


def delivery(endpoint_id: int, delivery_id: int) -> WebhookDelivery | None:
    """The delivery with this id if it is in this endpoint's log."""
    found = db.session.get(WebhookDelivery, delivery_id)
    return found if found is not None and found.endpoint_id == endpoint_id else None


def _named(endpoint: WebhookEndpoint) -> str:
    # The audit trail names the endpoint by id and host: the secret never, the path (which
    # may carry a receiver's own token) neither.
    return f"#{endpoint.id} {urlsplit(endpoint.url).hostname}"

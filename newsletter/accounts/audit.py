"""The audit log: who exported, deleted, imported or sent what, and when; written here,
and read back for the admin's audit page."""

from __future__ import annotations

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEvent


def record(action: str, detail: str = "", actor: str | None = None) -> None:
    """Add an audit entry to the session (committed with the action it describes).

    ``actor`` defaults to the API token (``token:NAME``) or the logged-in admin, or ``cli``
    outside a request.
    """
    if actor is None:
        actor = current_actor() if has_request_context() else "cli"
    db.session.add(AuditEvent(admin_email=actor, action=action, detail=detail[:2000]))


def current_actor() -> str:
    """Who makes this request, as the audit log names them: ``token:NAME`` for an API token
    (``flask.g.api_token``), else the logged-in admin's address."""
    token = g.get("api_token")
    if token is not None:
        return f"token:{token.name}"
    return current_user.email if current_user.is_authenticated else "anonymous"


def entries(action: str, before: int | None, limit: int) -> list[AuditEvent]:
    """Audit entries newest first, only ``action``'s when given; ``before`` is the keyset
    cursor (ids below it)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return list(db.session.scalars(query))


def actions() -> list[str]:
    """Every action the log holds, in order (the page's filter)."""
    return list(
        db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )

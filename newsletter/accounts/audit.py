"""The audit log: who exported, deleted, imported or sent what, and when."""

from __future__ import annotations

from flask import has_request_context
from flask_login import current_user

from ..extensions import db
from ..models import AuditEvent


def record(action: str, detail: str = "", actor: str | None = None) -> None:
    """Add an audit entry to the session (committed with the action it describes).

    ``actor`` defaults to the logged-in admin, or ``cli`` outside a request.
    """
    if actor is None:
        logged_in = has_request_context() and current_user.is_authenticated
        actor = current_user.email if logged_in else "cli"
    db.session.add(AuditEvent(admin_email=actor, action=action, detail=detail[:2000]))

"""Admin page for the audit log: who exported, deleted, imported, sent or lifted what."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEvent
from . import bp
from .bounces import PAGE, before_cursor


@bp.get("/audit")
def audit_log():  # type: ignore[no-untyped-def]
    """The audit log, newest first: exports, deletions, imports, sends and the rest."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE)
    if action := request.args.get("action", ""):
        query = query.where(AuditEvent.action == action)
    if (before := before_cursor()) is not None:
        query = query.where(AuditEvent.id < before)
    events = db.session.scalars(query).all()
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    return render_template(
        "admin/audit.html",
        events=events,
        action=action,
        actions=list(actions),
        next_before=events[-1].id if len(events) == PAGE else None,
    )

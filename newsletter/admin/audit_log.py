"""Admin page for the audit log: who exported, deleted, imported, sent or lifted what."""

from __future__ import annotations

from flask import render_template, request

from ..accounts import audit
from . import bp
from .bounces import PAGE, before_cursor


@bp.get("/audit")
def audit_log():  # type: ignore[no-untyped-def]
    """The audit log, newest first: exports, deletions, imports, sends and the rest."""
    action = request.args.get("action", "")
    events = audit.entries(action, before_cursor(), PAGE)
    return render_template(
        "admin/audit.html",
        events=events,
        action=action,
        actions=audit.actions(),
        next_before=events[-1].id if len(events) == PAGE else None,
    )

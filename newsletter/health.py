"""``GET /healthz``: is the database reachable, is the queue reachable, and what waits."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .jobs import queues
from .subscribers import confirmations

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """200 when both work, 503 otherwise, with each part's status as JSON."""
    try:
        db.session.execute(text("SELECT 1"))
        # Above zero for long: confirmation mails keep failing (SMTP down or refusing).
        overdue = confirmations.overdue()
        database = {"ok": True, "backend": db.engine.dialect.name, "confirmations_overdue": overdue}
    except SQLAlchemyError as exc:
        db.session.rollback()
        database = {"ok": False, "error": type(exc).__name__}
    queue_status = queues.backend().status()
    if queue_status["ok"] and queues.redis() is not None:
        # Confirmations wait on their own list, not as RQ jobs (see subscribers.confirmations).
        queue_status["confirmations_waiting"] = confirmations.waiting()
    ok = database["ok"] and queue_status["ok"]
    return jsonify(status="ok" if ok else "degraded", database=database, queue=queue_status), (
        200 if ok else 503
    )

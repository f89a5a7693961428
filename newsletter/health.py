"""``GET /healthz``: is the database reachable, is the queue reachable."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import queue
from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """200 when both work, 503 otherwise, with each part's status as JSON."""
    try:
        db.session.execute(text("SELECT 1"))
        database = {"ok": True, "backend": db.engine.dialect.name}
    except SQLAlchemyError as exc:
        db.session.rollback()
        database = {"ok": False, "error": type(exc).__name__}
    queue_status = queue.backend().status()
    ok = database["ok"] and queue_status["ok"]
    return jsonify(status="ok" if ok else "degraded", database=database, queue=queue_status), (
        200 if ok else 503
    )

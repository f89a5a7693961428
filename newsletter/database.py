"""Engine tuning and schema upgrades that are not models."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from flask import Flask, current_app
from sqlalchemy import event

from .extensions import db

# SQLite has one writer per database. Threads of one process that want to write queue here,
# and are woken the moment the writer commits, instead of polling in SQLite's busy handler
# (1, 2, 5 … 100 ms naps, so a short wait could become a long one).
_WRITER = threading.Lock()


def init_app(app: Flask) -> None:
    """Make SQLite behave under concurrent readers and writers."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers proceed while a worker writes; foreign keys make CASCADE real;
    # busy_timeout makes concurrent writers wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextlib.contextmanager
def one_writer() -> Iterator[None]:
    """Around a short write transaction (its statements and the commit): with SQLite, one
    thread of this process at a time; other databases need no help."""
    if not current_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        yield
        return
    with _WRITER:
        yield


def upgrade() -> None:
    """Apply Alembic migrations up to head (the only way the schema is made)."""
    from flask_migrate import upgrade as alembic_upgrade

    alembic_upgrade()

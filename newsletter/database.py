"""Engine tuning, schema upgrades that are not models (writers take turns in
:mod:`newsletter.jobs.writer`), and how a unique value taken by a concurrent request is told."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from .extensions import db


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


@contextmanager
def unique_or(taken: Exception) -> Iterator[None]:
    """Around the writes (through the commit) of a row whose unique name a check found free:
    another request that took the name at the same instant makes the database refuse ours, and
    the caller gets ``taken``, the error its check gives, with nothing saved, instead of a 500."""
    try:
        yield
    except IntegrityError:
        db.session.rollback()
        raise taken from None


def upgrade() -> None:
    """Apply Alembic migrations up to head (the only way the schema is made)."""
    from flask_migrate import upgrade as alembic_upgrade

    alembic_upgrade()

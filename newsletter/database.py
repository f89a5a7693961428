"""Engine tuning and schema upgrades that are not models."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from functools import cache

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .delivery import writer_turns
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


@contextlib.contextmanager
def write_turn() -> Iterator[None]:
    """Around one write transaction of a long job that shares the database with a running
    server (an import's chunk): the caller's statements, its commit or rollback go inside.

    With SQLite: this process's writers queue on :func:`one_writer`, other processes' batch
    loops on the lock file of ``delivery.writer_turns``, and the transaction takes SQLite's
    write lock before its first statement (``BEGIN IMMEDIATE``). A transaction that reads
    first and writes later must turn its read into a write, and SQLite refuses that at once,
    without waiting ("database is locked"), whenever another process wrote in between.
    """
    if not current_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        yield
        return
    with one_writer(), writer_turns.turn(_lock_file(db.engine)):
        connection = db.session.connection()
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield


@cache
def _lock_file(engine: Engine) -> int | None:
    return writer_turns.lock_file(engine)  # kept open for the process's life, one per database


def upgrade() -> None:
    """Apply Alembic migrations up to head (the only way the schema is made)."""
    from flask_migrate import upgrade as alembic_upgrade

    alembic_upgrade()

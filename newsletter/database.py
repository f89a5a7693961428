"""Engine tuning, schema upgrades that are not models (writers take turns in
:mod:`newsletter.jobs.writer`), how a unique value taken by a concurrent request is told, and
which numbers can be row ids at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .errors import EditConflict
from .extensions import db

T = TypeVar("T")

# The largest row id: PostgreSQL's ``integer`` holds no more (SQLite's holds more, and the
# digits a URL may carry more still). A larger number names no row, but a query with it fails
# (out of range, or too large to bind) instead of finding nothing.
MAX_ID = 2**31 - 1
_ID_DIGITS = len(str(MAX_ID))


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in every route: ASCII digits, no more than :data:`MAX_ID` has (a longer
    path matches no route: a 404, and no ``int()`` of 5,000 digits)."""

    regex = rf"[0-9]{{1,{_ID_DIGITS}}}"


def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Past the converter, not in it: Werkzeug checks a route's methods before its converters,
    # so a converter's refusal would answer 405 where a sibling route takes another method.
    if any(isinstance(v, int) and v > MAX_ID for v in (values or {}).values()):
        raise NotFound("There is no such thing.")


def row_id(text: str | None) -> int | None:
    """A row id written in a query or form argument, or None for anything else (other
    digits than ASCII's, a sign, a number beyond :data:`MAX_ID`)."""
    text = text or ""
    if len(text) <= _ID_DIGITS and text.isascii() and text.isdigit() and int(text) <= MAX_ID:
        return int(text)
    return None


def init_app(app: Flask) -> None:
    """Make SQLite behave under concurrent readers and writers; a route's id beyond any row
    is a 404 before any query could fail on it."""
    app.url_map.converters["int"] = RowIdConverter  # before any blueprint adds its routes
    app.url_value_preprocessor(_ids_in_range)
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


def edit_stamp(row: Any) -> str:
    """Which saved version of a row (one with ``updated_at``) an edit form shows."""
    return row.updated_at.isoformat()


def for_edit(model: type[T], row_id: int, edited_from: str, what: str) -> T | None:
    """The row as it is now, locked until the transaction ends (on SQLite, call this within
    ``writer.turn()``), if it is still the version an edit form was opened on
    (``edited_from``, its :func:`edit_stamp`; "" for no check): else :class:`EditConflict`
    naming ``what``. Without it, of two admins editing one thing, the last to save silently
    wipes out the other's work."""
    row = db.session.get(model, row_id, with_for_update=True, populate_existing=True)
    if row is not None and edited_from and edited_from != edit_stamp(row):
        raise EditConflict(what, edit_stamp(row))
    return row


def upgrade() -> None:
    """Apply Alembic migrations up to head (the only way the schema is made)."""
    from flask_migrate import upgrade as alembic_upgrade

    alembic_upgrade()

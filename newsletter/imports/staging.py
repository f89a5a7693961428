"""The import's set-based SQL: a chunk of rows is staged in a temporary table with plain
driver calls, then moved with a few INSERT … SELECT statements, so no row costs any
per-row work in SQLAlchemy."""

from __future__ import annotations

import json
from functools import lru_cache

from sqlalchemy import JSON, TextClause, bindparam, text

from ..extensions import db
from ..models import UTCDateTime

# (SQLite gives a column declared JSON numeric affinity, which keeps "{…}" text as text.)
_CREATE_STAGE = """CREATE TEMPORARY TABLE IF NOT EXISTS import_rows (
    email VARCHAR(320) PRIMARY KEY, name VARCHAR(200), attributes JSON,
    is_new INTEGER, id INTEGER, joined INTEGER)"""
_FILL_STAGE = {
    "qmark": "INSERT INTO import_rows (email, name, attributes, is_new, joined) "
    "VALUES (?, ?, ?, ?, 0)",
    "format": "INSERT INTO import_rows (email, name, attributes, is_new, joined) "
    "VALUES (%s, %s, %s, %s, 0)",
}
_MOVE = [
    """INSERT INTO subscriber (email, name, attributes, status, created_at, updated_at,
            confirmed_at, soft_bounces, hard_bounces)
        SELECT t.email, t.name, t.attributes, :status, :now, :now, :confirmed_at, 0, 0
        FROM import_rows t WHERE t.is_new = 1""",
    """UPDATE import_rows
        SET id = (SELECT s.id FROM subscriber s WHERE s.email = import_rows.email)""",
    """UPDATE import_rows SET joined = 1 WHERE NOT EXISTS (SELECT 1 FROM subscription x
        WHERE x.subscriber_id = import_rows.id AND x.list_id = :list_id)""",
    """INSERT INTO subscription (subscriber_id, list_id, status, created_at, updated_at,
            confirmed_at)
        SELECT t.id, :list_id, :status, :now, :now, :confirmed_at
        FROM import_rows t WHERE t.joined = 1""",
    """INSERT INTO consent_event (subscriber_id, created_at, action, source, consent_text, lists)
        SELECT t.id, :now, :action, :source, '', :lists FROM import_rows t""",
]
# A membership confirmed here starts the list's sequence now, as one confirmed by its link
# does (``subscribers.memberships``).
_CONFIRM_PENDING = """UPDATE subscription SET status = :status, updated_at = :now,
    confirmed_at = :now
    WHERE list_id = :list_id AND status = 'pending'
    AND subscriber_id IN (SELECT id FROM import_rows)"""
# An import that does not start the sequence (``start_sequence=False``) treats the readers it
# confirms on the list as past every step the list has: each gets a settled, skipped copy of
# each step, so the tick never finds them due; a step added later reaches them as any reader.
_PAST_SEQUENCE = """INSERT INTO delivery (issue_id, subscriber_id, batch_no, status, attempts,
        error)
    SELECT st.issue_id, x.subscriber_id, 0, 'skipped', 0, :skip_reason
    FROM subscription x JOIN sequence_step st ON st.list_id = x.list_id
    WHERE x.list_id = :list_id AND x.confirmed_at = :now
    AND x.subscriber_id IN (SELECT id FROM import_rows)
    ON CONFLICT (issue_id, subscriber_id) DO NOTHING"""
# Subscribers asked to confirm are owed a mail from the chunk's commit on, so a worker that dies
# before queueing the mails loses none: the tick sends what stays owed.
_OWE_CONFIRMATION = """UPDATE subscriber SET confirmation_due_at = :now
    WHERE id IN (SELECT id FROM import_rows WHERE joined = 1)"""
_TYPED = (
    bindparam("now", type_=UTCDateTime),
    bindparam("confirmed_at", type_=UTCDateTime),
    bindparam("lists", type_=JSON),
)


def stage(rows: list[tuple[str, str, dict, bool]]) -> None:
    """Put this chunk's (email, name, attributes, is_new) rows in the staging table."""
    connection = db.session.connection()
    connection.exec_driver_sql(_CREATE_STAGE)
    connection.exec_driver_sql("DELETE FROM import_rows")
    if rows:
        style = "qmark" if connection.dialect.paramstyle == "qmark" else "format"
        connection.exec_driver_sql(
            _FILL_STAGE[style],
            [(e, n, json.dumps(a, ensure_ascii=False), int(new)) for e, n, a, new in rows],
        )


@lru_cache(maxsize=4)
def statements(confirmed: bool, start_sequence: bool = True) -> tuple[TextClause, ...]:
    """The statements that move the staged rows into place (bound once per chunk)."""
    sql = [*_MOVE, _CONFIRM_PENDING] if confirmed else [*_MOVE, _OWE_CONFIRMATION]
    if confirmed and not start_sequence:
        sql.append(_PAST_SEQUENCE)
    return tuple(text(s).bindparams(*[b for b in _TYPED if f":{b.key}" in s]) for s in sql)

"""Searching a whole database for a subscriber's address, for the erasure tests."""

from __future__ import annotations

from sqlalchemy import text

from newsletter.extensions import db

_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "postgresql": "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
}


def tables_holding(needle: str) -> dict[str, list[str]]:
    """Every table (read from the database itself, so tables added later count too) with a
    stored value containing ``needle``, case-insensitively: ``{table: [values]}``."""
    needle = needle.lower()
    connection = db.session.connection()
    found: dict[str, list[str]] = {}
    for table in connection.execute(text(_TABLES[connection.dialect.name])).scalars().all():
        for row in connection.exec_driver_sql(f'SELECT * FROM "{table}"'):
            for value in row:
                if isinstance(value, memoryview):
                    value = value.tobytes()
                shown = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                if needle in shown.lower():
                    found.setdefault(table, []).append(shown[:200])
    return found

"""Two requests that create the same name at the same instant, made to happen every time: the
other request's row is inserted and committed right after ours has checked that the name is
free, before ours writes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, event

from newsletter.extensions import db


@contextmanager
def taken_meanwhile(table: Table, **row: Any) -> Iterator[None]:
    """Within the block, right after the first SELECT that reads ``table``, another connection
    inserts ``row`` into it and commits (once)."""
    engine = db.engine
    done = False

    def other_request(conn, cursor, statement: str, *_: Any) -> None:  # type: ignore[no-untyped-def]
        nonlocal done
        if done or not statement.lstrip().upper().startswith("SELECT"):
            return
        if not re.search(rf"\bFROM {table.name}\b", statement):
            return
        done = True
        with engine.connect() as other:
            other.execute(table.insert().values(**row))
            other.commit()

    event.listen(engine, "after_cursor_execute", other_request)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", other_request)
    assert done, f"nothing checked {table.name}"

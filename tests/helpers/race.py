"""Two requests at the same instant, made to happen every time: the other request's write is
committed right after ours has read the table (found a name free, a code unused), before ours
writes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Table, event

from newsletter.extensions import db


@contextmanager
def meanwhile(table: Table, other_request: Callable[[], object]) -> Iterator[None]:
    """Within the block, right after the first SELECT that reads ``table``, ``other_request``
    runs (once), on its own connection: its own app context, or ``db.engine.connect()``."""
    engine = db.engine
    done = False

    def after_read(conn, cursor, sql: str, *_: Any) -> None:  # type: ignore[no-untyped-def]
        nonlocal done
        if done or not sql.lstrip().upper().startswith("SELECT"):
            return
        if not re.search(rf"\bFROM {table.name}\b", sql):
            return
        done = True
        other_request()

    event.listen(engine, "after_cursor_execute", after_read)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", after_read)
    assert done, f"nothing read {table.name}"


def taken_meanwhile(table: Table, **row: Any) -> AbstractContextManager[None]:
    """Another request inserts ``row`` into ``table`` right after ours checked it."""

    def insert() -> None:
        with db.engine.connect() as other:
            other.execute(table.insert().values(**row))
            other.commit()

    return meanwhile(table, insert)

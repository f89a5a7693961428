"""The dashboard's counts, read from the tallies the database keeps (migration 0013).

Triggers on ``subscriber`` and ``subscription`` append a row of change (+1 or -1) for every
subscriber or membership added, moved to another state or deleted, so the counts follow every
code path, including bulk statements, without a count over the big tables. Reading sums the
rows; :func:`fold` (a tick chore) replaces each key's rows by their sum, keeping the tables to
one row per key plus what changed since the last tick. Rows are only ever appended, never
updated in place, so two writers never queue on one counter's row (PostgreSQL would hold it
locked to the end of each transaction, and could deadlock two that touch two counters in
opposite orders).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Table, delete, func, insert, select

from ..extensions import db
from ..jobs import writer
from ..models import ListTally, SubscriberStatus, SubscriberTally, SubscriptionStatus

FOLD_SLICE = 50_000  # rows of change per transaction: ~0.1 s of SQLite's write lock

_KEYS = {
    SubscriberTally: ("status", "created_on"),
    ListTally: ("list_id", "status", "subscriber_status"),
}


def status_counts() -> dict[str, int]:
    """Subscribers in each overall state."""
    counts = {s.value: 0 for s in SubscriberStatus}
    rows = db.session.execute(
        select(SubscriberTally.status, func.sum(SubscriberTally.n)).group_by(SubscriberTally.status)
    )
    for status, n in rows:
        counts[status] = int(n)
    return counts


def signups_since(first: date) -> dict[date, int]:
    """Subscribers (still here) who signed up on each day from ``first`` on (UTC days)."""
    rows = db.session.execute(
        select(SubscriberTally.created_on, func.sum(SubscriberTally.n))
        .where(SubscriberTally.created_on >= first)
        .group_by(SubscriberTally.created_on)
    )
    return {day: int(n) for day, n in rows}


def list_counts() -> dict[int, dict[str, int]]:
    """Per list id, memberships in each state, and ``audience``: those confirmed on the list whose
    subscriber is confirmed overall (the sending code's rule, ``delivery.fanout``)."""
    rows = db.session.execute(
        select(
            ListTally.list_id, ListTally.status, ListTally.subscriber_status, func.sum(ListTally.n)
        ).group_by(ListTally.list_id, ListTally.status, ListTally.subscriber_status)
    )
    counts: dict[int, dict[str, int]] = {}
    for list_id, status, subscriber_status, n in rows:
        of_list = counts.setdefault(
            list_id, {"audience": 0, **{s.value: 0 for s in SubscriptionStatus}}
        )
        of_list[status] = of_list.get(status, 0) + int(n)
        if status == subscriber_status == SubscriptionStatus.CONFIRMED.value:
            of_list["audience"] += int(n)
    return counts


def fold() -> None:
    """Replace each key's rows of change by one row holding their sum (zeros dropped), a
    bounded slice at a time: after a million-row import, SQLite's other writers wait for one
    slice, not for the whole fold."""
    for model, keys in _KEYS.items():
        table = model.__table__
        last = db.session.scalar(select(func.max(table.c.id)))
        done = db.session.scalar(select(func.min(table.c.id)))
        db.session.rollback()  # no read transaction held across the slices
        while last is not None and done <= last:
            done = min(done + FOLD_SLICE, last + 1)
            with writer.turn():
                _fold_slice(table, keys, table.c.id < done)
                db.session.commit()


def _fold_slice(table: Table, keys: tuple[str, ...], slice_: ColumnElement[bool]) -> None:
    """Sum the rows of ``slice_`` into new rows (ids after every old one) and delete them."""
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement: exactly the rows deleted are summed, however others commit meanwhile.
        rows = delete(table).where(slice_).returning(*(table.c[k] for k in keys), table.c.n)
        source = rows.cte("gone")
    else:  # SQLite: the writer's turn keeps others out between the sum and the delete
        source = select(table).where(slice_).subquery()
    key_columns = [source.c[k] for k in keys]
    summed = (
        select(*key_columns, func.sum(source.c.n))
        .group_by(*key_columns)
        .having(func.sum(source.c.n) != 0)
    )
    db.session.execute(insert(table).from_select([*keys, "n"], summed))
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(delete(table).where(slice_))

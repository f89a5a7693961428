"""Delivery records are kept only as long as configured.

``DELIVERY_RETENTION_DAYS`` after an issue finished, its delivery rows (who got it, when,
what the server said) and old bounce reports go; the issue's counts by status stay in
``IssueTotals`` (as they do when a subscriber erases themselves: ``delete_deliveries`` serves
both). 0 keeps them forever. Runs on every tick and is cheap when there is nothing to do.
The subscribers' side of retention (consent IPs, unconfirmed signups) is in
``subscribers/retention.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import JSON, ColumnElement, TextClause, bindparam, delete, func, select, text

from ..extensions import db
from ..models import (
    Bounce,
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    IssueTotals,
    UTCDateTime,
    utcnow,
)

CHUNK = 5000  # rows deleted per transaction, so a million-subscriber issue never locks for long
FINISHED = (IssueStatus.SENT, IssueStatus.CANCELLED)


def cutoff(setting: str) -> datetime | None:
    """Now minus the setting's days, or None when the setting is 0 (keep forever)."""
    days = current_app.config[setting]
    return utcnow() - timedelta(days=days) if days > 0 else None


def purge_deliveries() -> int:
    """Delete delivery rows of issues finished before the cutoff; return how many went."""
    before = cutoff("DELIVERY_RETENTION_DAYS")
    if before is None:
        return 0
    finished = select(Issue.id).where(
        Issue.status.in_(FINISHED), func.coalesce(Issue.finished_at, Issue.updated_at) < before
    )
    issue_ids = db.session.scalars(
        select(Delivery.issue_id).where(Delivery.issue_id.in_(finished)).distinct()
    ).all()
    purged = sum(_purge_issue(issue_id) for issue_id in issue_ids)
    db.session.execute(delete(Bounce).where(Bounce.received_at < before))
    db.session.commit()
    return purged


def _purge_issue(issue_id: int) -> int:
    purged = 0
    while ids := db.session.scalars(
        select(Delivery.id).where(Delivery.issue_id == issue_id).limit(CHUNK)
    ).all():
        purged += delete_deliveries(Delivery.id.in_(ids))
        db.session.commit()  # the counts and the deletion land together, chunk by chunk
    return purged


# A row deleted before it settled is counted as it ends: a queued one will never go out, and
# one caught mid-send may or may not have arrived.
_SETTLED_AS = {
    DeliveryStatus.QUEUED: DeliveryStatus.CANCELLED,
    DeliveryStatus.SENDING: DeliveryStatus.UNKNOWN,
}


# One statement creates an issue's totals or adds to them key by key inside the database, so a
# purge and an erasure adding to the same issue at once both count, whichever of them makes
# the row (PostgreSQL makes the second wait for the first, then adds to what it committed).
_ADD_TOTALS = """INSERT INTO issue_totals (issue_id, counts, purged_at)
    VALUES (:issue_id, :counts, :now)
    ON CONFLICT (issue_id) DO UPDATE SET purged_at = excluded.purged_at, counts = (
        SELECT {object_agg}(key, n) FROM (
            SELECT key, SUM({number}) AS n FROM (
                SELECT key, value FROM {each}(issue_totals.counts)
                UNION ALL SELECT key, value FROM {each}(excluded.counts)
            ) AS added GROUP BY key
        ) AS summed
    )"""
_JSON_SQL = {
    "postgresql": {
        "object_agg": "json_object_agg",
        "each": "json_each_text",
        "number": "value::bigint",
    },
    "sqlite": {"object_agg": "json_group_object", "each": "json_each", "number": "value"},
}


@lru_cache(maxsize=2)
def _add_totals_statement(dialect: str) -> TextClause:
    return text(_ADD_TOTALS.format(**_JSON_SQL[dialect])).bindparams(
        bindparam("counts", type_=JSON), bindparam("now", type_=UTCDateTime)
    )


def _add_totals(added: dict[int, Counter[str]]) -> None:
    """Add these counts by status to each issue's kept totals (creating them if need be)."""
    now = utcnow()
    db.session.execute(
        _add_totals_statement(db.session.get_bind().dialect.name),
        # In issue order, so two transactions adding to several issues lock them in one order.
        [{"issue_id": i, "counts": dict(c), "now": now} for i, c in sorted(added.items())],
    )


def delete_deliveries(*where: ColumnElement[bool]) -> int:
    """Delete the delivery rows matching ``where``, first adding them to their issues' kept
    totals, so an issue's figures never go down (retention, a subscriber's erasure). The caller
    commits; returns how many rows went."""
    added: dict[int, Counter[str]] = defaultdict(Counter)
    for issue_id, status, n in db.session.execute(
        select(Delivery.issue_id, Delivery.status, func.count())
        .where(*where)
        .group_by(Delivery.issue_id, Delivery.status)
    ):
        added[issue_id][_SETTLED_AS.get(status, status).value] += n
    if added:
        _add_totals(added)
    result = db.session.execute(delete(Delivery).where(*where))
    return result.rowcount or 0


def purged_counts(issue_ids: list[int]) -> dict[int, dict[str, int]]:
    """Counts by status of the delivery rows already purged, per issue (for the figures)."""
    if not issue_ids:
        return {}
    rows = db.session.scalars(select(IssueTotals).where(IssueTotals.issue_id.in_(issue_ids)))
    return {t.issue_id: dict(t.counts) for t in rows}

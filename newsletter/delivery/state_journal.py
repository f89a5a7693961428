"""The batch loop's journal: its per-message delivery state changes, written on a connection of
its own with plain SQL and held back so that one commit carries a group's results together
with the next group's "sending" marks.

The issue-level state changes, claiming and crash recovery are in
:mod:`newsletter.delivery.state`; together the two are the only modules that change a
Delivery's or an Issue's sending state, with the same compare-and-set rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from typing import Any

from ..extensions import db
from ..jobs import writer
from ..models import Delivery, IssueStatus, utcnow

D = Delivery.__table__

# The batch loop's statements, as plain SQL for the driver: at ~1,000 messages/s even
# SQLAlchemy's cached-statement path would cost more than the database work itself.
# {p} marks a named parameter in the driver's style, {ids} a list of delivery ids (an array
# on PostgreSQL, a JSON list on SQLite). "sent" also wins over "unknown", in case a reaper
# judged this worker dead too early.
_JOURNAL_SQL = {
    "sending": "UPDATE delivery SET status = 'sending', claimed_at = {now}, "
    "attempts = attempts + 1 WHERE id {in_ids} AND status = 'queued' AND claimed_by = {claim} "
    "RETURNING id",
    "not_started": "UPDATE delivery SET status = 'queued', attempts = attempts - 1 "
    "WHERE id = {did} AND status = 'sending' AND claimed_by = {claim}",
    "sent": "UPDATE delivery SET status = 'sent', sent_at = {now}, message_id = {mid}, "
    "claimed_by = NULL, next_attempt_at = NULL, error = '' "
    "WHERE id = {did} AND status IN ('sending', 'unknown')",
    "failed": "UPDATE delivery SET status = 'failed', claimed_by = NULL, next_attempt_at = NULL,"
    " error = {error} WHERE id = {did} AND status IN ('queued', 'sending')",
    "retry": "UPDATE delivery SET status = 'queued', claimed_by = NULL, next_attempt_at = {due},"
    " error = {error} WHERE id = {did} AND status = 'sending'",
    "unknown": "UPDATE delivery SET status = 'unknown', claimed_by = NULL, "
    "next_attempt_at = NULL, error = {error} WHERE id = {did} AND status = 'sending'",
    "issue_status": "SELECT status FROM issue WHERE id = {iid}",
}
_NAMES = ("now", "did", "ids", "claim", "mid", "error", "due", "iid")
_IN_IDS = {
    "postgresql": "= ANY({ids})",
    "sqlite": "IN (SELECT value FROM json_each({ids}))",
}
# Messages marked "sending" by one commit on PostgreSQL: at most this many become "unknown"
# when a worker is killed, against one fsync per this many messages. A commit waits some 4 ms
# for its fsync, as long as sending five messages: a group of 8 spent a third of the worker's
# time waiting, a group of 16 a fifth.
GROUP_ON_POSTGRESQL = 16


class Journal:
    """The batch loop's own database connection, one short transaction per group of messages.

    ``sending`` commits a group's "sending" marks before the first of their SMTP transactions
    starts; each result (``sent``/``failed``/``retry``/``unknown``) is held back and written
    in the same transaction as the next group's marks (or by ``flush``): one commit per group,
    and a killed worker leaves at most one group in "sending" (each "unknown" to the admin).
    The group is one message on SQLite, whose commit in WAL mode writes no more than the
    statements do, and :attr:`group_size` on PostgreSQL, whose every commit waits for its log
    to reach the disk (one wait per message held two workers near 1,000 messages/s).

    On PostgreSQL a transaction is also one round trip: its statements, from BEGIN to COMMIT,
    go out together in libpq's pipeline mode and the replies are read once, and a group's
    marks are one statement. Sent one by one, each message's two statements cost the worker
    and the server more than the rest of its database work.
    """

    group_size = 1

    def __init__(self, claim_id: str) -> None:
        self.claim_id = claim_id
        engine = db.engine
        style = "%({})s" if engine.dialect.paramstyle == "pyformat" else ":{}"
        marks = {name: style.format(name) for name in _NAMES}
        marks["in_ids"] = _IN_IDS[engine.dialect.name].format(**marks)
        self._sql = {key: sql.format(**marks) for key, sql in _JOURNAL_SQL.items()}
        when = D.c.sent_at.type.bind_processor(engine.dialect)
        self._when = when or (lambda value: value)
        self._engine = engine
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._open = ExitStack()
        connection = self._open.enter_context(engine.connect())
        self._raw = raw = connection.connection.driver_connection
        self._cursor = raw.cursor()
        self._pipeline = None
        self._ids: Callable[[list[int]], Any] = json.dumps
        if engine.dialect.name == "postgresql":
            self.group_size, self._ids = GROUP_ON_POSTGRESQL, list
            # BEGIN and COMMIT as statements of ours, to share the pipeline's round trip
            # (the pool restores the isolation level when the connection is given back).
            connection.execution_options(isolation_level="AUTOCOMMIT")
            self._pipeline = self._open.enter_context(raw.pipeline())
            self._end = raw.cursor()  # COMMIT's own, so the marks' rows stay readable

    def sending(self, delivery_ids: list[int]) -> set[int]:
        """Queued (claimed by us) -> sending, committed; returns the ids won (not those that
        someone else holds now)."""
        params = {"ids": self._ids(delivery_ids), "claim": self.claim_id}
        rows = self._write(self._sql["sending"], dict(params, now=self._when(utcnow())))
        return {row[0] for row in rows}

    def not_started(self, delivery_ids: set[int]) -> None:
        """Marked "sending" but never handed to the server (the loop stopped early): queued
        again, their attempt not counted."""
        for delivery_id in delivery_ids:
            self._hold("not_started", did=delivery_id, claim=self.claim_id)

    def sent(self, delivery_id: int, message_id: str) -> None:
        """The server accepted it."""
        self._hold("sent", did=delivery_id, now=self._when(utcnow()), mid=message_id)

    def failed(self, delivery_id: int, error: str) -> None:
        """Refused for good (5xx) or unrenderable: never retried unless an admin asks."""
        self._hold("failed", did=delivery_id, error=error[:2000])

    def retry(self, delivery_id: int, error: str, due: datetime) -> None:
        """Temporary failure: back to queued, due again at ``due``."""
        self._hold("retry", did=delivery_id, due=self._when(due), error=error[:2000])

    def unknown(self, delivery_id: int, error: str) -> None:
        """The server may or may not have taken it: the admin decides whether to resend."""
        self._hold("unknown", did=delivery_id, error=error[:2000])

    def issue_status(self, issue_id: int) -> IssueStatus | None:
        """The issue's status, read fresh; also writes any held-back result."""
        rows = self._write(self._sql["issue_status"], {"iid": issue_id})
        return IssueStatus(rows[0][0]) if rows else None

    def flush(self) -> None:
        """Write any held-back result now."""
        self._write()

    def close(self) -> None:
        with self._open:  # back to the pool, whatever the flush raises
            self.flush()

    def _hold(self, key: str, **params: Any) -> None:
        # A delivery has at most one result per run of a batch, so results written a kind
        # at a time land as they would one by one.
        self._pending.setdefault(key, []).append(params)

    def _write(self, sql: str | None = None, params: dict[str, Any] | None = None) -> list:
        """One transaction: the held-back results, then ``sql`` if given; its rows."""
        cursor, pipeline = self._cursor, self._pipeline
        with writer.raw_turn(self._engine):
            if pipeline is not None:
                cursor.execute("BEGIN")
            for key, results in self._pending.items():
                cursor.executemany(self._sql[key], results)
            self._pending.clear()
            if sql is not None:
                cursor.execute(sql, params)
            if pipeline is None:  # SQLite commits only once the rows are read
                rows = cursor.fetchall() if sql is not None else []
                self._raw.commit()
                return rows
            self._end.execute("COMMIT")
            pipeline.sync()  # all of it goes out now, one round trip
            return cursor.fetchall() if sql is not None else []

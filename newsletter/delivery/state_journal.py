"""The batch loop's journal: its per-message delivery state changes, written on a connection of
its own with plain SQL and held back so that one commit carries a group's results together
with the next group's "sending" marks.

The issue-level state changes, claiming and crash recovery are in
:mod:`newsletter.delivery.state`; together the two are the only modules that change a
Delivery's or an Issue's sending state, with the same compare-and-set rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..extensions import db
from ..jobs import writer
from ..models import Delivery, IssueStatus, utcnow

D = Delivery.__table__

# The batch loop's statements, as plain SQL for the driver: at ~1,000 messages/s even
# SQLAlchemy's cached-statement path would cost more than the database work itself.
# {p} marks a named parameter in the driver's style. "sent" also wins over "unknown", in
# case a reaper judged this worker dead too early.
_JOURNAL_SQL = {
    "sending": "UPDATE delivery SET status = 'sending', claimed_at = {now}, "
    "attempts = attempts + 1 WHERE id = {did} AND status = 'queued' AND claimed_by = {claim}",
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
_NAMES = ("now", "did", "claim", "mid", "error", "due", "iid")
# Messages marked "sending" by one commit on PostgreSQL: at most this many become "unknown"
# when a worker is killed, against one fsync per this many messages.
GROUP_ON_POSTGRESQL = 8


class Journal:
    """The batch loop's own database connection, one short transaction per group of messages.

    ``sending`` commits a group's "sending" marks before the first of their SMTP transactions
    starts; each result (``sent``/``failed``/``retry``/``unknown``) is held back and written
    in the same transaction as the next group's marks (or by ``flush``): one commit per group,
    and a killed worker leaves at most one group in "sending" (each "unknown" to the admin).
    The group is one message on SQLite, whose commit in WAL mode writes no more than the
    statements do, and :attr:`group_size` on PostgreSQL, whose every commit waits for its log
    to reach the disk (one wait per message held two workers near 1,000 messages/s).
    """

    group_size = 1

    def __init__(self, claim_id: str) -> None:
        self.claim_id = claim_id
        engine = db.engine
        style = "%({})s" if engine.dialect.paramstyle == "pyformat" else ":{}"
        marks = {name: style.format(name) for name in _NAMES}
        self._sql = {key: sql.format(**marks) for key, sql in _JOURNAL_SQL.items()}
        when = D.c.sent_at.type.bind_processor(engine.dialect)
        self._when = when or (lambda value: value)
        self._raw = engine.raw_connection()
        self._cursor = self._raw.cursor()
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._engine = engine
        if engine.dialect.name == "postgresql":
            self.group_size = GROUP_ON_POSTGRESQL

    def sending(self, delivery_ids: list[int]) -> set[int]:
        """Queued (claimed by us) -> sending, committed; returns the ids won (not those that
        someone else holds now)."""
        now = self._when(utcnow())
        won = set()
        with writer.raw_turn(self._engine):
            self._write_pending()
            for delivery_id in delivery_ids:
                params = {"did": delivery_id, "claim": self.claim_id, "now": now}
                self._cursor.execute(self._sql["sending"], params)
                if self._cursor.rowcount == 1:
                    won.add(delivery_id)
            self._raw.commit()
        return won

    def not_started(self, delivery_ids: set[int]) -> None:
        """Marked "sending" but never handed to the server (the loop stopped early): queued
        again, their attempt not counted."""
        for delivery_id in delivery_ids:
            self._pending.append(("not_started", {"did": delivery_id, "claim": self.claim_id}))

    def sent(self, delivery_id: int, message_id: str) -> None:
        """The server accepted it."""
        now = self._when(utcnow())
        self._pending.append(("sent", {"did": delivery_id, "now": now, "mid": message_id}))

    def failed(self, delivery_id: int, error: str) -> None:
        """Refused for good (5xx) or unrenderable: never retried unless an admin asks."""
        self._pending.append(("failed", {"did": delivery_id, "error": error[:2000]}))

    def retry(self, delivery_id: int, error: str, due: datetime) -> None:
        """Temporary failure: back to queued, due again at ``due``."""
        params = {"did": delivery_id, "due": self._when(due), "error": error[:2000]}
        self._pending.append(("retry", params))

    def unknown(self, delivery_id: int, error: str) -> None:
        """The server may or may not have taken it: the admin decides whether to resend."""
        self._pending.append(("unknown", {"did": delivery_id, "error": error[:2000]}))

    def issue_status(self, issue_id: int) -> IssueStatus | None:
        """The issue's status, read fresh; also writes any held-back result."""
        with writer.raw_turn(self._engine):
            self._write_pending()
            self._cursor.execute(self._sql["issue_status"], {"iid": issue_id})
            row = self._cursor.fetchone()
            self._raw.commit()
        return IssueStatus(row[0]) if row else None

    def flush(self) -> None:
        """Write any held-back result now."""
        with writer.raw_turn(self._engine):
            self._write_pending()
            self._raw.commit()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._cursor.close()
            self._raw.close()  # back to the pool

    def _write_pending(self) -> None:
        for key, params in self._pending:
            self._cursor.execute(self._sql[key], params)
        self._pending.clear()

"""Sending one batch: claim its deliveries, personalise each copy, hand it to the SMTP server.

The order of writes is what makes a crash safe. A delivery is marked "sending" and committed
*before* its SMTP transaction starts, a group at a time (one message on SQLite, a few on
PostgreSQL: see ``Journal``), and its result is committed with the next group's "sending"
marks. A worker killed at any moment therefore leaves at most one group in "sending"; the
reaper turns those into "unknown" (shown to the admin, never resent silently) and hands the
rest of the batch, still "queued", to another job.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app

from ..bounces import service as bounces
from ..bounces.verp import return_path
from ..extensions import db
from ..mail.bulk import Copy
from ..mail.pipelining import BulkSMTPTransport, OutcomeUnknown
from ..mail.transports import PermanentFailure, TemporaryFailure, Transport, open_transport
from ..models import IssueStatus, utcnow
from ..sequences.due import departed
from . import copies, leases, queries, ratelimit, state
from .state_journal import Journal

log = logging.getLogger(__name__)

CHECK_EVERY = 0.5  # seconds between reads of the issue's status (pause/cancel reach us)
# A job hands its worker back after this long, so a confirmation mail queued behind a big
# issue waits at most about this much; the rest of the batch is queued again.
TIME_SLICE = 1.0
SLICED = "time slice used up"
BATCH_LEASE = 1800.0  # how long a queued batch job may wait before the reaper doubts it
# One bad address in a tiny last batch is not an outage: pausing needs at least this many.
MIN_FAILURES_TO_PAUSE = 3
# Replies that refuse *us* (authentication), not the recipient: retried, never suppressing.
_SERVER_REFUSALS = frozenset({530, 534, 535, 538})


@dataclass
class BatchOutcome:
    """What one run of a batch did, for logs and tests."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0
    unknown: int = 0
    stopped: str = ""
    errors: list[str] = field(default_factory=list)


def send_batch(issue_id: int, batch_no: int) -> BatchOutcome:
    """Send every due queued delivery of one batch that nobody else holds."""
    claim_id = leases.new_claim_id()
    leases.touch(leases.claim_key(claim_id), leases.CLAIM_TTL)
    leases.touch(leases.batch_key(issue_id, batch_no), leases.CLAIM_TTL)
    outcome = BatchOutcome()
    try:
        if queries.issue_status(issue_id) != IssueStatus.SENDING:
            return outcome
        rows = state.claim_batch(issue_id, batch_no, claim_id)
        db.session.commit()
        if rows:
            _send_rows(issue_id, batch_no, claim_id, rows, outcome)
        state.release(claim_id)
        state.finish_if_done(issue_id)
        db.session.commit()
    finally:
        db.session.rollback()
        leases.drop(leases.batch_key(issue_id, batch_no))
        leases.drop(leases.claim_key(claim_id))
    log.info("issue %s batch %s: %s", issue_id, batch_no, outcome)
    return outcome


def _send_rows(
    issue_id: int, batch_no: int, claim_id: str, rows: list, outcome: BatchOutcome
) -> None:
    ready = _prepare_or_pause(issue_id, rows, outcome)
    if ready is None:
        return
    prepared, skip = ready
    share, size = current_app.config["PAUSE_FAILURE_SHARE"], max(1, len(rows))
    hard_failures: list[tuple[Any, str]] = []
    journal = Journal(claim_id)
    watch = _Watch(journal, issue_id, batch_no)
    transport = _open_transport()
    slice_end = time.monotonic() + TIME_SLICE
    to_send = [row for row in rows if row.id not in skip]
    # A VERP return path names the delivery, so a bounce finds its way back to it.
    senders = {row.id: return_path(row.id) for row in to_send}
    ahead: dict[int, Copy | Exception] = {}  # copies made while the one before was in flight
    tried: set[int] = set()  # marked "sending" in a group, or tried to be
    unsent: set[int] = set()  # marked by us and not yet handed to the server
    try:
        for n, row in enumerate(to_send):
            if time.monotonic() > slice_end:
                outcome.stopped = SLICED
                break
            if not watch.still_sending():
                outcome.stopped = "issue no longer sending"
                break
            try:
                copy = ahead.pop(row.id, None) or copies.personalise(prepared, row)
                if isinstance(copy, Exception):
                    raise copy
            except Exception as exc:  # a subscriber's data breaks the template: that copy only
                journal.failed(row.id, f"could not render: {exc}")
                unsent.discard(row.id)
                outcome.failed += 1
                continue
            ratelimit.wait_turn()
            if row.id not in tried:  # the next group's marks, in one commit
                group = [r.id for r in to_send[n : n + journal.group_size]]
                tried.update(group)
                unsent |= journal.sending(group)
            if row.id not in unsent:
                continue  # someone else holds it now
            unsent.discard(row.id)
            # The next envelope rides along only if the next message will still fit the slice.
            more = n + 1 < len(to_send) and time.monotonic() < slice_end
            following = to_send[n + 1] if more else None
            error = _deliver(
                transport, journal, prepared, row, copy, outcome, senders, following, ahead
            )
            if error:
                hard_failures.append((row, error))
            failures = outcome.failed + outcome.retried + outcome.unknown
            if failures > share * size and failures >= MIN_FAILURES_TO_PAUSE:
                outcome.stopped = "paused: too many failures"
                break
    finally:
        if isinstance(transport, BulkSMTPTransport):
            transport.abandon()
        transport.close()
        journal.not_started(unsent)
        journal.close()
    for row, error in hard_failures:
        # Past HARD_BOUNCE_LIMIT the address is suppressed; each shows on the bounce page.
        bounces.record_refusal(row.id, row.subscriber_id, error)
    if outcome.stopped.startswith("paused"):
        _pause_for_failures(issue_id, batch_no, outcome, len(rows))
    db.session.commit()


def _prepare_or_pause(
    issue_id: int, rows: list, outcome: BatchOutcome
) -> tuple[copies.Prepared, set[int]] | None:
    """The issue prepared for personalising, and the rows skipped (cancelled) because their
    address is now suppressed; None, with the issue paused, when it cannot be prepared."""
    try:
        prepared = copies.prepare(issue_id)
    except Exception as exc:  # e.g. a DKIM key file gone: no copy can be made, so stop
        log.exception("issue %s cannot be prepared", issue_id)
        state.pause(issue_id, f"Paused automatically: the issue cannot be prepared ({exc}).")
        db.session.commit()
        outcome.stopped = "paused: cannot prepare"
        return None
    skip = copies.suppressed(rows)
    state.mark_skipped([r.id for r in rows if r.id in skip], "address suppressed")
    left = departed(issue_id, [r.id for r in rows if r.id not in skip])  # steps only
    state.mark_skipped(list(left), "left the list")
    skip |= left
    outcome.skipped = len(skip)
    db.session.commit()
    return prepared, skip


def _deliver(
    transport: Transport,
    journal: Journal,
    prepared: copies.Prepared,
    row,
    copy: Copy,
    outcome: BatchOutcome,
    senders: dict[int, str],
    following: Any = None,
    ahead: dict[int, Copy | Exception] | None = None,
) -> str:  # type: ignore[no-untyped-def]
    """Hand one copy to the server (from its return path in ``senders``) and note the result;
    returns the error of a hard failure. When the transport pipelines, the ``following``
    delivery's envelope rides along and its copy is made (into ``ahead``) while the server
    reads this one."""
    try:
        if not isinstance(transport, BulkSMTPTransport):
            transport.send(senders[row.id], row.email, copy.data)
        elif following is None:
            transport.send(senders[row.id], row.email, copy.data, dot_lines=copy.dot_lines)
        else:
            then = (senders[following.id], following.email)

            def make_following() -> None:
                if ahead is not None:
                    ahead[following.id] = _copy_or_error(prepared, following)

            transport.send(
                senders[row.id], row.email, copy.data, then, make_following, copy.dot_lines
            )
    except OutcomeUnknown as exc:
        journal.unknown(row.id, str(exc))
        outcome.unknown += 1
        outcome.errors.append(str(exc))
    except TemporaryFailure as exc:
        _retry_or_fail(journal, row, str(exc), outcome)
    except PermanentFailure as exc:
        if exc.code in _SERVER_REFUSALS:  # our login was refused: not the subscriber's fault
            _retry_or_fail(journal, row, str(exc), outcome)
            return ""
        journal.failed(row.id, str(exc))
        outcome.failed += 1
        outcome.errors.append(str(exc))
        return str(exc)
    else:
        journal.sent(row.id, copies.message_id(prepared, row.id))
        outcome.sent += 1
    return ""


def _copy_or_error(prepared: copies.Prepared, row) -> Copy | Exception:  # type: ignore[no-untyped-def]
    try:
        return copies.personalise(prepared, row)
    except Exception as exc:  # raised in its own turn, where a bad copy is dealt with
        return exc


def _retry_or_fail(journal: Journal, row, error: str, outcome: BatchOutcome) -> None:  # type: ignore[no-untyped-def]
    """Back to the queue with exponential backoff, or failed once the attempts run out."""
    config = current_app.config
    attempts = row.attempts + 1
    delay = min(config["RETRY_BASE_SECONDS"] * 2 ** (attempts - 1), 3600)
    if attempts >= config["RETRY_MAX_ATTEMPTS"]:
        journal.failed(row.id, f"gave up after {attempts} attempts: {error}")
        outcome.failed += 1
    else:
        journal.retry(row.id, error, utcnow() + timedelta(seconds=delay))
        outcome.retried += 1
    outcome.errors.append(error)


def _pause_for_failures(issue_id: int, batch_no: int, outcome: BatchOutcome, size: int) -> None:
    last = outcome.errors[-1] if outcome.errors else "unknown error"
    failures = outcome.failed + outcome.retried + outcome.unknown
    reason = (
        f"Paused automatically: {failures} of {size} messages in "
        f"batch {batch_no} failed. Last error: {last}. Check the SMTP server, then resume."
    )
    if state.pause(issue_id, reason):
        log.warning("issue %s paused: %s", issue_id, reason)


_reused = threading.local()


def _open_transport() -> Transport:
    """The worker's SMTP connection, kept open from one batch job to the next (a new
    connection, let alone a TLS handshake, per job would cost more than a batch's sending)."""
    url = current_app.config["SMTP_URL"]
    if not url:
        return open_transport()
    transport = getattr(_reused, "transport", None)
    if transport is None or transport.url != url:
        if transport is not None:
            BulkSMTPTransport.close(transport)
        transport = _reused.transport = _KeptTransport(url)
    return transport


class _KeptTransport(BulkSMTPTransport):
    """Closing between jobs keeps the connection; it is dropped only when it breaks."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url

    def close(self) -> None:
        pass


class _Watch:
    """Between messages: every half second, re-read the issue's status (pause and cancel
    reach every worker within a second) and refresh this job's liveness keys."""

    def __init__(self, journal: Journal, issue_id: int, batch_no: int) -> None:
        self.journal, self.issue_id, self.batch_no = journal, issue_id, batch_no
        self.next_check = 0.0

    def still_sending(self) -> bool:
        now = time.monotonic()
        if now < self.next_check:
            return True
        self.next_check = now + CHECK_EVERY
        leases.touch(leases.claim_key(self.journal.claim_id), leases.CLAIM_TTL)
        leases.touch(leases.batch_key(self.issue_id, self.batch_no), leases.CLAIM_TTL)
        return self.journal.issue_status(self.issue_id) == IssueStatus.SENDING

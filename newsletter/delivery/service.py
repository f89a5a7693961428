"""What the admin pages, the CLI and the scheduler ask of the sending engine.

Plain functions over issue ids; each one commits and returns a plain result or raises
:class:`SendingError` with a message fit to show the admin.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from ..accounts import audit
from ..extensions import db
from ..jobs import queues
from ..models import DeliveryStatus, Issue, IssueStatus, utcnow
from . import copies, fanout, jobs, queries, state

# Failed deliveries checked per query when retrying (their addresses against the list).
RETRY_PAGE = 1000


class SendingError(ValueError):
    """The issue is not in a state that allows this action."""


class NotStarted(SendingError):
    """The issue was started, unscheduled or moved by someone else a moment ago: left as is."""


def _issue(issue_id: int) -> Issue:
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        raise SendingError(f"There is no issue {issue_id}.")
    return issue


def start_sending(issue_id: int, actor: str | None = None, due_by: datetime | None = None) -> int:
    """Start sending: the issue's audience is snapshotted as of now (by a job, as a million
    rows take a while) and its batches queued; returns the audience size. Safe to call
    twice: the second call finds the issue started and refuses. ``due_by``: the scheduler's
    start, only of an issue still scheduled for then or earlier (``state.begin``)."""
    issue = _issue(issue_id)
    if not fanout.has_target(issue):
        raise SendingError(fanout.NO_TARGET)
    total = fanout.audience_size(issue_id)
    if not total:  # it could never be sent again: wait for subscribers instead
        raise SendingError(f"Nobody would receive it: no confirmed reader {_whom(issue)} yet.")
    if not state.begin(issue_id, due_by):
        db.session.rollback()  # read it as it is now
        raise NotStarted(
            f"This issue is {_issue(issue_id).status.value}; it can only be sent once."
        )
    audit.record("issue.send", f"issue {issue_id}: {total} recipients", actor=actor)
    db.session.commit()
    jobs.queue_fan_out(issue_id)
    return total


def _whom(issue: Issue) -> str:
    if issue.segment_id is None:
        return "is on its lists"
    return "is on its lists and matches its segment" if issue.lists else "matches its segment"


def _not_a_step(issue_id: int) -> None:
    """A sequence step pauses, resumes and ends with its list's sequence, never on its own."""
    if queries.is_step(issue_id):
        raise SendingError("This is a step of a list's sequence: pause or resume the sequence.")


def pause(issue_id: int) -> None:
    """Stop sending within a second; messages already handed over are unaffected."""
    _not_a_step(issue_id)
    if not state.pause(issue_id, "Paused by an admin."):
        raise SendingError(f"Only an issue that is sending can be paused ({_status(issue_id)}).")
    audit.record("issue.pause", f"issue {issue_id}")
    db.session.commit()


def resume(issue_id: int) -> None:
    """Carry on sending a paused issue; retries waiting out a backoff go now."""
    _not_a_step(issue_id)
    if not state.resume(issue_id):
        raise SendingError(f"Only a paused issue can be resumed ({_status(issue_id)}).")
    audit.record("issue.resume", f"issue {issue_id}")
    db.session.commit()
    queues.enqueue(jobs.dispatch_issue, issue_id, queue=queues.DEFAULT)


def cancel(issue_id: int) -> None:
    """Stop for good: nothing not yet handed to the SMTP server will be sent."""
    _not_a_step(issue_id)
    if not state.cancel(issue_id):
        raise SendingError(f"This issue cannot be cancelled ({_status(issue_id)}).")
    audit.record("issue.cancel", f"issue {issue_id}")
    db.session.commit()


def retry_failed(issue_id: int) -> int:
    """Queue again the failed deliveries that may yet get through: temporary failures that
    ran out of attempts. A 5xx refusal would be refused again, and a suppressed address would
    only be cancelled: both stay failed, with the server's reply. Returns how many."""
    _resumable(issue_id)
    count, after = 0, 0
    while rows := queries.retry_candidates(issue_id, after, RETRY_PAGE):
        skip = copies.suppressed(rows)
        count += state.requeue(
            issue_id, DeliveryStatus.FAILED, [r.id for r in rows if r.id not in skip]
        )
        after = rows[-1].id
    return _requeued(issue_id, count, "issue.retry_failed")


def resend_unknown(issue_id: int) -> int:
    """Queue the "unknown" deliveries again, an admin's explicit choice (a subscriber may get a
    second copy, with the same Message-ID); returns how many."""
    _resumable(issue_id)
    count = state.requeue(issue_id, DeliveryStatus.UNKNOWN)
    return _requeued(issue_id, count, "issue.resend_unknown")


def _resumable(issue_id: int) -> None:
    issue = _issue(issue_id)
    if issue.status not in (IssueStatus.SENDING, IssueStatus.SENT):
        raise SendingError(f"Resume the issue first (it is {issue.status.value}).")


def _requeued(issue_id: int, count: int, action: str) -> int:
    audit.record(action, f"issue {issue_id}: {count} deliveries")
    db.session.commit()
    if count:
        queues.enqueue(jobs.dispatch_issue, issue_id, queue=queues.DEFAULT)
    return count


def _status(issue_id: int) -> str:
    status = queries.issue_status(issue_id)
    return f"it is {status.value}" if status else "no such issue"


@dataclass(frozen=True)
class Progress:
    """Where an issue's sending stands, for the progress page, its JSON and the CLI."""

    issue_id: int
    status: str
    status_reason: str
    total: int
    queued: int
    sending: int
    sent: int
    failed: int
    unknown: int
    cancelled: int
    skipped: int  # a sequence step's reader who left before it went out (steps only)
    remaining: int
    rate: float  # messages per second since the start
    eta_seconds: int | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def progress(issue_id: int) -> Progress:
    """Delivery counts and pace of one issue."""
    issue = _issue(issue_id)
    counts = queries.counts(issue_id)
    db.session.commit()  # end the read transaction: the next poll must see fresh counts
    remaining = counts["queued"] + counts["sending"]
    rate = 0.0
    if issue.started_at is not None:
        elapsed = ((issue.finished_at or utcnow()) - issue.started_at).total_seconds()
        rate = counts["sent"] / elapsed if elapsed > 0 else 0.0
    eta: int | None = 0
    if remaining:  # no estimate while paused: nothing is moving
        moving = rate > 0 and issue.status == IssueStatus.SENDING
        eta = round(remaining / rate) if moving else None
    return Progress(
        issue_id=issue_id,
        status=issue.status.value,
        status_reason=issue.status_reason,
        total=sum(counts.values()),
        remaining=remaining,
        rate=round(rate, 1),
        eta_seconds=eta,
        **counts,
    )


@dataclass(frozen=True)
class IssueSummary:
    """What the progress page shows about the issue itself."""

    id: int
    subject: str
    started_at: object
    finished_at: object


def issue_summary(issue_id: int) -> IssueSummary:
    """The issue's subject and times."""
    issue = _issue(issue_id)
    return IssueSummary(issue.id, issue.subject, issue.started_at, issue.finished_at)


def deliveries(issue_id: int, status: DeliveryStatus, limit: int = 200) -> list[tuple[str, str]]:
    """(address, last error) of an issue's deliveries in ``status``, at most ``limit``."""
    return queries.listed(issue_id, status, limit)

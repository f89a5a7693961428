"""The reaper (a periodic chore): recovers from workers that died and jobs that were lost.

A dead job's "sending" deliveries become "unknown" (they may have reached the server: never
resent silently) and its other claimed deliveries are released and queued again at once.
Retries that came due are queued on every tick (a small index finds them); batches whose job
was lost (Redis restarted, or the worker died between taking the job and its first line) are
found by a slower scan every half minute; a lost fan-out is queued again.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from rq.job import JobStatus

from ..extensions import db
from ..jobs import queues
from ..models import IssueStatus
from . import jobs, leases, queries, state

log = logging.getLogger(__name__)

# A claim younger than this is never judged, even if its liveness key is missing.
GRACE = timedelta(seconds=2)
# Looking for batches whose job was lost (Redis restarted) or whose retries came due reads
# every queued delivery's batch number, so it runs this often, not on every tick.
FULL_SCAN_SECONDS = 30.0
# A job's mark is set just before it is queued and replaced by its first line, so a mark this
# old whose job RQ no longer has, or has started this long ago, belongs to a job that will
# never run: its worker died in between.
LOST_AFTER = 30.0
_ENDED = frozenset({JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})


def reap() -> None:
    """One recovery pass: dead workers' claims, retries come due, lost fan-outs, finished
    issues, and (every ``FULL_SCAN_SECONDS``) any batch with due deliveries but no job."""
    to_dispatch = _recover_dead_claims()
    db.session.commit()
    retries: dict[int, list[int]] = {}
    for issue_id, batch_no in queries.due_retries():
        retries.setdefault(issue_id, []).append(batch_no)
    full_scan = not leases.alive([leases.scan_key()])[0]
    if full_scan:
        leases.touch(leases.scan_key(), FULL_SCAN_SECONDS)
        forget_lost_jobs()
    for issue_id in queries.issues_in(IssueStatus.SENDING):
        if leases.alive([leases.fan_out_key(issue_id)])[0]:
            continue  # its fan-out is queued or running, and queues the batches itself
        if not queries.has_deliveries(issue_id):
            if not queries.is_step(issue_id):  # a step's come from the sequence tick instead
                jobs.queue_fan_out(issue_id)  # its fan-out job was lost
            continue
        if full_scan or issue_id in to_dispatch:
            queued = jobs.dispatch_issue(issue_id)
        else:
            queued = jobs.dispatch_batches(issue_id, retries.get(issue_id, []))
        if queued:
            log.info("issue %s: queued %s batch job(s) again", issue_id, queued)
        state.finish_if_done(issue_id)
        db.session.commit()


def _recover_dead_claims() -> set[int]:
    """Orphan every claim whose worker is gone; returns the issues that need their batches
    queued again."""
    claims = queries.claims_in_use()
    keys = [leases.claim_key(c) for c in claims]
    issues: set[int] = set()
    for claim_id, live in zip(claims, leases.alive(keys), strict=True):
        if live:
            continue
        unknown, released = state.orphan(claim_id, GRACE)
        issues |= released
        if unknown or released:
            log.warning(
                "worker claim %s is gone: %s unknown, issues %s", claim_id, unknown, released
            )
    return issues


def forget_lost_jobs() -> int:
    """Drop the marks of queued batch and fan-out jobs that will never run, so the scan that
    follows queues their work again now, not when the mark expires (half an hour for a
    batch, an hour for a fan-out). Returns how many it dropped."""
    marks = [m for m in leases.queued_marks() if time.time() - m.queued_at > LOST_AFTER]
    if not marks:
        return 0
    states = queues.backend().job_states([m.job_id for m in marks])
    dropped = 0
    for mark, job in zip(marks, states, strict=True):
        lost = (
            job is None
            or job.status in _ENDED
            or (
                job.status == JobStatus.STARTED
                and job.started_at is not None
                and time.time() - job.started_at.timestamp() > LOST_AFTER
            )
        )
        if lost and leases.drop_mark(mark):
            log.warning("job %s for %s was lost; its work is queued again", mark.job_id, mark.key)
            dropped += 1
    return dropped

"""The tick's sequence chore: hand the readers each step came due for to the sending engine.

For every step whose list's sequence runs, one ``INSERT ... SELECT`` (the fan-out's own,
``fanout.insert_deliveries``) copies the due readers (:func:`newsletter.sequences.due.readers`)
into queued deliveries of the step's issue, under batch numbers no earlier delivery of it
used; the unique (issue, subscriber) constraint with ``ON CONFLICT DO NOTHING`` makes a
second tick running at the same moment harmless. The new batches then go through the issue
engine's own jobs (on the default queue, ahead of a big issue's batches, so a welcome is not
late because an issue is going out), so sending, retries, a killed worker's "unknown" and
pausing are exactly those of an issue. Steps are taken in order, so a reader due for two
steps at once gets the second on the next tick, after the first settled.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from ..delivery import fanout, jobs, leases
from ..extensions import db
from ..jobs import queues
from ..models import (
    Delivery,
    Issue,
    IssueStatus,
    MailingList,
    SequenceStep,
    utcnow,
)
from . import due

log = logging.getLogger(__name__)

# Most ticks look only at readers who came due lately (confirmed within RECENT before a step's
# delay ran out): a small slice of a big list, read by its confirmation index. Every
# FULL_SCAN_SECONDS a tick reads the whole list, for readers held back longer (by a pause, an
# earlier step still retrying, catch-up); pausing and catch-up ask for one at the next tick.
RECENT = timedelta(minutes=30)
FULL_SCAN_SECONDS = 60.0


def scan_key() -> str:
    return queues.key("sequences", "full-scan")


def ask_full_scan() -> None:
    """Have the next tick read every list whole (after a resume or a catch-up)."""
    leases.drop(scan_key())


def running_steps() -> list[SequenceStep]:
    """Steps whose list's sequence is not paused and whose issue is sending, in order."""
    return list(
        db.session.scalars(
            select(SequenceStep)
            .join(MailingList, MailingList.id == SequenceStep.list_id)
            .join(Issue, Issue.id == SequenceStep.issue_id)
            .where(MailingList.sequence_paused_at.is_(None), Issue.status == IssueStatus.SENDING)
            .order_by(SequenceStep.list_id, SequenceStep.position, SequenceStep.id)
        )
    )


def send_due() -> int:
    """Queue every (step, reader) pair that came due; returns how many deliveries it added."""
    added = 0
    full = not leases.alive([scan_key()])[0]
    if full:
        leases.touch(scan_key(), FULL_SCAN_SECONDS)
    for step in running_steps():
        first = due.next_batch(step.issue_id)
        readers = due.readers(step, utcnow(), None if full else RECENT)
        fanout.insert_deliveries(step.issue_id, readers, current_app.config["BATCH_SIZE"], first)
        db.session.commit()
        queued = due.next_batch(step.issue_id) - first
        if queued:
            added += db.session.scalar(
                select(func.count()).where(
                    Delivery.issue_id == step.issue_id, Delivery.batch_no >= first
                )
            )
            batches = list(range(first, first + queued))
            jobs.dispatch_batches(step.issue_id, batches, on=queues.DEFAULT)
    if added:
        log.info("sequences: %s step deliveries queued", added)
    return added

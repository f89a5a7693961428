"""RQ job entry points. Each takes ids and is safe to run twice: state lives in the database,
and every step is a conditional update that a second run finds already done."""

from __future__ import annotations

from .. import queue
from . import batch, leases, state


def send_batch(issue_id: int, batch_no: int) -> None:
    """Send one batch of an issue (see :mod:`newsletter.delivery.batch`); a batch that used
    up its time slice goes to the back of the queue, behind any transactional mail."""
    if batch.send_batch(issue_id, batch_no).stopped == batch.SLICED:
        leases.touch(leases.batch_key(issue_id, batch_no), batch.BATCH_LEASE)
        queue.enqueue(send_batch, issue_id, batch_no, queue=queue.BULK)


def dispatch_issue(issue_id: int) -> int:
    """Queue a batch job for every batch with due deliveries that no job holds; returns how
    many were queued. Used after fan-out, on resume and by the reaper."""
    batches = state.due_batches(issue_id)
    keys = [leases.batch_key(issue_id, b) for b in batches]
    queued = 0
    for batch_no, key, held in zip(batches, keys, leases.alive(keys), strict=True):
        if held:
            continue
        # Marked before enqueueing, so the reaper never queues the same batch twice; a job
        # lost with Redis takes its mark with it and is queued again on the next tick.
        leases.touch(key, batch.BATCH_LEASE)
        queue.enqueue(send_batch, issue_id, batch_no, queue=queue.BULK)
        queued += 1
    return queued

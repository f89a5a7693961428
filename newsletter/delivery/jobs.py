"""RQ job entry points. Each takes ids and is safe to run twice: state lives in the database,
and every step is a conditional update that a second run finds already done."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from ..extensions import db
from ..jobs import queues
from ..models import IssueStatus
from . import batch, fanout, leases, queries, state

FAN_OUT_LEASE = 3600.0  # a queued fan-out job older than this is assumed lost


def queue_fan_out(issue_id: int) -> None:
    """Queue the fan-out of an issue that has started sending."""
    _enqueue_marked(leases.fan_out_key(issue_id), FAN_OUT_LEASE, fan_out_issue, issue_id)


def fan_out_issue(issue_id: int) -> None:
    """Snapshot the audience as of the start into deliveries, then queue the batches."""
    if queries.issue_status(issue_id) not in state.ACTIVE:
        return  # cancelled before its audience was taken
    # Held until the batches are queued, so the reaper neither queues them a second time
    # meanwhile nor waits long to redo a fan-out whose worker died.
    with leases.held(leases.fan_out_key(issue_id), leases.CLAIM_TTL):
        fanout.fan_out(issue_id, current_app.config["BATCH_SIZE"], queries.started_at(issue_id))
        db.session.commit()
        state.finish_if_done(issue_id, fanned_out=True)  # an empty audience is done at once
        db.session.commit()
        if queries.issue_status(issue_id) == IssueStatus.SENDING:
            dispatch_issue(issue_id)


def send_batch(issue_id: int, batch_no: int) -> None:
    """Send one batch of an issue (see :mod:`newsletter.delivery.batch`); a batch that used
    up its time slice goes to the back of the queue, behind any transactional mail."""
    if batch.send_batch(issue_id, batch_no).stopped == batch.SLICED:
        _queue_batch(issue_id, batch_no)


def dispatch_issue(issue_id: int) -> int:
    """Queue a batch job for every batch with due deliveries that no job holds; returns how
    many were queued. Used after fan-out, on resume and by the reaper."""
    return dispatch_batches(issue_id, queries.due_batches(issue_id))


def dispatch_batches(issue_id: int, batches: list[int], on: str = queues.BULK) -> int:
    """Queue a job for each of these batches that no job holds; returns how many. A sequence
    step's new batches go ``on`` the default queue, ahead of a big issue's, so a welcome
    series keeps its delays while an issue is sending (a sliced one goes back to bulk)."""
    keys = [leases.batch_key(issue_id, b) for b in batches]
    queued = 0
    for batch_no, held in zip(batches, leases.alive(keys), strict=True):
        if held:
            continue
        _queue_batch(issue_id, batch_no, on)
        queued += 1
    return queued


def _queue_batch(issue_id: int, batch_no: int, on: str = queues.BULK) -> None:
    key = leases.batch_key(issue_id, batch_no)
    _enqueue_marked(key, batch.BATCH_LEASE, send_batch, issue_id, batch_no, on=on)


def _enqueue_marked(
    key: str, ttl: float, func: Callable[..., None], *args: int, on: str = queues.DEFAULT
) -> None:
    """Queue a job holding ``key``. Marked before enqueueing, so the reaper never queues the
    same work twice; a job lost with Redis takes its mark with it and is queued again on the
    next tick, and one lost with its worker is found by its id (``reaper.forget_lost_jobs``)."""
    job_id = leases.mark_queued(key, ttl)
    queues.enqueue(func, *args, queue=on, job_id=job_id)

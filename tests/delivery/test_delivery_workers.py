"""Real ``python worker.py`` processes on Redis: exactly once under concurrency and crashes,
pause across workers, and the shared rate cap."""

from __future__ import annotations

import collections
import os
import signal
import time

import pytest
from helpers.send import delivery_counts, issue_status, start_issue, wait_for
from helpers.worker import touch
from rq import SimpleWorker

from newsletter.delivery import jobs, leases, reaper, service, state
from newsletter.delivery.state_journal import GROUP_ON_POSTGRESQL
from newsletter.jobs import queues


def _copies(smtp_server) -> collections.Counter:
    return collections.Counter(m.rcpt_tos[0] for m in smtp_server.messages)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_two_workers_racing_for_the_same_batches_send_each_copy_once(
    make_app, redis_url, smtp_server, start_worker
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, BATCH_SIZE=50)
    issue_id = start_issue(app, 600)
    with app.app_context():
        # The audience taken first (here, not by a worker), so no batch job can run before
        # its deliveries exist; then every batch job queued twice, as after a lost-and-
        # requeued job: both workers race.
        jobs.fan_out_issue(issue_id)
        for batch_no in range(12):
            queues.enqueue(jobs.send_batch, issue_id, batch_no, queue=queues.BULK)
    start_worker(app)
    start_worker(app)

    wait_for(lambda: issue_status(app, issue_id) == "sent", timeout=60)
    copies = _copies(smtp_server)
    assert len(copies) == 600
    assert set(copies.values()) == {1}
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 600}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    backend, make_app, redis_url, smtp_server, start_worker
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, BATCH_SIZE=100, SEND_RATE=150)
    issue_id = start_issue(app, 450)
    victim = start_worker(app, TICK_SECONDS=0.5)
    smtp_server.wait_for(60, timeout=30)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    start_worker(app, TICK_SECONDS=0.5)

    wait_for(lambda: issue_status(app, issue_id) == "sent", timeout=60)
    copies = _copies(smtp_server)
    with app.app_context():
        counts = delivery_counts(issue_id)
        unknown = {a for a, _ in service.deliveries(issue_id, state.UNKNOWN)}
    assert set(copies.values()) == {1}  # nobody got it twice
    # At most the group marked "sending" at the kill: one message on SQLite, a few on
    # PostgreSQL, whose commits are taken a group at a time (Journal).
    in_flight = GROUP_ON_POSTGRESQL if backend == "postgresql" else 1
    assert counts.get("unknown", 0) <= in_flight
    assert counts["sent"] + counts.get("unknown", 0) == 450
    everyone = {f"reader{n}@example.net" for n in range(450)}
    assert everyone - set(copies) <= unknown  # anyone missing is listed as unknown


@pytest.mark.parametrize("taken", ["fan-out", "batch"])
def test_job_taken_by_a_worker_that_dies_before_running_it_is_queued_again(
    make_app, redis_url, smtp_server, start_worker, monkeypatch, taken
):
    """The window before a job's first line: RQ has marked it started, our mark still says
    "queued for half an hour". The reaper asks RQ and queues that work again at once."""
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, BATCH_SIZE=50)
    issue_id = start_issue(app, 200)
    monkeypatch.setattr(reaper, "LOST_AFTER", 0.5)
    with app.app_context():
        rq_queues = queues.backend().queues()
        if taken == "batch":  # the fan-out runs properly and queues 4 batch jobs
            SimpleWorker(rq_queues[:2], connection=queues.redis()).work(burst=True)
        dying = SimpleWorker(rq_queues, connection=queues.redis())
        job, _ = dying.dequeue_job_and_maintain_ttl(timeout=1)
        dying.prepare_job_execution(job)  # taken, then the process is gone
        time.sleep(1.0)
        leases.drop(leases.scan_key())  # the reaper's next pass is a full scan
        reaper.reap()
        waiting = {q.name.rsplit("-", 1)[1]: q.count for q in queues.backend().queues()}
        # Only the lost job's work is queued again, not the batches still waiting in line.
        assert waiting[queues.DEFAULT if taken == "fan-out" else queues.BULK] == (
            1 if taken == "fan-out" else 4
        )
    start_worker(app)

    wait_for(lambda: issue_status(app, issue_id) == "sent", timeout=30)
    copies = _copies(smtp_server)
    assert len(copies) == 200 and set(copies.values()) == {1}


def test_pause_reaches_every_worker_within_a_second_and_resume_finishes(
    make_app, redis_url, smtp_server, start_worker
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, BATCH_SIZE=50, SEND_RATE=100)
    issue_id = start_issue(app, 500)
    start_worker(app)
    start_worker(app)
    smtp_server.wait_for(50, timeout=30)
    with app.app_context():
        service.pause(issue_id)
    time.sleep(1.0)
    after_pause = len(smtp_server.messages)
    time.sleep(1.5)
    assert len(smtp_server.messages) == after_pause < 500

    with app.app_context():
        service.resume(issue_id)
    wait_for(lambda: issue_status(app, issue_id) == "sent", timeout=60)
    copies = _copies(smtp_server)
    assert len(copies) == 500 and set(copies.values()) == {1}


def test_send_rate_is_shared_by_all_workers(make_app, redis_url, smtp_server, start_worker):
    rate = 40
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, BATCH_SIZE=40, SEND_RATE=rate)
    start_issue(app, 400)
    start_worker(app)
    start_worker(app)
    smtp_server.wait_for(20, timeout=30)  # both workers up and sending
    start, began = len(smtp_server.messages), time.monotonic()
    time.sleep(5)
    sent_in_window = len(smtp_server.messages) - start
    expected = rate * (time.monotonic() - began)
    # Two uncapped workers would send many times faster; the shared cap holds them to `rate`.
    assert 0.8 * expected <= sent_in_window <= 1.1 * expected + 2


def test_transactional_mail_goes_out_while_a_big_issue_is_sending(
    make_app, redis_url, smtp_server, start_worker, tmp_path
):
    # One batch holds the whole audience; only time slicing lets the worker serve the
    # transactional queue before the issue is done.
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, BATCH_SIZE=400, SEND_RATE=80)
    issue_id = start_issue(app, 400)
    start_worker(app)
    smtp_server.wait_for(20, timeout=30)
    marker = tmp_path / "confirmation-sent"
    with app.app_context():
        queues.enqueue(touch, str(marker), queue=queues.TRANSACTIONAL)
    wait_for(marker.exists, timeout=30)
    with app.app_context():
        progress = service.progress(issue_id)
    assert progress.status == "sending" and progress.sent < 400

"""Faults: the SMTP server vanishing or refusing mid-issue, Redis restarted mid-issue, the
PostgreSQL connection dropped, the outbox disk full. Each time the issue finishes and no
subscriber gets a copy twice; a copy caught in flight is shown as "unknown", never resent.

(A worker killed with SIGKILL mid-batch is proven by
test_delivery_workers.py::test_worker_killed_mid_batch_loses_nothing_and_doubles_nothing.)
"""

from __future__ import annotations

import collections
import subprocess
import time

import pytest
from helpers.fault import (
    PrivateRedis,
    assert_each_subscriber_once,
    heal_then_finish,
    leftovers,
    outbox_recipients,
    restart_smtp,
    resume,
    start_limited_worker,
    wait_status,
)
from helpers.outbox import wait_idle
from helpers.send import start_issue
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Quick retries, but enough of them that nobody is given up on while the fault lasts.
FAST_RETRY = {"RETRY_BASE_SECONDS": 0.3, "RETRY_MAX_ATTEMPTS": 30, "TICK_SECONDS": 0.5}


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own, on a free port: restarting it disturbs nobody."""
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _copies(smtp_server) -> collections.Counter:
    return collections.Counter(m.rcpt_tos[0] for m in smtp_server.messages)


def test_smtp_server_vanishing_mid_issue_then_returning_sends_each_copy_once(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url, BATCH_SIZE=50, SEND_RATE=150, **FAST_RETRY)
    issue_id = start_issue(app, 200)
    smtp_server.wait_for(40)

    smtp_server.stop()  # the relay goes away, connections and all
    heal_then_finish(app, issue_id, lambda: restart_smtp(smtp_server))

    wait_idle(app)
    assert_each_subscriber_once(app, issue_id, 200, _copies(smtp_server))


def test_smtp_server_refusing_everyone_mid_issue_then_recovering_sends_each_copy_once(
    make_app, smtp_server
):
    app = make_app(SMTP_URL=smtp_server.url, BATCH_SIZE=50, SEND_RATE=150, **FAST_RETRY)
    issue_id = start_issue(app, 200)
    smtp_server.wait_for(40)

    # "421 shutting down" for every recipient still to come: a relay in trouble.
    refused = {f"reader{n}@example.net": "421 4.3.2 Service shutting down" for n in range(200)}
    smtp_server.handler.replies.update(refused)
    heal_then_finish(app, issue_id, smtp_server.handler.replies.clear)

    wait_idle(app)
    assert_each_subscriber_once(app, issue_id, 200, _copies(smtp_server))
    with app.app_context():
        from newsletter.delivery import queries

        assert queries.counts(issue_id)["unknown"] == 0  # a refusal is never ambiguous


def test_redis_restarted_mid_issue_loses_no_copy_and_doubles_none(
    make_app, private_redis, smtp_server, start_worker
):
    app = make_app(
        REDIS_URL=private_redis.url, SMTP_URL=smtp_server.url, BATCH_SIZE=40, SEND_RATE=150
    )
    issue_id = start_issue(app, 300)
    workers = [start_worker(app, **FAST_RETRY) for _ in range(2)]
    smtp_server.wait_for(60, timeout=30)

    private_redis.crash()  # queued batch jobs, liveness keys and rate buckets: all gone
    time.sleep(1)
    private_redis.start()
    wait_status(app, issue_id, "sent", timeout=90)

    assert_each_subscriber_once(app, issue_id, 300, _copies(smtp_server))
    assert [w.poll() for w in workers] == [None, None]  # they waited for Redis, no restart


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_connections_dropped_mid_issue_lose_no_copy_and_double_none(
    make_app, redis_url, smtp_server, start_worker
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, BATCH_SIZE=40, SEND_RATE=150)
    issue_id = start_issue(app, 300)
    start_worker(app, **FAST_RETRY)
    start_worker(app, **FAST_RETRY)
    smtp_server.wait_for(60, timeout=30)

    url = make_url(app.config["DATABASE_URL"])
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for _ in range(3):  # the database restarts under the workers' feet, three times
            dropped = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": url.database},
            ).scalar()
            assert dropped >= 1
            time.sleep(0.7)
    admin.dispose()

    wait_status(app, issue_id, "sent", timeout=90)
    assert_each_subscriber_once(app, issue_id, 300, _copies(smtp_server))


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_outbox_disk_full_pauses_the_issue_and_leaves_no_half_written_mail(
    make_app, redis_url, start_worker
):
    app = make_app(REDIS_URL=redis_url, BATCH_SIZE=50)
    issue_id = start_issue(app, 120)
    full = start_limited_worker(app, max_file_bytes=2048, **FAST_RETRY)

    wait_status(app, issue_id, "paused")  # every write fails: the issue stops itself
    assert leftovers(app) == [] and outbox_recipients(app) == {}
    # Space freed: the operator restarts the worker. SIGTERM asks RQ for a warm shutdown,
    # which waits for the job in flight; like systemd's stop timeout, SIGKILL after 30 s
    # (once seen under a loaded full run; a kill at any moment loses nothing either).
    full.terminate()
    try:
        full.wait(timeout=30)
    except subprocess.TimeoutExpired:
        full.kill()
        full.wait(timeout=10)
    start_worker(app, **FAST_RETRY)
    resume(app, issue_id)
    wait_status(app, issue_id, "sent")

    copies = outbox_recipients(app)
    assert leftovers(app) == []
    assert_each_subscriber_once(app, issue_id, 120, copies)
    assert len(copies) == 120

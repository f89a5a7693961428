"""`newsletter send ID --wait` without Redis: it returns once nothing of the issue is queued or
sending, retries waiting out their backoff included; and the embedded queue it waits on counts
every job until it has run."""

from __future__ import annotations

import threading

from helpers.send import issue_for_subscribers

from newsletter.cli import main
from newsletter.jobs import queues

_gate = threading.Event()


def _wait_for_gate() -> None:
    _gate.wait(10)


def _queue_another() -> None:
    queues.enqueue(_wait_for_gate)


def test_send_wait_returns_only_when_the_retry_is_delivered(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url, RETRY_BASE_SECONDS=0.3)
    smtp_server.handler.replies["reader1@example.net"] = ["451 4.3.0 Try again later"]
    with app.app_context():
        issue_id = issue_for_subscribers(3)

    result = app.test_cli_runner().invoke(main, ["send", str(issue_id), "--wait"])

    assert result.exit_code == 0, result.output
    assert "sent: 3\n" in result.output and "queued: 0\n" in result.output
    assert len(smtp_server.to("reader1@example.net")) == 1  # the retry, before --wait returned


def test_send_wait_says_so_when_the_issue_stops_unsent(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url, PAUSE_FAILURE_SHARE=0.1)
    for n in range(4):
        smtp_server.handler.replies[f"reader{n}@example.net"] = "451 4.3.0 Try again later"
    with app.app_context():
        issue_id = issue_for_subscribers(4)

    result = app.test_cli_runner().invoke(main, ["send", str(issue_id), "--wait"])

    assert result.exit_code == 1
    assert f"Issue {issue_id} stopped before it was sent: paused." in result.output


def test_the_embedded_queue_is_idle_only_when_every_job_has_run(app):
    """A job that queues another: while the second runs the queue is empty, yet not idle."""
    _gate.clear()
    with app.app_context():
        queues.enqueue(_queue_another)
    embedded = app.extensions["newsletter.queue"]
    assert not embedded.wait_idle(timeout=0.5)  # the second job waits at the gate
    _gate.set()
    assert embedded.wait_idle(timeout=10)

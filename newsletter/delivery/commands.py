"""``newsletter send|status|pause|resume|cancel|retry-failed|resend-unknown ISSUE_ID``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..issues import service as issues
from ..jobs import queues
from ..models import IssueStatus
from . import jobs, queries, service

# ``newsletter status`` prints these, one ``label: N`` per line (the contract's order).
STATUS_LABELS = ("total", "queued", "sending", "sent", "failed", "unknown")
WAIT_POLL_SECONDS = 0.5  # how often `send --wait` looks at an issue still sending


def _run(action: Callable[[int], object], issue_id: int) -> object:
    issues.get(issue_id)  # no such issue: the command group says so and exits 2
    try:
        return action(issue_id)
    except service.SendingError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("send")
@click.argument("issue_id", type=int)
@click.option(
    "--wait/--no-wait",
    default=None,
    help="Wait until nothing is queued or sending, retries included (default: without Redis).",
)
@with_appcontext
def send_command(issue_id: int, wait: bool | None) -> None:
    """Start sending an issue (the same as the admin's Send button)."""
    total = _run(service.start_sending, issue_id)
    click.echo(f"Sending issue {issue_id} to {total} recipient{'' if total == 1 else 's'}.")
    embedded = queues.redis() is None
    if wait if wait is not None else embedded:
        status = _wait_until_done(issue_id, embedded)
        _print_counts(service.progress(issue_id).as_dict())
        if status != IssueStatus.SENT:
            raise click.ClickException(
                f"Issue {issue_id} stopped before it was sent: {status.value}."
            )


def _wait_until_done(issue_id: int, embedded: bool) -> IssueStatus:
    """Wait while the issue is sending, deliveries waiting out a retry backoff included;
    returns how it ended (sent, or paused or cancelled). Without Redis this process is the
    worker and runs no tick, so it also queues the retries that come due itself."""
    while True:
        if embedded:
            queues.backend().wait_idle(timeout=None)  # type: ignore[union-attr]
        db.session.remove()  # read what the workers committed
        status = queries.issue_status(issue_id)
        if status != IssueStatus.SENDING:
            return status
        if embedded:
            jobs.dispatch_issue(issue_id)
            db.session.commit()
        time.sleep(WAIT_POLL_SECONDS)


@click.command("status")
@click.argument("issue_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of lines.")
@with_appcontext
def status_command(issue_id: int, as_json: bool) -> None:
    """Print an issue's delivery counts, one per line: total, queued, sending, sent, failed,
    unknown (--json: also its status, cancelled, skipped, remaining, rate and ETA)."""
    progress = _run(service.progress, issue_id).as_dict()  # type: ignore[attr-defined]
    if as_json:
        click.echo(json.dumps(progress))
    else:
        _print_counts(progress)


def _print_counts(progress: dict) -> None:
    for label in STATUS_LABELS:
        click.echo(f"{label}: {progress[label]}")


def _simple(name: str, action: Callable[[int], object], done: str) -> click.Command:
    @click.command(name, help=action.__doc__)
    @click.argument("issue_id", type=int)
    @with_appcontext
    def command(issue_id: int) -> None:
        result = _run(action, issue_id)
        click.echo(done.format(issue=issue_id, n=result))

    return command


COMMANDS = [
    send_command,
    status_command,
    _simple("pause", service.pause, "Issue {issue} paused."),
    _simple("resume", service.resume, "Issue {issue} resumed."),
    _simple("cancel", service.cancel, "Issue {issue} cancelled."),
    _simple("retry-failed", service.retry_failed, "{n} failed deliveries queued again."),
    _simple("resend-unknown", service.resend_unknown, "{n} unknown deliveries queued again."),
]

"""``newsletter bounces process PATH``: read bounce reports from a Maildir or an mbox file."""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import db
from . import service

# Counted per message: messages, unsubscribed, unmatched; per failure: the rest. hard, soft
# and complaint count verified reports only; unverified ones acted on nobody.
_SUMMARY = (
    *("messages", "hard", "soft", "complaint", "suppressed", "unverified", "ignored"),
    *("unsubscribed", "unmatched"),
)


@click.group()
def bounces() -> None:
    """Bounce and complaint reports."""


@bounces.command("process")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@with_appcontext
def process_command(path: Path) -> None:
    """Record every report in PATH (a Maildir, or an mbox file), and unsubscribe the reader
    named by each mail sent to an unsubscribe address.

    Only reports tied to a mail by something we signed (the VERP return path, the tagged
    Message-ID) suppress; others are kept as unverified for the admin to see.

    Maildir messages are marked seen once recorded, so a later run skips them; running over
    an mbox twice records nothing twice for reports matched to a delivery.
    """
    counts: Counter[str] = Counter()
    for raw in _reports(path):
        outcome = service.process(raw, source="mailbox")
        db.session.commit()
        counts["messages"] += 1
        counts["ignored"] += outcome.ignored
        counts["unverified"] += outcome.unverified
        counts["unsubscribed"] += outcome.unsubscribed
        counts["unmatched"] += outcome.unmatched
        for kind, suppressed in outcome.recorded:
            counts[kind.value] += 1
            counts["suppressed"] += suppressed
    click.echo(", ".join(f"{label}: {counts[label]}" for label in _SUMMARY))


def _reports(path: Path) -> Iterator[bytes]:
    if path.is_dir():
        yield from _maildir(mailbox.Maildir(path, create=False))
    else:
        box = mailbox.mbox(path, create=False)
        for key in box.iterkeys():
            yield box.get_bytes(key)


def _maildir(box: mailbox.Maildir) -> Iterator[bytes]:
    for key in box.iterkeys():
        message = box.get_message(key)
        if "S" in message.get_flags():
            continue
        yield box.get_bytes(key)
        # Only after the report is recorded (the caller commits between items).
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message


@bounces.command("poll")
@with_appcontext
def poll_command() -> None:
    """Read NEWSLETTER_BOUNCE_MAILBOX (IMAP or POP3) once, as the tick does every
    NEWSLETTER_BOUNCE_MAILBOX_SECONDS: each report is recorded, committed, then deleted (or
    moved to NEWSLETTER_BOUNCE_MAILBOX_MOVE_TO); other messages are left unread."""
    from flask import current_app

    from . import mailbox

    if not current_app.config.get("BOUNCE_MAILBOX"):
        raise click.ClickException("NEWSLETTER_BOUNCE_MAILBOX is not set")
    result = mailbox.poll()
    labels = (*_SUMMARY, "removed", "left", "failed")
    click.echo(", ".join(f"{label}: {result.counts[label]}" for label in labels))
    if result.error:
        raise click.ClickException(f"the mailbox failed: {result.error}")

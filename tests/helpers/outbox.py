"""What the app did without Redis or an SMTP server: wait for the embedded queue to run every
job, and read the mails written to the outbox folder."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path


def wait_idle(app, timeout: float = 30) -> None:
    """Wait until the embedded queue has run every job."""
    assert app.extensions["newsletter.queue"].wait_idle(timeout), "embedded queue still busy"


def outbox_messages(app) -> list[email.message.EmailMessage]:
    """Messages written to the outbox folder, oldest first."""
    folder = Path(app.config["OUTBOX_DIR"])
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]

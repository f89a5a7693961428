"""Bounce reports fetched from a mailbox over IMAP or POP3 (``NEWSLETTER_BOUNCE_MAILBOX``).

Each message goes through :func:`.service.process`, the code ``newsletter bounces process``
uses, and its result is committed; only then is the message deleted (IMAP: or moved to
``NEWSLETTER_BOUNCE_MAILBOX_MOVE_TO``). A message that is not a report (no failure, complaint or
unsubscribe request found in it: an out-of-office reply, a human's mail) is left in place,
unchanged: IMAP reads it with ``BODY.PEEK`` and POP3 with ``TOP`` so it stays unread, and
neither deletes it.

A report is a report even when it acts on nobody (a forged one, kept unverified for the admin;
one about an address that is no subscriber's; one seen before), so it is removed too. If the
connection fails between the commit and the removal, the message is read again next time; the
duplicate check (per delivery and kind) records nothing twice for a report tied to a delivery.

The tick polls at most every ``NEWSLETTER_BOUNCE_MAILBOX_SECONDS`` and one process at a time
(:mod:`.mailbox_turn`); the URL is parsed by :mod:`.mailbox_url`.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import poplib
import ssl
from collections import Counter
from dataclasses import dataclass

from flask import current_app

from ..extensions import db
from . import mailbox_turn, service
from .mailbox_url import Mailbox, parse_url

log = logging.getLogger(__name__)

TIMEOUT = 30  # seconds for connecting and for each answer
LIMIT = 500  # messages read per poll; the rest wait for the next one


def is_report(outcome: service.BounceOutcome) -> bool:
    """The message is a report or an unsubscribe request, whatever it led to."""
    return bool(outcome.recorded or outcome.ignored or outcome.unverified or outcome.unsubscribed)


@dataclass
class Poll:
    """What one poll did: ``messages`` read, ``removed`` (deleted or moved), ``left`` in place,
    and the bounce counts as ``newsletter bounces process`` prints them."""

    counts: Counter[str]
    error: str = ""  # why the poll stopped early (the connection failed), or ""


def poll() -> Poll:
    """Read the configured mailbox once; every report's result is committed before it is
    removed. A failing connection stops the poll (logged, in :attr:`Poll.error`)."""
    config = current_app.config
    box = parse_url(config["BOUNCE_MAILBOX"])
    move_to = config.get("BOUNCE_MAILBOX_MOVE_TO") or None
    counts: Counter[str] = Counter()
    reader = _imap if box.protocol == "imap" else _pop3
    try:
        reader(box, move_to, counts)
    except (OSError, imaplib.IMAP4.error, poplib.error_proto) as exc:
        db.session.rollback()
        log.warning("bounce mailbox %s: %s", box, exc)
        return Poll(counts, f"{type(exc).__name__}: {exc}")
    return Poll(counts)


def _handle(raw: bytes, source: str, counts: Counter[str]) -> bool:
    """Process and commit one message; True when it is a report (and so is to be removed)."""
    try:
        outcome = service.process(raw, source=source)
        db.session.commit()
    except Exception:  # one message we cannot handle must not stop the others
        db.session.rollback()
        log.exception("bounce mailbox: a message could not be processed; left in place")
        counts["failed"] += 1
        return False
    counts["messages"] += 1
    counts["ignored"] += outcome.ignored
    counts["unverified"] += outcome.unverified
    counts["unsubscribed"] += outcome.unsubscribed
    counts["unmatched"] += outcome.unmatched
    for kind, suppressed in outcome.recorded:
        counts[kind.value] += 1
        counts["suppressed"] += suppressed
    report = is_report(outcome)
    counts["removed" if report else "left"] += 1
    return report


def _imap(box: Mailbox, move_to: str | None, counts: Counter[str]) -> None:
    if box.secure:
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            box.host, box.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT
        )
    else:
        conn = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT)
    try:
        conn.login(box.user, box.password)
        conn.capability()  # what the server offers once logged in (MOVE, UIDPLUS)
        able = set(conn.capabilities)
        _ok(conn.select(_quoted(box.folder)))
        _, data = _ok(conn.uid("SEARCH", None, "ALL"))
        for uid in (data[0] or b"").split()[:LIMIT]:
            _, parts = _ok(conn.uid("FETCH", uid, "(BODY.PEEK[])"))
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if raw is None:
                continue  # expunged meanwhile by another client
            if _handle(raw, "imap", counts):
                _imap_remove(conn, uid, move_to, able)
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            conn.logout()
    finally:
        with contextlib.suppress(OSError):
            conn.shutdown()


def _imap_remove(conn: imaplib.IMAP4, uid: bytes, move_to: str | None, able: set[str]) -> None:
    """Delete (or move) one message now, so a crash later loses nothing already committed."""
    if move_to and "MOVE" in able:
        _ok(conn.uid("MOVE", uid, _quoted(move_to)))
        return
    if move_to:
        _ok(conn.uid("COPY", uid, _quoted(move_to)))
    _ok(conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"))
    # UID EXPUNGE removes only this one; plain EXPUNGE also any other message marked deleted.
    _ok(conn.uid("EXPUNGE", uid) if "UIDPLUS" in able else conn.expunge())


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(answer: tuple[str, list]) -> tuple[str, list]:
    if answer[0] != "OK":
        raise imaplib.IMAP4.error(f"server said {answer[0]}: {answer[1]!r}"[:300])
    return answer


def _pop3(box: Mailbox, move_to: str | None, counts: Counter[str]) -> None:
    if box.secure:
        conn: poplib.POP3 = poplib.POP3_SSL(
            box.host, box.port, context=ssl.create_default_context(), timeout=TIMEOUT
        )
    else:
        conn = poplib.POP3(box.host, box.port, timeout=TIMEOUT)
    try:
        conn.user(box.user)
        conn.pass_(box.password)
        total, _ = conn.stat()
        for number in range(1, min(total, LIMIT) + 1):
            _, lines, _ = _whole(conn, number)
            if _handle(b"\r\n".join(lines) + b"\r\n", "pop3", counts):
                conn.dele(number)
        # POP3 deletes only at QUIT: a connection lost before it deletes nothing, and those
        # reports are read again next time (harmlessly, see the module's docstring).
        conn.quit()
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def _whole(conn: poplib.POP3, number: int) -> tuple[bytes, list[bytes], int]:
    """The whole message, by TOP with every line where the server has TOP: RETR would mark it
    seen (Dovecot does), and a message that is not a report is to stay as it was."""
    try:
        return conn.top(number, 2**31 - 1)
    except poplib.error_proto:
        return conn.retr(number)


# -- the tick's chore: at most every BOUNCE_MAILBOX_SECONDS, one process at a time ----------


def poll_due() -> None:
    """Poll the mailbox when one is configured and its interval has passed (the tick's chore)."""
    config = current_app.config
    if not config.get("BOUNCE_MAILBOX"):
        return
    interval = float(config["BOUNCE_MAILBOX_SECONDS"])
    with mailbox_turn.turn(interval, TIMEOUT * 20) as mine:
        if mine:
            result = poll()
            if result.counts["messages"]:
                log.info("bounce mailbox: %s", dict(result.counts))

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

The tick polls at most every ``NEWSLETTER_BOUNCE_MAILBOX_SECONDS`` and one process at a time:
with Redis, a key set for the interval and a lock held while polling; without, a lock file
beside the SQLite database (its modification time is the last poll), or a PostgreSQL advisory
lock with the interval kept per process.
"""

from __future__ import annotations

import contextlib
import fcntl
import imaplib
import ipaddress
import logging
import os
import poplib
import secrets
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ..extensions import db
from ..jobs import queues
from . import service

log = logging.getLogger(__name__)

TIMEOUT = 30  # seconds for connecting and for each answer
LIMIT = 500  # messages read per poll; the rest wait for the next one


@dataclass(frozen=True)
class Mailbox:
    """Where the reports are: parsed from the URL (its password is never logged)."""

    scheme: str  # imap, imaps, pop3, pop3s
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"

    @property
    def protocol(self) -> str:
        """What :attr:`Bounce.source` says: "imap" or "pop3"."""
        return self.scheme.rstrip("s")

    @property
    def secure(self) -> bool:
        return self.scheme.endswith("s")

    def __str__(self) -> str:  # for logs: no password
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_url(value: str) -> Mailbox:
    """The mailbox a URL names; ValueError (never quoting it: it holds a password) otherwise."""
    try:
        parts = urlsplit(str(value))
        port = parts.port
    except ValueError:
        raise ValueError("a URL like imaps://user:pass@host/INBOX") from None
    scheme = parts.scheme
    if scheme not in ("imap", "imaps", "pop3", "pop3s"):
        raise ValueError("a URL starting imaps://, pop3s://, or imap:// or pop3:// on this host")
    if not parts.hostname or not parts.username or parts.password is None:
        raise ValueError(f"a URL with a user, a password and a host: {scheme}://user:pass@host")
    if not scheme.endswith("s") and not is_local(parts.hostname):
        raise ValueError(
            f"imaps:// or pop3s:// for a server on another host ({scheme}:// would send the "
            "password in the clear; it is allowed only for localhost)"
        )
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    defaults = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}
    return Mailbox(
        scheme,
        parts.hostname,
        port or defaults[scheme],
        unquote(parts.username),
        unquote(parts.password),
        folder,
    )


def is_local(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1); never a name like 127.x.example."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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

_LAST_POLL: dict[str, float] = {}  # per process and database, for PostgreSQL without Redis
ADVISORY_KEY = int.from_bytes(b"bncmbox!", "big") >> 1  # any fixed 63-bit number of ours
_THREADS = threading.Lock()


def poll_due() -> None:
    """Poll the mailbox when one is configured and its interval has passed (the tick's chore)."""
    config = current_app.config
    if not config.get("BOUNCE_MAILBOX"):
        return
    with _turn(float(config["BOUNCE_MAILBOX_SECONDS"])) as mine:
        if mine:
            result = poll()
            if result.counts["messages"]:
                log.info("bounce mailbox: %s", dict(result.counts))


@contextlib.contextmanager
def _turn(interval: float) -> Iterator[bool]:
    """True when this process is to poll now; nobody else polls until it is done."""
    conn = queues.redis()
    if conn is not None:
        yield from _redis_turn(conn, interval)
        return
    url = make_url(db.engine.url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        yield from _file_turn(Path(f"{url.database}.bounce-mailbox"), interval)
    elif url.get_backend_name() == "postgresql":
        yield from _advisory_turn(interval)
    else:
        yield from _process_turn(interval)


def _redis_turn(conn, interval: float) -> Iterator[bool]:  # type: ignore[no-untyped-def]
    running, token = queues.key("bounce-mailbox", "polling"), secrets.token_hex(8)
    if not conn.set(running, token, nx=True, ex=max(int(TIMEOUT * 20), int(interval))):
        yield False
        return
    try:
        due = conn.set(
            queues.key("bounce-mailbox", "polled"), b"1", nx=True, px=int(interval * 1000)
        )
        yield bool(due)
    finally:
        if conn.get(running) == token.encode():
            conn.delete(running)


def _file_turn(path: Path, interval: float) -> Iterator[bool]:
    if not _THREADS.acquire(blocking=False):  # flock belongs to an open file, not a thread
        yield False
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        if os.fstat(fd).st_size and time.time() - os.fstat(fd).st_mtime < interval:
            yield False
            return
        os.pwrite(fd, b"1", 0)
        os.utime(path)  # the last poll's time, for every process
        yield True
    finally:
        os.close(fd)  # releases the flock
        _THREADS.release()


def _advisory_turn(interval: float) -> Iterator[bool]:
    with db.engine.connect() as connection:
        key = ADVISORY_KEY
        if not connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
            yield False
            return
        try:
            yield from _process_turn(interval)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.commit()


def _process_turn(interval: float) -> Iterator[bool]:
    if not _THREADS.acquire(blocking=False):
        yield False
        return
    try:
        now, where = time.monotonic(), str(db.engine.url)
        due = where not in _LAST_POLL or now - _LAST_POLL[where] >= interval
        if due:
            _LAST_POLL[where] = now
        yield due
    finally:
        _THREADS.release()

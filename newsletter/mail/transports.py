"""The only code that moves mail bytes: SMTP (plain, STARTTLS, SMTPS, auth) or an outbox folder.

Failures are reported as :class:`TemporaryFailure` (retry later: 4xx, connection trouble,
disk full) or :class:`PermanentFailure` (5xx: do not retry), so callers never need to know
smtplib's exception zoo.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import tempfile
import time
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app


class DeliveryError(Exception):
    """A message was not accepted."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryFailure(DeliveryError):
    """Worth retrying later."""


class PermanentFailure(DeliveryError):
    """The server refused this recipient or message for good."""


class Transport(Protocol):
    def send(self, sender: str, recipient: str, data: bytes) -> None: ...

    def close(self) -> None: ...


class OutboxTransport:
    """Writes each message as one ``.eml`` file; written to a temp name, then renamed, so a
    process reading the folder never sees half a message."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns()}-{uuid.uuid4().hex[:12]}.eml"
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, self.folder / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # disk full, permissions: the message must be retried
            raise TemporaryFailure(f"outbox: {exc.strerror or exc}") from None

    def close(self) -> None:
        pass


class SMTPTransport:
    """One reused SMTP connection; reconnects once when the server dropped it."""

    def __init__(self, url: str, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"}:
            raise ValueError("NEWSLETTER_SMTP_URL must start with smtp:// or smtps://")
        query = parse_qs(parts.query)
        self.host = parts.hostname or "localhost"
        self.ssl = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.ssl else 25)
        self.starttls = query.get("starttls", ["0"])[0] in {"1", "true", "yes"}
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        # Built only when TLS is asked for: loading the CA store costs tens of milliseconds.
        context = ssl.create_default_context() if self.ssl or self.starttls else None
        try:
            if self.ssl:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if self.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentFailure(f"SMTP login refused: {exc.smtp_code}", exc.smtp_code) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"SMTP connect to {self.host}:{self.port}: {exc}") from None
        return conn

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.sendmail(sender, [recipient], data)
                return
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = exc.recipients[recipient]
                raise failure_for_reply(code, reply) from None
            except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                raise failure_for_reply(exc.smtp_code, exc.smtp_error) from None
            except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError) as exc:
                self._drop()
                if attempt == 2:
                    raise TemporaryFailure(f"SMTP connection lost: {exc}") from None
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise TemporaryFailure(f"SMTP error: {exc}") from None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._conn.quit()
        self._drop()


def failure_for_reply(code: int, reply: bytes | str) -> DeliveryError:
    """The failure an SMTP reply means: 5xx permanent, anything else worth a retry."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{code} {text}".strip()
    if 500 <= code < 600:
        return PermanentFailure(message, code)
    return TemporaryFailure(message, code)


def open_transport() -> Transport:
    """A transport for the current app's configuration; the caller closes it."""
    url = current_app.config["SMTP_URL"]
    if url:
        return SMTPTransport(url)
    return OutboxTransport(current_app.config["OUTBOX_DIR"])

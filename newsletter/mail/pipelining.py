"""The bulk sender's SMTP transport: the same connection (TLS, login, reconnect) as
:class:`~newsletter.mail.transports.SMTPTransport`, with a leaner ``send``.

``smtplib.sendmail`` costs four round trips and two regex passes over every message. Here
MAIL, RCPT and DATA go out together when the server offers PIPELINING (RFC 2920), so a
message takes two round trips; the bytes are already CRLF-terminated (``mail.bulk`` builds
them so), leaving only dot-stuffing, a single ``bytes.replace``, skipped for a bulk
:class:`~newsletter.mail.bulk.Copy` without a line starting with a dot. Still one
transaction at a time: a worker killed mid-send leaves at most one message whose fate is
unknown.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable

from .transports import (
    DeliveryError,
    PermanentFailure,
    SMTPTransport,
    TemporaryFailure,
    failure_for_reply,
)


class OutcomeUnknown(TemporaryFailure):
    """The connection broke after the message was handed over but before the server said
    whether it took it: it may have arrived. Never retried automatically."""


_LOST = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError)


class BulkSMTPTransport(SMTPTransport):
    """One reused, pipelined SMTP connection for a batch job."""

    # The next message's envelope, already sent with the previous message's content:
    # (sender, recipient, the refusal its replies carried or None once DATA got 354).
    _ahead: tuple[str, str, DeliveryError | None] | None = None

    def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        then: tuple[str, str] | None = None,
        meanwhile: Callable[[], None] | None = None,
        dot_lines: bool = True,
    ) -> None:
        """Hand one message to the server; raise Temporary/PermanentFailure if refused, or
        OutcomeUnknown if the connection broke while the server held the message.

        ``then`` (sender, recipient) is the next message's envelope: when the server
        pipelines, it goes out with this message's content, so the next message costs one
        round trip instead of two. That is safe because nothing is delivered before the
        content's final dot, which the next ``send`` writes only after its caller has
        committed the next delivery's "sending" mark. ``meanwhile`` (which must not raise)
        runs while the server reads the content, e.g. to make the next copy. ``dot_lines=False``
        promises that no line of ``data`` starts with a dot (see :class:`~.bulk.Copy`).
        """
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[:2] != (sender, recipient):
            self._drop()  # that transaction waits for its content: closing abandons it
            ahead = None
        if ahead is None:
            self._open_transaction(sender, recipient)
        elif ahead[2] is not None:
            raise ahead[2]
        conn = self._conn
        assert conn is not None
        more = b""
        if then is not None and conn.has_extn("pipelining"):
            more = _envelope_bytes(*then) + b"DATA\r\n"
        try:
            self._payload(conn, data, more, meanwhile, dot_lines)
        except (*_LOST, OSError) as exc:
            self._drop()
            raise OutcomeUnknown(f"SMTP connection lost during DATA: {exc}") from None
        except DeliveryError:
            if more:
                self._drop()  # the next envelope's replies are not worth untangling
            raise
        if more and then is not None:
            self._read_ahead(conn, then)

    def abandon(self) -> None:
        """Give up a next message announced with ``then`` that will not be sent now."""
        if self._ahead is not None:
            self._ahead = None
            self._drop()

    def close(self) -> None:
        self.abandon()  # a QUIT now would be read as message content
        super().close()

    def _open_transaction(self, sender: str, recipient: str) -> None:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._envelope(self._conn, sender, recipient)
            except _LOST as exc:
                # Nothing of the message was sent yet: a fresh connection may safely retry.
                self._drop()
                if attempt == 2:
                    raise TemporaryFailure(f"SMTP connection lost: {exc}") from None
                continue
            except OSError as exc:
                self._drop()
                raise TemporaryFailure(f"SMTP error: {exc}") from None
            return

    def _read_ahead(self, conn: smtplib.SMTP, then: tuple[str, str]) -> None:
        try:
            self._envelope_replies(conn, [conn.getreply() for _ in range(3)])
        except DeliveryError as exc:  # raised when the caller sends that message
            self._ahead = (*then, exc)
        except (*_LOST, OSError):
            self._drop()  # the next message starts over on a fresh connection
        else:
            self._ahead = (*then, None)

    @classmethod
    def _envelope(cls, conn: smtplib.SMTP, sender: str, recipient: str) -> None:
        envelope = _envelope_bytes(sender, recipient)
        if conn.has_extn("pipelining"):
            conn.send(envelope + b"DATA\r\n")
            replies = [conn.getreply() for _ in range(3)]
        else:
            replies = []
            for command in [*envelope.splitlines(keepends=True), b"DATA\r\n"]:
                conn.send(command)
                replies.append(conn.getreply())
                if replies[-1][0] >= 400:
                    break
        cls._envelope_replies(conn, replies)

    @staticmethod
    def _envelope_replies(conn: smtplib.SMTP, replies: list[tuple[int, bytes]]) -> None:
        for code, text in replies:
            if code >= 400:
                if replies[-1][0] == 354:  # DATA went ahead regardless: end it empty
                    conn.send(b".\r\n")
                    conn.getreply()
                _reset(conn)
                raise failure_for_reply(code, text)
        if replies[-1][0] != 354:
            _reset(conn)
            raise TemporaryFailure(f"unexpected reply to DATA: {replies[-1][0]}", replies[-1][0])

    @staticmethod
    def _payload(
        conn: smtplib.SMTP,
        data: bytes,
        more: bytes = b"",
        meanwhile: Callable[[], None] | None = None,
        dot_lines: bool = True,
    ) -> None:
        stuffed = data
        if dot_lines:
            stuffed = data.replace(b"\r\n.", b"\r\n..")
            if stuffed.startswith(b"."):
                stuffed = b"." + stuffed
        if not stuffed.endswith(b"\r\n"):
            stuffed += b"\r\n"
        conn.send(stuffed + b".\r\n" + more)
        if meanwhile is not None:
            meanwhile()
        code, text = conn.getreply()
        if code != 250:
            raise failure_for_reply(code, text)


def _envelope_bytes(sender: str, recipient: str) -> bytes:
    return f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\n".encode()


def _reset(conn: smtplib.SMTP) -> None:
    """Abandon a refused transaction so the connection can carry the next one."""
    try:
        conn.rset()
    except smtplib.SMTPException as exc:
        raise TemporaryFailure(f"SMTP RSET failed: {exc}") from None


__all__ = ["BulkSMTPTransport", "OutcomeUnknown", "PermanentFailure", "TemporaryFailure"]

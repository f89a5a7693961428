"""The bulk sender's SMTP transport: the same connection (TLS, login, reconnect) as
:class:`~newsletter.mail.transports.SMTPTransport`, with a leaner ``send``.

``smtplib.sendmail`` costs four round trips and two regex passes over every message. Here
MAIL, RCPT and DATA go out together when the server offers PIPELINING (RFC 2920), so a
message takes two round trips; the bytes are already CRLF-terminated (``mail.bulk`` builds
them so), leaving only dot-stuffing, a single ``bytes.replace``. Still one transaction at a
time: a worker killed mid-send leaves at most one message whose fate is unknown.
"""

from __future__ import annotations

import smtplib

from .transports import PermanentFailure, SMTPTransport, TemporaryFailure, failure_for_reply


class OutcomeUnknown(TemporaryFailure):
    """The connection broke after the message was handed over but before the server said
    whether it took it: it may have arrived. Never retried automatically."""


_LOST = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError)


class BulkSMTPTransport(SMTPTransport):
    """One reused, pipelined SMTP connection for a batch job."""

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Hand one message to the server; raise Temporary/PermanentFailure if refused, or
        OutcomeUnknown if the connection broke while the server held the message."""
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
            try:
                self._payload(self._conn, data)
            except (*_LOST, OSError) as exc:
                self._drop()
                raise OutcomeUnknown(f"SMTP connection lost during DATA: {exc}") from None
            return

    @staticmethod
    def _envelope(conn: smtplib.SMTP, sender: str, recipient: str) -> None:
        envelope = [f"MAIL FROM:<{sender}>\r\n".encode(), f"RCPT TO:<{recipient}>\r\n".encode()]
        if conn.has_extn("pipelining"):
            conn.send(b"".join([*envelope, b"DATA\r\n"]))
            replies = [conn.getreply() for _ in range(3)]
        else:
            replies = []
            for command in [*envelope, b"DATA\r\n"]:
                conn.send(command)
                replies.append(conn.getreply())
                if replies[-1][0] >= 400:
                    break
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
    def _payload(conn: smtplib.SMTP, data: bytes) -> None:
        stuffed = data.replace(b"\r\n.", b"\r\n..")
        if stuffed.startswith(b"."):
            stuffed = b"." + stuffed
        if not stuffed.endswith(b"\r\n"):
            stuffed += b"\r\n"
        conn.send(stuffed + b".\r\n")
        code, text = conn.getreply()
        if code != 250:
            raise failure_for_reply(code, text)


def _reset(conn: smtplib.SMTP) -> None:
    """Abandon a refused transaction so the connection can carry the next one."""
    try:
        conn.rset()
    except smtplib.SMTPException as exc:
        raise TemporaryFailure(f"SMTP RSET failed: {exc}") from None


__all__ = ["BulkSMTPTransport", "OutcomeUnknown", "PermanentFailure", "TemporaryFailure"]

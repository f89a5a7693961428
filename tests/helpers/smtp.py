"""A real aiosmtpd server on 127.0.0.1 that records every message it accepts (the
``smtp_server`` fixture), and the messages as it received them."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from helpers.env import free_port


@dataclass
class Received:
    """One message as the SMTP server received it on the wire."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    def part(self, subtype: str) -> str:
        """The decoded text/<subtype> body."""
        for p in self.message.walk():
            if p.get_content_type() == f"text/{subtype}":
                return p.get_content()
        raise AssertionError(f"no text/{subtype} part")


@dataclass
class SMTPHandler:
    """Collects messages; ``replies`` maps a recipient to an SMTP reply to force, or to a list
    of replies used one per attempt (then the recipient is accepted)."""

    messages: list[Received] = field(default_factory=list)
    replies: dict[str, str | list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        forced = self.replies.get(address)
        if isinstance(forced, list):
            forced = forced.pop(0) if forced else None
        if forced:
            return forced
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 Message accepted"


class SMTPServer:
    """A real aiosmtpd server on 127.0.0.1 with helpers to wait for mail."""

    def __init__(self) -> None:
        self.handler = SMTPHandler()
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=free_port(),
            data_size_limit=0,
            ready_timeout=30,  # a busy machine can take seconds to start the loop
        )

    def start(self) -> None:
        # aiosmtpd's start-up self-check connects to the configured port, so port 0 fails.
        self.controller.start()
        self.port = self.controller.port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def wait_for(self, count: int = 1, timeout: float = 15) -> list[Received]:
        """Wait until at least ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def stop(self) -> None:
        self.controller.stop()

"""The bounce mailbox's URL (``NEWSLETTER_BOUNCE_MAILBOX``): parsed, checked, never logged whole.

``imaps://`` or ``pop3s://``; ``imap://`` and ``pop3://`` only for a server on this host, since
they would send the password in the clear.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit


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

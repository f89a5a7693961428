"""What every mail we build shares: the email policy (CRLF, lines of at most 78) and the
sender's domain, for Message-IDs."""

from __future__ import annotations

import email.policy
import email.utils

POLICY = email.policy.SMTP.clone(max_line_length=78)


def domain_of(address: str) -> str:
    """The domain part of an address (for Message-ID)."""
    return email.utils.parseaddr(address)[1].rpartition("@")[2] or "localhost"

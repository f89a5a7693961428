"""What every mail we build shares: the email policy (CRLF, lines of at most 78), the
sender's domain, for Message-IDs, and the Date header's value."""

from __future__ import annotations

import email.policy
import email.utils
from datetime import UTC, datetime
from functools import lru_cache

POLICY = email.policy.SMTP.clone(max_line_length=78)


def domain_of(address: str) -> str:
    """The domain part of an address (for Message-ID)."""
    return email.utils.parseaddr(address)[1].rpartition("@")[2] or "localhost"


@lru_cache(maxsize=2)
def date_value(now: int) -> str:
    """The Date header's value for the Unix time ``now``, in UTC as ``+0000``: RFC 5322 forbids
    generating the obsolete zone name ``GMT`` (HTTP's form). Formatted once a second, not per
    copy."""
    return email.utils.format_datetime(datetime.fromtimestamp(now, UTC))

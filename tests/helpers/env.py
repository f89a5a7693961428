"""The test run's surroundings: the source tree, and the PostgreSQL and Redis servers from
the environment (``NEWSLETTER_TEST_DATABASE_URL``, ``NEWSLETTER_TEST_REDIS_URL``), and a free
local port for the servers a test starts."""

from __future__ import annotations

import os
import socket
from pathlib import Path

PG_URL = os.environ.get(
    "NEWSLETTER_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NEWSLETTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

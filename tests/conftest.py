"""Fixtures: real servers only. SQLite per test, PostgreSQL and Redis from the environment
(``NEWSLETTER_TEST_DATABASE_URL``, ``NEWSLETTER_TEST_REDIS_URL``), a real aiosmtpd server.

Every test gets its own SQLite file or its own PostgreSQL database and its own Redis DB
number, dropped afterwards, so runs never see each other's data.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pg_helpers import create_database, drop_database

from newsletter import create_app
from newsletter.extensions import db

PG_URL = os.environ.get(
    "NEWSLETTER_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NEWSLETTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


# ---------------------------------------------------------------- SMTP


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


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPServer:
    """A real aiosmtpd server on 127.0.0.1 with helpers to wait for mail."""

    def __init__(self) -> None:
        self.handler = SMTPHandler()
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=_free_port(),
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


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real SMTP server on 127.0.0.1 that records every message it accepts."""
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


# ---------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL server URL; skips nothing: CI must have it running."""
    return PG_URL


@pytest.fixture
def postgres_url(pg_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    url = create_database(pg_server)
    yield url
    drop_database(pg_server, url)


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database a test runs on; parametrize with ``indirect=True`` for PostgreSQL."""
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'newsletter.db'}"


# ---------------------------------------------------------------- Redis


@pytest.fixture
def redis_prefix() -> str:
    """This test's own Redis key prefix (queue names, rate buckets, limiter keys)."""
    return f"nltest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis_url(redis_prefix: str) -> Iterator[str]:
    """The test Redis server; every key under this test's prefix is deleted afterwards."""
    from redis import Redis

    conn = Redis.from_url(REDIS_URL)
    yield REDIS_URL
    for pattern in (f"{redis_prefix}*", f"rq:queue:{redis_prefix}*", f"rq:*:{redis_prefix}*"):
        for k in conn.scan_iter(match=pattern, count=1000):
            conn.delete(k)
    conn.close()


# ---------------------------------------------------------------- app


@pytest.fixture
def make_app(tmp_path: Path, database_url: str, redis_prefix: str) -> Callable[..., Any]:
    """Build an app on this test's database, schema made by the migrations."""
    made = []

    def factory(**overrides: Any):
        config = {
            "TESTING": True,
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "BASE_URL": "http://localhost",
            "FROM": "Test Letter <news@example.org>",
            "POSTAL_ADDRESS": "1 Test Street, Testville",
            "TICK_SECONDS": 3600,
            "REDIS_PREFIX": redis_prefix,
        }
        config.update(overrides)
        app = create_app(config)
        with app.app_context():
            from newsletter.database import upgrade

            upgrade()
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Any]):
    """The app on SQLite with the embedded queue and mail to the outbox folder."""
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def wait_idle(app, timeout: float = 30) -> None:
    """Wait until the embedded queue has run every job."""
    assert app.extensions["newsletter.queue"].wait_idle(timeout), "embedded queue still busy"


def outbox_messages(app) -> list[email.message.EmailMessage]:
    """Messages written to the outbox folder, oldest first."""
    folder = Path(app.config["OUTBOX_DIR"])
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser tests save screenshots (kept after the run; git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_sessionfinish(session, exitstatus) -> None:  # pragma: no cover - cleanup only
    shutil.rmtree(Path(__file__).parent / "__pycache__", ignore_errors=True)


# ---------------------------------------------------------------- worker processes

# App settings a worker process must share with the test's app, as environment variables.
_SHARED_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_PREFIX",
    "SMTP_URL",
    "SECRET_KEY",
    "BASE_URL",
    "FROM",
    "POSTAL_ADDRESS",
    "INSTANCE_DIR",
    "OUTBOX_DIR",
    "SEND_RATE",
    "TICK_SECONDS",
    "BATCH_SIZE",
    "DKIM_KEY_FILE",
    "DKIM_SELECTOR",
)


def worker_env(app, **extra: Any) -> dict[str, str]:
    """The environment a ``python worker.py`` process needs to act for ``app``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    for key in _SHARED_SETTINGS:
        value = app.config.get(key)
        if value not in (None, ""):
            env[f"NEWSLETTER_{key}"] = str(value)
    env.update({f"NEWSLETTER_{k}": str(v) for k, v in extra.items()})
    env["PYTHONUNBUFFERED"] = "1"
    # Lets a worker import small job functions defined in test modules.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start real ``python worker.py`` processes for an app; all are killed afterwards.

    Usage: ``proc = start_worker(app)``; the process log is at ``proc.log_path``.
    """
    procs: list[subprocess.Popen] = []

    def start(app, cwd: Path = ROOT, **extra: Any) -> subprocess.Popen:
        log_path = tmp_path / f"worker-{len(procs)}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - closed when the process is reaped
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env=worker_env(app, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
        proc.log_path = log_path  # type: ignore[attr-defined]
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


# The admin's login fixture (tests/admin_helpers.py), one Chromium per module
# (tests/browser_helpers.py), a site with something on every page (tests/site_helpers.py) and
# a DKIM key with its DNS record (tests/dkim_helpers.py), available to every test module.
from admin_helpers import admin_client  # noqa: E402, F401
from browser_helpers import browser, served  # noqa: E402, F401
from dkim_helpers import dkim_key  # noqa: E402, F401
from site_helpers import site  # noqa: E402, F401

"""Fixtures, and real servers only: SQLite per test, PostgreSQL and Redis from the environment
(``NEWSLETTER_TEST_DATABASE_URL``, ``NEWSLETTER_TEST_REDIS_URL``), a real aiosmtpd server.
What tests share besides fixtures is in tests/helpers/; no test imports this module.

Every test gets its own SQLite file or its own PostgreSQL database and its own Redis key
prefix, dropped afterwards, so runs never see each other's data. The migrations run once per
session, into a template; each test's database starts as a copy of it (a file copy, or
``CREATE DATABASE … TEMPLATE``), which takes milliseconds where the migrations take a second.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from helpers.env import PG_URL, REDIS_URL, ROOT
from helpers.pg import create_database, drop_database
from helpers.smtp import SMTPServer
from helpers.worker import worker_env
from sqlalchemy.engine import make_url

from newsletter import create_app
from newsletter.accounts import service as accounts_service
from newsletter.extensions import db

ARTIFACTS = ROOT / "test-artifacts"

# Fixtures defined beside their helpers: the admin's login (``admin_client``), one Chromium
# per module (``browser``, ``served``), a DKIM key with its DNS record (``dkim_key``) and a
# site with something on every page (``site``), available to every test by name.
pytest_plugins = [
    "helpers.admin",
    "helpers.api",
    "helpers.browser",
    "helpers.dkim",
    "helpers.segments",
    "helpers.site",
]


# ---------------------------------------------------------------- passwords

# argon2 at the production cost (64 MiB, 3 passes, 4 lanes) takes 0.1 s a hash on a quiet
# machine and most of a second on a loaded 2-core one, and most tests log an admin in: they
# hash at the lowest cost argon2 allows. A test marked ``production_hashing`` keeps the real
# hasher (tests/accounts/test_password_hashing.py checks its parameters).
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def quick_password_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    if request.node.get_closest_marker("production_hashing") is None:
        monkeypatch.setattr(accounts_service, "_hasher", QUICK_HASHER)


# ---------------------------------------------------------------- SMTP


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


@pytest.fixture(scope="session")
def migrated_postgres(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The name of a PostgreSQL database the migrations brought to head, made once a session
    as the template of every test's own."""
    url = create_database(pg_server, prefix="newsletter_template")
    _migrate(url, tmp_path_factory.mktemp("migrated-postgres"))
    yield make_url(url).database
    drop_database(pg_server, url)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the migrations brought to head, made once a session: every test's
    database is a copy of it."""
    folder = tmp_path_factory.mktemp("migrated-sqlite")
    path = folder / "newsletter.db"
    _migrate(f"sqlite:///{path}", folder)
    return path


def _migrate(database_url: str, folder: Path) -> None:
    app = create_app({**_settings(folder), "DATABASE_URL": database_url})
    with app.app_context():
        from newsletter.database import upgrade

        upgrade()
        db.session.remove()
        # Closing the last connection checkpoints SQLite's WAL into the file, and leaves no
        # session on a PostgreSQL template (CREATE DATABASE refuses a template in use).
        db.engine.dispose()


@pytest.fixture
def postgres_url(pg_server: str, migrated_postgres: str) -> Iterator[str]:
    """A PostgreSQL database of this test's own, at the migrations' head; dropped afterwards."""
    url = create_database(pg_server, template=migrated_postgres)
    yield url
    drop_database(pg_server, url)


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database a test runs on; parametrize with ``indirect=True`` for PostgreSQL."""
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """This test's own database, its schema already at the migrations' head."""
    if backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    path = tmp_path / "newsletter.db"
    # With the template's mode (600, as the app makes a database), so no app warns of it.
    shutil.copy(request.getfixturevalue("migrated_sqlite"), path)
    return f"sqlite:///{path}"


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


def _settings(folder: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "INSTANCE_DIR": str(folder / "instance"),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "BASE_URL": "http://localhost",
        "FROM": "Test Letter <news@example.org>",
        "POSTAL_ADDRESS": "1 Test Street, Testville",
        "TICK_SECONDS": 3600,
    }


@pytest.fixture
def make_app(tmp_path: Path, database_url: str, redis_prefix: str) -> Callable[..., Any]:
    """Build an app on this test's database (or on the one ``DATABASE_URL`` names, brought to
    head by the migrations)."""
    made = []

    def factory(**overrides: Any):
        config = {**_settings(tmp_path), "DATABASE_URL": database_url, "REDIS_PREFIX": redis_prefix}
        config.update(overrides)
        app = create_app(config)
        if config["DATABASE_URL"] != database_url:
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


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser tests save screenshots (kept after the run; git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_sessionfinish(session, exitstatus) -> None:  # pragma: no cover - cleanup only
    for cache in Path(__file__).parent.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


# ---------------------------------------------------------------- worker processes


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

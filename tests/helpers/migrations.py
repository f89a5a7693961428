"""For migration tests: an app whose database stands at an older release's revision, so a
test can write rows as that release had them and then run the upgrade under test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from newsletter import create_app
from newsletter.extensions import db


@contextmanager
def app_at(revision: str, tmp_path: Path, database_url: str, redis_prefix: str) -> Iterator[Flask]:
    """The app on this test's database upgraded only to ``revision``, inside its app context;
    its connections are closed afterwards."""
    _empty(database_url)
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "REDIS_PREFIX": redis_prefix,
        }
    )
    with app.app_context():
        upgrade(revision=revision)
        yield app
        db.session.remove()
        db.engine.dispose()


def _empty(database_url: str) -> None:
    # A test's database starts as a copy of one already at head (tests/conftest.py); an
    # older revision has to be reached from nothing.
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.database}{suffix}").unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()

"""For migration tests: an app whose database stands at an older release's revision, so a
test can write rows as that release had them and then run the upgrade under test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade

from newsletter import create_app
from newsletter.extensions import db


@contextmanager
def app_at(revision: str, tmp_path: Path, database_url: str, redis_prefix: str) -> Iterator[Flask]:
    """The app on this test's database upgraded only to ``revision``, inside its app context;
    its connections are closed afterwards."""
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

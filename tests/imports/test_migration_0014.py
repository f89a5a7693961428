"""Upgrade 0014 on a database with imports under way: an import begun before the upgrade and
resumed after it starts the list's sequence for the readers it confirms, as it would have."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import downgrade, upgrade
from helpers.migrations import app_at
from sqlalchemy import inspect, text

from newsletter.extensions import db
from newsletter.models import ImportJob


@pytest.fixture
def old_app(tmp_path, database_url, redis_prefix):
    """An app whose database stands at 0013, the release before this one."""
    with app_at("0013", tmp_path, database_url, redis_prefix) as app:
        yield app


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_an_import_under_way_keeps_starting_the_sequence(backend, old_app):
    now = datetime.now(UTC)
    db.session.execute(
        text(
            "INSERT INTO mailing_list (slug, name, description, is_public, created_at)"
            " VALUES ('news', 'News', '', true, :now)"
        ),
        {"now": now},
    )
    db.session.execute(
        text(
            "INSERT INTO import_job (list_id, filename, confirmed, note, status, total_bytes,"
            " done_bytes, accepted, updated, rejected, report, created_at, resumes)"
            " SELECT id, 'old.csv', true, 'moved from the old tool', 'running', 100, 40,"
            " 2, 0, 0, '[]', :now, 0 FROM mailing_list"
        ),
        {"now": now},
    )
    db.session.commit()

    upgrade(revision="0014")

    job = db.session.scalars(db.select(ImportJob)).one()
    assert (job.filename, job.done_bytes, job.start_sequence) == ("old.csv", 40, True)

    db.session.remove()
    downgrade(revision="0013")
    columns = {c["name"] for c in inspect(db.engine).get_columns("import_job")}
    assert "start_sequence" not in columns and "confirmed" in columns

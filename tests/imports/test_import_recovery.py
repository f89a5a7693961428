"""An import whose worker dies does not stay "running" for ever: the tick resumes it after
the last committed chunk (every row imported once, the report whole), queues again one whose
job was lost, and fails one that keeps dying, with a reason the admin can act on."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from helpers.outbox import wait_idle
from helpers.send import wait_for
from sqlalchemy import func, select, update

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.imports import importer
from newsletter.imports import jobs as import_jobs
from newsletter.imports import uploads as import_uploads
from newsletter.lists import service as list_service
from newsletter.models import (
    ConsentEvent,
    ImportJob,
    ImportUploadPart,
    Subscriber,
    Subscription,
    utcnow,
)

ROWS = 120_000  # long enough (several seconds) for a worker to be killed in the middle


def _big_csv(path, rows: int = ROWS):
    """``rows`` distinct subscribers, then a repeat of the first and a bad address."""
    with open(path, "w", encoding="utf-8") as out:
        out.write("email,name\n")
        out.writelines(f"reader{n}@example.net,Reader {n}\n" for n in range(rows))
        out.write("reader0@example.net,Reader 0 again\nnot an address,Nobody\n")
    return path


def _start(app, tmp_path, rows: int = ROWS) -> int:
    """Upload as the admin page does: the file stored in the database, a job queued."""
    path = _big_csv(tmp_path / "upload.csv", rows)
    with app.app_context(), open(path, "rb") as upload:
        list_id = list_service.create("news", "News").id
        return import_jobs.start(upload, "readers.csv", list_id, confirmed=True, note="fair").id


def _job(app, job_id: int) -> ImportJob:
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        return job


def _silent_for(app, job_id: int, minutes: float) -> None:
    """As if the job's last sign of life was ``minutes`` ago (instead of waiting that long)."""
    with app.app_context():
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(heartbeat_at=utcnow() - timedelta(minutes=minutes))
        )
        db.session.commit()


def _stored_parts(app, job_id: int) -> int:
    """How many pieces of the job's uploaded file the database still holds."""
    with app.app_context():
        return db.session.scalar(select(func.count()).where(ImportUploadPart.job_id == job_id))


def _tick(app) -> None:
    assert app.test_cli_runner().invoke(main, ["tick"]).exit_code == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_import_whose_worker_is_killed_mid_file_is_resumed_and_imports_each_row_once(
    make_app, redis_url, start_worker, tmp_path, admin_client
):
    app = make_app(REDIS_URL=redis_url)
    job_id = _start(app, tmp_path)
    victim = start_worker(app)
    wait_for(lambda: _job(app, job_id).accepted >= 2 * importer.CHUNK, timeout=60, interval=0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    killed = _job(app, job_id)
    assert killed.status == "running" and killed.accepted < ROWS  # cut off mid-file

    _tick(app)  # its last chunk was moments ago: it may just be slow, so left alone
    assert _job(app, job_id).status == "running"
    _silent_for(app, job_id, 3)
    _tick(app)
    assert (_job(app, job_id).status, _job(app, job_id).resumes) == ("queued", 1)
    start_worker(app)
    wait_for(lambda: _job(app, job_id).status == "done", timeout=120, interval=0.1)

    done = _job(app, job_id)
    assert (done.accepted, done.updated, done.rejected) == (ROWS, 0, 2)
    assert sorted((r["row"], r["reason"]) for r in done.report) == [
        (ROWS + 2, "duplicate"),  # recognised as a repeat across the resume
        (ROWS + 3, "bad address"),
    ]
    with app.app_context():
        count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert count(Subscriber) == count(Subscription) == count(ConsentEvent) == ROWS
        subscriber0 = db.session.scalar(
            select(Subscriber).where(Subscriber.email == "reader0@example.net")
        )
        assert subscriber0.name == "Reader 0"
    page = admin_client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert "Finished." in page and "resumed 1 time from the last rows it had saved" in page
    assert _stored_parts(app, job_id) == 0  # the upload is removed once done


def _recorded(app, tmp_path, **values) -> int:
    """An import job row for a 10-row upload, as a process that went away left it (not queued)."""
    path = _big_csv(tmp_path / "upload.csv", rows=10)
    with app.app_context(), open(path, "rb") as upload:
        list_id = list_service.create("news", "News").id
        job = ImportJob(
            list_id=list_id,
            filename="readers.csv",
            confirmed=True,
            note="fair",
            created_at=utcnow() - timedelta(minutes=10),
            **values,
        )
        db.session.add(job)
        db.session.flush()
        job.total_bytes = import_uploads.store(job.id, upload)
        db.session.commit()
        return job.id


def test_import_job_lost_from_the_queue_is_queued_again_and_runs(app, tmp_path):
    # The embedded queue forgets its jobs when the process restarts: the job is recorded as
    # queued, but nothing will ever run it.
    job_id = _recorded(app, tmp_path, status="queued")

    _tick(app)
    wait_idle(app)

    done = _job(app, job_id)
    assert (done.status, done.accepted, done.rejected) == ("done", 10, 2)
    assert _stored_parts(app, job_id) == 0


def test_import_that_keeps_killing_its_worker_fails_with_a_reason_and_keeps_its_rows(
    app, tmp_path, admin_client
):
    # As a worker dying for the fourth time leaves it: running, 4,000 rows in, silent.
    job_id = _recorded(
        app,
        tmp_path,
        status="running",
        resumes=import_jobs.MAX_RESUMES,
        accepted=4000,
        heartbeat_at=utcnow() - timedelta(minutes=3),
    )
    assert _stored_parts(app, job_id) == 1

    _tick(app)

    failed = _job(app, job_id)
    assert failed.status == "failed" and failed.finished_at is not None
    assert _stored_parts(app, job_id) == 0  # given up: the stored file is deleted
    page = admin_client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert "The import failed." in page
    assert "its worker went away 4 times" in page
    assert "The first 4000 rows were imported and are kept" in page

"""An uploaded CSV reaches the worker through the database: a worker on another host (its own
instance folder and working directory, sharing only the database and Redis) imports it, and
the stored file is deleted once the import has ended."""

from __future__ import annotations

import io

import pytest
from helpers.admin import login, make_admin, post
from helpers.send import wait_for
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.imports import jobs as import_jobs
from newsletter.imports import uploads as import_uploads
from newsletter.lists import service as list_service
from newsletter.models import ImportJob, ImportUploadPart, Subscriber

ROWS = 30_000  # about 1 MB: the file is stored in several pieces


def _csv(rows: int = ROWS) -> bytes:
    lines = ["email,name,city"] + [f"reader{n}@example.net,Reader {n},Oslo" for n in range(rows)]
    return ("\n".join([*lines, "not an address,Nobody,Nowhere"]) + "\n").encode()


def _stored_parts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ImportUploadPart))


def _job(app) -> ImportJob:
    with app.app_context():
        job = db.session.scalars(select(ImportJob)).one()
        db.session.expunge(job)
        return job


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_worker_on_another_host_imports_the_upload_and_the_stored_file_is_deleted(
    make_app, redis_url, start_worker, tmp_path
):
    web = make_app(REDIS_URL=redis_url)
    make_admin(web)
    client = web.test_client()
    login(client)
    with web.app_context():
        list_id = list_service.create("news", "News").id
    upload = _csv()
    pieces = -(-len(upload) // import_uploads.PART_BYTES)
    assert pieces > 1

    response = post(
        client,
        "/admin/import",
        {
            "file": (io.BytesIO(upload), "readers.csv"),
            "list_id": list_id,
            "mode": "confirmed",
            "note": "signed up at the fair",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    # Nothing was left on the web host's disk for a worker to find there.
    assert [p for p in (tmp_path / "instance").rglob("*") if p.is_file()] == []
    assert _stored_parts(web) == pieces
    assert _job(web).total_bytes == len(upload)

    elsewhere = tmp_path / "other-host"
    elsewhere.mkdir()
    start_worker(web, INSTANCE_DIR=elsewhere / "instance", cwd=elsewhere)
    wait_for(lambda: _job(web).status in ("done", "failed"), timeout=90, interval=0.1)

    done = _job(web)
    assert (done.status, done.accepted, done.rejected) == ("done", ROWS, 1), done.report
    assert done.done_bytes == done.total_bytes == len(upload)
    assert _stored_parts(web) == 0
    with web.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscriber)) == ROWS
    page = client.get(f"/admin/import/{done.id}").get_data(as_text=True)
    assert "Finished." in page and "not an address" in page


def test_import_whose_stored_file_is_gone_fails_saying_to_upload_it_again(make_app, tmp_path):
    # An import queued across the upgrade to stored files (or whose pieces were deleted by
    # hand) has nothing to read: it fails with a reason, instead of importing half a file.
    app = make_app()
    make_admin(app)
    client = app.test_client()
    login(client)
    with app.app_context():
        list_id = list_service.create("news", "News").id
        job = ImportJob(list_id=list_id, filename="readers.csv", total_bytes=1234)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        import_jobs.run(job_id)
    failed = _job(app)
    assert failed.status == "failed" and failed.accepted == 0
    page = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert "The import failed." in page
    assert "no longer stored in full; upload it again" in page

"""A job queued before an upgrade names its function's old module path, and still runs after
the module moved: ``newsletter.import_jobs.run`` is now ``newsletter.imports.jobs.run``."""

from __future__ import annotations

import importlib
import io

import pytest
from helpers.send import wait_for
from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.imports import jobs as import_jobs
from newsletter.imports import uploads
from newsletter.jobs.aliases import MOVED
from newsletter.models import ImportJob, MailingList, Subscriber

ROWS = 500


def _stored_import(app) -> int:
    """An import job with its file stored, as the upload form leaves it, but not queued."""
    lines = ["email,name"] + [f"reader{n}@example.net,Reader {n}" for n in range(ROWS)]
    with app.app_context():
        news = MailingList(slug="news", name="News")
        db.session.add(news)
        db.session.flush()
        job = ImportJob(list_id=news.id, filename="readers.csv", confirmed=True, note="fair")
        db.session.add(job)
        db.session.flush()
        job.total_bytes = uploads.store(job.id, io.BytesIO("\n".join(lines).encode()))
        db.session.commit()
        return job.id


def _job(app, job_id: int) -> ImportJob:
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        return job


def test_an_import_queued_under_the_old_path_runs_on_a_worker(make_app, redis_url, start_worker):
    app = make_app(REDIS_URL=redis_url)
    job_id = _stored_import(app)
    # Queued as the previous release queued it: RQ names the function by its dotted path.
    connection = Redis.from_url(redis_url)
    rq_job = Queue(f"{app.config['REDIS_PREFIX']}-default", connection=connection).enqueue(
        "newsletter.import_jobs.run", job_id, job_timeout=600, result_ttl=0, failure_ttl=86400
    )
    assert Job.fetch(rq_job.id, connection=connection).func_name == "newsletter.import_jobs.run"

    worker = start_worker(app)
    wait_for(lambda: _job(app, job_id).status in ("done", "failed"), timeout=60, interval=0.1)

    done = _job(app, job_id)
    assert (done.status, done.accepted, done.rejected) == ("done", ROWS, 0), (
        done.report,
        worker.log_path.read_text(),
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscriber)) == ROWS
    connection.close()


def test_the_old_name_is_the_moved_module_itself():
    old = importlib.import_module("newsletter.import_jobs")

    assert old is import_jobs
    assert (old.__name__, old.__spec__.name) == ("newsletter.imports.jobs",) * 2


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_every_old_path_leads_to_a_module_that_exists(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)

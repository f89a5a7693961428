"""CSV imports in the background: the uploaded file becomes an ImportJob row, a queued job
imports it, and the admin's progress bar reads that row. The periodic tick resumes an
import whose worker died, after the last chunk it committed."""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select, update

from . import audit, browse, queue
from .extensions import db
from .importer import ImportProblem, Report, Resume, import_csv
from .models import ImportJob, utcnow


def start(path: str, filename: str, list_id: int, *, confirmed: bool, note: str) -> ImportJob:
    """Record an uploaded file as an import job and queue it."""
    job = ImportJob(
        list_id=list_id,
        path=path,
        filename=filename[:300],
        confirmed=confirmed,
        note=note.strip(),
        total_bytes=os.path.getsize(path),
    )
    db.session.add(job)
    audit.record("import.start", f"{filename} into list {list_id}")
    db.session.commit()
    queue.enqueue(run, job.id)
    return job


def run(job_id: int) -> None:
    """Job: import the uploaded file, updating the row the progress bar reads."""
    job = _claim(job_id)
    if job is None:
        return  # already ran, or another worker has it (jobs may be delivered twice)
    resumes = job.resumes
    try:
        with open(job.path, "rb") as raw:
            counted = _Counting(raw)
            listed = len(job.report)

            def progress(report: Report) -> None:
                # Written with the chunk (the importer commits both): the counts always say
                # how many rows are done, which is where a resumed run carries on.
                nonlocal listed
                values: dict[str, Any] = {
                    "done_bytes": counted.position,
                    "accepted": report.accepted,
                    "updated": report.updated,
                    "rejected": report.rejected,
                    "heartbeat_at": utcnow(),
                }
                if len(report.rejections) != listed:
                    values["report"], listed = report.rejections, len(report.rejections)
                if not _still_ours(job_id, resumes, values):
                    raise _TakenOver

            report = import_csv(
                counted,
                job.list_id,
                confirmed=job.confirmed,
                note=job.note,
                progress=progress,
                resume=_resume_point(job),
            )
        values = {
            "status": "done",
            "accepted": report.accepted,
            "updated": report.updated,
            "rejected": report.rejected,
            "report": report.rejections,
            "done_bytes": job.total_bytes,
        }
    except _TakenOver:
        db.session.rollback()  # the tick gave the job to another worker: leave it to them
        return
    except (ImportProblem, UnicodeError, csv.Error, OSError) as exc:
        # OSError: the upload lives in the web host's instance folder, which a worker on
        # another host must share (see the README).
        db.session.rollback()
        values = {"status": "failed", "report": [{"row": 0, "email": "", "reason": str(exc)}]}
    _finish(job_id, job.path, values)
    browse.index_new_subscribers()  # searchable by index now, not only by the slower tail scan


class _TakenOver(Exception):
    """This run stalled so long that the tick handed its job to another run."""


def _claim(job_id: int) -> ImportJob | None:
    """Queued -> running, atomically: of two deliveries of the job, one runs it. A first run
    fixes the run's identity, which a resumed run reuses."""
    fresh = Resume.fresh()
    claimed = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == "queued")
        .values(
            status="running",
            heartbeat_at=utcnow(),
            started_at=func.coalesce(ImportJob.started_at, fresh.now),
            first_new_id=func.coalesce(ImportJob.first_new_id, fresh.first_new_id),
        )
    ).rowcount
    db.session.commit()
    return db.session.get(ImportJob, job_id) if claimed else None


def _resume_point(job: ImportJob) -> Resume:
    """The run's identity and the report of every chunk committed so far (none at first)."""
    assert job.started_at is not None and job.first_new_id is not None
    done = Report(job.accepted, job.updated, job.rejected, list(job.report or []))
    return Resume(job.started_at, job.first_new_id, done)


def _still_ours(job_id: int, resumes: int, values: dict[str, Any]) -> bool:
    """Write this run's progress, unless the job has meanwhile been handed to another run."""
    return bool(
        db.session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == job_id,
                ImportJob.status == "running",
                ImportJob.resumes == resumes,
            )
            .values(**values)
        ).rowcount
    )


def _finish(job_id: int, path: str, values: dict[str, Any]) -> None:
    Path(path).unlink(missing_ok=True)
    db.session.execute(
        update(ImportJob).where(ImportJob.id == job_id).values(finished_at=utcnow(), **values)
    )
    db.session.commit()


# A running import writes its progress every chunk (a second or so); this long without any
# means its worker died. A queued one this old was lost (the embedded queue forgets on restart).
STALLED_AFTER = timedelta(minutes=2)
MAX_RESUMES = 3  # then the file itself is suspect (say, it kills the worker every time)


def recover_stalled() -> int:
    """Tick chore: resume imports whose worker died (after the last committed chunk), queue
    again imports whose job was lost, and fail those resumed too often; returns how many."""
    cutoff = utcnow() - STALLED_AFTER
    stalled = (
        ImportJob.status.in_(("queued", "running")),
        func.coalesce(ImportJob.heartbeat_at, ImportJob.created_at) < cutoff,
    )
    recovered = 0
    for job in db.session.scalars(select(ImportJob).where(*stalled)).all():
        job_id, path, values = job.id, job.path, _recovery(job)
        # Only if nothing moved since it was read (the run finished, or another tick acted).
        changed = db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.resumes == job.resumes, *stalled)
            .values(**values)
        ).rowcount
        db.session.commit()
        if not changed:
            continue
        recovered += 1
        if values["status"] == "failed":
            Path(path).unlink(missing_ok=True)
        else:
            queue.enqueue(run, job_id)
    return recovered


def _recovery(job: ImportJob) -> dict[str, Any]:
    """What becomes of a stalled job: queued again (resumed, if it had started) or failed."""
    now = utcnow()
    if job.status == "queued":
        return {"status": "queued", "heartbeat_at": now}  # queued again once per STALLED_AFTER
    if job.resumes < MAX_RESUMES:
        return {"status": "queued", "resumes": job.resumes + 1, "heartbeat_at": now}
    reason = (
        f"The import stopped: its worker went away {job.resumes + 1} times (no progress for "
        f"{int(STALLED_AFTER.total_seconds() // 60)} minutes each time). The first "
        f"{job.accepted + job.updated + job.rejected} rows were imported and are kept; import "
        "the file again to finish it (rows already in are then counted as updated)."
    )
    report = [*(job.report or []), {"row": 0, "email": "", "reason": reason}]
    return {"status": "failed", "finished_at": now, "report": report}


class _Counting(io.RawIOBase):
    """A read-only stream that remembers how far it has been read (for progress)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        self.position += n or 0
        return n

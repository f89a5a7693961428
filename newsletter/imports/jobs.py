"""CSV imports in the background: the uploaded file becomes an ImportJob row with the file
stored in the database (so a worker on any host reads it), a queued job imports it, and the
admin's progress bar reads that row. The periodic tick resumes an import whose worker died,
after the last chunk it committed."""

from __future__ import annotations

from datetime import timedelta
from typing import IO, Any

from sqlalchemy import func, select, update

from ..accounts import audit
from ..extensions import db
from ..jobs import queues
from ..models import ImportJob, utcnow
from ..subscribers import browse
from . import uploads
from .importer import ImportProblem, ImportReport, Resume, import_csv


def start(
    upload: IO[bytes],
    filename: str,
    list_id: int,
    *,
    confirmed: bool,
    note: str,
    start_sequence: bool = True,
) -> ImportJob:
    """Store an uploaded file as an import job and queue it."""
    job = ImportJob(
        list_id=list_id,
        filename=filename[:300],
        confirmed=confirmed,
        note=note.strip(),
        start_sequence=start_sequence,
    )
    db.session.add(job)
    db.session.flush()
    # One transaction with the job row: no worker or tick ever sees a job whose file is half in.
    job.total_bytes = uploads.store(job.id, upload)
    audit.record("import.start", f"{filename} into list {list_id}")
    db.session.commit()
    queues.enqueue(run, job.id)
    return job


def run(job_id: int) -> None:
    """Job: import the uploaded file, updating the row the progress bar reads."""
    job = _claim(job_id)
    if job is None:
        return  # already ran, or another worker has it (jobs may be delivered twice)
    resumes = job.resumes
    upload = uploads.Upload(job_id, job.total_bytes)
    listed = len(job.report)

    def progress(report: ImportReport) -> None:
        # Written with the chunk (the importer commits both): the counts always say how many
        # rows are done, which is where a resumed run carries on.
        nonlocal listed
        values: dict[str, Any] = {
            "done_bytes": upload.position,
            "accepted": report.accepted,
            "updated": report.updated,
            "rejected": report.rejected,
            "heartbeat_at": utcnow(),
        }
        if len(report.rejections) != listed:
            values["report"], listed = report.rejections, len(report.rejections)
        if not _still_ours(job_id, resumes, values):
            raise _TakenOver

    try:
        report = import_csv(
            upload,
            job.list_id,
            confirmed=job.confirmed,
            note=job.note,
            start_sequence=job.start_sequence,
            progress=progress,
            resume=_resume_point(job),
        )
        values = {
            "status": "done",
            "accepted": report.accepted,
            "updated": report.updated,
            "rejected": report.rejected,
            "report": report.rejections,
            "done_bytes": upload.size,
        }
    except _TakenOver:
        db.session.rollback()  # the tick gave the job to another worker: leave it to them
        return
    except ImportProblem as exc:
        db.session.rollback()
        values = {"status": "failed", "report": [{"row": 0, "email": "", "reason": str(exc)}]}
    _finish(job_id, resumes, values)
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
    done = ImportReport(job.accepted, job.updated, job.rejected, list(job.report or []))
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


def _finish(job_id: int, resumes: int, values: dict[str, Any]) -> None:
    """Record the outcome and drop the stored file, together (unless the tick has meanwhile
    handed the job to another run, which then finishes it)."""
    if _still_ours(job_id, resumes, {"finished_at": utcnow(), **values}):
        uploads.discard(job_id)
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
        job_id, values = job.id, _recovery(job)
        # Only if nothing moved since it was read (the run finished, or another tick acted).
        changed = db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.resumes == job.resumes, *stalled)
            .values(**values)
        ).rowcount
        if changed and values["status"] == "failed":
            uploads.discard(job_id)  # given up: the file goes with the verdict
        db.session.commit()
        if not changed:
            continue
        recovered += 1
        if values["status"] == "queued":
            queues.enqueue(run, job_id)
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

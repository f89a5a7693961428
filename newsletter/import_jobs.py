"""CSV imports in the background: the uploaded file becomes an ImportJob row, a queued job
imports it, and the admin's progress bar reads that row."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import update

from . import audit, browse, queue
from .extensions import db
from .importer import ImportProblem, Report, import_csv
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
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != "queued":
        return  # already ran (jobs may be delivered twice)
    job.status = "running"
    db.session.commit()
    try:
        with open(job.path, "rb") as raw:
            counted = _Counting(raw)

            def progress(report: Report) -> None:
                db.session.execute(
                    update(ImportJob)
                    .where(ImportJob.id == job_id)
                    .values(
                        done_bytes=counted.position,
                        accepted=report.accepted,
                        updated=report.updated,
                        rejected=report.rejected,
                    )
                )
                db.session.commit()

            report = import_csv(
                counted, job.list_id, confirmed=job.confirmed, note=job.note, progress=progress
            )
        values = {
            "status": "done",
            "accepted": report.accepted,
            "updated": report.updated,
            "rejected": report.rejected,
            "report": report.rejections,
            "done_bytes": job.total_bytes,
        }
    except (ImportProblem, UnicodeError, csv.Error, OSError) as exc:
        # OSError: the upload lives in the web host's instance folder, which a worker on
        # another host must share (see the README).
        db.session.rollback()
        values = {"status": "failed", "report": [{"row": 0, "email": "", "reason": str(exc)}]}
    finally:
        Path(job.path).unlink(missing_ok=True)
    db.session.execute(
        update(ImportJob).where(ImportJob.id == job_id).values(finished_at=utcnow(), **values)
    )
    db.session.commit()
    browse.index_new_subscribers()  # searchable by index now, not only by the slower tail scan


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

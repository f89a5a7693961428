"""An import's uploaded CSV, kept in the database in pieces so that a worker on any host can
read it (workers share only the database and Redis, not the web host's disk).

The file goes in and comes back one piece at a time, so neither the web app nor the worker
ever holds more than one piece of it in memory, whatever the file's size.
"""

from __future__ import annotations

import io
from typing import IO, Any

from sqlalchemy import delete, insert, select

from ..extensions import db
from ..models import ImportUploadPart
from .rows import ImportProblem

# 256 KiB: big enough that a 64 MB upload is a few hundred rows, small enough that copying a
# piece in or out leaves no mark on the memory of the web app or the worker (1 MiB cost ~4 MB).
PART_BYTES = 1 << 18


def store(job_id: int, stream: IO[bytes]) -> int:
    """Copy the file into the job's pieces (in the caller's transaction); returns its size."""
    size = seq = 0
    while data := stream.read(PART_BYTES):
        db.session.execute(insert(ImportUploadPart).values(job_id=job_id, seq=seq, data=data))
        size += len(data)
        seq += 1
    return size


def discard(job_id: int) -> None:
    """Delete the job's stored file (in the caller's transaction): the import has ended."""
    db.session.execute(delete(ImportUploadPart).where(ImportUploadPart.job_id == job_id))


class MissingUpload(ImportProblem):
    """The stored file is gone or cut short (say, it was deleted while the job waited)."""


class Upload(io.RawIOBase):
    """The stored file as a read-only stream, fetched a piece at a time; remembers how far it
    has been read (for the progress bar)."""

    def __init__(self, job_id: int, size: int) -> None:
        self.job_id = job_id
        self.size = size
        self.position = 0
        self._next_seq = 0
        self._piece = memoryview(b"")
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._offset == len(self._piece) and not self._fetch():
            return 0
        n = min(len(buffer), len(self._piece) - self._offset)
        buffer[:n] = self._piece[self._offset : self._offset + n]
        self._offset += n
        self.position += n
        return n

    def _fetch(self) -> bool:
        """Load the next piece; False at the end of the file."""
        data = db.session.scalar(
            select(ImportUploadPart.data).where(
                ImportUploadPart.job_id == self.job_id, ImportUploadPart.seq == self._next_seq
            )
        )
        if data is None:
            if self.position < self.size:
                raise MissingUpload(
                    "The uploaded file is no longer stored in full; upload it again."
                )
            return False
        self._piece, self._offset = memoryview(data), 0
        self._next_seq += 1
        return True

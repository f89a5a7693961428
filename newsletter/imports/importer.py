"""CSV import: stream a file of subscribers into a list in chunks, with a report.

The file is read row by row (never whole, ``imports.rows``), and each chunk of rows costs a
handful of set-based queries: look up existing subscribers, check suppressions, insert the new
ones, in one short write transaction that takes its turn with a running server's writers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import IO, Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ..extensions import db
from ..jobs import queues, writer
from ..models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    Suppression,
    utcnow,
)
from ..subscribers import confirmations
from ..subscribers.addresses import InvalidAddress
from ..subscribers.suppression import email_hash
from . import staging
from .rows import ImportProblem, Row, normalise, rows

CHUNK = 2000
CHUNK_ATTEMPTS = 8  # a chunk refused this many times running ends the import: no passing clash
# Why an imported reader's copies of the sequence's steps were skipped (the delivery's error).
SKIP_REASON = "imported without the sequence"
REPORT_LIMIT = 1000  # rejected rows listed one by one; the counts cover all of them

REASONS = {
    "bad address": "not a valid email address",
    "not utf-8": "not UTF-8 text: save the file as “CSV UTF-8” and import it again",
    "duplicate": "appears earlier in the file",
    "suppressed": "on the do-not-mail list (bounced, complained, erased or blocked)",
    "unsubscribed": "unsubscribed earlier; only they can subscribe again",
}


@dataclass
class ImportReport:
    """What happened to each row: counts, plus the first rejected rows with reasons."""

    accepted: int = 0
    updated: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: int, email: str, reason: str) -> None:
        """Count a rejected row, and list it while the list is short enough."""
        self.rejected += 1
        if len(self.rejections) < REPORT_LIMIT:
            self.rejections.append({"row": row, "email": email[:320], "reason": reason})

    @property
    def rows(self) -> int:
        """Rows dealt with so far: each one was accepted, updated or rejected."""
        return self.accepted + self.updated + self.rejected


@dataclass(frozen=True)
class Resume:
    """Where an import carries on after its worker died: the run's identity (so rows it
    wrote before are still known as its own) and the report of the chunks it committed."""

    now: datetime
    first_new_id: int
    report: ImportReport

    @classmethod
    def fresh(cls) -> Resume:
        """A new run starting at the first row."""
        first_new_id = (db.session.scalar(select(func.max(Subscriber.id))) or 0) + 1
        return cls(utcnow(), first_new_id, ImportReport())


def _chunks(items: Iterable[Row], size: int = CHUNK) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class _Run:
    """One import: where to, how, and what marks the rows it has already touched."""

    mailing_list: MailingList
    confirmed: bool
    start_sequence: bool  # False: confirmed readers are treated as past every step
    source: str
    now: datetime  # every row this import writes carries this exact updated_at
    first_new_id: int  # rows with a higher id were created by this import
    check_suppression: bool
    report: ImportReport = field(default_factory=ImportReport)


def import_csv(
    stream: IO[bytes],
    list_id: int,
    *,
    confirmed: bool,
    note: str,
    start_sequence: bool = True,
    progress: Callable[[ImportReport], None] | None = None,
    resume: Resume | None = None,
) -> ImportReport:
    """Import every row into the list; each chunk commits, so a crash keeps what was done.

    Readers confirmed on the list by a confirmed import start its sequence, as a confirmation
    does; with ``start_sequence`` False they are treated as past every step it has now.

    ``progress`` is called inside each chunk's transaction, so what it writes lands with the
    chunk; ``resume`` carries on after the rows a dead run had committed.
    Memory stays flat whatever the file's size: a repeated address is recognised from the
    database (created or touched by this run), not from a set of every address seen.
    """
    mailing_list = db.session.get(MailingList, list_id)
    if mailing_list is None:
        raise ImportProblem("That list does not exist.")
    if confirmed and not note.strip():
        raise ImportProblem("An import of confirmed readers needs a note on where they consented.")
    start = resume or Resume.fresh()
    run = _Run(
        mailing_list=mailing_list,
        confirmed=confirmed,
        start_sequence=start_sequence,
        source=note.strip()[:500] or "admin import (confirmation requested)",
        now=start.now,
        first_new_id=start.first_new_id,
        check_suppression=db.session.scalar(select(Suppression.id).limit(1)) is not None,
        report=start.report,
    )
    for chunk in _chunks(islice(rows(stream), start.report.rows, None)):
        to_confirm = _commit_chunk(chunk, run, progress)
        for subscriber_id in to_confirm:  # owed since the chunk's commit: none is lost
            queues.enqueue(confirmations.deliver, subscriber_id, queue=queues.BULK)
    return run.report


def _commit_chunk(
    chunk: list[Row], run: _Run, progress: Callable[[ImportReport], None] | None
) -> list[int]:
    """Import one chunk in one short write transaction, taking its turn with the server's
    writers; a chunk that meets a locked database, or a signup that took one of its addresses
    meanwhile, is rolled back whole and done again (so no row is lost or counted twice)."""
    attempt = 1
    while True:
        before = replace(run.report, rejections=list(run.report.rejections))
        try:
            with writer.turn():
                to_confirm = _import_chunk(chunk, run)
                if progress:
                    progress(run.report)
                db.session.commit()
            return to_confirm
        except (OperationalError, IntegrityError) as exc:
            db.session.rollback()
            run.report = before
            if attempt == CHUNK_ATTEMPTS:
                raise ImportProblem(
                    f"The database refused rows {chunk[0].number}–{chunk[-1].number} "
                    f"{CHUNK_ATTEMPTS} times ({type(exc.orig).__name__}). The rows before "
                    "them were imported and are kept; import the file again to finish it "
                    "(rows already in are then counted as updated)."
                ) from None
            time.sleep(min(0.1 * 2**attempt, 5))
            attempt += 1


def _import_chunk(chunk: list[Row], run: _Run) -> list[int]:
    """Import one chunk with set-based queries; returns the ids that need a confirmation."""
    valid = _valid_rows(chunk, run.report)
    if run.check_suppression:
        _drop_suppressed(valid, run.report)
    existing = _update_existing(valid, run)
    staging.stage([(a, r.name, r.attributes, a not in existing) for a, r in valid.items()])
    params = {
        "now": run.now,
        "confirmed_at": run.now if run.confirmed else None,
        "status": (SubscriberStatus.CONFIRMED if run.confirmed else SubscriberStatus.PENDING).value,
        "list_id": run.mailing_list.id,
        "lists": [run.mailing_list.slug],
        "action": "import-confirmed" if run.confirmed else "import",
        "source": run.source,
        "skip_reason": SKIP_REASON,
    }
    for statement in staging.statements(run.confirmed, run.start_sequence):
        db.session.execute(statement, params)
    run.report.accepted += len(valid) - len(existing)
    if run.confirmed:
        return []
    return list(db.session.scalars(text("SELECT id FROM import_rows WHERE joined = 1")))


def _valid_rows(chunk: list[Row], report: ImportReport) -> dict[str, Row]:
    """Rows with a usable address, by normalised address (repeats within the chunk dropped)."""
    valid: dict[str, Row] = {}
    for row in chunk:
        if not row.readable:
            report.reject(row.number, row.email, "not utf-8")
            continue
        try:
            address = normalise(row.email)
        except InvalidAddress:
            report.reject(row.number, row.email, "bad address")
            continue
        if address in valid:
            report.reject(row.number, row.email, "duplicate")  # as the file spells it
            continue
        valid[address] = row
    return valid


def _drop_suppressed(valid: dict[str, Row], report: ImportReport) -> None:
    hashes = {email_hash(a): a for a in valid}
    for (found,) in db.session.execute(
        select(Suppression.email_hash).where(Suppression.email_hash.in_(hashes))
    ):
        address = hashes[found]
        report.reject(valid.pop(address).number, address, "suppressed")


def _update_existing(valid: dict[str, Row], run: _Run) -> set[str]:
    """Refresh subscribers already known (name, attributes; confirmed if this import says so);
    drop from ``valid`` those who must not be re-added. Returns the known addresses kept."""
    found_rows = db.session.execute(
        select(
            Subscriber.id,
            Subscriber.email,
            Subscriber.status,
            Subscriber.name,
            Subscriber.attributes,
            Subscriber.confirmed_at,
            Subscriber.updated_at,
        ).where(Subscriber.email.in_(valid))
    ).all()
    report = run.report
    kept: set[str] = set()
    changes: list[dict[str, Any]] = []
    for found in found_rows:
        row = valid[found.email]
        reason = None
        if found.id >= run.first_new_id or found.updated_at == run.now:
            reason = "duplicate"  # created or updated earlier in this same file
        elif found.status in (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED):
            reason = "suppressed"
        elif found.status == SubscriberStatus.UNSUBSCRIBED:
            reason = "unsubscribed"
        if reason:
            report.reject(row.number, found.email, reason)
            del valid[found.email]
            continue
        kept.add(found.email)
        upgrade = run.confirmed and found.status == SubscriberStatus.PENDING
        changes.append(
            {
                "b_id": found.id,
                "name": row.name or found.name,
                "attributes": {**(found.attributes or {}), **row.attributes},
                "status": SubscriberStatus.CONFIRMED if upgrade else found.status,
                "confirmed_at": run.now if upgrade else found.confirmed_at,
                "updated_at": run.now,
            }
        )
    report.updated += len(changes)
    if changes:
        table = Subscriber.__table__
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({k: bindparam(k) for k in changes[0] if k != "b_id"}),
            changes,
        )
    return kept

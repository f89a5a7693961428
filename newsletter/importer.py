"""CSV import: stream a file of readers into a list in chunks, with a report.

The file is read row by row (never whole), and each chunk of rows costs a handful of
set-based queries: look up existing readers, check suppressions, insert the new ones.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO, Any

from sqlalchemy import bindparam, insert, select, update

from . import queue
from .extensions import db
from .models import (
    ConsentEvent,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    utcnow,
)
from .subscribers import jobs
from .subscribers.addresses import InvalidAddress, clean_name, normalise_address
from .subscribers.suppression import email_hash

CHUNK = 2000
REPORT_LIMIT = 1000  # rejected rows listed one by one; the counts cover all of them
MAX_ATTRIBUTE = 500
EMAIL_HEADERS = ("email", "e-mail", "email address", "mail")
# A plain ASCII dot-atom local part: email-validator returns these unchanged, so only the
# domain needs its (slow, IDNA) check, and that is cached per domain.
_PLAIN_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")

REASONS = {
    "bad address": "not a valid email address",
    "duplicate": "appears earlier in the file",
    "suppressed": "on the do-not-mail list (bounced, complained, erased or blocked)",
    "unsubscribed": "unsubscribed earlier; only they can subscribe again",
}


class ImportProblem(ValueError):
    """The file cannot be imported at all (no email column, unreadable); says why."""


@dataclass
class Report:
    """What happened to each row: counts, plus the first rejected rows with reasons."""

    accepted: int = 0
    updated: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: int, email: str, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < REPORT_LIMIT:
            self.rejections.append({"row": row, "email": email[:320], "reason": reason})


@dataclass(frozen=True)
class _Row:
    number: int
    email: str
    name: str
    attributes: dict[str, str]


def normalise(raw: str) -> str:
    """Same result as ``normalise_address``, fast for the common plain address."""
    value = (raw or "").strip(" \t")
    local, at, domain = value.rpartition("@")
    if at and len(local) <= 64 and len(value) <= 254 and _PLAIN_LOCAL.match(local):
        return f"{local}@{_domain(domain)}"
    return normalise_address(value)


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    return normalise_address(f"x@{domain}").rpartition("@")[2]


def rows(stream: IO[bytes]) -> Iterator[_Row]:
    """Parse the CSV (UTF-8, with or without BOM) into rows; the header names the columns."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    header = [h.strip().lower() for h in next(reader, [])]
    email_at = next((i for i, h in enumerate(header) if h in EMAIL_HEADERS), None)
    if email_at is None:
        raise ImportProblem("The first row must name the columns, one of them “email”.")
    name_at = header.index("name") if "name" in header else None
    extra = [(i, h) for i, h in enumerate(header) if i not in (email_at, name_at) and h]
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        cells += [""] * (len(header) - len(cells))
        yield _Row(
            number,
            cells[email_at],
            clean_name(cells[name_at]) if name_at is not None else "",
            {h: clean_name(cells[i])[:MAX_ATTRIBUTE] for i, h in extra if cells[i].strip()},
        )


def _chunks(items: Iterable[_Row], size: int = CHUNK) -> Iterator[list[_Row]]:
    chunk: list[_Row] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_csv(
    stream: IO[bytes],
    list_id: int,
    *,
    confirmed: bool,
    note: str,
    progress: Callable[[Report], None] | None = None,
) -> Report:
    """Import every row into the list; each chunk commits, so a crash keeps what was done."""
    mailing_list = db.session.get(MailingList, list_id)
    if mailing_list is None:
        raise ImportProblem("That list does not exist.")
    if confirmed and not note.strip():
        raise ImportProblem("An import of confirmed readers needs a note on where they consented.")
    report = Report()
    seen: set[str] = set()
    check_suppression = db.session.scalar(select(Suppression.id).limit(1)) is not None
    source = note.strip()[:500] or "admin import (confirmation requested)"
    for chunk in _chunks(rows(stream)):
        to_confirm = _import_chunk(
            chunk, mailing_list, confirmed, source, report, seen, check_suppression
        )
        db.session.commit()
        for subscriber_id in to_confirm:
            queue.enqueue(jobs.send_confirmation, subscriber_id, queue=queue.BULK)
        if progress:
            progress(report)
    return report


def _import_chunk(
    chunk: list[_Row],
    mailing_list: MailingList,
    confirmed: bool,
    source: str,
    report: Report,
    seen: set[str],
    check_suppression: bool,
) -> list[int]:
    """Import one chunk with set-based queries; returns the ids that need a confirmation."""
    valid: dict[str, _Row] = {}
    for row in chunk:
        try:
            address = normalise(row.email)
        except InvalidAddress:
            report.reject(row.number, row.email, "bad address")
            continue
        key = address.lower()
        if key in seen:
            report.reject(row.number, address, "duplicate")
            continue
        seen.add(key)
        valid[address] = row
    if check_suppression:
        hashes = {email_hash(a): a for a in valid}
        for (found,) in db.session.execute(
            select(Suppression.email_hash).where(Suppression.email_hash.in_(hashes))
        ):
            address = hashes[found]
            report.reject(valid.pop(address).number, address, "suppressed")

    now = utcnow()
    status = SubscriberStatus.CONFIRMED if confirmed else SubscriberStatus.PENDING
    sub_status = SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING
    existing = {
        s.email: s
        for s in db.session.execute(
            select(
                Subscriber.id,
                Subscriber.email,
                Subscriber.status,
                Subscriber.name,
                Subscriber.attributes,
                Subscriber.confirmed_at,
            ).where(Subscriber.email.in_(valid))
        )
    }
    ids: dict[str, int] = {}
    changes: list[dict[str, Any]] = []
    for address, found in existing.items():
        row = valid[address]
        if found.status in (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED):
            report.reject(row.number, address, "suppressed")
            del valid[address]
        elif found.status == SubscriberStatus.UNSUBSCRIBED:
            report.reject(row.number, address, "unsubscribed")
            del valid[address]
        else:
            ids[address] = found.id
            report.updated += 1
            upgrade = confirmed and found.status == SubscriberStatus.PENDING
            changes.append(
                {
                    "b_id": found.id,
                    "name": row.name or found.name,
                    "attributes": {**(found.attributes or {}), **row.attributes},
                    "status": status if upgrade else found.status,
                    "confirmed_at": now if upgrade else found.confirmed_at,
                    "updated_at": now,
                }
            )
    if changes:
        table = Subscriber.__table__
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({k: bindparam(k) for k in changes[0] if k != "b_id"}),
            changes,
        )

    new = [a for a in valid if a not in existing]
    if new:
        inserted = db.session.execute(
            insert(Subscriber).returning(Subscriber.id, Subscriber.email),
            [
                {
                    "email": a,
                    "name": valid[a].name,
                    "attributes": valid[a].attributes,
                    "status": status,
                    "created_at": now,
                    "updated_at": now,
                    "confirmed_at": now if confirmed else None,
                }
                for a in new
            ],
        )
        for subscriber_id, address in inserted:
            ids[address] = subscriber_id
        report.accepted += len(new)

    already = set(
        db.session.scalars(
            select(Subscription.subscriber_id).where(
                Subscription.list_id == mailing_list.id,
                Subscription.subscriber_id.in_(list(ids.values())),
            )
        )
    )
    joining = [i for i in ids.values() if i not in already]
    if joining:
        db.session.execute(
            insert(Subscription),
            [
                {
                    "subscriber_id": i,
                    "list_id": mailing_list.id,
                    "status": sub_status,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in joining
            ],
        )
    if confirmed and already:
        db.session.execute(
            update(Subscription)
            .where(
                Subscription.list_id == mailing_list.id,
                Subscription.subscriber_id.in_(already),
                Subscription.status == SubscriptionStatus.PENDING,
            )
            .values(status=SubscriptionStatus.CONFIRMED, updated_at=now)
        )
    if ids:
        db.session.execute(
            insert(ConsentEvent),
            [
                {
                    "subscriber_id": i,
                    "created_at": now,
                    "action": "import-confirmed" if confirmed else "import",
                    "source": source,
                    "consent_text": "",
                    "ip": None,
                    "lists": [mailing_list.slug],
                }
                for i in ids.values()
            ],
        )
    return [] if confirmed else joining

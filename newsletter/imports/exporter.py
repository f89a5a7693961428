"""CSV export of subscribers, streamed in keyset-paged chunks so memory stays flat."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select, text

from ..extensions import db
from ..models import MailingList, Subscriber, SubscriberStatus, Subscription

COLUMNS = ["email", "name", "status", "lists", "created_at", "confirmed_at"]  # then attributes
CHUNK = 1000
# A cell starting with one of these is a formula to Excel/LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A subscriber who bounced or complained shows that state on every list, as they are suppressed.
_SUPPRESSED = (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)


def safe_cell(value: object) -> str:
    """The value as a CSV cell that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_rows(list_id: int | None = None, status: str | None = None) -> Iterator[list[str]]:
    """Rows (header first) for everyone, or one list's members with their status there.
    Each attribute key becomes a column, so an export imports back as it was. A header cell
    is an attribute name someone imported, so it is neutralised as a data cell is."""
    keys = attribute_keys()
    yield [safe_cell(h) for h in COLUMNS + [k for k in keys if k not in COLUMNS]]
    slugs = dict(db.session.execute(select(MailingList.id, MailingList.slug)).all())
    last = 0
    while True:
        query = select(Subscriber).where(Subscriber.id > last).order_by(Subscriber.id).limit(CHUNK)
        if list_id is not None:
            query = query.add_columns(Subscription.status).join(
                Subscription,
                (Subscription.subscriber_id == Subscriber.id) & (Subscription.list_id == list_id),
            )
        else:
            query = query.add_columns(Subscriber.status)
        batch = db.session.execute(query).all()
        if not batch:
            return
        ids = [row[0].id for row in batch]
        memberships: dict[int, list[str]] = {}
        for subscriber_id, member_list in db.session.execute(
            select(Subscription.subscriber_id, Subscription.list_id).where(
                Subscription.subscriber_id.in_(ids)
            )
        ):
            memberships.setdefault(subscriber_id, []).append(slugs.get(member_list, ""))
        for subscriber, row_status in batch:
            shown = subscriber.status if subscriber.status in _SUPPRESSED else row_status
            if status and shown.value != status:
                continue
            yield [
                safe_cell(v)
                for v in (
                    subscriber.email,
                    subscriber.name,
                    shown.value,
                    " ".join(sorted(memberships.get(subscriber.id, []))),
                    subscriber.created_at.isoformat(),
                    subscriber.confirmed_at.isoformat() if subscriber.confirmed_at else "",
                    *[(subscriber.attributes or {}).get(k, "") for k in keys if k not in COLUMNS],
                )
            ]
        last = ids[-1]


def attribute_keys() -> list[str]:
    """Every attribute name in use, sorted (one pass in the database, not in Python)."""
    if db.session.get_bind().dialect.name == "postgresql":
        sql = "SELECT DISTINCT json_object_keys(attributes) FROM subscriber"
    else:
        sql = "SELECT DISTINCT j.key FROM subscriber, json_each(subscriber.attributes) j"
    return sorted(k for k in db.session.scalars(text(sql)) if k)


def export_csv(list_id: int | None = None, status: str | None = None) -> Iterator[str]:
    """The export as CSV text, a chunk of lines at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for n, row in enumerate(export_rows(list_id, status), start=1):
        writer.writerow(row)
        if n % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()

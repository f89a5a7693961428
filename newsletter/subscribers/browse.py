"""Finding subscribers for the admin: search, filters, sorting and keyset pages.

A page is fetched by "what comes after the last row shown" (keyset), never by OFFSET, and
no page counts the whole selection, so page 2,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, column, exists, func, literal_column, or_, select, table, text

from ..database import row_id
from ..extensions import db
from ..models import Subscriber, SubscriberStatus, Subscription, SubscriptionStatus

PAGE_SIZE = 50
_SUPPRESSED = (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)
SORTS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "email": "Email A–Z",
    "email_desc": "Email Z–A",
}


@dataclass(frozen=True)
class Selection:
    """Which subscribers: a substring of email or name, a state, a list, and an order.

    ``per_list``: with a list, ``status`` is the state on that list, as the CSV export shows
    it (a bounced or complained subscriber is that on every list); else the overall state.
    """

    q: str = ""
    status: str = ""
    list_id: int | None = None
    sort: str = "newest"
    per_list: bool = False

    @classmethod
    def from_args(cls, args) -> Selection:  # type: ignore[no-untyped-def]
        """Read a selection from query or form arguments, ignoring what does not fit."""
        status = args.get("status", "")
        sort = args.get("sort", "newest")
        return cls(
            q=(args.get("q") or "").strip()[:200],
            status=status if status in SubscriberStatus._value2member_map_ else "",
            list_id=row_id(args.get("list")),
            sort=sort if sort in SORTS else "newest",
        )

    def as_args(self) -> dict[str, str | int]:
        """The selection as query arguments, for links that keep it."""
        args: dict[str, str | int] = {"sort": self.sort}
        if self.q:
            args["q"] = self.q
        if self.status:
            args["status"] = self.status
        if self.list_id:
            args["list"] = self.list_id
        return args


@dataclass(frozen=True)
class Page:
    """One page of subscribers and where the next one starts."""

    rows: list[Subscriber]
    next_cursor: str | None


# SQLite's FTS5 trigram index over (email, name) and how far it got (migration 0003).
SEARCH = table("subscriber_search", column("rowid"))
SEARCH_STATE = table("subscriber_search_state", column("last_id"))
TRIGRAM = 3  # shorter searches cannot use a trigram index: they match an address's start
_SORT_LIMIT = 2000


def _uses_index(selection: Selection) -> bool:
    """Whether SQLite's trigram index should find the rows (else one scan in page order).

    Sorted by email, a search matching thousands of rows is cheaper as a scan of the email
    index that stops at the page's end than as a sort of every match; the index is asked
    first how many matches there are, up to that threshold.
    """
    if len(selection.q) < TRIGRAM or not _is_sqlite():
        return False
    if not selection.sort.startswith("email"):
        return True
    matches = select(SEARCH.c.rowid).where(match(selection.q)).limit(_SORT_LIMIT + 1)
    found = db.session.scalar(select(func.count()).select_from(matches.subquery()))
    return found <= _SORT_LIMIT


def match(q: str):  # type: ignore[no-untyped-def]
    """The search table's rows holding ``q`` as typed (a quoted FTS5 phrase, so none of its
    characters is query syntax); the admin's search and segments' ``contains`` share it."""
    phrase = '"' + q.replace('"', '""') + '"'
    return literal_column("subscriber_search").op("MATCH")(phrase)


def _is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _filtered(selection: Selection, part: str = "like") -> Select:
    """The selection's query. ``part``: "like" (one LIKE scan; PostgreSQL's pg_trgm indexes
    serve it), "index" (rows the FTS index holds) or "tail" (newer rows it does not yet)."""
    query = select(Subscriber)
    if selection.q and part == "index":
        query = query.join(SEARCH, SEARCH.c.rowid == Subscriber.id).where(match(selection.q))
    elif 0 < len(selection.q) < TRIGRAM and _is_sqlite():
        # Too short for the trigram index: match the start of the address (email index).
        start = selection.q.lower()
        query = query.where(Subscriber.email >= start, Subscriber.email < start + "\U0010ffff")
    elif selection.q:
        pattern = "%" + selection.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern += "%"
        query = query.where(
            or_(
                Subscriber.email.ilike(pattern, escape="\\"),
                Subscriber.name.ilike(pattern, escape="\\"),
            )
        )
        if part == "tail":
            query = query.where(Subscriber.id > select(SEARCH_STATE.c.last_id).scalar_subquery())
    on_list = selection.per_list and selection.list_id
    if selection.status and not on_list:
        query = query.where(Subscriber.status == SubscriberStatus(selection.status))
    if selection.list_id:
        query = query.where(
            exists().where(
                Subscription.subscriber_id == Subscriber.id,
                Subscription.list_id == selection.list_id,
                *([_status_on_list(selection.status)] if on_list and selection.status else []),
            )
        )
    return query


def _status_on_list(status: str):  # type: ignore[no-untyped-def]
    """The subscription's state is ``status`` as the export shows it: bounced and complained
    are the subscriber's, on every list; the others the subscription's own."""
    if status in _SUPPRESSED:
        return Subscriber.status == SubscriberStatus(status)
    return (Subscription.status == SubscriptionStatus(status)) & Subscriber.status.not_in(
        _SUPPRESSED
    )


def _ordered(query: Select, selection: Selection, cursor: str | None, key=Subscriber.id) -> Select:  # type: ignore[no-untyped-def]
    """Order by the chosen key (email is unique, so it alone orders) and start after the
    cursor's row. ``key`` is the id column that drives the scan (the FTS rowid there)."""
    after = _decode(cursor)
    sort = selection.sort
    if sort in ("newest", "oldest"):
        if after is not None:
            query = query.where(key < after[1] if sort == "newest" else key > after[1])
        return query.order_by(key.desc() if sort == "newest" else key.asc())
    descending = sort == "email_desc"
    if after is not None:
        value = after[0]
        query = query.where(Subscriber.email < value if descending else Subscriber.email > value)
    return query.order_by(Subscriber.email.desc() if descending else Subscriber.email.asc())


def page(selection: Selection, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of the selection, plus the cursor of the next page (None on the last)."""
    if _uses_index(selection):
        # Rows from the index and from the not-yet-indexed tail, merged in page order.
        indexed = _ordered(_filtered(selection, "index"), selection, cursor, SEARCH.c.rowid)
        tail = _ordered(_filtered(selection, "tail"), selection, cursor)
        rows = list(db.session.scalars(indexed.limit(size + 1)))
        rows += db.session.scalars(tail.limit(size + 1))
        by_email = selection.sort.startswith("email")
        rows.sort(
            key=(lambda r: r.email) if by_email else (lambda r: r.id),
            reverse=selection.sort in ("newest", "email_desc"),
        )
        rows = rows[: size + 1]
    else:
        rows = list(
            db.session.scalars(_ordered(_filtered(selection), selection, cursor).limit(size + 1))
        )
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = _encode(rows[-1].email, rows[-1].id) if more and rows else None
    return Page(rows, next_cursor)


def index_new_subscribers() -> int:
    """Add subscribers created since the last run to SQLite's search index, in one statement
    (run after imports and by the periodic tick); returns how many were added."""
    if not _is_sqlite():
        return 0
    last = db.session.scalar(select(SEARCH_STATE.c.last_id)) or 0
    newest = db.session.scalar(select(func.max(Subscriber.id))) or 0
    if newest <= last:
        return 0
    db.session.execute(
        text(
            "INSERT INTO subscriber_search(rowid, email, name) SELECT id, email, name "
            "FROM subscriber WHERE id > :last AND id <= :newest ORDER BY id"
        ),
        {"last": last, "newest": newest},
    )
    db.session.execute(text("UPDATE subscriber_search_state SET last_id = :n"), {"n": newest})
    db.session.commit()
    return newest - last


def ids(selection: Selection, chunk: int = 1000) -> Iterator[list[int]]:
    """Every matching subscriber id, in chunks, walking the id index (for bulk actions)."""
    last = 0
    base = _filtered(selection).with_only_columns(Subscriber.id).order_by(Subscriber.id)
    while True:
        found = list(db.session.scalars(base.where(Subscriber.id > last).limit(chunk)))
        if not found:
            return
        yield found
        last = found[-1]


def _encode(email: str, row_id: int) -> str:
    raw = f"{row_id}\x1f{email}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def is_cursor(cursor: str) -> bool:
    """Whether ``cursor`` is one :func:`page` handed out (an API caller's damaged cursor is
    an error, where a page quietly starts from the top)."""
    return _decode(cursor) is not None


def _decode(cursor: str | None) -> tuple[str, int] | None:
    """The (email, id) a cursor points after; a damaged cursor starts from the top."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        row_id, _, email = raw.partition("\x1f")
        return email, int(row_id)
    except (ValueError, UnicodeDecodeError):
        return None

"""Building an audience and an issue directly in the database, fast enough for 100,000
subscribers (Core bulk inserts), for the sending tests and the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import insert, select

from newsletter.extensions import db
from newsletter.models import (
    Delivery,
    Issue,
    IssueStatus,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)


def make_list(slug: str = "weekly", name: str = "Weekly News") -> int:
    """A mailing list; returns its id."""
    mailing_list = MailingList(slug=slug, name=name, is_public=True)
    db.session.add(mailing_list)
    db.session.commit()
    return mailing_list.id


def add_subscribers(
    list_id: int,
    count: int,
    *,
    start: int = 0,
    domain: str = "example.net",
    status: SubscriberStatus = SubscriberStatus.CONFIRMED,
    list_status: SubscriptionStatus = SubscriptionStatus.CONFIRMED,
    chunk: int = 5000,
) -> list[str]:
    """``count`` subscribers subscriber<N>@domain on a list, in bulk; returns their addresses."""
    addresses = [f"reader{n}@{domain}" for n in range(start, start + count)]
    now = utcnow()
    for i in range(0, count, chunk):
        part = addresses[i : i + chunk]
        db.session.execute(
            insert(Subscriber),
            [
                {
                    "email": a,
                    "name": f"Reader {a.split('@')[0][6:]}",
                    "attributes": {},
                    "status": status,
                    "created_at": now,
                    "updated_at": now,
                    "confirmed_at": now,
                    "soft_bounces": 0,
                    "hard_bounces": 0,
                }
                for a in part
            ],
        )
        ids = db.session.execute(select(Subscriber.id).where(Subscriber.email.in_(part))).scalars()
        db.session.execute(
            insert(Subscription),
            [
                {
                    "subscriber_id": sid,
                    "list_id": list_id,
                    "status": list_status,
                    "created_at": now,
                    "updated_at": now,
                }
                for sid in ids
            ],
        )
        db.session.commit()
    return addresses


def subscribe(email: str, list_id: int) -> None:
    """Put an existing subscriber on another list, confirmed."""
    sid = db.session.scalar(select(Subscriber.id).where(Subscriber.email == email))
    db.session.add(
        Subscription(subscriber_id=sid, list_id=list_id, status=SubscriptionStatus.CONFIRMED)
    )
    db.session.commit()


def make_issue(list_ids: Sequence[int], subject: str = "Issue one", body: str | None = None) -> int:
    """A draft issue for these lists; returns its id."""
    lists = db.session.scalars(select(MailingList).where(MailingList.id.in_(list_ids))).all()
    issue = Issue(
        subject=subject,
        body_md=body or "Hello {{ subscriber.name | default('reader') }},\n\nNews of the week.",
        status=IssueStatus.DRAFT,
        lists=list(lists),
    )
    db.session.add(issue)
    db.session.commit()
    return issue.id


def issue_for_subscribers(count: int, subject: str = "Issue one") -> int:
    """A list of ``count`` confirmed subscribers and a draft issue for it; returns the issue id."""
    list_id = make_list()
    add_subscribers(list_id, count)
    return make_issue([list_id], subject=subject)


def bench_body(size: int = 10_000) -> str:
    """A Markdown issue of about ``size`` bytes with headings, lists, links and a name."""
    para = (
        "Lorem ipsum dolor sit amet, **consectetur** adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua. See [the site](https://example.org/a). "
    )
    parts = ["Hello {{ subscriber.name | default('reader') }},", ""]
    n = 0
    while sum(len(p) for p in parts) < size:
        n += 1
        parts += [f"## Section {n}", "", para * 3, "", "- one item", "- another item", ""]
    return "\n".join(parts)


def delivery_counts(issue_id: int) -> dict[str, int]:
    """Deliveries of an issue by status (fresh read)."""
    db.session.commit()
    rows = db.session.execute(
        select(Delivery.status, db.func.count())
        .where(Delivery.issue_id == issue_id)
        .group_by(Delivery.status)
    )
    return {status.value: n for status, n in rows}


def wait_for(predicate, timeout: float = 30, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")


def start_issue(app, subscribers: int) -> int:
    """``subscribers`` confirmed subscribers on one list and an issue to them, already sending."""
    from newsletter.delivery import service

    with app.app_context():
        issue_id = issue_for_subscribers(subscribers)
        service.start_sending(issue_id)
        return issue_id


def issue_status(app, issue_id: int) -> str:
    """The issue's sending status, read fresh."""
    from newsletter.delivery import service

    with app.app_context():
        return service.progress(issue_id).status

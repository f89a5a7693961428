"""The dashboard's counts (kept by the database's triggers, migration 0013) follow every change a
subscriber goes through, whichever code path makes it: signup, confirmation, unsubscribe, an
import's bulk statements, a bounce that suppresses, erasure; and they survive the tick's fold.
Each step compares the counts the dashboard shows with a fresh count of the tables."""

from __future__ import annotations

import io

import pytest
from helpers.admin import login, make_admin
from helpers.subscribe import make_list
from sqlalchemy import func, select

from newsletter.bounces import service as bounces
from newsletter.extensions import db
from newsletter.imports import importer
from newsletter.models import BounceKind, MailingList, Subscriber, Subscription
from newsletter.subscribers import figures, privacy, service, tallies


def _counted() -> tuple[dict, dict, dict]:
    """What a full count of the tables says: by state, per list, per signup day."""
    by_status = {s: 0 for s in tallies.status_counts()}
    for status, n in db.session.execute(
        select(Subscriber.status, func.count()).group_by(Subscriber.status)
    ):
        by_status[status.value] = n
    per_list: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(Subscription.list_id, Subscription.status, Subscriber.status, func.count())
        .join(Subscriber)
        .group_by(Subscription.list_id, Subscription.status, Subscriber.status)
    )
    for list_id, status, overall, n in rows:
        counts = per_list.setdefault(
            list_id, {"audience": 0, "pending": 0, "confirmed": 0, "unsubscribed": 0}
        )
        counts[status.value] += n
        if status.value == overall.value == "confirmed":
            counts["audience"] += n
    days: dict = {}
    for (created,) in db.session.execute(select(Subscriber.created_at)):
        days[created.date()] = days.get(created.date(), 0) + 1
    return by_status, per_list, days


def _shown() -> tuple[dict, dict, dict]:
    """What the dashboard shows (lists nobody is on any more drop out, as in the table)."""
    per_list = {k: v for k, v in tallies.list_counts().items() if any(v.values())}
    days = {b.day: b.count for b in figures.growth().bars if b.count}
    return tallies.status_counts(), per_list, days


def _assert_counts(app, **expected: int) -> None:
    with app.app_context():
        assert _shown() == _counted()
        statuses = tallies.status_counts()
        assert {k: statuses[k] for k in expected} == expected
        tallies.fold()
        assert _shown() == _counted()
        db.session.remove()


def _list_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(select(MailingList.id).where(MailingList.slug == slug))


def _id_of(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Subscriber.id).where(Subscriber.email == email))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_dashboard_counts_follow_every_change_to_subscribers(backend, make_app):
    app = make_app()
    make_list(app, "news", "News")
    make_list(app, "extra", "Extra")
    client = app.test_client()
    for email in ("ada@example.org", "bob@example.org"):
        answer = client.post("/subscribe", data={"email": email, "lists": ["news", "extra"]})
        assert answer.status_code == 200
    _assert_counts(app, pending=2, confirmed=0)
    # The same address again changes nothing.
    client.post("/subscribe", data={"email": "ada@example.org", "lists": ["news"]})
    _assert_counts(app, pending=2, confirmed=0)

    ada, bob = _id_of(app, "ada@example.org"), _id_of(app, "bob@example.org")
    with app.app_context():
        service.confirm(ada, ip=None)
        service.confirm(bob, ip=None)
    _assert_counts(app, pending=0, confirmed=2)
    with app.app_context():
        assert tallies.list_counts()[_list_id(app, "news")]["audience"] == 2
        service.unsubscribe(bob, "test")
    _assert_counts(app, confirmed=1, unsubscribed=1)

    csv = b"email,name\ncy@example.org,Cy\ndee@example.org,Dee\nada@example.org,Ada\n"
    with app.app_context():
        importer.import_csv(io.BytesIO(csv), _list_id(app, "news"), confirmed=True, note="fair")
    _assert_counts(app, confirmed=3, unsubscribed=1)

    with app.app_context():
        assert bounces.record_provider_report("mailgun", "cy@example.org", BounceKind.HARD, "gone")
        db.session.commit()
    _assert_counts(app, confirmed=2, bounced=1)
    with app.app_context():
        assert tallies.list_counts()[_list_id(app, "news")]["audience"] == 2

    with app.app_context():
        privacy.erase(ada)
        privacy.erase(_id_of(app, "cy@example.org"))
    _assert_counts(app, confirmed=1, bounced=0, unsubscribed=1)
    with app.app_context():
        news = tallies.list_counts()[_list_id(app, "news")]
        assert (news["audience"], news["unsubscribed"]) == (1, 1)


def test_dashboard_page_shows_the_kept_counts(make_app):
    app = make_app()
    make_list(app, "news", "News")
    app.test_client().post("/subscribe", data={"email": "ada@example.org", "lists": ["news"]})
    make_admin(app)
    client = app.test_client()
    login(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert "<strong>1</strong><br>pending" in page
    assert "1 new in 30 days" in page

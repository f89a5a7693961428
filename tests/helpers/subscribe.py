"""Small helpers shared by the subscriber lifecycle tests."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import update

from newsletter.extensions import db
from newsletter.models import ConsentEvent, MailingList, Subscriber, utcnow
from newsletter.subscribers import confirmations

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_list(app, slug: str = "news", name: str = "News", public: bool = True) -> None:
    """Create a mailing list."""
    with app.app_context():
        db.session.add(MailingList(slug=slug, name=name, is_public=public))
        db.session.commit()


def csrf_from(html: bytes | str) -> str:
    """The CSRF token in a page's form."""
    text = html.decode() if isinstance(html, bytes) else html
    match = CSRF.search(text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def link_path(text: str, kind: str) -> str:
    """The path of the first ``/<kind>/<token>`` link in a mail body."""
    match = re.search(rf"https?://\S+?/{kind}/[A-Za-z0-9_.\-]+", text)
    assert match, f"no /{kind}/ link in the mail"
    return urlsplit(match.group(0)).path


def counts(app) -> tuple[int, int]:
    """(subscribers, consent events) stored."""
    with app.app_context():
        return (
            db.session.scalar(db.select(db.func.count(Subscriber.id))),
            db.session.scalar(db.select(db.func.count(ConsentEvent.id))),
        )


def subscriber(app, email: str) -> Subscriber | None:
    """The stored subscriber with this address, detached for reading."""
    with app.app_context():
        found = db.session.scalar(db.select(Subscriber).where(Subscriber.email == email))
        if found is not None:
            db.session.expunge(found)
        return found


def age_debts(app) -> None:
    """Make every confirmation mail still owed look owed for longer than the tick waits."""
    with app.app_context():
        db.session.execute(
            update(Subscriber)
            .where(Subscriber.confirmation_due_at.is_not(None))
            .values(confirmation_due_at=utcnow() - confirmations.OWED_FOR - timedelta(seconds=1))
        )
        db.session.commit()

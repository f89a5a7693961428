"""Upgrade 0012 on a database at 0011 with confirmed, pending and unsubscribed memberships:
readers and their statuses are kept, confirmed memberships get ``confirmed_at`` (from their
last change, so no list's sequence mistakes old readers for new ones), the others none; old
issues become kind ``issue`` and lists keep the built-in welcome."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from helpers.migrations import app_at
from sqlalchemy import JSON, column, insert, select, table

from newsletter.extensions import db
from newsletter.models import (
    Issue,
    IssueKind,
    MailingList,
    Subscriber,
    Subscription,
    UTCDateTime,
)


def _at(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


def _table(name: str, *names: str):  # type: ignore[no-untyped-def]
    """A table as 0011 left it (the models have columns 0012 adds), typed where it matters."""
    typed = {"attributes": JSON()}
    return table(
        name,
        column("id"),
        *(column(n, UTCDateTime() if n.endswith("_at") else typed.get(n)) for n in names),
    )


_LIST = _table(
    "mailing_list", "slug", "name", "description", "is_public", "is_default", "created_at"
)
_SUBSCRIBER = _table(
    "subscriber",
    "email",
    "name",
    "attributes",
    "status",
    "created_at",
    "updated_at",
    "confirmed_at",
    "soft_bounces",
    "hard_bounces",
)
_SUBSCRIPTION = _table(
    "subscription", "subscriber_id", "list_id", "status", "created_at", "updated_at"
)
_ISSUE = _table(
    "issue",
    "subject",
    "preheader",
    "body_md",
    "is_public",
    "status",
    "status_reason",
    "created_at",
    "updated_at",
)


@pytest.fixture
def old_app(tmp_path, database_url, redis_prefix):
    """An app whose database stands at 0011, the release before this one."""
    with app_at("0011", tmp_path, database_url, redis_prefix) as app:
        yield app


def _insert(target, **values) -> int:
    return db.session.scalar(insert(target).values(values).returning(column("id")))


def _reader(email: str, status: str, year: int) -> int:
    return _insert(
        _SUBSCRIBER,
        email=email,
        name=email.split("@")[0],
        attributes={},
        status=status,
        created_at=_at(year),
        updated_at=_at(year),
        confirmed_at=_at(year) if status == "confirmed" else None,
        soft_bounces=0,
        hard_bounces=0,
    )


def _on(subscriber_id: int, list_id: int, status: str, year: int) -> None:
    db.session.execute(
        insert(_SUBSCRIPTION).values(
            subscriber_id=subscriber_id,
            list_id=list_id,
            status=status,
            created_at=_at(2020),
            updated_at=_at(year),
        )
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_gives_confirmed_memberships_their_moment_and_keeps_everything(old_app):
    weekly = _insert(
        _LIST,
        slug="weekly",
        name="Weekly",
        description="",
        is_public=True,
        is_default=False,
        created_at=_at(2020),
    )
    ann, bob, cy = (
        _reader("ann@x.org", "confirmed", 2021),
        _reader("bob@x.org", "pending", 2022),
        _reader("cy@x.org", "unsubscribed", 2023),
    )
    _on(ann, weekly, "confirmed", 2024)
    _on(bob, weekly, "pending", 2022)
    _on(cy, weekly, "unsubscribed", 2023)
    _insert(
        _ISSUE,
        subject="Old",
        preheader="",
        body_md="",
        is_public=True,
        status="sent",
        status_reason="",
        created_at=_at(2024),
        updated_at=_at(2024),
    )
    db.session.commit()

    upgrade(revision="0012")
    db.session.expire_all()

    memberships = {
        email: (status, at)
        for email, status, at in db.session.execute(
            select(Subscriber.email, Subscription.status, Subscription.confirmed_at).join(
                Subscription, Subscription.subscriber_id == Subscriber.id
            )
        )
    }
    assert memberships == {
        "ann@x.org": ("confirmed", _at(2024)),
        "bob@x.org": ("pending", None),
        "cy@x.org": ("unsubscribed", None),
    }
    statuses = dict(db.session.execute(select(Subscriber.email, Subscriber.status)).all())
    assert statuses == {
        "ann@x.org": "confirmed",
        "bob@x.org": "pending",
        "cy@x.org": "unsubscribed",
    }
    assert db.session.scalar(select(Issue.kind)) == IssueKind.ISSUE
    weekly_list = db.session.scalar(select(MailingList))
    assert weekly_list.sends_welcome is True and weekly_list.sequence_paused_at is None

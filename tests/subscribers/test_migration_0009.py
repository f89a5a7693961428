"""Upgrade 0009 on a database with subscribers whose addresses differ only in case: they become
one subscriber (the older, with every consent event), every address is lowercased, links in mails
already sent keep working, and SQLite never hands out a freed id again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from helpers.migrations import app_at
from sqlalchemy import column, func, insert, select, table, text

from newsletter.extensions import db
from newsletter.models import (
    Bounce,
    ConsentEvent,
    Delivery,
    IssueTotals,
    Subscriber,
    Subscription,
)
from newsletter.subscribers import browse, service, tokens


def _at(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


@pytest.fixture
def old_app(tmp_path, database_url, redis_prefix):
    """An app whose database stands at 0008, the release before this one."""
    with app_at("0008", tmp_path, database_url, redis_prefix) as app:
        yield app


def _subscriber(email: str, created: int, status: str, **extra) -> int:
    values = {
        "email": email,
        "name": extra.pop("name", ""),
        "attributes": extra.pop("attributes", {}),
        "status": status,
        "created_at": _at(created),
        "updated_at": _at(created),
        "soft_bounces": 0,
        "hard_bounces": 0,
        **extra,
    }
    return db.session.execute(insert(Subscriber.__table__).values(values)).inserted_primary_key[0]


def _on(subscriber_id: int, list_id: int, status: str, year: int) -> None:
    db.session.execute(
        insert(Subscription.__table__).values(
            subscriber_id=subscriber_id,
            list_id=list_id,
            status=status,
            created_at=_at(year),
            updated_at=_at(year),
        )
    )


def _consent(subscriber_id: int, action: str, year: int) -> None:
    db.session.execute(
        insert(ConsentEvent.__table__).values(
            subscriber_id=subscriber_id,
            action=action,
            created_at=_at(year),
            source="",
            consent_text="",
            lists=[],
        )
    )


def _sent(issue_id: int, subscriber_id: int) -> int:
    values = {"issue_id": issue_id, "subscriber_id": subscriber_id, "status": "sent"}
    values |= {"batch_no": 0, "attempts": 1, "error": ""}
    return db.session.execute(insert(Delivery.__table__).values(values)).inserted_primary_key[0]


def _list(slug: str) -> int:
    values = {"slug": slug, "name": slug, "description": "", "is_public": True}
    values |= {"created_at": _at(2020)}
    return _insert_as_at_0008("mailing_list", values)


def _insert_as_at_0008(name: str, values: dict) -> int:
    """A row written naming only these columns: the models have columns (with defaults) that
    later migrations add."""
    at_0008 = table(name, column("id"), *map(column, values))
    return db.session.scalar(insert(at_0008).values(values).returning(at_0008.c.id))


def _issue(subject: str) -> int:
    values = {"subject": subject, "preheader": "", "body_md": "", "is_public": False}
    values |= {"status": "sent", "status_reason": "", "created_at": _at(2024)}
    values |= {"updated_at": _at(2024)}
    return _insert_as_at_0008("issue", values)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_merges_subscribers_whose_addresses_differ_only_in_case(old_app):
    news, other = _list("news"), _list("other")
    first, second = _issue("First"), _issue("Second")
    # Ann was imported as confirmed in 2024, then signed up again as ann@ in 2025 (pending).
    imported = _subscriber(
        "Ann@x.org", 2024, "confirmed", confirmed_at=_at(2024), name="Ann", attributes={"a": "1"}
    )
    signed_up = _subscriber(
        "ann@x.org",
        2025,
        "pending",
        attributes={"a": "2", "b": "3"},
        confirmation_due_at=_at(2025),
    )
    _on(imported, news, "confirmed", 2024)
    _on(signed_up, news, "pending", 2025)
    _on(signed_up, other, "pending", 2025)
    _consent(imported, "import-confirmed", 2024)
    _consent(signed_up, "subscribe", 2025)
    _sent(first, imported)
    twice = _sent(first, signed_up)  # the duplicate got the first issue twice
    moved = _sent(second, signed_up)
    # The bounce table as 0008 left it: the model has columns later migrations add.
    bounce_at_0008 = table(
        "bounce", *map(column, ("kind", "email", "delivery_id", "reason", "received_at"))
    )
    db.session.execute(
        insert(bounce_at_0008).values(
            kind="soft", email="ann@x.org", delivery_id=twice, reason="", received_at=_at(2025)
        )
    )
    # Cara confirmed as cara@, then unsubscribed as CARA@ later: the withdrawal stands.
    cara = _subscriber("cara@z.org", 2023, "confirmed", confirmed_at=_at(2023))
    cara_later = _subscriber("CARA@z.org", 2024, "unsubscribed")
    _on(cara, news, "confirmed", 2023)
    _on(cara_later, news, "unsubscribed", 2025)
    bob = _subscriber("Bob@Y.org", 2022, "confirmed", confirmed_at=_at(2022))
    db.session.commit()
    browse.index_new_subscribers()  # SQLite's search index holds every spelling
    # Links in mails sent before the upgrade, to each spelling.
    old_links = {
        "imported": tokens.make(tokens.MANAGE, imported, "Ann@x.org"),
        "signed_up": tokens.make(tokens.CONFIRM, signed_up, "ann@x.org"),
        "bob": tokens.make(tokens.UNSUBSCRIBE, bob, "Bob@Y.org"),
    }

    upgrade()

    db.session.expire_all()
    ann = db.session.scalar(select(Subscriber).where(Subscriber.email == "ann@x.org"))
    assert ann.id == imported and ann.status == "confirmed"
    assert ann.confirmed_at == _at(2024) and ann.created_at == _at(2024)
    assert ann.name == "Ann" and ann.attributes == {"a": "1", "b": "3"}
    assert ann.confirmation_due_at is None
    assert {(s.mailing_list.slug, s.status.value) for s in ann.subscriptions} == {
        ("news", "confirmed"),
        ("other", "pending"),
    }
    assert sorted(e.action for e in ann.consent_events) == ["import-confirmed", "subscribe"]
    deliveries = db.session.execute(
        select(Delivery.id, Delivery.issue_id).where(Delivery.subscriber_id == ann.id)
    ).all()
    assert sorted(i for _, i in deliveries) == [first, second] and moved in {
        d for d, _ in deliveries
    }
    assert db.session.get(IssueTotals, first).counts == {"sent": 1}  # figures stay as they were
    assert db.session.scalar(select(Bounce.delivery_id)) is None

    cara_now = db.session.scalar(select(Subscriber).where(Subscriber.email == "cara@z.org"))
    assert cara_now.id == cara and cara_now.status == "unsubscribed"
    assert [s.status.value for s in cara_now.subscriptions] == ["unsubscribed"]
    assert db.session.get(Subscriber, bob).email == "bob@y.org"
    assert (
        db.session.scalar(
            select(func.count()).where(Subscriber.email != func.lower(Subscriber.email))
        )
        == 0
    )
    assert db.session.scalar(select(func.count(Subscriber.id))) == 3
    found = browse.page(browse.Selection(q="ann@x")).rows
    assert [(r.id, r.email) for r in found] == [(imported, "ann@x.org")]

    # Every link already in an inbox still leads to its subscriber.
    assert service.subscriber_for(tokens.MANAGE, old_links["imported"]).id == imported
    assert service.subscriber_for(tokens.CONFIRM, old_links["signed_up"]).id == imported
    assert service.subscriber_for(tokens.UNSUBSCRIBE, old_links["bob"]).id == bob

    # Ids are never handed out again (SQLite: AUTOINCREMENT; PostgreSQL: sequences).
    newest = _subscriber("newest@x.org", 2026, "pending")
    db.session.execute(Subscriber.__table__.delete().where(Subscriber.id == newest))
    db.session.commit()
    assert _subscriber("newest@x.org", 2026, "pending") > newest
    if db.engine.dialect.name == "sqlite":
        triggers = db.session.scalars(
            text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        assert {"subscriber_search_delete", "subscriber_search_update"} <= set(triggers)
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1

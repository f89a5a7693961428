"""A small population whose segment counts a person can work out by hand (the table in
``PEOPLE``), for the segment tests on SQLite and PostgreSQL. Dates are days before now, so
"joined this year" reads ``within_days 365``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.models import (
    MailingList,
    Segment,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)

C, P, U = SubscriptionStatus.CONFIRMED, SubscriptionStatus.PENDING, SubscriptionStatus.UNSUBSCRIBED
# email, name, overall status, {list: state}, attributes, signed up / confirmed (days ago)
PEOPLE = [
    (
        "ann@example.org",
        "Ann Berg",
        "confirmed",
        {"weekly": C},
        {"city": "Oslo", "plan": "pro", "age": 34},
        3,
        3,
    ),
    (
        "bob@example.org",
        "Bob Olsen",
        "confirmed",
        {"weekly": C, "daily": C},
        {"city": "oslo", "plan": "free"},
        40,
        39,
    ),
    ("cat@example.com", "Cat Hansen", "pending", {"weekly": P}, {"city": "Bergen"}, 1, None),
    ("dan@example.com", "Dan", "unsubscribed", {"weekly": U}, {"city": "Oslo"}, 400, 400),
    (
        "eve@sample.net",
        "Eve 50% O'Brien",
        "bounced",
        {"daily": C},
        {"plan": "pro", "note": "", "region": "Østfold"},
        10,
        10,
    ),
    ("fay@sample.net", "", "confirmed", {}, {}, 800, 800),
]


def add_people() -> None:
    """The lists weekly and daily and the six people of ``PEOPLE``."""
    lists = {slug: MailingList(slug=slug, name=slug.title()) for slug in ("weekly", "daily")}
    db.session.add_all(lists.values())
    now = utcnow()
    for email, name, status, memberships, attributes, signed_up, confirmed in PEOPLE:
        subscriber = Subscriber(
            email=email,
            name=name,
            status=SubscriberStatus(status),
            attributes=attributes,
            created_at=now - timedelta(days=signed_up),
            confirmed_at=None if confirmed is None else now - timedelta(days=confirmed),
        )
        subscriber.subscriptions = [
            Subscription(mailing_list=lists[slug], status=state)
            for slug, state in memberships.items()
        ]
        db.session.add(subscriber)
    db.session.commit()


@pytest.fixture
def people(app):
    """``add_people`` on the test's app: the segment tests' population."""
    with app.app_context():
        add_people()


def segments_saved(app) -> int:
    """How many segments are saved now (a refused or counting call must not add one)."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Segment))


def emails(subscriber_ids: list[int]) -> set[str]:
    """The addresses of these subscribers, by the first letters (``{"ann", "bob"}``)."""
    rows = db.session.query(Subscriber.email).filter(Subscriber.id.in_(subscriber_ids))
    return {email.split("@")[0] for (email,) in rows}


# Rule trees and whom each matches among PEOPLE: the meaning of every field and op, which the
# match tests check condition by condition and the count tests check as counts.
def _day(days_ago: int) -> str:
    return (utcnow() - timedelta(days=days_ago)).date().isoformat()


def _rule(field: str, op: str, value: object) -> dict:
    return {"all": [{"field": field, "op": op, "value": value}]}


OSLO = {"field": "attributes.city", "op": "eq", "value": "Oslo"}
CASES = [
    # A list's members are those not unsubscribed from it (pending ones too).
    (_rule("list", "eq", "weekly"), {"ann", "bob", "cat"}),
    (_rule("list", "ne", "weekly"), {"dan", "eve", "fay"}),
    (_rule("list", "in", ["daily", "nosuch"]), {"bob", "eve"}),
    (_rule("list", "exists", True), {"ann", "bob", "cat", "eve"}),
    (_rule("list", "exists", False), {"dan", "fay"}),
    # The subscriber's overall status.
    (_rule("status", "eq", "confirmed"), {"ann", "bob", "fay"}),
    (_rule("status", "ne", "confirmed"), {"cat", "dan", "eve"}),
    (_rule("status", "in", ["pending", "bounced"]), {"cat", "eve"}),
    # Email and name ignore case; contains is a substring, % and _ in it are plain characters.
    (_rule("email", "eq", " ANN@Example.org "), {"ann"}),
    (_rule("email", "ne", "ann@example.org"), {"bob", "cat", "dan", "eve", "fay"}),
    (_rule("email", "contains", "SAMPLE.net"), {"eve", "fay"}),
    (_rule("email", "in", ["cat@example.com", "nobody@example.org"]), {"cat"}),
    (_rule("name", "eq", "bob olsen"), {"bob"}),
    (_rule("name", "contains", "HANSEN"), {"cat"}),
    (_rule("name", "contains", "%"), {"eve"}),
    (_rule("name", "contains", "o_b"), set()),
    (_rule("name", "exists", False), {"fay"}),
    (_rule("name", "in", ["ann berg", "Dan"]), {"ann", "dan"}),
    # Attributes compare as text, ignoring case; ne includes those without the attribute.
    (_rule("attributes.city", "eq", "OSLO"), {"ann", "bob", "dan"}),
    (_rule("attributes.city", "ne", "Oslo"), {"cat", "eve", "fay"}),
    (_rule("attributes.city", "contains", "erg"), {"cat"}),
    (_rule("attributes.city", "in", ["bergen", "oslo"]), {"ann", "bob", "cat", "dan"}),
    (_rule("attributes.city", "exists", True), {"ann", "bob", "cat", "dan"}),
    (_rule("attributes.note", "exists", True), set()),  # present but empty
    (_rule("attributes.age", "eq", 34), {"ann"}),
    (_rule("attributes.age", "eq", "34"), {"ann"}),
    (_rule("attributes.Age", "exists", True), set()),  # keys are case-sensitive
    # Beyond ASCII, SQLite's lower() leaves letters as they are: Ø matches Ø, not ø.
    (_rule("attributes.region", "eq", "Østfold"), {"eve"}),
    (_rule("attributes.region", "in", ["ØSTFOLD"]), {"eve"}),
    (_rule("attributes.region", "contains", "ØST"), {"eve"}),
    (_rule("attributes.region", "ne", "Østfold"), {"ann", "bob", "cat", "dan", "fay"}),
    (_rule("attributes.city", "contains", "_"), set()),
    # Dates: before/after leave the day itself out; within_days counts back from now.
    (_rule("signed_up_at", "within_days", 7), {"ann", "cat"}),
    (_rule("signed_up_at", "after", _day(30)), {"ann", "cat", "eve"}),
    (_rule("signed_up_at", "before", _day(365)), {"dan", "fay"}),
    (_rule("signed_up_at", "after", _day(0)), set()),
    (_rule("confirmed_at", "exists", False), {"cat"}),
    (_rule("confirmed_at", "within_days", 30), {"ann", "eve"}),
    (_rule("confirmed_at", "before", _day(30)), {"bob", "dan", "fay"}),  # cat has none
    # Groups nest; empty all is everyone, empty any no one.
    ({"all": [OSLO, {"field": "signed_up_at", "op": "within_days", "value": 365}]}, {"ann", "bob"}),
    (
        {
            "any": [
                {"all": [OSLO, {"field": "status", "op": "eq", "value": "confirmed"}]},
                {"field": "attributes.plan", "op": "eq", "value": "pro"},
            ]
        },
        {"ann", "bob", "eve"},
    ),
    ({"all": [{"any": [{"all": [{"any": [OSLO]}]}]}]}, {"ann", "bob", "dan"}),
    ({"all": []}, {"ann", "bob", "cat", "dan", "eve", "fay"}),
    ({"any": []}, set()),
    (OSLO, {"ann", "bob", "dan"}),  # a bare condition is a group of one
    # Values that look like SQL are only ever compared, as text.
    (_rule("attributes.city", "eq", "x' OR '1'='1"), set()),
    (_rule("name", "contains", "'; DROP TABLE subscriber; --"), set()),
    (_rule("email", "eq", "ann@example.org' OR 1=1 --"), set()),
    (_rule("attributes.city", "in", ["Oslo') OR ('1'='1"]), set()),
]

"""Each field and op of the rules, on SQLite and PostgreSQL, against six people whose answers
a person can work out by hand (tests/helpers/segments.py): who is "on weekly", "in Oslo",
"joined this year", and the values that try to be SQL staying values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers.segments import add_people, emails
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.models import Subscriber, utcnow
from newsletter.segments import rules


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


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_every_field_and_op_matches_the_people_a_person_would_expect(app):
    with app.app_context():
        add_people()
        wrong = []
        for tree, expected in CASES:
            query = select(Subscriber.id).where(rules.where(rules.check(tree)))
            found = emails(list(db.session.scalars(query)))
            if found != expected:
                wrong.append((tree, sorted(found), sorted(expected)))
        assert wrong == []
        assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 6

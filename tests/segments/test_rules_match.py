"""Each field and op of the rules, on SQLite and PostgreSQL, against six people whose answers
a person can work out by hand (tests/helpers/segments.py): who is "on weekly", "in Oslo",
"joined this year", and the values that try to be SQL staying values."""

from __future__ import annotations

import pytest
from helpers.segments import CASES, add_people, emails
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.models import Subscriber
from newsletter.segments import rules


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

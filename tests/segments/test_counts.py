"""A segment's count takes shortcuts for speed (``segments.counting``: a list's members from
the memberships alone, "not X" as everyone less X; SQLite's trigram search table for name
and email ``contains``): each count must still be the number of people the rules match, for
every case that pins the rules' meaning, on both backends, before and after the search table
has taken the subscribers in."""

from __future__ import annotations

import pytest
from helpers.segments import CASES, OSLO, add_people
from sqlalchemy import func, select, text

from newsletter.extensions import db
from newsletter.models import Subscriber
from newsletter.segments import counting, indexes, rules, service
from newsletter.subscribers import browse


def _wrong_counts() -> list[tuple[object, int, int]]:
    wrong = []
    for tree, expected in CASES:
        found = db.session.scalar(counting.query(rules.check(tree)))
        if found != len(expected):
            wrong.append((tree, found, len(expected)))
    return wrong


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_every_count_is_the_number_of_people_the_rules_match(app):
    with app.app_context():
        add_people()
        assert _wrong_counts() == []
        browse.index_new_subscribers()  # SQLite: name/email contains now from the index
        assert _wrong_counts() == []
        # A name changed after indexing is found by its new name only.
        cat = db.session.query(Subscriber).filter(Subscriber.email.like("cat@%")).one()
        cat.name = "Cat Larsen"
        db.session.commit()
        hansen = {"all": [{"field": "name", "op": "contains", "value": "hansen"}]}
        larsen = {"all": [{"field": "name", "op": "contains", "value": "LARSEN"}]}
        counts = [db.session.scalar(counting.query(rules.check(t))) for t in (hansen, larsen)]
        assert counts == [0, 1]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_saved_contains_on_an_attribute_gets_a_trigram_index_the_count_can_read(app):
    with app.app_context():
        add_people()
        tree = {"all": [{"field": "attributes.city", "op": "contains", "value": "ERG"}]}
        service.create("Bergen-ish", tree)
        query = counting.query(rules.check(tree))
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # six rows: a scan is cheaper
        plan = " ".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql)))
        assert indexes.name_for("city", "trgm") in plan
        assert db.session.scalar(query) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("few", [counting.FEW, 1])
def test_counts_are_the_same_once_every_attribute_has_its_index(app, monkeypatch, few):
    # SQLite counts an attribute ``contains`` through the index's few distinct values; with
    # more than ``FEW`` of them (here: more than one) it tests every value in the index.
    monkeypatch.setattr(counting, "FEW", few)
    with app.app_context():
        add_people()
        searched = [t for t, _ in CASES if "field" in t and t["field"].startswith("attributes.")]
        indexes.ensure_for(rules.check({"any": searched + ANYS}))
        db.session.commit()
        assert _wrong_counts() == []
        counts, expected = _counts_and_matches(ANYS)
        assert counts == expected


def _on(lists: object, *also: dict) -> dict:
    op = "exists" if lists is True else "in" if isinstance(lists, list) else "eq"
    return {"all": [{"field": "list", "op": op, "value": lists}, *also]}


# Anys whose alternatives are found from a list's memberships, or from two attributes' indexes.
_CONFIRMED = {"field": "status", "op": "eq", "value": "confirmed"}
_PENDING = {"field": "status", "op": "ne", "value": "confirmed"}
ANYS = [
    {
        "any": [
            {"all": [OSLO, {"field": "attributes.plan", "op": "eq", "value": "pro"}]},
            _on("daily", _CONFIRMED),
        ]
    },
    {"any": [OSLO, _on(["weekly", "daily"], _PENDING)]},
    {"any": [_on(True), _on("weekly", OSLO)]},
    {"any": [_on("nosuch", _CONFIRMED), _on("daily")]},
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("arms", [counting.MERGED_ARMS, 1])
def test_an_any_with_a_list_in_an_alternative_counts_the_people_it_matches(app, monkeypatch, arms):
    # Such an alternative is found from the list's memberships (a list ``in`` two lists has
    # one membership per list: counted once); the rules' own condition decides the expected.
    # SQLite merges them one list and state at a time, or (over ``MERGED_ARMS``) as they are.
    monkeypatch.setattr(counting, "MERGED_ARMS", arms)
    with app.app_context():
        add_people()
        counts, expected = _counts_and_matches(ANYS)
        assert counts == expected
        assert 0 not in expected[:3]


def _counts_and_matches(trees: list[dict]) -> tuple[list[int], list[int]]:
    counts, expected = [], []
    for tree in trees:
        checked = rules.check(tree)
        counts.append(db.session.scalar(counting.query(checked)))
        matching = select(func.count()).where(rules.where(checked))
        expected.append(db.session.scalar(matching.select_from(Subscriber)))
    return counts, expected

"""Saving a segment that filters on an attribute indexes that attribute, on exactly the
expression the count uses (a drift between the two would make every count read every row)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from newsletter.extensions import db
from newsletter.models import Subscriber
from newsletter.segments import indexes, rules, service

# SQLAlchemy's reflection skips indexes on expressions: ask the catalogue.
INDEXES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'subscriber'",
    "postgresql": "SELECT indexname FROM pg_indexes WHERE tablename = 'subscriber'",
}
CITY = {"field": "attributes.home city", "op": "eq", "value": "Oslo"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_saved_segment_indexes_each_attribute_it_filters_on(app):
    with app.app_context():
        service.create("Oslo", {"any": [CITY, {"all": [{**CITY, "field": "attributes.plan"}]}]})
        names = set(db.session.scalars(text(INDEXES[db.engine.dialect.name])))
        assert {indexes.name_for("home city"), indexes.name_for("plan")} <= names
        service.create("Oslo again", {"all": [CITY]})  # an index already there is kept


def test_the_sqlite_count_reads_the_attribute_index(app):
    with app.app_context():
        service.create("Oslo", {"all": [CITY]})
        for op, value in (("eq", "Oslo"), ("in", ["Oslo", "Bergen"]), ("exists", True)):
            condition = rules.where(rules.check({**CITY, "op": op, "value": value}))
            query = select(func.count()).select_from(Subscriber).where(condition)
            sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(
                row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql))
            )
            assert indexes.name_for("home city") in plan, (op, plan)

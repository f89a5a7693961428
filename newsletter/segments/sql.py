"""The SQL constructs compiled rules are made of, where SQLite and PostgreSQL want different
SQL for the same meaning: an attribute's value as text, "the subscribers (not) among these
ids", and where SQLite's trigram search table can narrow a substring search."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    ScalarSelect,
    Select,
    String,
    any_,
    exists,
    literal,
    not_,
    select,
    true,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import _CompoundSelectKeyword

from ..models import Subscriber
from ..subscribers.browse import SEARCH, SEARCH_STATE, TRIGRAM, match

# A key is rendered into the SQL as a quoted literal (so that an index on the attribute's
# expression can be used): only letters, digits, space, ``_``, ``.`` and ``-`` are allowed,
# which no quoting trick can be made of.
KEY = re.compile(r"^\w[\w .-]{0,99}$")


def among(ids: Select[Any] | CompoundSelect, *, negate: bool = False) -> ColumnElement[bool]:
    """Subscribers whose id is (not) among ``ids``. SQLite: ``IN``, whose set is built once
    and probed per row. PostgreSQL: ``EXISTS``, a hash (anti-)join, or one index probe per row
    inside an ``any``: its ``IN`` over a set larger than ``work_mem`` is re-read for every
    row, which over a million subscribers never ends."""
    found = ids.subquery()
    (column,) = found.columns
    # ``id + 0``: SQLite would otherwise walk the set and fetch each row by id, taking the set
    # to be small, and test the other conditions on every one of its rows (half a million
    # rows' JSON for "on weekly and in Oslo") rather than start from a selective index.
    inside = (Subscriber.id + 0).in_(select(column))
    there = exists().where(column == Subscriber.id)
    if negate:
        inside, there = Subscriber.id.not_in(select(column)), not_(there)
    return _per_backend(inside, there)


def maybe_containing(value: str) -> ColumnElement[bool]:
    """A superset of the subscribers whose email or name contains ``value``, to be ANDed with
    the exact test. SQLite: those its trigram search table (migration 0003, kept by
    ``subscribers.browse``) finds, plus the newest it has not taken in yet; the table folds
    case beyond ASCII, so it finds more than LIKE, never fewer. Elsewhere, and for fewer than
    three characters, everyone: PostgreSQL's pg_trgm indexes serve its ILIKE directly."""
    if len(value) < TRIGRAM:
        return true()
    indexed = select(SEARCH.c.rowid).where(match(value))
    newest = select(Subscriber.id).where(
        Subscriber.id > select(SEARCH_STATE.c.last_id).scalar_subquery()
    )
    return _per_backend(Subscriber.id.in_(union(indexed, newest)), true())


def among_values(column: Any, ids: Select[Any]) -> ColumnElement[bool]:
    """``column IN ids`` for a handful of ids (a rule's lists). PostgreSQL: ``= ANY(ARRAY(
    ids))``, worked out once before the query, so that its planner can probe the memberships'
    primary key for each candidate ("on weekly and in Oslo": the Oslo few) rather than hash
    all half a million members of the list, which it does for an ``IN`` subquery."""
    return _per_backend(column.in_(ids), column == any_(_array(ids.scalar_subquery())))


def on_sqlite(sqlite: ColumnElement[Any], elsewhere: ColumnElement[Any]) -> ColumnElement[Any]:
    """``sqlite`` on SQLite, ``elsewhere`` on PostgreSQL."""
    return _per_backend(sqlite, elsewhere)


class intersect_first(CompoundSelect):  # noqa: N801 (a SQL construct, named as one)
    """``a INTERSECT b ...`` written without parentheses, to lead a ``UNION`` (SQLite):
    SQLite reads a compound left to right and allows no parenthesised part, and with an
    ``ORDER BY`` it merges the whole chain in one pass; SQLAlchemy would parenthesise it."""

    inherit_cache = True

    def __init__(self, *selects: Select[Any]) -> None:
        super().__init__(_CompoundSelectKeyword.INTERSECT, *selects)

    def self_group(self, against: Any = None) -> Any:
        return self


class _array(FunctionElement[Any]):  # noqa: N801 (a SQL construct, named as one)
    """PostgreSQL's ``ARRAY(subquery)``."""

    inherit_cache = True
    name = "array"

    def __init__(self, subquery: ScalarSelect[Any]) -> None:
        super().__init__(subquery)


@compiles(_array)
def _array_default(element: _array, compiler: Any, **kw: Any) -> str:
    (subquery,) = element.clauses
    return "ARRAY" + compiler.process(subquery, **kw)  # the subquery brings its parentheses


class _per_backend(FunctionElement[Any]):  # noqa: N801 (a SQL construct, named as one)
    """One condition written for SQLite (first) and for PostgreSQL (second); each backend
    compiles its own. (Untyped: a Boolean would be compared with 1 on SQLite.)"""

    inherit_cache = True
    name = "per_backend"


@compiles(_per_backend)
def _per_backend_default(element: _per_backend, compiler: Any, **kw: Any) -> str:
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(_per_backend, "postgresql")
def _per_backend_postgresql(element: _per_backend, compiler: Any, **kw: Any) -> str:
    return compiler.process(list(element.clauses)[1], **kw)


class attribute(FunctionElement[str]):  # noqa: N801 (a SQL function, named as one)
    """An attribute's value as text (NULL when absent). The key is rendered as a quoted literal
    (``KEY`` allows no quote) so that the per-attribute expression index matches the query."""

    type = String()
    inherit_cache = True
    name = "attribute"

    def __init__(self, key: str) -> None:
        if not KEY.match(key):
            raise ValueError(f"bad attribute key {key!r}")
        super().__init__(
            Subscriber.attributes,
            literal(key, String(), literal_execute=True),
            literal(f'$."{key}"', String(), literal_execute=True),
        )


@compiles(attribute, "sqlite")
def _attribute_sqlite(element: attribute, compiler: Any, **kw: Any) -> str:
    column, _, path = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(json_extract({column}, {path}) AS TEXT)"


@compiles(attribute, "postgresql")
def _attribute_postgresql(element: attribute, compiler: Any, **kw: Any) -> str:
    column, key, _ = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({column} ->> {key})"

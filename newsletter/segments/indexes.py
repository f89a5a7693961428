"""An index per attribute a saved segment filters on, so that counting and sending to
"attributes.city eq Oslo" over a million subscribers reads an index, not every row's JSON.

Attributes are free-form (a CSV's columns), so no migration can know them: the index is made
when a segment that filters on one is saved, on exactly the expression ``rules.where`` writes
(``lower`` of the attribute as text), and kept when the segment goes (another may use it).
Their names start ``ix_subscriber_attr_``; they are not in the models, on purpose.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func

from ..extensions import db
from .rules import attribute_keys
from .sql import attribute

PREFIX = "ix_subscriber_attr_"


def name_for(key: str, kind: str = "") -> str:
    """The index's name: derived from the key, never the key itself (any letters allowed);
    ``kind`` "trgm" for PostgreSQL's trigram index of the same expression."""
    return PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16] + (f"_{kind}" * bool(kind))


def ensure_for(rules: dict[str, Any]) -> None:
    """Make the index of every attribute the (checked) rules filter on, unless it exists, in
    the session's transaction (committed with the segment that needs it). On PostgreSQL, an
    attribute a ``contains`` searches gets a trigram (pg_trgm, migration 0003) index of the
    same expression too, which its ``LIKE '%...%'`` reads instead of every row's JSON.

    Not ``CONCURRENTLY`` on PostgreSQL: that waits for every open transaction, the caller's
    own included. Building one over a million subscribers takes a few seconds (see
    bench/segments.py), during which signups wait; it happens once per attribute."""
    connection = db.session.connection()
    searched = attribute_keys(rules, "contains")
    for key in sorted(attribute_keys(rules)):
        expression = func.lower(attribute(key)).compile(
            dialect=connection.dialect,
            compile_kwargs={"literal_binds": True, "include_table": False},
        )
        connection.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {name_for(key)} ON subscriber (({expression}))"
        )
        if key in searched and connection.dialect.name == "postgresql":
            connection.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {name_for(key, 'trgm')} ON subscriber"
                f" USING gin (({expression}) gin_trgm_ops)"
            )

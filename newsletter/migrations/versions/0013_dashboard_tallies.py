"""dashboard tallies: subscriber and membership counts kept by triggers

The dashboard counted every subscriber and membership on each view (171 ms at a million
subscribers). These two tables hold the counts as rows of changes (+1, -1) that triggers
write whenever a subscriber or a membership is added, changes state or is deleted, whichever
code path or bulk statement did it; the dashboard sums them and the tick folds them into one
row per key (``subscribers.tallies``). Seeded here from the data as it stands.

A subscriber's delete subtracts its memberships before they go (BEFORE DELETE): the
memberships' own delete triggers, fired by the cascade, find no subscriber and add nothing.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TABLES = ("subscriber_tally", "list_tally")

# The day a subscriber signed up, in UTC, from a row of subscriber (``{row}`` is NEW or OLD).
_DAY = {
    "sqlite": "date({row}.created_at)",
    "postgresql": "({row}.created_at AT TIME ZONE 'UTC')::date",
}


def _subscriber_change(sign: str, row: str, day: str) -> str:
    return (
        f"INSERT INTO subscriber_tally (status, created_on, n)"
        f" VALUES ({row}.status, {day.format(row=row)}, {sign}1);"
    )


def _memberships_of(sign: str, row: str) -> str:
    """The subscriber's memberships moved into (+) or out of (-) its state ``row.status``."""
    return (
        f"INSERT INTO list_tally (list_id, status, subscriber_status, n)"
        f" SELECT list_id, status, {row}.status, {sign}1 FROM subscription"
        f" WHERE subscriber_id = {row}.id;"
    )


def _membership(sign: str, row: str) -> str:
    """One membership counted in (+) or out (-), under its subscriber's state (none: the
    subscriber is being deleted and took its memberships out already)."""
    return (
        f"INSERT INTO list_tally (list_id, status, subscriber_status, n)"
        f" SELECT {row}.list_id, {row}.status, status, {sign}1 FROM subscriber"
        f" WHERE id = {row}.subscriber_id;"
    )


_SUBSCRIBER_MOVED = "OLD.status IS DISTINCT FROM NEW.status"
_DAY_MOVED = "OLD.created_at IS DISTINCT FROM NEW.created_at"
_MEMBERSHIP_MOVED = (
    "OLD.status IS DISTINCT FROM NEW.status OR OLD.list_id <> NEW.list_id"
    " OR OLD.subscriber_id <> NEW.subscriber_id"
)


def _bodies(day: str) -> dict[str, tuple[str, str, str, str]]:
    """name -> (timing and event, table, WHEN condition or "", body)."""
    return {
        "tally_subscriber_insert": (
            "AFTER INSERT",
            "subscriber",
            "",
            _subscriber_change("+", "NEW", day),
        ),
        "tally_subscriber_update": (
            "AFTER UPDATE OF status, created_at",
            "subscriber",
            f"{_SUBSCRIBER_MOVED} OR {_DAY_MOVED}",
            _subscriber_change("-", "OLD", day) + _subscriber_change("+", "NEW", day),
        ),
        "tally_subscriber_status": (
            "AFTER UPDATE OF status",
            "subscriber",
            _SUBSCRIBER_MOVED,
            _memberships_of("-", "OLD") + _memberships_of("+", "NEW"),
        ),
        "tally_subscriber_delete": (
            "BEFORE DELETE",
            "subscriber",
            "",
            _subscriber_change("-", "OLD", day) + _memberships_of("-", "OLD"),
        ),
        "tally_subscription_insert": ("AFTER INSERT", "subscription", "", _membership("+", "NEW")),
        "tally_subscription_update": (
            "AFTER UPDATE OF status, list_id, subscriber_id",
            "subscription",
            _MEMBERSHIP_MOVED,
            _membership("-", "OLD") + _membership("+", "NEW"),
        ),
        "tally_subscription_delete": ("AFTER DELETE", "subscription", "", _membership("-", "OLD")),
    }


def _create_triggers(dialect: str) -> None:
    for name, (event, table, when, body) in _bodies(_DAY[dialect]).items():
        if dialect == "sqlite":
            when_sql = f" WHEN {when.replace('IS DISTINCT FROM', 'IS NOT')}" if when else ""
            op.execute(
                f"CREATE TRIGGER {name} {event} ON {table} FOR EACH ROW{when_sql} BEGIN {body} END"
            )
            continue
        returned = "OLD" if event.startswith("BEFORE DELETE") else "NULL"
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {body} RETURN {returned}; END $$"
        )
        when_sql = f" WHEN ({when})" if when else ""
        op.execute(
            f"CREATE TRIGGER {name} {event} ON {table} FOR EACH ROW{when_sql}"
            f" EXECUTE FUNCTION {name}()"
        )


def upgrade():
    op.create_table(
        "subscriber_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "list_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("subscriber_status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    dialect = op.get_bind().dialect.name
    day = _DAY[dialect].format(row="subscriber")
    op.execute(
        f"INSERT INTO subscriber_tally (status, created_on, n)"
        f" SELECT status, {day}, count(*) FROM subscriber GROUP BY status, {day}"
    )
    op.execute(
        "INSERT INTO list_tally (list_id, status, subscriber_status, n)"
        " SELECT m.list_id, m.status, s.status, count(*) FROM subscription m"
        " JOIN subscriber s ON s.id = m.subscriber_id"
        " GROUP BY m.list_id, m.status, s.status"
    )
    _create_triggers(dialect)


def downgrade():
    dialect = op.get_bind().dialect.name
    for name, (_event, table, _when, _body) in _bodies(_DAY[dialect]).items():
        op.execute(
            f"DROP TRIGGER IF EXISTS {name}" + ("" if dialect == "sqlite" else f" ON {table}")
        )
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    for table in _TABLES:
        op.drop_table(table)

"""admin browse: indexes for sorted/filtered subscriber pages, delivery history, and
substring search (FTS5 trigram on SQLite, pg_trgm on PostgreSQL)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# SQLite: an external-content FTS5 trigram table over subscriber(email, name). New rows are
# indexed in bulk by ``browse.index_new_subscribers`` (a trigger per inserted row would
# halve import speed); ``subscriber_search_state.last_id`` says how far indexing got, and
# the delete/update triggers touch only rows already indexed (deleting a row the index never
# held would corrupt it).
_SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE subscriber_search USING fts5(
        email, name, content='subscriber', content_rowid='id', tokenize='trigram')""",
    """CREATE TABLE subscriber_search_state (
        id INTEGER PRIMARY KEY CHECK (id = 1), last_id INTEGER NOT NULL)""",
    "INSERT INTO subscriber_search_state (id, last_id) VALUES (1, 0)",
    """CREATE TRIGGER subscriber_search_delete AFTER DELETE ON subscriber
    WHEN old.id <= (SELECT last_id FROM subscriber_search_state) BEGIN
        INSERT INTO subscriber_search(subscriber_search, rowid, email, name)
        VALUES ('delete', old.id, old.email, old.name);
    END""",
    """CREATE TRIGGER subscriber_search_update AFTER UPDATE OF email, name ON subscriber
    WHEN old.id <= (SELECT last_id FROM subscriber_search_state) BEGIN
        INSERT INTO subscriber_search(subscriber_search, rowid, email, name)
        VALUES ('delete', old.id, old.email, old.name);
        INSERT INTO subscriber_search(rowid, email, name) VALUES (new.id, new.email, new.name);
    END""",
    """INSERT INTO subscriber_search(rowid, email, name)
        SELECT id, email, name FROM subscriber ORDER BY id""",
    "UPDATE subscriber_search_state SET last_id = (SELECT coalesce(max(id), 0) FROM subscriber)",
]


def upgrade():
    op.create_index("ix_subscriber_status_email", "subscriber", ["status", "email"])
    op.create_index("ix_delivery_subscriber", "delivery", ["subscriber_id"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_SEARCH:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_subscriber_email_trgm ON subscriber USING gin (email gin_trgm_ops)"
        )
        op.execute(
            "CREATE INDEX ix_subscriber_name_trgm ON subscriber USING gin (name gin_trgm_ops)"
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS subscriber_search_{name}")
        op.execute("DROP TABLE IF EXISTS subscriber_search_state")
        op.execute("DROP TABLE IF EXISTS subscriber_search")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_subscriber_name_trgm")
        op.execute("DROP INDEX IF EXISTS ix_subscriber_email_trgm")
    op.drop_index("ix_delivery_subscriber", "delivery")
    op.drop_index("ix_subscriber_status_email", "subscriber")

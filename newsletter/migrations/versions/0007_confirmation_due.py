"""confirmation mails owed: when a reader was promised one that has not gone out yet

A confirmation mail waits on a Redis list (or the embedded queue) between the signup and its
sending, so a Redis restarted empty, or a process that died, could lose it while the reader
had been told to check their inbox. The signup now notes the debt in the reader's row and
the sending clears it; the periodic tick sends again what has been owed for too long. A
partial index keeps that look-up small: only readers with a mail owed are in it.

Readers pending before this migration are taken as mailed (nothing owed), so the upgrade
sends nobody a second link.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_OWED = sa.text("confirmation_due_at IS NOT NULL")


def upgrade():
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("confirmation_due_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_subscriber_confirmation_due",
        "subscriber",
        ["confirmation_due_at"],
        unique=False,
        sqlite_where=_OWED,
        postgresql_where=_OWED,
    )


def downgrade():
    op.drop_index("ix_subscriber_confirmation_due", table_name="subscriber")
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.drop_column("confirmation_due_at")

"""delivery claims and retries: small partial indexes for the reaper

On every tick the reaper looks for claims of dead workers and for retries that came due;
without these indexes each is a scan of every queued delivery (a second per million).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_HELD = sa.text("claimed_by IS NOT NULL")
_RETRYING = sa.text("next_attempt_at IS NOT NULL")


def upgrade():
    for name, column, where in (
        ("ix_delivery_claimed_by", "claimed_by", _HELD),
        ("ix_delivery_retry_at", "next_attempt_at", _RETRYING),
    ):
        op.create_index(
            name, "delivery", [column], unique=False, sqlite_where=where, postgresql_where=where
        )


def downgrade():
    op.drop_index("ix_delivery_retry_at", table_name="delivery")
    op.drop_index("ix_delivery_claimed_by", table_name="delivery")

"""default lists and bounce evidence

A signup box pasted into another site posts only an address: it joins the lists the admin
marked default (``mailing_list.is_default``). A bounce or complaint report is acted on only
when something we signed ties it to a delivery or subscriber; ``bounce.verified`` records whether
it was, so the admin sees forged or unverifiable reports that suppressed nobody. Reports kept
before this upgrade are shown as unverified: they were matched by guessable evidence.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mailing_list", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("bounce", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("bounce", schema=None) as batch_op:
        batch_op.drop_column("verified")
    with op.batch_alter_table("mailing_list", schema=None) as batch_op:
        batch_op.drop_column("is_default")

"""import jobs: a heartbeat and what a resumed run needs

A worker that dies mid-import used to leave its job "running" for ever. The job now notes
when it last made progress (``heartbeat_at``); the periodic tick hands a job silent for too
long to another worker, which carries on after the last committed chunk with the same run
identity (``started_at``, ``first_new_id``), or marks it failed after ``resumes`` tries.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_new_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("resumes", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade():
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        for column in ("resumes", "first_new_id", "started_at", "heartbeat_at"):
            batch_op.drop_column(column)

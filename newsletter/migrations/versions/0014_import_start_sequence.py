"""imports that leave the list's sequence unstarted

An admin's import runs in the background, maybe resumed by another worker after a crash, so
whether it starts the list's sequence for the readers it confirms is kept with the job, as
its consent mode is. Every import so far started it.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "import_job",
        sa.Column("start_sequence", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade():
    op.drop_column("import_job", "start_sequence")

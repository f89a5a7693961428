"""import uploads in the database: a worker on any host can read the file

The uploaded CSV used to be saved in the web host's instance folder, where a worker on
another host could not read it. It is now stored in pieces (``import_upload_part``) and
deleted when the import ends, so ``import_job.path`` goes. An import still queued across
this upgrade finds no stored file and fails, asking for the file again.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_upload_part",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_job.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "seq"),
    )
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.drop_column("path")


def downgrade():
    with op.batch_alter_table("import_job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("path", sa.String(length=1000), nullable=False, server_default="")
        )
    op.drop_table("import_upload_part")

"""segments, sequences, languages, two-factor sign-in, media, site settings

Segments are saved filters an issue may target (with lists: the intersection). A list's
sequence is ordered steps, each held in an issue of kind ``step`` so the delivery engine sends
it; a subscription now remembers when it was confirmed, since a step's delay counts from
there (filled for existing confirmed memberships from their last change). Subscribers get a
language, admins a TOTP secret and recovery codes; uploaded images and the owners' settings
(mail layout, two-factor for everyone) get tables of their own.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_NEVER_REUSED = {"sqlite_autoincrement": True}
_WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        **_NEVER_REUSED,
    )
    # Plain ADD COLUMN on every backend: a SQLite table rebuild would drop AUTOINCREMENT, and
    # SQLite takes a reference in ADD COLUMN only when written in the column itself.
    op.add_column(
        "issue", sa.Column("kind", sa.String(length=20), nullable=False, server_default="issue")
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE issue ADD COLUMN segment_id INTEGER"
            " REFERENCES segment (id) ON DELETE RESTRICT"
        )
    else:
        op.add_column("issue", sa.Column("segment_id", sa.Integer(), nullable=True))
        op.create_foreign_key(None, "issue", "segment", ["segment_id"], ["id"], ondelete="RESTRICT")
    op.create_index("ix_issue_kind_id", "issue", ["kind", "id"])
    op.create_index("ix_issue_segment_id", "issue", ["segment_id"])

    op.add_column("subscription", sa.Column("confirmed_at", _WHEN, nullable=True))
    op.execute("UPDATE subscription SET confirmed_at = updated_at WHERE status = 'confirmed'")
    op.create_index("ix_subscription_list_confirmed", "subscription", ["list_id", "confirmed_at"])
    op.add_column("subscriber", sa.Column("language", sa.String(length=16), nullable=True))
    op.create_index("ix_subscriber_confirmed_at", "subscriber", ["confirmed_at"])
    op.add_column("mailing_list", sa.Column("sequence_paused_at", _WHEN, nullable=True))
    op.add_column(
        "mailing_list",
        sa.Column("sends_welcome", sa.Boolean(), nullable=False, server_default=sa.true()),
    )

    op.create_table(
        "sequence_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("delay_seconds", sa.Integer(), nullable=False),
        sa.Column("reaches_confirmed_since", _WHEN, nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["mailing_list.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["issue_id"], ["issue.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issue_id"),
        **_NEVER_REUSED,
    )
    op.create_index("ix_sequence_step_list_position", "sequence_step", ["list_id", "position"])

    op.add_column("admin_user", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column("admin_user", sa.Column("totp_enabled_at", _WHEN, nullable=True))
    op.add_column("admin_user", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.add_column(
        "admin_user",
        sa.Column("recovery_code_hashes", sa.JSON(), nullable=False, server_default="[]"),
    )

    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("original_filename", sa.String(length=300), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["admin_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "site_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade():
    op.drop_table("site_setting")
    op.drop_table("media")
    for column in ("recovery_code_hashes", "totp_last_step", "totp_enabled_at", "totp_secret"):
        op.drop_column("admin_user", column)
    op.drop_index("ix_sequence_step_list_position", table_name="sequence_step")
    op.drop_table("sequence_step")
    op.drop_column("mailing_list", "sends_welcome")
    op.drop_column("mailing_list", "sequence_paused_at")
    op.drop_index("ix_subscriber_confirmed_at", table_name="subscriber")
    op.drop_column("subscriber", "language")
    op.drop_index("ix_subscription_list_confirmed", table_name="subscription")
    op.drop_column("subscription", "confirmed_at")
    op.drop_index("ix_issue_segment_id", table_name="issue")
    op.drop_index("ix_issue_kind_id", table_name="issue")
    with op.batch_alter_table("issue", recreate="never") as batch_op:
        batch_op.drop_column("segment_id")
        batch_op.drop_column("kind")
    op.drop_table("segment")

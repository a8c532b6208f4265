"""console hardening: the shared session key, and the login throttle's index

Revision ID: 0011_console_hardening
Revises: 0010_outbox_batches
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0011_console_hardening"
down_revision = "0010_outbox_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_console_secrets")),
    )
    with op.batch_alter_table("console_login_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_console_login_attempts_username_ip_at", ["username", "ip", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("console_login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_console_login_attempts_username_ip_at")
    op.drop_table("console_secrets")

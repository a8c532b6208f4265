"""signing in with WeCom (console accounts tied to a WeCom member, one-use OAuth states) and
an event's place in words (the check-in page and poster)

Revision ID: 0020_console_sso
Revises: 0017_learning
"""

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision = "0020_console_sso"
down_revision = "0018_submissions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("console_accounts", sa.Column("wecom_userid", sa.String(length=64)))
    op.create_index(
        op.f("ix_console_accounts_wecom_userid"),
        "console_accounts",
        ["wecom_userid"],
        unique=True,
    )
    op.create_table(
        "console_oauth_states",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_console_oauth_states")),
    )
    op.create_index(
        op.f("ix_console_oauth_states_created_at"), "console_oauth_states", ["created_at"]
    )
    op.add_column("checkin_events", sa.Column("place", sa.String(length=128)))


def downgrade() -> None:
    op.drop_column("checkin_events", "place")
    op.drop_index(op.f("ix_console_oauth_states_created_at"), table_name="console_oauth_states")
    op.drop_table("console_oauth_states")
    op.drop_index(op.f("ix_console_accounts_wecom_userid"), table_name="console_accounts")
    op.drop_column("console_accounts", "wecom_userid")

"""first week (a): which 责任书 text each person was shown, and when

Revision ID: 0012_first_week_a
Revises: 0011_console_hardening
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0012_first_week_a"
down_revision = "0011_console_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pledge_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("shown_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledge_views")),
        sa.UniqueConstraint("userid", "text_hash", name=op.f("uq_pledge_views_userid_text_hash")),
    )


def downgrade() -> None:
    op.drop_table("pledge_views")

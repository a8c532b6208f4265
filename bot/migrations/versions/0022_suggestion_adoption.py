"""suggestions can be adopted (采纳): who adopted and when

Revision ID: 0022_suggestion_adoption
Revises: 0021_activity_reports
"""

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision = "0022_suggestion_adoption"
down_revision = "0021_activity_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("adopted_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("adopted_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("adopted_by")
        batch.drop_column("adopted_at")

"""events know their invited departments; a manual sign-in records who made it

Revision ID: 0014_first_week_c
Revises: 0013_first_week_b
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_first_week_c"
down_revision = "0016_questions_asked"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkin_events", schema=None) as batch_op:
        # Existing events invited everyone.
        batch_op.add_column(
            sa.Column("department_ids", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("event_attendance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event_attendance", schema=None) as batch_op:
        batch_op.drop_column("recorded_by")
    with op.batch_alter_table("checkin_events", schema=None) as batch_op:
        batch_op.drop_column("department_ids")

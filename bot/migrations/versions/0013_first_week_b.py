"""outbox batches keep the msgid message/send answered, so a sent warning can be recalled

Revision ID: 0013_first_week_b
Revises: 0011_console_hardening
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_first_week_b"
down_revision = "0012_first_week_a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("msgid", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_batches", schema=None) as batch_op:
        batch_op.drop_column("msgid")

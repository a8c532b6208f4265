"""outbox batches: a message/send call formed once and resent byte-identical

Revision ID: 0010_outbox_batches
Revises: 0009_daily_activity
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0010_outbox_batches"
down_revision = "0009_daily_activity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("lease_until", bot.models.base.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbound_messages.id"],
            name=op.f("fk_outbox_batches_message_id_outbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_batches")),
    )
    with op.batch_alter_table("outbox_batches", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_batches_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_batches_message_id"), ["message_id"], unique=False
        )
    with op.batch_alter_table("outbox_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_deliveries_batch_id"), ["batch_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_deliveries_batch_id_outbox_batches"),
            "outbox_batches",
            ["batch_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_deliveries_batch_id_outbox_batches"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_deliveries_batch_id"))
        batch_op.drop_column("batch_id")
    op.drop_table("outbox_batches")

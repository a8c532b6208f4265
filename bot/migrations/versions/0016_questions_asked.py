"""questions asked to the bot, follow-up choices, WT- tickets

Revision ID: 0016_questions_asked
Revises: 0013_first_week_b
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0016_questions_asked"
down_revision = "0015_inspections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions_asked",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("asked_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("best_id", sa.String(length=128), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions_asked")),
    )
    with op.batch_alter_table("questions_asked", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_questions_asked_userid"), ["userid"], unique=False)
        batch_op.create_index(batch_op.f("ix_questions_asked_outcome"), ["outcome"], unique=False)

    op.create_table(
        "qa_followups",
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("at", bot.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("userid", name=op.f("pk_qa_followups")),
    )

    op.create_table(
        "question_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=32), nullable=False),
        sa.Column("asker", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("best_id", sa.String(length=128), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_tickets")),
        sa.UniqueConstraint("ticket", name=op.f("uq_question_tickets_ticket")),
        sa.UniqueConstraint("question_id", name=op.f("uq_question_tickets_question_id")),
    )
    with op.batch_alter_table("question_tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_tickets_asker"), ["asker"], unique=False)
        batch_op.create_index(batch_op.f("ix_question_tickets_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("question_tickets")
    op.drop_table("qa_followups")
    with op.batch_alter_table("questions_asked", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questions_asked_outcome"))
        batch_op.drop_index(batch_op.f("ix_questions_asked_userid"))
    op.drop_table("questions_asked")

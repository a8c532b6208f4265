"""learning tasks (学习任务) and who opened, confirmed and answered them

Revision ID: 0017_learning
Revises: 0013_first_week_b
"""

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision = "0017_learning"
down_revision = "0014_first_week_c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("members_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_tasks")),
    )
    op.create_table(
        "learning_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("confirm_channel", sa.String(length=16), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["learning_tasks.id"],
            name=op.f("fk_learning_assignments_task_id_learning_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_assignments")),
        sa.UniqueConstraint("task_id", "userid", name=op.f("uq_learning_assignments_task_id_userid")),
        sa.UniqueConstraint("token", name=op.f("uq_learning_assignments_token")),
    )
    op.create_index(
        op.f("ix_learning_assignments_task_id"), "learning_assignments", ["task_id"], unique=False
    )
    op.create_index(
        op.f("ix_learning_assignments_userid"), "learning_assignments", ["userid"], unique=False
    )
    op.create_index(
        op.f("ix_learning_assignments_completed_at"),
        "learning_assignments",
        ["completed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("learning_assignments")
    op.drop_table("learning_tasks")

"""running totals: person_totals, department_day_counts, quiz_answers.department_id

Revision ID: 0023_counters
Revises: 0022_suggestion_adoption
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_counters"
down_revision = "0022_suggestion_adoption"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_totals",
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("points", sa.Integer(), server_default="0", nullable=False),
        sa.Column("answers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("correct", sa.Integer(), server_default="0", nullable=False),
        sa.Column("took_part_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("userid", name=op.f("pk_person_totals")),
    )
    op.create_index("ix_person_totals_points", "person_totals", ["points", "userid"])
    op.create_table(
        "department_day_counts",
        sa.Column("department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("quiz_answers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("quiz_correct", sa.Integer(), server_default="0", nullable=False),
        sa.Column("quiz_points", sa.Integer(), server_default="0", nullable=False),
        sa.Column("checkins", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("department_id", "day", name=op.f("pk_department_day_counts")),
    )
    with op.batch_alter_table("quiz_answers") as batch:
        batch.add_column(sa.Column("department_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quiz_answers") as batch:
        batch.drop_column("department_id")
    op.drop_table("department_day_counts")
    op.drop_index("ix_person_totals_points", table_name="person_totals")
    op.drop_table("person_totals")

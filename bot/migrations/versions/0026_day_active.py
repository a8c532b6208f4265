"""running totals of the people who used the bot per department and day: department_day_active

daily_activity's department index goes: it served only the per-day figure for a branch, which
reads department_day_active now, and it cost a write on every person's first message of a day.

Revision ID: 0026_day_active
Revises: 0025_department_totals
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_day_active"
down_revision = "0025_department_totals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "department_day_active",
        sa.Column("department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("people", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("department_id", "day", name=op.f("pk_department_day_active")),
    )
    _backfill()
    op.drop_index(op.f("ix_daily_activity_department_id"), table_name="daily_activity")


def _backfill() -> None:
    """One INSERT … SELECT … GROUP BY over daily_activity (one row per person and day, with
    the department they were in). Self-contained SQL (tables named here, not the models), so
    it keeps meaning what it meant at 0026; 0 stands for no department, as in
    department_day_counts."""
    activity = sa.table(
        "daily_activity",
        sa.column("day", sa.Date()),
        sa.column("department_id", sa.Integer()),
    )
    department = sa.func.coalesce(activity.c.department_id, sa.literal_column("0"))
    counts = sa.table(
        "department_day_active",
        sa.column("department_id", sa.Integer()),
        sa.column("day", sa.Date()),
        sa.column("people", sa.Integer()),
    )
    op.get_bind().execute(
        sa.insert(counts).from_select(
            ["department_id", "day", "people"],
            sa.select(department, activity.c.day, sa.func.count()).group_by(
                department, activity.c.day
            ),
        )
    )


def downgrade() -> None:
    op.create_index(
        op.f("ix_daily_activity_department_id"), "daily_activity", ["department_id"], unique=False
    )
    op.drop_table("department_day_active")

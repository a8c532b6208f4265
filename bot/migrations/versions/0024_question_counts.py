"""running totals per department and quiz question: question_counts

Revision ID: 0024_question_counts
Revises: 0023_counters
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_question_counts"
down_revision = "0023_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_counts",
        sa.Column("department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("answers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("correct", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("department_id", "question_id", name=op.f("pk_question_counts")),
    )
    _backfill()


def _backfill() -> None:
    """One INSERT … SELECT … GROUP BY over the answers already stored. Self-contained SQL
    (tables named here, not the models), so it keeps meaning what it meant at 0024. The
    department is the answer's, or (answers stored before 0023) the person's current one, or
    0 for none: bot.counters_check's rule."""
    answers = sa.table(
        "quiz_answers",
        sa.column("userid", sa.String()),
        sa.column("question_id", sa.String()),
        sa.column("correct", sa.Boolean()),
        sa.column("department_id", sa.Integer()),
    )
    users = sa.table("users", sa.column("userid", sa.String()), sa.column("department_id", sa.Integer()))
    zero, one = sa.literal_column("0"), sa.literal_column("1")
    current = (
        sa.select(users.c.department_id)
        .where(users.c.userid == answers.c.userid)
        .scalar_subquery()
    )
    department = sa.func.coalesce(answers.c.department_id, current, zero)
    counts = sa.table(
        "question_counts",
        sa.column("department_id", sa.Integer()),
        sa.column("question_id", sa.String()),
        sa.column("answers", sa.Integer()),
        sa.column("correct", sa.Integer()),
    )
    op.get_bind().execute(
        sa.insert(counts).from_select(
            ["department_id", "question_id", "answers", "correct"],
            sa.select(
                department,
                answers.c.question_id,
                sa.func.count(),
                sa.func.sum(sa.case((answers.c.correct, one), else_=zero)),
            ).group_by(department, answers.c.question_id),
        )
    )


def downgrade() -> None:
    op.drop_table("question_counts")

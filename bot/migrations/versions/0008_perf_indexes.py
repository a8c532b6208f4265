"""indexes for the reports and the rankings (quiz_answers, daily_checkins)

Merges the feature branches (see docs/PERFORMANCE.md, section Reports).

Revision ID: 0008_perf_indexes
Revises: 0002_quiz, 0003_pledge, 0004_checkin, 0005_hazard, 0006_warning, 0007_console
"""

from alembic import op

revision = "0008_perf_indexes"
down_revision = (
    "0002_quiz",
    "0003_pledge",
    "0004_checkin",
    "0005_hazard",
    "0006_warning",
    "0007_console",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quiz_answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quiz_answers_scores",
            ["userid", "points", "correct", "question_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_quiz_answers_question_id_correct", ["question_id", "correct"], unique=False
        )

    with op.batch_alter_table("daily_checkins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_daily_checkins_department_id"), ["department_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("daily_checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daily_checkins_department_id"))
    with op.batch_alter_table("quiz_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_quiz_answers_question_id_correct")
        batch_op.drop_index("ix_quiz_answers_scores")

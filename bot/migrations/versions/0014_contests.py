"""contests: one drawn question set per contest, departments, voided questions, cancel,
opening notice and announcement markers

Revision ID: 0014_contests
Revises: 0013_first_week_b
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0014_contests"
down_revision = "0013_first_week_b"
branch_labels = None
depends_on = None

COLUMNS = (
    ("question_ids", sa.JSON()),
    ("department_ids", sa.JSON()),
    ("voided_question_ids", sa.JSON()),
    ("cancelled_at", bot.models.base.UTCDateTime()),
    ("cancelled_by", sa.String(length=64)),
    ("open_notified_at", bot.models.base.UTCDateTime()),
    ("announced_at", bot.models.base.UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("contests", schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(
            sa.Column("auto_announce", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    # Contests closed before this revision pushed their results at close: mark them told and
    # announced so the new jobs send nothing for them. (One still open gets its opening
    # notice late, which is still true: it is open.)
    contests = sa.table(
        "contests",
        sa.column("closed_at", bot.models.base.UTCDateTime()),
        sa.column("open_notified_at", bot.models.base.UTCDateTime()),
        sa.column("announced_at", bot.models.base.UTCDateTime()),
    )
    op.execute(
        contests.update()
        .where(contests.c.closed_at.is_not(None))
        .values(open_notified_at=contests.c.closed_at, announced_at=contests.c.closed_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("contests", schema=None) as batch_op:
        batch_op.drop_column("auto_announce")
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)

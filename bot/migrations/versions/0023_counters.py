"""running totals: person_totals, department_day_counts, quiz_answers.department_id

Revision ID: 0023_counters
Revises: 0022_suggestion_adoption
"""

from datetime import date

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
    _backfill()


# -- filling the counters from the rows already stored ------------------------------------------
# Self-contained SQL (tables named here, not the models): this must keep meaning what it meant
# at 0023 whatever bot.counters becomes. Two INSERT … SELECT … GROUP BY, no rows through Python.
_ZERO, _ONE = sa.literal_column("0"), sa.literal_column("1")


def _t(name: str, *columns: tuple[str, sa.types.TypeEngine]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, kind) for c, kind in columns))


def _backfill() -> None:
    bind = op.get_bind()
    answers = _t(
        "quiz_answers",
        ("userid", sa.String()),
        ("day", sa.Date()),
        ("correct", sa.Boolean()),
        ("points", sa.Integer()),
        ("department_id", sa.Integer()),
    )
    checkins = _t(
        "daily_checkins",
        ("userid", sa.String()),
        ("day", sa.Date()),
        ("department_id", sa.Integer()),
    )
    users = _t("users", ("userid", sa.String()), ("department_id", sa.Integer()))
    right = sa.case((answers.c.correct, _ONE), else_=_ZERO)
    bind.execute(
        sa.insert(_t("person_totals", *_PERSON_COLUMNS)).from_select(
            [c for c, _ in _PERSON_COLUMNS], _people(answers, checkins, right)
        )
    )
    department = sa.func.coalesce(answers.c.department_id, users.c.department_id, _ZERO)
    rows = sa.union_all(
        sa.select(
            department.label("department_id"),
            answers.c.day.label("day"),
            _ONE.label("quiz_answers"),
            right.label("quiz_correct"),
            answers.c.points.label("quiz_points"),
            _ZERO.label("checkins"),
        ).select_from(answers.outerjoin(users, users.c.userid == answers.c.userid)),
        sa.select(
            sa.func.coalesce(checkins.c.department_id, _ZERO),
            checkins.c.day,
            _ZERO,
            _ZERO,
            _ZERO,
            _ONE,
        ),
    ).subquery()
    bind.execute(
        sa.insert(_t("department_day_counts", *_DAY_COLUMNS)).from_select(
            [c for c, _ in _DAY_COLUMNS],
            sa.select(
                rows.c.department_id,
                rows.c.day,
                sa.func.sum(rows.c.quiz_answers),
                sa.func.sum(rows.c.quiz_correct),
                sa.func.sum(rows.c.quiz_points),
                sa.func.sum(rows.c.checkins),
            ).group_by(rows.c.department_id, rows.c.day),
        )
    )


_PERSON_COLUMNS = (
    ("userid", sa.String()),
    ("points", sa.Integer()),
    ("answers", sa.Integer()),
    ("correct", sa.Integer()),
    ("took_part_on", sa.Date()),
)
_DAY_COLUMNS = (
    ("department_id", sa.Integer()),
    ("day", sa.Date()),
    ("quiz_answers", sa.Integer()),
    ("quiz_correct", sa.Integer()),
    ("quiz_points", sa.Integer()),
    ("checkins", sa.Integer()),
)


def _people(answers, checkins, right) -> sa.Select:
    """Per person: the quiz sums and the first day they took part (bot.participation's kinds at
    0023; a kind with no day column counts from today, the first day is informational)."""
    today = sa.literal(date.today(), sa.Date())

    def took_part(table: str, column: str) -> sa.Select:
        t = _t(table, (column, sa.String()))
        return sa.select(t.c[column], _ZERO, _ZERO, _ZERO, today)

    attempts = _t("contest_attempts", ("id", sa.Integer()), ("userid", sa.String()))
    contest_answers = _t("contest_answers", ("attempt_id", sa.Integer()))
    learning = _t("learning_assignments", ("userid", sa.String()), ("completed_at", sa.DateTime()))
    rows = sa.union_all(
        sa.select(
            answers.c.userid.label("userid"),
            answers.c.points.label("points"),
            _ONE.label("answers"),
            right.label("correct"),
            answers.c.day.label("day"),
        ),
        sa.select(checkins.c.userid, _ZERO, _ZERO, _ZERO, checkins.c.day),
        sa.select(attempts.c.userid, _ZERO, _ZERO, _ZERO, today).where(
            sa.exists().where(contest_answers.c.attempt_id == attempts.c.id)
        ),
        took_part("event_attendance", "userid"),
        took_part("pledge_signatures", "userid"),
        took_part("hazard_reports", "reporter"),
        took_part("suggestions", "proposer"),
        sa.select(learning.c.userid, _ZERO, _ZERO, _ZERO, today).where(
            learning.c.completed_at.is_not(None)
        ),
        took_part("submissions", "userid"),
    ).subquery()
    return sa.select(
        rows.c.userid,
        sa.func.sum(rows.c.points),
        sa.func.sum(rows.c.answers),
        sa.func.sum(rows.c.correct),
        sa.func.min(rows.c.day),
    ).group_by(rows.c.userid)


def downgrade() -> None:
    with op.batch_alter_table("quiz_answers") as batch:
        batch.drop_column("department_id")
    op.drop_table("department_day_counts")
    op.drop_index("ix_person_totals_points", table_name="person_totals")
    op.drop_table("person_totals")

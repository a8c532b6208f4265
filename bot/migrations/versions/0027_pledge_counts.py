"""running totals of 责任书 signatures per department and text: pledge_counts

Revision ID: 0027_pledge_counts
Revises: 0026_day_active
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_pledge_counts"
down_revision = "0026_day_active"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pledge_counts",
        sa.Column("department_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("signed", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("department_id", "text_hash", name=op.f("pk_pledge_counts")),
    )
    _backfill()


def _backfill() -> None:
    """One INSERT … SELECT … GROUP BY over the signatures already stored. Self-contained SQL
    (tables named here, not the models), so it keeps meaning what it meant at 0027: the
    signatures of active members (status 1), counted in their current main department (0 for
    none), per text hash: bot.counters_check's rule."""
    signatures = sa.table(
        "pledge_signatures", sa.column("userid", sa.String()), sa.column("text_hash", sa.String())
    )
    users = sa.table(
        "users",
        sa.column("userid", sa.String()),
        sa.column("department_id", sa.Integer()),
        sa.column("status", sa.Integer()),
    )
    department = sa.func.coalesce(users.c.department_id, sa.literal_column("0"))
    counts = sa.table(
        "pledge_counts",
        sa.column("department_id", sa.Integer()),
        sa.column("text_hash", sa.String()),
        sa.column("signed", sa.Integer()),
    )
    op.get_bind().execute(
        sa.insert(counts).from_select(
            ["department_id", "text_hash", "signed"],
            sa.select(department, signatures.c.text_hash, sa.func.count())
            .select_from(signatures)
            .join(users, users.c.userid == signatures.c.userid)
            .where(users.c.status == sa.literal_column("1"))
            .group_by(department, signatures.c.text_hash),
        )
    )


def downgrade() -> None:
    op.drop_table("pledge_counts")

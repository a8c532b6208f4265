"""daily activity: one row per person per local day

Revision ID: 0009_daily_activity
Revises: 0008_perf_indexes
"""

from datetime import timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0009_daily_activity"
down_revision = "0008_perf_indexes"
branch_labels = None
depends_on = None

BACKFILL_CHUNK = 10_000


def upgrade() -> None:
    op.create_table(
        "daily_activity",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("first_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", "userid", name=op.f("pk_daily_activity")),
    )
    with op.batch_alter_table("daily_activity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_daily_activity_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_daily_activity_userid"), ["userid"], unique=False)
    _backfill()


def _backfill() -> None:
    """Existing messages -> activity rows (local days in the default campaign time zone)."""
    from bot.settings import Settings

    tz = ZoneInfo(Settings.from_env(dotenv=False).timezone)
    bind = op.get_bind()
    inbound = sa.table(
        "inbound_messages",
        sa.column("id", sa.Integer),
        sa.column("userid", sa.String),
        sa.column("received_at", sa.DateTime),
    )
    users = sa.table("users", sa.column("userid", sa.String), sa.column("department_id", sa.Integer))
    activity = sa.table(
        "daily_activity",
        sa.column("day", sa.Date),
        sa.column("userid", sa.String),
        sa.column("department_id", sa.Integer),
        sa.column("first_at", sa.DateTime),
    )
    departments = dict(bind.execute(sa.select(users.c.userid, users.c.department_id)).all())
    first: dict[tuple, object] = {}
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(inbound.c.id, inbound.c.userid, inbound.c.received_at)
            .where(inbound.c.id > last_id)
            .order_by(inbound.c.id)
            .limit(BACKFILL_CHUNK)
        ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        for _, userid, received in rows:
            aware = received.replace(tzinfo=timezone.utc) if received.tzinfo is None else received
            key = (aware.astimezone(tz).date(), userid)
            if key not in first or received < first[key]:
                first[key] = received
    values = [
        {"day": d, "userid": u, "department_id": departments.get(u), "first_at": at}
        for (d, u), at in first.items()
    ]
    for start in range(0, len(values), BACKFILL_CHUNK):
        op.bulk_insert(activity, values[start : start + BACKFILL_CHUNK])


def downgrade() -> None:
    with op.batch_alter_table("daily_activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daily_activity_userid"))
        batch_op.drop_index(batch_op.f("ix_daily_activity_department_id"))
    op.drop_table("daily_activity")

"""hazard reports, ledger, photos, points and suggestions

Revision ID: 0005_hazard
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0005_hazard"
down_revision = "0001_core"
branch_labels = ("hazard",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hazard_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=32), nullable=False),
        sa.Column("reporter", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("item", sa.Text(), nullable=True),
        sa.Column("measure", sa.Text(), nullable=True),
        sa.Column("funds", sa.String(length=64), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("rechecker", sa.String(length=64), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("rectify_note", sa.Text(), nullable=True),
        sa.Column("reported_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.Column("rectified_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.Column("verified_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.Column("closed_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_reports")),
        sa.UniqueConstraint("ticket", name=op.f("uq_hazard_reports_ticket")),
    )
    with op.batch_alter_table("hazard_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hazard_reports_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_hazard_reports_reporter"), ["reporter"], unique=False)
        batch_op.create_index(batch_op.f("ix_hazard_reports_status"), ["status"], unique=False)

    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=32), nullable=False),
        sa.Column("proposer", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
        sa.UniqueConstraint("ticket", name=op.f("uq_suggestions_ticket")),
    )
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suggestions_proposer"), ["proposer"], unique=False)

    op.create_table(
        "ticket_counters",
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "day", name=op.f("pk_ticket_counters")),
    )
    op.create_table(
        "hazard_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.Column("stored_at", bot.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazard_reports.id"],
            name=op.f("fk_hazard_photos_hazard_id_hazard_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_photos")),
        sa.UniqueConstraint(
            "hazard_id", "media_id", name=op.f("uq_hazard_photos_hazard_id_media_id")
        ),
    )
    with op.batch_alter_table("hazard_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hazard_photos_hazard_id"), ["hazard_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hazard_photos_status"), ["status"], unique=False)

    op.create_table(
        "hazard_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("awarded_at", bot.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazard_reports.id"],
            name=op.f("fk_hazard_points_hazard_id_hazard_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_points")),
        sa.UniqueConstraint(
            "hazard_id", "userid", "reason", name=op.f("uq_hazard_points_hazard_id_userid_reason")
        ),
    )
    with op.batch_alter_table("hazard_points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hazard_points_userid"), ["userid"], unique=False)

    op.create_table(
        "hazard_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", bot.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazard_reports.id"],
            name=op.f("fk_hazard_transitions_hazard_id_hazard_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_transitions")),
    )
    with op.batch_alter_table("hazard_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hazard_transitions_hazard_id"), ["hazard_id"], unique=False
        )

    op.create_table(
        "suggestion_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("replier", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("at", bot.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["suggestions.id"],
            name=op.f("fk_suggestion_replies_suggestion_id_suggestions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_replies")),
    )
    with op.batch_alter_table("suggestion_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suggestion_replies_suggestion_id"), ["suggestion_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("suggestion_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suggestion_replies_suggestion_id"))

    op.drop_table("suggestion_replies")
    with op.batch_alter_table("hazard_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_transitions_hazard_id"))

    op.drop_table("hazard_transitions")
    with op.batch_alter_table("hazard_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_points_userid"))

    op.drop_table("hazard_points")
    with op.batch_alter_table("hazard_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_photos_status"))
        batch_op.drop_index(batch_op.f("ix_hazard_photos_hazard_id"))

    op.drop_table("hazard_photos")
    op.drop_table("ticket_counters")
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suggestions_proposer"))

    op.drop_table("suggestions")
    with op.batch_alter_table("hazard_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_reports_status"))
        batch_op.drop_index(batch_op.f("ix_hazard_reports_reporter"))
        batch_op.drop_index(batch_op.f("ix_hazard_reports_owner"))

    op.drop_table("hazard_reports")

"""departments' own activities (报送): reports, their history, photos and delegates

Revision ID: 0021_activity_reports
Revises: 0017_learning
"""

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision = "0021_activity_reports"
down_revision = "0020_console_sso"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=191), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("head_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_reports")),
        sa.UniqueConstraint("source_key", name=op.f("uq_activity_reports_source_key")),
    )
    for column in ("department_id", "filed_by", "held_on"):
        op.create_index(
            op.f(f"ix_activity_reports_{column}"), "activity_reports", [column], unique=False
        )
    op.create_table(
        "activity_report_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["activity_reports.id"],
            name=op.f("fk_activity_report_events_report_id_activity_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_report_events")),
    )
    op.create_index(
        op.f("ix_activity_report_events_report_id"),
        "activity_report_events",
        ["report_id"],
        unique=False,
    )
    op.create_table(
        "activity_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.String(length=191), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["activity_reports.id"],
            name=op.f("fk_activity_photos_report_id_activity_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_photos")),
        sa.UniqueConstraint(
            "report_id", "media_id", name=op.f("uq_activity_photos_report_id_media_id")
        ),
    )
    op.create_index(
        op.f("ix_activity_photos_report_id"), "activity_photos", ["report_id"], unique=False
    )
    op.create_index(op.f("ix_activity_photos_status"), "activity_photos", ["status"], unique=False)
    op.create_table(
        "activity_delegates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_delegates")),
        sa.UniqueConstraint(
            "department_id", "userid", name=op.f("uq_activity_delegates_department_id_userid")
        ),
    )
    op.create_index(
        op.f("ix_activity_delegates_userid"), "activity_delegates", ["userid"], unique=False
    )


def downgrade() -> None:
    op.drop_table("activity_delegates")
    op.drop_table("activity_photos")
    op.drop_table("activity_report_events")
    op.drop_table("activity_reports")

"""the safety essay and photo contest (安全征文 / 安全随手拍): entries, photos, votes

Revision ID: 0018_submissions
Revises: 0017_learning
"""

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision = "0018_submissions"
down_revision = "0019_drills"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submission_contests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("submit_until", sa.Date(), nullable=False),
        sa.Column("vote_until", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("voting_started_at", UTCDateTime(), nullable=True),
        sa.Column("announced_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_contests")),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contest_id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("ballot_no", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contest_id"],
            ["submission_contests.id"],
            name=op.f("fk_submissions_contest_id_submission_contests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
    )
    op.create_index(op.f("ix_submissions_contest_id"), "submissions", ["contest_id"])
    op.create_index(op.f("ix_submissions_userid"), "submissions", ["userid"])
    op.create_table(
        "submission_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_submission_photos_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_photos")),
        sa.UniqueConstraint(
            "submission_id", "media_id", name=op.f("uq_submission_photos_submission_id_media_id")
        ),
    )
    op.create_index(
        op.f("ix_submission_photos_submission_id"), "submission_photos", ["submission_id"]
    )
    op.create_index(op.f("ix_submission_photos_status"), "submission_photos", ["status"])
    op.create_table(
        "submission_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contest_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contest_id"],
            ["submission_contests.id"],
            name=op.f("fk_submission_votes_contest_id_submission_contests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_submission_votes_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_votes")),
        sa.UniqueConstraint(
            "contest_id", "userid", name=op.f("uq_submission_votes_contest_id_userid")
        ),
    )
    op.create_index(op.f("ix_submission_votes_contest_id"), "submission_votes", ["contest_id"])
    op.create_index(
        op.f("ix_submission_votes_submission_id"), "submission_votes", ["submission_id"]
    )


def downgrade() -> None:
    op.drop_table("submission_votes")
    op.drop_table("submission_photos")
    op.drop_table("submissions")
    op.drop_table("submission_contests")

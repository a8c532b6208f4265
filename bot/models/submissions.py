"""The safety essay and photo contest (安全征文 / 安全随手拍): entries, their photos and votes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base


class SubmissionContest(Base):
    """One contest: a theme, what it takes (essay | photo | both), submissions through
    `submit_until` (a local day, inclusive), voting the days after through `vote_until`.

    The three `*_at` marks are taken with UPDATE … WHERE … IS NULL, so each notice goes out
    once whichever process runs the job."""

    __tablename__ = "submission_contests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    theme: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # essay | photo | both
    submit_until: Mapped[date] = mapped_column(Date)
    vote_until: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    voting_started_at: Mapped[datetime | None]
    announced_at: Mapped[datetime | None]


class Submission(Base):
    """One entry: an essay (text) or a photo entry (caption + SubmissionPhoto rows)."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(
        ForeignKey("submission_contests.id", ondelete="CASCADE"), index=True
    )
    userid: Mapped[str] = mapped_column(String(64), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # essay | photo
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # accepted | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    # The number on the ballot (投票 3), given to accepted entries when voting starts.
    ballot_no: Mapped[int | None] = mapped_column(Integer)


class SubmissionPhoto(Base):
    __tablename__ = "submission_photos"
    __table_args__ = (UniqueConstraint("submission_id", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    media_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | stored | failed
    path: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_error: Mapped[str | None] = mapped_column(Text)


class SubmissionVote(Base):
    """One vote per person per contest: the unique key decides, a retry or a second tap
    inserts nothing."""

    __tablename__ = "submission_votes"
    __table_args__ = (UniqueConstraint("contest_id", "userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(
        ForeignKey("submission_contests.id", ondelete="CASCADE"), index=True
    )
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    userid: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # card | text
    at: Mapped[datetime]

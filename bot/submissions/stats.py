"""安全征文 / 随手拍 figures for `stats`, the console and the summary report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.models import Submission, SubmissionVote
from bot.stats_base import count_rows


def submissions(session: Session, now: datetime) -> int:
    """Entries received (essays and photo entries, every contest)."""
    return count_rows(session, Submission)


def votes(session: Session, now: datetime) -> int:
    """Votes cast (one per person and contest)."""
    return count_rows(session, SubmissionVote)

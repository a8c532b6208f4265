"""Opening a submission contest and where it stands.

Days are local (the campaign's time zone): entries are taken through `submit_until`
(inclusive), votes from the day after through `vote_until` (inclusive); the results go out
once voting has closed (bot.submissions.voting.tick).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import active_members
from bot.messages import text_message
from bot.models import SubmissionContest
from bot.outbox import enqueue

KINDS = ("essay", "photo", "both")
DEFAULT_VOTE_DAYS = 3
SOURCE = "submissions:open"


class ContestError(ValueError):
    """A contest that cannot be opened; the message says why, in Chinese, in one line."""


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日"


def kind_label(kind: str) -> str:
    return texts.get(f"submissions.kinds.{kind}")


def phase(contest: SubmissionContest, now: datetime, tz) -> str:
    """submitting | voting | closed, by the local day."""
    today = now.astimezone(tz).date()
    if today <= contest.submit_until:
        return "submitting"
    if today <= contest.vote_until:
        return "voting"
    return "closed"


def takes(contest: SubmissionContest, kind: str) -> bool:
    return contest.kind in (kind, "both")


def open_contest(
    session: Session,
    *,
    theme: str,
    kind: str,
    submit_until: date,
    vote_until: date | None,
    created_by: str,
    now: datetime,
    tz,
) -> tuple[SubmissionContest, int]:
    """Create the contest and tell every active member, once (the outbox dedup key)."""
    theme = " ".join((theme or "").split())
    if not theme:
        raise ContestError(texts.get("submissions.errors.no_theme"))
    if len(theme) > 128:
        raise ContestError(texts.get("submissions.errors.long_theme"))
    if kind not in KINDS:
        raise ContestError(texts.get("submissions.errors.kind", kind=kind))
    today = now.astimezone(tz).date()
    if submit_until < today:
        raise ContestError(texts.get("submissions.errors.past", day=submit_until.isoformat()))
    vote_until = vote_until or submit_until + timedelta(days=DEFAULT_VOTE_DAYS)
    if vote_until <= submit_until:
        raise ContestError(
            texts.get(
                "submissions.errors.vote_before",
                vote=vote_until.isoformat(),
                until=submit_until.isoformat(),
            )
        )
    contest = SubmissionContest(
        theme=theme,
        kind=kind,
        submit_until=submit_until,
        vote_until=vote_until,
        created_by=created_by[:64],
        created_at=now,
    )
    session.add(contest)
    session.flush()
    staff = [u for u, _ in active_members(session)]
    enqueue(
        session,
        staff,
        text_message(open_notice(contest)),
        source=SOURCE,
        now=now,
        dedup_key=f"submissions:open:{contest.id}",
    )
    return contest, len(staff)


def open_notice(contest: SubmissionContest) -> str:
    how = [texts.get(f"submissions.how.{k}") for k in ("essay", "photo") if takes(contest, k)]
    return texts.get(
        "submissions.open_notice",
        theme=contest.theme,
        kind=kind_label(contest.kind),
        until=day_label(contest.submit_until),
        vote_from=day_label(contest.submit_until + timedelta(days=1)),
        vote_until=day_label(contest.vote_until),
        how="\n".join(how),
    )


def contests(session: Session, limit: int = 50) -> list[SubmissionContest]:
    return list(
        session.scalars(
            select(SubmissionContest).order_by(SubmissionContest.id.desc()).limit(limit)
        )
    )


def get(session: Session, contest_id: int) -> SubmissionContest | None:
    return session.get(SubmissionContest, contest_id) if 0 < contest_id < 2**31 else None


def current(session: Session, now: datetime, tz, wanted: str) -> list[SubmissionContest]:
    """Contests in phase `wanted` (submitting | voting), oldest first."""
    rows = session.scalars(
        select(SubmissionContest)
        .where(SubmissionContest.vote_until >= now.astimezone(tz).date())
        .order_by(SubmissionContest.id)
    )
    return [c for c in rows if phase(c, now, tz) == wanted]


def latest_for(session: Session, now: datetime, tz, kind: str) -> SubmissionContest | None:
    """The contest an entry of `kind` goes to: the newest one taking it that is still
    submitting, else the newest taking it at all (so a late entry is refused with its date)."""
    rows = list(
        session.scalars(select(SubmissionContest).order_by(SubmissionContest.id.desc()).limit(20))
    )
    rows = [c for c in rows if takes(c, kind)]
    open_ = [c for c in rows if phase(c, now, tz) == "submitting"]
    return (open_ or rows or [None])[0]

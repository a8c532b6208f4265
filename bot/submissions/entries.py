"""Entries: an essay (征文 <正文>) or photos with a caption (随手拍 <说明>), the officer's review,
and the photo retry job.

A retried callback has no second effect: the dispatcher's unique row per WeCom MsgId runs a
message's handler once, and a photo is unique per (entry, media id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import counters
from bot.content import texts
from bot.db import insert_ignore
from bot.messages import text_message
from bot.models import Submission, SubmissionContest, SubmissionPhoto, User
from bot.outbox import enqueue
from bot.photos import JOB_TIMEOUT, RETRY_BATCH, quick_client, retry_rows
from bot.submissions.contests import day_label, latest_for, phase

ESSAY_MIN, ESSAY_MAX = 30, 2000
CAPTION_MIN, CAPTION_MAX = 2, 200
MAX_ENTRIES = 3  # per person and contest
MAX_PHOTOS = 9
PHOTO_FOLDER = "submissions"


@dataclass(frozen=True)
class Refused:
    """Why an entry was not taken: a text key and its values (one Chinese line)."""

    key: str
    values: dict[str, Any]

    def text(self) -> str:
        return texts.get(self.key, **self.values)


def _where(session: Session, now: datetime, tz, kind: str, userid: str):
    contest = latest_for(session, now, tz, kind)
    if contest is None:
        return None, Refused(f"submissions.no_contest.{kind}", {})
    if phase(contest, now, tz) != "submitting":
        return None, Refused(
            "submissions.too_late", {"theme": contest.theme, "day": day_label(contest.submit_until)}
        )
    count = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(Submission.contest_id == contest.id, Submission.userid == userid)
    )
    if count >= MAX_ENTRIES:
        return None, Refused("submissions.too_many", {"max": MAX_ENTRIES})
    return contest, None


def check_essay(text: str) -> Refused | None:
    n = len(text.strip())
    if n < ESSAY_MIN:
        return Refused("submissions.essay_short", {"min": ESSAY_MIN, "count": n})
    if n > ESSAY_MAX:
        return Refused("submissions.essay_long", {"max": ESSAY_MAX, "count": n})
    return None


def check_caption(text: str) -> Refused | None:
    n = len(text.strip())
    if n < CAPTION_MIN:
        return Refused("submissions.caption_short", {"min": CAPTION_MIN})
    if n > CAPTION_MAX:
        return Refused("submissions.caption_long", {"max": CAPTION_MAX, "count": n})
    return None


def _new(
    session: Session, contest: SubmissionContest, userid: str, kind: str, text: str, now
) -> Submission:
    user = session.get(User, userid)
    entry = Submission(
        contest_id=contest.id,
        userid=userid,
        department_id=user.department_id if user else None,
        kind=kind,
        text=text.strip(),
        status="pending",
        created_at=now,
    )
    session.add(entry)
    session.flush()
    counters.took_part(session, userid, now.date())
    return entry


def submit_essay(
    session: Session, userid: str, text: str, now: datetime, tz
) -> Submission | Refused:
    contest, refused = _where(session, now, tz, "essay", userid)
    if refused is not None:
        return refused
    refused = check_essay(text)
    if refused is not None:
        return refused
    return _new(session, contest, userid, "essay", text, now)


def submit_photo_entry(
    session: Session, userid: str, caption: str, now: datetime, tz
) -> Submission | Refused:
    contest, refused = _where(session, now, tz, "photo", userid)
    if refused is not None:
        return refused
    refused = check_caption(caption)
    if refused is not None:
        return refused
    return _new(session, contest, userid, "photo", caption, now)


def add_photo(session: Session, entry: Submission, values: dict[str, Any]) -> int:
    """Attach a photo (values from bot.photos.photo_values); returns the entry's photo count.
    The same media id twice is one photo."""
    if photo_count(session, entry.id) < MAX_PHOTOS:
        insert_ignore(session, SubmissionPhoto, {"submission_id": entry.id, **values})
    return photo_count(session, entry.id)


def photo_count(session: Session, entry_id: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(SubmissionPhoto)
        .where(SubmissionPhoto.submission_id == entry_id)
    )


def photos_of(session: Session, entry_ids: list[int]) -> dict[int, list[SubmissionPhoto]]:
    found: dict[int, list[SubmissionPhoto]] = {i: [] for i in entry_ids}
    if entry_ids:
        rows = session.scalars(
            select(SubmissionPhoto)
            .where(SubmissionPhoto.submission_id.in_(entry_ids))
            .order_by(SubmissionPhoto.id)
        )
        for p in rows:
            found[p.submission_id].append(p)
    return found


def get_entry(session: Session, entry_id: int, userid: str | None = None) -> Submission | None:
    entry = session.get(Submission, entry_id) if 0 < entry_id < 2**31 else None
    if entry is None or (userid is not None and entry.userid != userid):
        return None
    return entry


def mine(session: Session, userid: str) -> list[tuple[Submission, SubmissionContest]]:
    rows = session.execute(
        select(Submission, SubmissionContest)
        .join(SubmissionContest, SubmissionContest.id == Submission.contest_id)
        .where(Submission.userid == userid)
        .order_by(Submission.id.desc())
        .limit(20)
    )
    return [(s, c) for s, c in rows]


def entries(session: Session, contest_id: int, status: str | None = None) -> list[Submission]:
    q = select(Submission).where(Submission.contest_id == contest_id).order_by(Submission.id)
    if status is not None:
        q = q.where(Submission.status == status)
    return list(session.scalars(q))


# -- review -----------------------------------------------------------------------------------
class ReviewError(ValueError):
    """A review that cannot be done (one Chinese line)."""


def review(
    session: Session, entry: Submission, accept: bool, actor: str, now: datetime, reason: str = ""
) -> None:
    """Accept or reject; a rejection needs a reason, which the author is told in chat (once).

    Entries are reviewed while voting has not started; a rejected entry may still be accepted
    (the reason stays in the record), an accepted one is on the ballot once voting starts."""
    reason = " ".join((reason or "").split())
    if not accept and not reason:
        raise ReviewError(texts.get("submissions.errors.no_reason"))
    contest = session.get(SubmissionContest, entry.contest_id)
    if contest.voting_started_at is not None and entry.ballot_no is not None:
        raise ReviewError(texts.get("submissions.errors.on_ballot"))
    entry.status = "accepted" if accept else "rejected"
    entry.reason = reason[:500] if not accept else entry.reason
    entry.reviewed_at, entry.reviewed_by = now, actor[:64]
    session.flush()
    if not accept:
        enqueue(
            session,
            [entry.userid],
            text_message(
                texts.get(
                    "submissions.rejected_notice",
                    theme=contest.theme,
                    kind=texts.get(f"submissions.kinds.{entry.kind}"),
                    excerpt=excerpt(entry.text),
                    reason=reason,
                )
            ),
            source="submissions:review",
            now=now,
            dedup_key=f"submissions:reject:{entry.id}:{now.isoformat()}",
        )


def excerpt(text: str, limit: int = 20) -> str:
    one = " ".join((text or "").split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


# -- the photo retry job ------------------------------------------------------------------------
def retry_photos(session: Session, services, now: datetime) -> str:
    """Every minute: photos whose download failed inside the callback (media ids live 3 days)."""
    pending = list(
        session.scalars(
            select(SubmissionPhoto)
            .where(SubmissionPhoto.status == "pending")
            .order_by(SubmissionPhoto.id)
            .limit(RETRY_BATCH)
        )
    )
    if not pending:
        return "no pending photos"
    client = quick_client(services, JOB_TIMEOUT)
    return retry_rows(pending, client, services.settings.files_dir, now, PHOTO_FOLDER)

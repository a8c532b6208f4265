"""The knowledge contest (知识竞赛): one timed attempt per person, ranked by score then time.

The clock runs on the server: an attempt stores started_at and its deadline; an answer that
arrives after the deadline is not counted and ends the attempt.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db import insert_ignore
from bot.models import Contest, ContestAnswer, ContestAttempt, Department, Question, User
from bot.quiz import scoring
from bot.quiz.answers import permutation_for, to_shown, to_stored
from bot.quiz.bank import ensure_bank, theme_titles


class ContestError(ValueError):
    """A contest definition that cannot be used; the message is shown to the admin."""


def resolve_themes(session: Session, names: list[str]) -> list[str]:
    """Theme keys from keys or (parts of) titles: "fire", "消防"."""
    titles = theme_titles()
    known = set(titles) | set(session.scalars(select(Question.theme).distinct()))
    out: list[str] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        if name.lower() in known:
            out.append(name.lower())
            continue
        match = [k for k, title in titles.items() if name in title]
        if len(match) != 1:
            raise ContestError(f"主题「{name}」不存在，可用：{'、'.join(titles.values())}")
        out.append(match[0])
    return list(dict.fromkeys(out))


def create_contest(
    session: Session,
    *,
    name: str,
    themes: list[str],
    count: int,
    seconds: int,
    opens_at: datetime,
    closes_at: datetime,
    created_by: str,
    now: datetime,
) -> Contest:
    name = name.strip()
    if not name:
        raise ContestError("请写竞赛名称")
    if len(name) > 128:
        raise ContestError("竞赛名称太长（最多128字）")
    if not 1 <= count <= 100:
        raise ContestError("题数应在 1 到 100 之间")
    if not 10 <= seconds <= 24 * 3600:
        raise ContestError("时限应在 10 秒到 24 小时之间（单位：秒）")
    if closes_at <= opens_at:
        raise ContestError("结束时间应晚于开始时间")
    if closes_at <= now:
        raise ContestError("结束时间已经过去")
    ensure_bank(session, now)
    themes = resolve_themes(session, themes)
    stmt = select(Question.id).where(Question.active.is_(True))
    if themes:
        stmt = stmt.where(Question.theme.in_(themes))
    available = len(list(session.scalars(stmt)))
    if available < count:
        raise ContestError(f"所选主题只有 {available} 道题，少于题数 {count}")
    contest = Contest(
        name=name,
        themes=themes,
        question_count=count,
        seconds=seconds,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=created_by,
        created_at=now,
    )
    session.add(contest)
    session.flush()
    return contest


def open_contests(session: Session, now: datetime) -> list[Contest]:
    return list(
        session.scalars(
            select(Contest)
            .where(Contest.opens_at <= now, Contest.closes_at > now, Contest.closed_at.is_(None))
            .order_by(Contest.closes_at, Contest.id)
        )
    )


def upcoming_contests(session: Session, now: datetime) -> list[Contest]:
    return list(
        session.scalars(select(Contest).where(Contest.opens_at > now).order_by(Contest.opens_at))
    )


def start_attempt(
    session: Session, contest: Contest, userid: str, now: datetime
) -> tuple[ContestAttempt, bool]:
    """(attempt, started now). One attempt per person: the unique key decides."""
    stmt = select(Question.id).where(Question.active.is_(True)).order_by(Question.id)
    if contest.themes:
        stmt = stmt.where(Question.theme.in_(contest.themes))
    pool = list(session.scalars(stmt))
    seed = int.from_bytes(
        hashlib.sha256(f"contest:{contest.id}:{userid}".encode()).digest()[:8], "big"
    )
    qids = random.Random(seed).sample(pool, min(contest.question_count, len(pool)))
    questions = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(qids)))}
    perms = [
        permutation_for(
            f"contest:{contest.id}:{userid}:{q}", len(questions[q].options), questions[q].type
        )
        for q in qids
    ]
    # Never past the contest's close: the attempt's deadline is the earlier of the two.
    deadline = min(now + timedelta(seconds=contest.seconds), contest.closes_at)
    row = insert_ignore(
        session,
        ContestAttempt,
        {
            "contest_id": contest.id,
            "userid": userid,
            "question_ids": qids,
            "permutations": perms,
            "started_at": now,
            "deadline": deadline,
            "score": 0,
            "correct_count": 0,
        },
        returning=ContestAttempt.id,
    ).first()
    attempt = session.scalar(
        select(ContestAttempt).where(
            ContestAttempt.contest_id == contest.id, ContestAttempt.userid == userid
        )
    )
    return attempt, row is not None


def attempt_answers(session: Session, attempt_id: int) -> dict[int, ContestAnswer]:
    return {
        a.question_index: a
        for a in session.scalars(
            select(ContestAnswer).where(ContestAnswer.attempt_id == attempt_id)
        )
    }


def next_index(session: Session, attempt: ContestAttempt) -> int | None:
    done = attempt_answers(session, attempt.id)
    return next((i for i in range(len(attempt.question_ids)) if i not in done), None)


def finish_attempt(session: Session, attempt: ContestAttempt, at: datetime) -> None:
    """Close the attempt once (the WHERE finished_at IS NULL makes a second call a no-op)."""
    answers = attempt_answers(session, attempt.id)
    correct = sum(1 for a in answers.values() if a.correct)
    session.execute(
        update(ContestAttempt)
        .where(ContestAttempt.id == attempt.id, ContestAttempt.finished_at.is_(None))
        .values(
            finished_at=min(at, attempt.deadline),
            correct_count=correct,
            score=correct * scoring.CONTEST_POINTS_PER_CORRECT,
        )
    )
    session.refresh(attempt)


@dataclass
class ContestOutcome:
    status: str  # "scored" | "already" | "late" | "finished"
    question: Question | None = None
    correct: bool = False
    given_shown: str = ""
    answer_shown: str = ""


def answer(
    session: Session, attempt: ContestAttempt, index: int, shown: str, now: datetime
) -> ContestOutcome:
    if attempt.finished_at is not None:
        return ContestOutcome("finished")
    if now > attempt.deadline:
        finish_attempt(session, attempt, attempt.deadline)
        return ContestOutcome("late")
    qid = attempt.question_ids[index]
    perm = attempt.permutations[index]
    question = session.get(Question, qid)
    stored = to_stored(shown, perm, question.type)
    correct = stored == question.answer
    row = insert_ignore(
        session,
        ContestAnswer,
        {
            "attempt_id": attempt.id,
            "question_index": index,
            "question_id": qid,
            "given": stored,
            "correct": correct,
            "answered_at": now,
        },
        returning=ContestAnswer.id,
    ).first()
    answer_shown = to_shown(question.answer, perm, question.type)
    if row is None:
        return ContestOutcome("already", question, answer_shown=answer_shown)
    if next_index(session, attempt) is None:
        finish_attempt(session, attempt, now)
    else:
        correct_count = sum(1 for a in attempt_answers(session, attempt.id).values() if a.correct)
        session.execute(
            update(ContestAttempt)
            .where(ContestAttempt.id == attempt.id)
            .values(
                correct_count=correct_count,
                score=correct_count * scoring.CONTEST_POINTS_PER_CORRECT,
            )
        )
    return ContestOutcome("scored", question, correct, shown, answer_shown)


def time_used(attempt: ContestAttempt) -> float:
    end = attempt.finished_at or attempt.deadline
    return max((end - attempt.started_at).total_seconds(), 0.0)


def ranking(session: Session, contest_id: int) -> list[dict]:
    """Every attempt, best first: score (high), then time used (short), then who came first."""
    rows = session.execute(
        select(ContestAttempt, User.name, User.department_id)
        .join(User, User.userid == ContestAttempt.userid, isouter=True)
        .where(ContestAttempt.contest_id == contest_id)
    )
    result = [
        {
            "userid": a.userid,
            "name": name or a.userid,
            "department_id": dept,
            "score": a.score,
            "correct": a.correct_count,
            "total": len(a.question_ids),
            "seconds": time_used(a),
            "started_at": a.started_at,
            "finished": a.finished_at is not None,
        }
        for a, name, dept in rows
    ]
    result.sort(key=lambda r: (-r["score"], r["seconds"], r["started_at"], r["userid"]))
    for i, r in enumerate(result, start=1):
        r["rank"] = i
    return result


def department_results(session: Session, contest_id: int) -> list[dict]:

    names = dict(session.execute(select(Department.id, Department.name)).all())
    members: dict[int, int] = {}
    for (dept,) in session.execute(select(User.department_id).where(User.status == 1)):
        if dept is not None:
            members[dept] = members.get(dept, 0) + 1
    groups: dict[int, list[dict]] = {}
    for r in ranking(session, contest_id):
        if r["department_id"] is not None:
            groups.setdefault(r["department_id"], []).append(r)
    out = [
        {
            "department_id": d,
            "name": names.get(d, str(d)),
            "participants": len(rs),
            "members": members.get(d, len(rs)),
            "average": sum(r["score"] for r in rs) / len(rs),
        }
        for d, rs in groups.items()
    ]
    out.sort(key=lambda r: (-r["average"], -r["participants"], r["department_id"]))
    return out


def close_due(session: Session, now: datetime) -> list[Contest]:
    """Close every contest whose time is up, once (UPDATE … WHERE closed_at IS NULL decides)."""
    closed = []
    for contest in session.scalars(
        select(Contest)
        .where(Contest.closes_at <= now, Contest.closed_at.is_(None))
        .order_by(Contest.id)
    ).all():
        taken = session.execute(
            update(Contest)
            .where(Contest.id == contest.id, Contest.closed_at.is_(None))
            .values(closed_at=now)
        ).rowcount
        if not taken:
            continue
        for attempt in session.scalars(
            select(ContestAttempt).where(
                ContestAttempt.contest_id == contest.id, ContestAttempt.finished_at.is_(None)
            )
        ):
            finish_attempt(session, attempt, now)
        session.refresh(contest)
        closed.append(contest)
    return closed


def theme_label(contest: Contest) -> str:
    titles = theme_titles()
    return "、".join(titles.get(t, t) for t in contest.themes) if contest.themes else "全部主题"

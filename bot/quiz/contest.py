"""The knowledge contest (知识竞赛): one timed attempt per person, ranked by score then time.

Everyone gets the same questions: the set is drawn once, when the contest is created, and
stored on the contest; each person sees the options in their own order (the attempt keeps the
permutation, so answers map back). The clock runs on the server: an attempt stores started_at
and its deadline; an answer that arrives after the deadline is not counted and ends the attempt.
A question voided after the opening scores nothing for anyone (bot.quiz.contest_admin).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import counters
from bot.db import insert_ignore
from bot.directory import department_tree
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
    department_ids: list[int] | None = None,
    auto_announce: bool = True,
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
    available = len(question_pool(session, themes))
    if available < count:
        raise ContestError(f"所选主题只有 {available} 道题，少于题数 {count}")
    departments = sorted(set(department_ids or []))
    known = set(session.scalars(select(Department.id).where(Department.id.in_(departments))))
    if set(departments) - known:
        raise ContestError("所选部门不存在")
    contest = Contest(
        name=name,
        themes=themes,
        question_count=count,
        seconds=seconds,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=created_by,
        created_at=now,
        department_ids=departments,
        auto_announce=auto_announce,
    )
    session.add(contest)
    session.flush()
    contest.question_ids = draw_questions(session, contest)
    session.flush()
    return contest


def question_pool(session: Session, themes: list[str]) -> list[str]:
    """Ids of the active questions of these themes (all themes if none), in id order."""
    stmt = select(Question.id).where(Question.active.is_(True)).order_by(Question.id)
    if themes:
        stmt = stmt.where(Question.theme.in_(themes))
    return list(session.scalars(stmt))


def draw_questions(session: Session, contest: Contest) -> list[str]:
    """A random set of the contest's size from its themes (not stored: the caller does)."""
    pool = question_pool(session, list(contest.themes or []))
    seed = int.from_bytes(
        hashlib.sha256(f"contest:{contest.id}:{contest.created_at.isoformat()}".encode()).digest()[
            :8
        ],
        "big",
    )
    return random.Random(seed).sample(pool, min(contest.question_count, len(pool)))


def contest_questions(session: Session, contest: Contest) -> list[str]:
    """The contest's one question set. A contest created before sets were stored draws it
    here, once: the UPDATE … WHERE question_ids IS NULL lets one process store it, and every
    process reads back the stored one."""
    if contest.question_ids is None:
        session.execute(
            update(Contest)
            .where(Contest.id == contest.id, Contest.question_ids.is_(None))
            .values(question_ids=draw_questions(session, contest))
        )
        session.refresh(contest)
    return list(contest.question_ids or [])


def voided(contest: Contest) -> set[str]:
    return set(contest.voided_question_ids or [])


def counted_total(contest: Contest, question_ids: list[str]) -> int:
    """Questions that count in an attempt: all but the voided ones."""
    gone = voided(contest)
    return sum(1 for q in question_ids if q not in gone)


def may_take_part(session: Session, contest: Contest, userid: str) -> bool:
    """Everyone, or members of the contest's departments (and their sub-departments)."""
    if not contest.department_ids:
        return True
    user = session.get(User, userid)
    if user is None:
        return False
    mine = set(user.department_ids or ([user.department_id] if user.department_id else []))
    return bool(mine & department_tree(session, contest.department_ids))


def open_contests(session: Session, now: datetime) -> list[Contest]:
    return list(
        session.scalars(
            select(Contest)
            .where(
                Contest.opens_at <= now,
                Contest.closes_at > now,
                Contest.closed_at.is_(None),
                Contest.cancelled_at.is_(None),
            )
            .order_by(Contest.closes_at, Contest.id)
        )
    )


def upcoming_contests(session: Session, now: datetime) -> list[Contest]:
    return list(
        session.scalars(
            select(Contest)
            .where(Contest.opens_at > now, Contest.cancelled_at.is_(None))
            .order_by(Contest.opens_at)
        )
    )


def start_attempt(
    session: Session, contest: Contest, userid: str, now: datetime
) -> tuple[ContestAttempt, bool]:
    """(attempt, started now). One attempt per person: the unique key decides.

    The questions are the contest's one set, in its order; only the option order is this
    person's own."""
    qids = contest_questions(session, contest)
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
    """The next question to answer; voided questions are skipped."""
    done = attempt_answers(session, attempt.id)
    gone = voided(session.get(Contest, attempt.contest_id))
    return next(
        (i for i, qid in enumerate(attempt.question_ids) if i not in done and qid not in gone),
        None,
    )


def correct_counted(session: Session, attempt: ContestAttempt) -> int:
    """Correct answers on questions that count (voided ones left out)."""
    gone = voided(session.get(Contest, attempt.contest_id))
    answers = attempt_answers(session, attempt.id).values()
    return sum(1 for a in answers if a.correct and a.question_id not in gone)


def finish_attempt(session: Session, attempt: ContestAttempt, at: datetime) -> None:
    """Close the attempt once (the WHERE finished_at IS NULL makes a second call a no-op)."""
    correct = correct_counted(session, attempt)
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
    counters.took_part(session, attempt.userid, now.date())
    if next_index(session, attempt) is None:
        finish_attempt(session, attempt, now)
    else:
        correct_count = correct_counted(session, attempt)
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
    contest = session.get(Contest, contest_id)
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
            "total": counted_total(contest, a.question_ids),
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

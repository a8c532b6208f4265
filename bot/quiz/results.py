"""A contest's results: the ranking as text lines (closed, or the standings so far while it is
open), 竞赛 结果, the announcement to participants (once) and the job that closes contests and
pushes the ranking to the officers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import officer_ids
from bot.localtime import stamp
from bot.messages import text_message
from bot.models import Contest
from bot.outbox import enqueue
from bot.quiz import contest as contests
from bot.quiz.contest_admin import status
from bot.services import Services

Texts = Callable[..., str]


def ranking_lines(
    texts_get: Texts,
    contest: Contest,
    ranking: list[dict],
    depts: list[dict],
    limit: int = 20,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> list[str]:
    """The ranking as lines. With `now` (and `tz`), a contest still open is titled 进行中
    with its closing time, and its standings are the ones so far; without, it is titled as
    closed (the close job and the announcement)."""
    state = status(contest, now) if now is not None else "closed"
    if state in ("open", "upcoming"):
        title = texts_get(
            "contest.results.title_open",
            id=contest.id,
            name=contest.name,
            count=len(ranking),
            closes=stamp(contest.closes_at, tz) if tz else contest.closes_at.isoformat(),
        )
    else:
        title = texts_get(
            "quiz.contest.result_admin_title", id=contest.id, name=contest.name, count=len(ranking)
        )
    lines = [title]
    for r in ranking[:limit]:
        if not r["finished"] and state == "open":  # still answering: no time yet
            lines.append(
                texts_get(
                    "contest.results.line_answering",
                    rank=r["rank"],
                    name=r["name"],
                    score=r["score"],
                )
            )
            continue
        lines.append(
            texts_get(
                "quiz.contest.result_line",
                rank=r["rank"],
                name=r["name"],
                score=r["score"],
                seconds=round(r["seconds"]),
            )
        )
    if not ranking:
        lines.append(texts_get("contest.results.nobody_yet"))
    if contest.voided_question_ids:
        qids = list(contest.question_ids or [])
        numbers = [str(qids.index(q) + 1) for q in contest.voided_question_ids if q in qids]
        lines.append(texts_get("contest.results.voided", numbers="、".join(numbers)))
    if depts:
        lines += ["", texts_get("quiz.contest.result_dept_title")]
        for i, d in enumerate(depts, start=1):
            lines.append(
                texts_get(
                    "quiz.contest.result_dept_line",
                    rank=i,
                    name=d["name"],
                    average=d["average"],
                    participants=d["participants"],
                    members=d["members"],
                )
            )
    return lines


def contest_results_text(
    session: Session, t: Texts, contest: Contest, now: datetime, tz: tzinfo, limit: int
) -> str:
    """A contest's results as an officer reads them (chat and CLI): 进行中 with the standings
    so far and the closing time, 已结束 with the final ranking, or why there is none."""
    state = status(contest, now)
    if state == "cancelled":
        return t("contest.results.cancelled", id=contest.id, name=contest.name)
    if state == "upcoming":
        return t(
            "contest.results.upcoming",
            id=contest.id,
            name=contest.name,
            opens=stamp(contest.opens_at, tz),
        )
    ranking = contests.ranking(session, contest.id)
    if not ranking and state == "closed":
        return t("quiz.contest.result_none", id=contest.id, name=contest.name)
    depts = contests.department_results(session, contest.id)
    return "\n".join(ranking_lines(t, contest, ranking, depts, limit, now=now, tz=tz))


def results_text(
    session: Session, t: Texts, ref: str, *, is_admin: bool, now: datetime, tz: tzinfo
) -> str:
    """竞赛 结果 <编号>: everyone once announced, admins at any time (and more lines)."""
    ref = ref.strip().lstrip("#")
    contest = session.get(Contest, int(ref)) if ref.isdigit() else None
    if contest is None:
        return t("quiz.contest.not_found", id=ref or "?")
    if not is_admin:
        if contest.cancelled_at is not None:
            return t("contest.results.cancelled", id=contest.id, name=contest.name)
        if contest.announced_at is None:
            return t("quiz.contest.results_not_ready", id=contest.id)
    return contest_results_text(session, t, contest, now, tz, 50 if is_admin else 10)


def announce_results(session: Session, contest: Contest, now: datetime) -> int | None:
    """Push each participant's score and rank, once: the UPDATE … WHERE announced_at IS NULL
    decides (and the per-person dedup keys would stop a second push anyway). None if the
    results were out already; a ContestError if the contest is not closed or was cancelled."""
    if contest.cancelled_at is not None:
        raise contests.ContestError(texts.get("contest.admin.cancelled"))
    if contest.closed_at is None:
        raise contests.ContestError(texts.get("contest.admin.not_closed"))
    taken = session.execute(
        update(Contest)
        .where(
            Contest.id == contest.id,
            Contest.announced_at.is_(None),
            Contest.cancelled_at.is_(None),
        )
        .values(announced_at=now)
    ).rowcount
    session.refresh(contest)
    if not taken:
        return None
    ranking = contests.ranking(session, contest.id)
    for r in ranking:
        body = text_message(
            texts.get(
                "quiz.contest.result_personal",
                name=contest.name,
                score=r["score"],
                correct=r["correct"],
                total=r["total"],
                seconds=round(r["seconds"]),
                rank=r["rank"],
                count=len(ranking),
            )
        )
        enqueue(
            session,
            [r["userid"]],
            body,
            source=f"contest:{contest.id}",
            now=now,
            dedup_key=f"contest:{contest.id}:result:{r['userid']}"[:191],
        )
    return len(ranking)


def close_contests(session: Session, services: Services, now: datetime) -> str:
    """Every minute: close due contests once and push the ranking to the officers; the
    results go to each participant then too, unless an officer announces them from the
    console (dedup keys make a re-run enqueue nothing twice)."""
    closed = contests.close_due(session, now)
    for contest in closed:
        ranking = contests.ranking(session, contest.id)
        if ranking:
            text = "\n".join(
                ranking_lines(
                    texts.get, contest, ranking, contests.department_results(session, contest.id)
                )
            )
        else:
            text = texts.get("quiz.contest.result_none", id=contest.id, name=contest.name)
        if ranking and not contest.auto_announce:
            text += "\n\n" + texts.get("contest.results.announce_hint", id=contest.id)
        enqueue(
            session,
            officer_ids(session, services.settings),
            text_message(text),
            source=f"contest:{contest.id}",
            now=now,
            dedup_key=f"contest:{contest.id}:ranking",
        )
        if contest.auto_announce:
            announce_results(session, contest, now)
    return f"closed {len(closed)} contests" if closed else "no contest due"

"""A contest's results: the ranking as text lines, 竞赛 结果 and the job that closes contests
and pushes each participant's result and the ranking to the officers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import officer_ids
from bot.messages import text_message
from bot.models import Contest
from bot.outbox import enqueue
from bot.quiz import contest as contests
from bot.services import Services

Texts = Callable[..., str]


def ranking_lines(
    texts_get: Texts, contest: Contest, ranking: list[dict], depts: list[dict], limit: int = 20
) -> list[str]:
    lines = [
        texts_get(
            "quiz.contest.result_admin_title", id=contest.id, name=contest.name, count=len(ranking)
        )
    ]
    for r in ranking[:limit]:
        lines.append(
            texts_get(
                "quiz.contest.result_line",
                rank=r["rank"],
                name=r["name"],
                score=r["score"],
                seconds=round(r["seconds"]),
            )
        )
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


def results_text(session: Session, t: Texts, ref: str, *, is_admin: bool) -> str:
    """竞赛 结果 <编号>: everyone after the close, admins at any time (and more lines)."""
    ref = ref.strip().lstrip("#")
    contest = session.get(Contest, int(ref)) if ref.isdigit() else None
    if contest is None:
        return t("quiz.contest.not_found", id=ref or "?")
    if contest.closed_at is None and not is_admin:
        return t("quiz.contest.results_not_ready", id=contest.id)
    ranking = contests.ranking(session, contest.id)
    if not ranking:
        return t("quiz.contest.result_none", id=contest.id, name=contest.name)
    limit = 50 if is_admin else 10
    return "\n".join(
        ranking_lines(t, contest, ranking, contests.department_results(session, contest.id), limit)
    )


def close_contests(session: Session, services: Services, now: datetime) -> str:
    """Every minute: close due contests once, push each participant's result and the ranking
    to the admins (dedup keys make a re-run enqueue nothing twice)."""
    closed = contests.close_due(session, now)
    for contest in closed:
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
        if ranking:
            text = "\n".join(
                ranking_lines(
                    texts.get, contest, ranking, contests.department_results(session, contest.id)
                )
            )
        else:
            text = texts.get("quiz.contest.result_none", id=contest.id, name=contest.name)
        enqueue(
            session,
            officer_ids(session, services.settings),
            text_message(text),
            source=f"contest:{contest.id}",
            now=now,
            dedup_key=f"contest:{contest.id}:ranking",
        )
    return f"closed {len(closed)} contests" if closed else "no contest due"

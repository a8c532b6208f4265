"""积分 and 排行: one person's points and the campaign's ranking tables, as texts.

The ranking reads every answer and every member; at campaign scale that costs about a second,
so both are served from a snapshot at most `cache_seconds` old (0: always fresh).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.quiz import daily, scoring
from bot.settings import Settings
from bot.snapshot import snapshot

Texts = Callable[..., str]


def points_snapshot(session: Session, now: datetime, cache_seconds: int) -> list[tuple[str, int]]:
    return snapshot(
        session,
        "quiz.points_table",
        now,
        cache_seconds,
        lambda: scoring.points_table(session),
    )


def points_text(
    session: Session,
    t: Texts,
    settings: Settings,
    *,
    userid: str,
    name: str,
    today: date,
    now: datetime,
) -> str:
    """积分: my points (always fresh), my rank, my streak, today's quiz and the rules."""
    points = scoring.total_points(session, userid)
    if settings.ranking_cache_seconds > 0:
        table = points_snapshot(session, now, settings.ranking_cache_seconds)
        rank, ranked = scoring.rank_in(table, userid, points)
    else:
        rank, ranked = scoring.rank_of(session, userid)
    day_set = daily.find_set(session, userid, today)
    if day_set is None:
        today_text = t("quiz.today_none")
    else:
        correct, total, _ = daily.day_summary(session, day_set)
        done = len(daily.answered(session, day_set.id))
        today_text = (
            t("quiz.today_done", correct=correct, total=total)
            if done >= total
            else t("quiz.today_partial", done=done, total=total)
            if done
            else t("quiz.today_none")
        )
    text = t(
        "quiz.points",
        name=name,
        points=points,
        streak=scoring.streak(session, userid, today),
        rank=rank,
        ranked=ranked,
        today=today_text,
    )
    return text + "\n\n" + scoring.rules_text(settings.quiz_per_day)


def ranking_snapshot(session: Session, t: Texts, now: datetime, cache_seconds: int) -> str:
    """排行 as a snapshot (at most cache_seconds old)."""
    return snapshot(session, "quiz.ranking", now, cache_seconds, lambda: ranking_text(session, t))


def ranking_text(session: Session, t: Texts) -> str:
    # One pass over the answers serves both tables (it is the expensive part at scale).
    table = scoring.points_table(session)
    people = scoring.top_people(session, 10, table)
    if not people:
        return t("quiz.ranking_none")
    lines = [t("quiz.ranking_title"), t("quiz.ranking_people")]
    rank, previous = 0, None
    for i, (_, name, points) in enumerate(people, start=1):
        rank = rank if points == previous else i
        previous = points
        lines.append(t("quiz.ranking_person", rank=rank, name=name, points=points))
    depts = scoring.department_table(session, table)
    if depts:
        lines += ["", t("quiz.ranking_dept_avg")]
        by_avg = sorted(depts, key=lambda d: (-d["average"], d["department_id"]))[:10]
        for i, d in enumerate(by_avg, start=1):
            lines.append(
                t(
                    "quiz.ranking_dept_avg_line",
                    rank=i,
                    name=d["name"],
                    average=d["average"],
                    members=d["members"],
                )
            )
        lines += ["", t("quiz.ranking_dept_rate")]
        by_rate = sorted(depts, key=lambda d: (-d["participation"], d["department_id"]))[:10]
        for i, d in enumerate(by_rate, start=1):
            lines.append(
                t(
                    "quiz.ranking_dept_rate_line",
                    rank=i,
                    name=d["name"],
                    rate=d["participation"],
                    members=d["members"],
                    joined=round(d["participation"] * d["members"]),
                )
            )
    return "\n".join(lines)

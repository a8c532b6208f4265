"""积分 and 排行: one person's points and the campaign's ranking tables, as texts.

Points come from several sources: the daily quiz (bot.quiz.scoring) and whatever the caller
passes in `extra` (verified hazards …: features do not import each other, so the chat handler
collects those from their features). Participation is bot.participation's one definition.

The ranking reads every answer and every member; at campaign scale that costs about a second,
so both are served from a snapshot at most `cache_seconds` old (0: always fresh). One person's
own points are always fresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.participation import has_taken_part, participants
from bot.quiz import daily, scoring
from bot.settings import Settings
from bot.snapshot import snapshot

Texts = Callable[..., str]
# source key (content: quiz.point_sources) -> {userid: points}
Sources = Mapping[str, Mapping[str, int]]
NO_EXTRA: Callable[[], Sources] = dict


@dataclass(frozen=True)
class Board:
    """Everyone's points (quiz plus the extra sources), most first, and who took part."""

    table: list[tuple[str, int]]
    participants: frozenset[str]


def build_board(session: Session, extra: Sources) -> Board:
    totals = dict(scoring.points_table(session))
    for per_user in extra.values():
        for userid, points in per_user.items():
            totals[userid] = totals.get(userid, 0) + int(points)
    table = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return Board(table, frozenset(participants(session)))


def board_snapshot(
    session: Session, now: datetime, cache_seconds: int, extra: Callable[[], Sources] = NO_EXTRA
) -> Board:
    return snapshot(
        session, "quiz.board", now, cache_seconds, lambda: build_board(session, extra())
    )


def rank_line(t: Texts, session: Session, board: Board, userid: str, points: int) -> str:
    """「排名：第 N 名（共 M 人参与）」, or that this person has not taken part yet."""
    if userid not in board.participants and not has_taken_part(session, userid):
        return t("quiz.rank_not_yet")
    rank = 1 + sum(1 for u, p in board.table if p > points and u != userid)
    ranked = len(board.participants | {userid})
    return t("quiz.rank_line", rank=rank, ranked=max(ranked, rank))


def source_lines(t: Texts, quiz_points: int, mine: Mapping[str, int]) -> str:
    """One line per source: 答题, then the extra sources in the order given."""
    lines = [t("quiz.point_source", label=t("quiz.point_sources.quiz"), points=quiz_points)]
    for key, points in mine.items():
        lines.append(t("quiz.point_source", label=t(f"quiz.point_sources.{key}"), points=points))
    return "\n".join(lines)


def points_text(
    session: Session,
    t: Texts,
    settings: Settings,
    *,
    userid: str,
    name: str,
    today: date,
    now: datetime,
    mine: Mapping[str, int] | None = None,
    extra: Callable[[], Sources] = NO_EXTRA,
) -> str:
    """积分: my points per source (always fresh), my rank, my streak, today's quiz, the rules.

    `mine` is this person's points from the extra sources; `extra` computes everyone's (it is
    only called when the snapshot of the board is refreshed)."""
    mine = dict(mine or {})
    quiz_points = scoring.total_points(session, userid)
    points = quiz_points + sum(mine.values())
    board = board_snapshot(session, now, settings.ranking_cache_seconds, extra)
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
        sources=source_lines(t, quiz_points, mine),
        streak=scoring.streak(session, userid, today),
        rank_line=rank_line(t, session, board, userid, points),
        today=today_text,
    )
    return text + "\n\n" + scoring.rules_text(settings.quiz_per_day)


def ranking_snapshot(
    session: Session,
    t: Texts,
    now: datetime,
    cache_seconds: int,
    extra: Callable[[], Sources] = NO_EXTRA,
) -> str:
    """排行 as a snapshot (at most cache_seconds old)."""
    return snapshot(
        session, "quiz.ranking", now, cache_seconds, lambda: ranking_text(session, t, extra())
    )


def ranking_text(session: Session, t: Texts, extra: Sources | None = None) -> str:
    # One pass over the answers serves both tables (it is the expensive part at scale).
    board = build_board(session, extra or {})
    table = [(u, p) for u, p in board.table if p > 0 or u in board.participants]
    people = scoring.top_people(session, 10, table)
    if not people:
        return t("quiz.ranking_none")
    lines = [
        t("quiz.ranking_title"),
        t("quiz.ranking_participants", count=len(board.participants)),
        t("quiz.ranking_people"),
    ]
    rank, previous = 0, None
    for i, (_, name, points) in enumerate(people, start=1):
        rank = rank if points == previous else i
        previous = points
        lines.append(t("quiz.ranking_person", rank=rank, name=name, points=points))
    depts = scoring.department_table(session, table, board.participants)
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

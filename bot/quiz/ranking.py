"""积分 and 排行: one person's points and the campaign's ranking tables, as texts.

Points come from several sources: the daily quiz (bot.quiz.scoring) and whatever the caller
passes in `extra` (verified hazards …: features do not import each other, so the chat handler
collects those from their features). Participation is bot.participation's one definition.

Both read the counters: a person's rank is a count over person_totals' points index plus a
correction for the few people with points from the extra sources, 排行's top ten come from the
top of that index, its department tables and everyone's 「共 N 人参与」 from department_totals
(a few hundred rows, kept by triggers as answers come in and the directory changes). So
neither needs a snapshot; 排行's text may still be reused for `cache_seconds` (0: always
fresh). The full board (build_board: everyone, most points first) is for the exports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import among
from bot.models import PersonTotals, User
from bot.participation import has_taken_part, participant_count, participants
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


def extra_totals(extra: Sources) -> dict[str, int]:
    """userid -> points from the extra sources together (people with none left out)."""
    totals: dict[str, int] = {}
    for per_user in extra.values():
        for userid, points in per_user.items():
            totals[userid] = totals.get(userid, 0) + int(points)
    return {u: p for u, p in totals.items() if p}


def _quiz_points_of(session: Session, userids: list[str]) -> dict[str, int]:
    if not userids:
        return {}
    return dict(
        session.execute(
            select(PersonTotals.userid, PersonTotals.points).where(
                among(session, PersonTotals.userid, userids)
            )
        ).all()
    )


def people_above(session: Session, points: int, extra: Mapping[str, int], userid: str) -> int:
    """How many people other than `userid` have more than `points` in all (quiz + extra).

    Extra points are never negative, so everyone whose quiz points alone are higher counts (a
    count over ix_person_totals_points); of the rest, only people with extra points can get
    above: those whose quiz points are at most `points` but within their extra of it. Their
    quiz points come from whichever is fewer rows: the band of quiz points within the largest
    extra below `points` (counted first, over the same index), or a primary-key lookup of each
    person with extra points."""
    if any(p < 0 for p in extra.values()):  # not a rule today; then count the whole board
        board = build_board(session, {"extra": extra})
        return sum(1 for u, p in board.table if p > points and u != userid)
    above = (
        session.scalar(
            select(func.count())
            .select_from(PersonTotals)
            .where(PersonTotals.points > points, PersonTotals.userid != userid)
        )
        or 0
    )
    gain = {u: e for u, e in extra.items() if u != userid}
    if not gain:
        return above
    in_band = (PersonTotals.points > points - max(gain.values()), PersonTotals.points <= points)
    band_size = session.scalar(select(func.count()).select_from(PersonTotals).where(*in_band))
    if (band_size or 0) > len(gain):
        quiz = _quiz_points_of(session, sorted(gain))
        return above + sum(
            1 for u, e in gain.items() if quiz.get(u, 0) <= points < quiz.get(u, 0) + e
        )
    band = dict(
        session.execute(select(PersonTotals.userid, PersonTotals.points).where(*in_band)).all()
    )
    for u, e in gain.items():
        if u in band:
            above += band[u] + e > points
    # Extra points above `points` on their own: counted unless the person is in the band
    # (done above) or already above on quiz points alone.
    alone = [u for u, e in gain.items() if e > points and u not in band]
    quiz = _quiz_points_of(session, alone)
    above += sum(1 for u in alone if quiz.get(u, 0) <= points)
    return above


def rank_line(
    t: Texts, session: Session, userid: str, points: int, extra: Mapping[str, int]
) -> str:
    """「排名：第 N 名（共 M 人参与）」, or that this person has not taken part yet."""
    if not has_taken_part(session, userid):
        return t("quiz.rank_not_yet")
    rank = 1 + people_above(session, points, extra, userid)
    return t("quiz.rank_line", rank=rank, ranked=max(participant_count(session), rank))


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

    `mine` is this person's points from the extra sources; `extra` computes everyone's (a
    few small tables: the people with points besides the quiz)."""
    mine = dict(mine or {})
    quiz_points = scoring.total_points(session, userid)
    points = quiz_points + sum(mine.values())
    day_set = daily.find_set(session, userid, today)
    if day_set is None:
        today_text = t("quiz.today_none")
    else:
        answers = daily.answered(session, day_set.id)  # once: day_summary would read it again
        correct = sum(1 for a in answers.values() if a.correct)
        total, done = len(day_set.question_ids), len(answers)
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
        rank_line=rank_line(t, session, userid, points, extra_totals(extra())),
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


def top_totals(session: Session, extra: Mapping[str, int], limit: int = 10):
    """The first `limit` of the board, [(userid, points)] most first (ties by userid).

    Extra points are never negative, so the limit-th highest quiz points bound the board's
    limit-th: only people within the largest extra of it, and people with extra points, can
    be in the top."""
    kth = session.scalar(
        select(PersonTotals.points)
        .where(scoring.ANSWERED)
        .order_by(PersonTotals.points.desc())
        .offset(limit - 1)
        .limit(1)
    )
    stmt = select(PersonTotals.userid, PersonTotals.points).where(scoring.ANSWERED)
    if kth is not None:
        stmt = stmt.where(PersonTotals.points >= kth - max([0, *extra.values()]))
    totals = {u: int(p) for u, p in session.execute(stmt)}
    for u, e in extra.items():
        totals[u] = totals.get(u, 0) + e
    table = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return table[:limit]


def department_rows(session: Session, extra: Mapping[str, int]) -> list[dict]:
    """scoring.department_table's rows (every person's quiz and extra points, participation)
    from department_totals, plus the extra points of their members (a lookup of the few
    people with extra points)."""
    extra_by_dept: dict[int, int] = {}
    if extra:
        for u, dept in session.execute(
            select(User.userid, User.department_id).where(
                among(session, User.userid, extra),
                User.status == 1,
                User.department_id.is_not(None),
            )
        ):
            extra_by_dept[dept] = extra_by_dept.get(dept, 0) + extra[u]
    names = scoring.department_names(session)
    rows = []
    for dept, (members, points, joined) in scoring.department_totals(session).items():
        rows.append(
            {
                "department_id": dept,
                "name": names.get(dept, str(dept)),
                "members": members,
                "average": (points + extra_by_dept.get(dept, 0)) / members,
                "participation": joined / members,
            }
        )
    return rows


def ranking_text(session: Session, t: Texts, extra: Sources | None = None) -> str:
    bonus = extra_totals(extra or {})
    people = scoring.top_people(session, 10, top_totals(session, bonus))
    if not people:
        return t("quiz.ranking_none")
    lines = [
        t("quiz.ranking_title"),
        t("quiz.ranking_participants", count=participant_count(session)),
        t("quiz.ranking_people"),
    ]
    rank, previous = 0, None
    for i, (_, name, points) in enumerate(people, start=1):
        rank = rank if points == previous else i
        previous = points
        lines.append(t("quiz.ranking_person", rank=rank, name=name, points=points))
    depts = department_rows(session, bonus)
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

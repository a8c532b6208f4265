"""积分 and 排行 as tables for people who pick whom to commend: every person's points per source
(the quiz's own, and the `extra` sources the caller collects: verified hazards, finished
learning tasks …; features do not import each other) and the departments' ranking.

The board is bot.quiz.ranking's (the chat 排行 counts the same way); ranks are over everyone,
ties share a rank; `allows` keeps the people and departments a console account sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bot.content import texts
from bot.people import Names
from bot.quiz import scoring
from bot.quiz.ranking import Board, Sources, build_board

Allows = Callable[[int | None], bool]
DEPARTMENT_HEADER = ["名次", "部门", "人数", "人均积分", "参与率(%)"]


def _everyone(_department_id: int | None) -> bool:
    return True


def source_labels(extra: Sources) -> list[str]:
    return [texts.get(f"quiz.point_sources.{key}") for key in ("quiz", *extra)]


def points_rows(
    session: Session, extra: Sources, allows: Allows = _everyone, board: Board | None = None
) -> list[list[Any]]:
    """[名次, 姓名, 部门, points per source …, 合计, 已参与], most points first: everyone with
    points or who took part (as 排行 lists them)."""
    board = board or build_board(session, extra)
    quiz = dict(scoring.points_table(session))
    names = Names(session)
    rows, rank, previous = [], 0, None
    for i, (userid, total) in enumerate(board.table, start=1):
        if total <= 0 and userid not in board.participants:
            continue
        rank = rank if total == previous else i
        previous = total
        dept = names.people.get(userid, (userid, None))[1]
        if not allows(dept):
            continue
        rows.append(
            [
                rank,
                names.name(userid),
                names.department(dept),
                quiz.get(userid, 0),
                *(int(per.get(userid, 0)) for per in extra.values()),
                total,
                "是" if userid in board.participants else "否",
            ]
        )
    return rows


def department_rows(
    session: Session, extra: Sources, allows: Allows = _everyone, board: Board | None = None
) -> list[list]:
    """[名次, 部门, 人数, 人均积分, 参与率(%)], by average points (排行's first department
    table)."""
    board = board or build_board(session, extra)
    depts = scoring.department_table(session, board.table, board.participants)
    depts.sort(key=lambda d: (-d["average"], d["department_id"]))
    return [
        [
            i,
            d["name"],
            d["members"],
            round(d["average"], 1),
            round(100 * d["participation"], 1),
        ]
        for i, d in enumerate(depts, start=1)
        if allows(d["department_id"])
    ]


def points_sheets(session: Session, extra: Sources, allows: Allows = _everyone) -> list[tuple]:
    """[(title, header, rows)] for bot.exports.write_xlsx: people, then departments."""
    board = build_board(session, extra)
    person_header = ["名次", "姓名", "部门", *source_labels(extra), "合计", "已参与活动"]
    return [
        ("个人积分", person_header, points_rows(session, extra, allows, board)),
        ("部门排行", DEPARTMENT_HEADER, department_rows(session, extra, allows, board)),
    ]

"""The 员工提问 export: the 转人工 tickets (WT-…) and the questions without a confident answer,
the two lists of the console's page. Questions are typed by people: bot.exports writes them as
text, never as formulas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.knowledge import answers, tickets
from bot.knowledge.index import get_index
from bot.people import Names

TICKET_HEADER = [
    "编号",
    "提问时间",
    "提问人",
    "部门",
    "问题",
    "最接近的条目",
    "匹配度",
    "状态",
    "答复",
    "答复人",
    "答复时间",
]
UNANSWERED_HEADER = ["提问时间", "提问人", "问题", "最接近的条目", "匹配度", "判断"]
OUTCOMES = {answers.OFF_TOPIC: "非安全问题", answers.UNSURE: "没有把握"}
STATUSES = {tickets.OPEN: "待答复", tickets.ANSWERED: "已答复"}


def entry_titles(ids) -> dict[str, str]:
    """Knowledge entry id -> its question (what the closest entry is called on the page)."""
    index = get_index()
    return {i: doc.question for i in ids if i and (doc := index.get(i)) is not None}


def asked_sheets(session: Session, tz, limit: int | None = 200) -> list[tuple[str, list, list]]:
    """[(title, header, rows)]: the tickets (open first, newest first) and the unanswered
    questions (newest first), at most `limit` of each, as the console's page lists them."""
    names = Names(session)
    wt = tickets.recent(session, limit=limit)
    questions = answers.unanswered(session, limit=limit)
    titles = entry_titles({t.best_id for t in wt} | {q.best_id for q in questions})

    def local(value: datetime | None) -> datetime | None:
        return value.astimezone(tz).replace(tzinfo=None) if value else None

    ticket_rows: list[list[Any]] = [
        [
            t.ticket,
            local(t.created_at),
            names.name(t.asker),
            names.department(t.department_id),
            t.question,
            titles.get(t.best_id or "", ""),
            round(t.score, 2),
            STATUSES.get(t.status, t.status),
            t.answer or "",
            names.actor(t.answered_by),
            local(t.answered_at),
        ]
        for t in wt
    ]
    question_rows: list[list[Any]] = [
        [
            local(q.asked_at),
            names.person(q.userid),
            q.text,
            titles.get(q.best_id or "", ""),
            round(q.score, 2),
            OUTCOMES.get(q.outcome, q.outcome),
        ]
        for q in questions
    ]
    return [
        ("转人工的提问", TICKET_HEADER, ticket_rows),
        ("没有答上的提问", UNANSWERED_HEADER, question_rows),
    ]

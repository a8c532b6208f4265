"""转人工: a question handed to the safety officers as ticket WT-YYYYMMDD-NNNN, and their
answer (chat 回复 WT-… or the console's form) sent back to the asker.

Functions take the session and never commit; what is sent goes through the outbox in the
caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.directory import officer_ids
from bot.knowledge.answers import decide
from bot.knowledge.index import get_index
from bot.messages import text_message
from bot.models import QuestionAsked, QuestionTicket
from bot.outbox import enqueue
from bot.people import department_name
from bot.settings import Settings
from bot.tickets import next_ticket, parse_ticket

PREFIX = "WT"
OPEN, ANSWERED = "open", "answered"


def parse(text: str) -> str | None:
    """ "wt-20260605-0001" / "WT202606050001" -> "WT-20260605-0001"; None if not a ticket."""
    return parse_ticket(text, PREFIX)


def is_reply(args: str) -> bool:
    """Whether 回复's arguments start with a WT ticket (the other 回复 is for JY-)."""
    first = (args or "").split(" ", 1)[0]
    return first.upper().startswith(PREFIX)


def for_question(session: Session, question_id: int) -> QuestionTicket | None:
    return session.scalar(select(QuestionTicket).where(QuestionTicket.question_id == question_id))


def hand_over(
    session: Session,
    settings: Settings,
    *,
    asker: str,
    asker_name: str,
    department_id: int | None,
    question: str,
    asked: QuestionAsked | None,
    now: datetime,
) -> tuple[QuestionTicket, bool]:
    """File `question` (or the logged `asked`) as a WT ticket and tell the officers.
    Returns (ticket, created); a question already handed over keeps its ticket."""
    if asked is not None:
        existing = for_question(session, asked.id)
        if existing is not None:
            return existing, False
    best_id = asked.best_id if asked is not None else None
    score = asked.score if asked is not None else 0.0
    if asked is None:
        decision = decide(question)
        best_id = decision.best.doc.id if decision.best else None
        score = round(decision.score, 4)
    ticket = QuestionTicket(
        ticket=next_ticket(session, PREFIX, now.astimezone(settings.tz).date()),
        asker=asker,
        department_id=department_id,
        question=question.strip()[:2000],
        question_id=asked.id if asked is not None else None,
        best_id=best_id,
        score=score,
        created_at=now,
        status=OPEN,
    )
    session.add(ticket)
    session.flush()
    officers = [u for u in officer_ids(session, settings) if u != asker]
    if officers:
        best = get_index().get(best_id) if best_id else None
        notice = texts.get(
            "knowledge.officer_new",
            ticket=ticket.ticket,
            asker=asker_name,
            department=department_name(session, department_id) or "-",
            question=ticket.question,
            best=best.question if best else "-",
        )
        enqueue(
            session,
            officers,
            text_message(notice),
            source="question:new",
            now=now,
            dedup_key=f"question:new:{ticket.ticket}",
        )
    return ticket, True


def get_by_ticket(session: Session, ticket: str) -> QuestionTicket | None:
    return session.scalar(select(QuestionTicket).where(QuestionTicket.ticket == ticket))


def answer(
    session: Session,
    ticket: QuestionTicket,
    *,
    replier: str,
    replier_name: str,
    content: str,
    now: datetime,
) -> QuestionTicket:
    """An officer's answer: stored on the ticket (answered) and sent to the asker."""
    content = content.strip()[:2000]
    ticket.answer, ticket.answered_by, ticket.answered_at = content, replier, now
    ticket.status = ANSWERED
    notice = texts.get(
        "knowledge.reply_notice", ticket=ticket.ticket, content=content, replier=replier_name
    )
    enqueue(session, [ticket.asker], text_message(notice), source="question:reply", now=now)
    return ticket


def recent(session: Session, limit: int | None = 200) -> list[QuestionTicket]:
    """WT tickets, open ones first, newest first within each."""
    return list(
        session.scalars(
            select(QuestionTicket)
            .order_by(case((QuestionTicket.status == OPEN, 0), else_=1), QuestionTicket.id.desc())
            .limit(limit)
        )
    )

"""After-drill questionnaires: sent once an event with a survey has ended, answered in chat."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import content
from bot.checkin.attendance import attendees
from bot.content import texts
from bot.db import insert_ignore
from bot.messages import text_message
from bot.models import CheckinEvent, DrillSurveyAnswer, EventAttendance
from bot.outbox import enqueue
from bot.services import Services


def parse_option(text: str, count: int) -> int | None:
    """The 1-based option a person chose: 「2」, 「B」/「b」, 「选B」 or 「2.」; None if not one."""
    t = re.sub(r"^(?:我选|选择|选|答案)\s*[:：]?\s*", "", (text or "").strip()).strip(" .。、")
    t = t.upper()
    if t.isascii() and t.isdigit():
        n = int(t)
    elif len(t) == 1 and "A" <= t <= "Z":
        n = ord(t) - ord("A") + 1
    else:
        return None
    return n if 1 <= n <= count else None


def option_letter(n: int) -> str:
    return chr(ord("A") + n - 1)


def survey_questions(key: str) -> list[dict[str, Any]]:
    return content.load("drills.yaml")["questionnaires"][key]["questions"]


def survey_intro(key: str) -> str:
    return content.load("drills.yaml")["questionnaires"][key]["intro"]


def send_survey(session: Session, event: CheckinEvent, now: datetime) -> int | None:
    """Queue the questionnaire invitation to the attendees once. None if already sent."""
    people = attendees(session, event.id)
    mid = enqueue(
        session,
        people,
        text_message(texts.get("checkin.survey_invite", title=event.title)),
        source="drill:survey",
        now=now,
        dedup_key=f"drill:survey:{event.id}",
    )
    session.execute(
        update(CheckinEvent).where(CheckinEvent.id == event.id).values(survey_sent_at=now)
    )
    return len(people) if mid else None


def drill_surveys(session: Session, services: Services, now: datetime) -> str:
    """Every 10 minutes: events that have ended and carry a survey get it sent."""
    events = list(
        session.scalars(
            select(CheckinEvent).where(
                CheckinEvent.survey.is_not(None),
                CheckinEvent.survey_sent_at.is_(None),
                CheckinEvent.ends_at <= now,
                CheckinEvent.ends_at >= now - timedelta(days=2),
            )
        )
    )
    sent = [f"{e.id}:{send_survey(session, e, now)}" for e in events]
    return ("surveys " + ", ".join(sent)) if sent else "no survey due"


def survey_to_answer(session: Session, userid: str) -> CheckinEvent | None:
    """The latest event this person attended whose survey was sent and is not answered yet."""
    answered = select(DrillSurveyAnswer.event_id).where(DrillSurveyAnswer.userid == userid)
    return session.scalar(
        select(CheckinEvent)
        .join(EventAttendance, EventAttendance.event_id == CheckinEvent.id)
        .where(
            EventAttendance.userid == userid,
            CheckinEvent.survey.is_not(None),
            CheckinEvent.survey_sent_at.is_not(None),
            CheckinEvent.id.not_in(answered),
        )
        .order_by(CheckinEvent.ends_at.desc())
        .limit(1)
    )


def save_answers(
    session: Session, event_id: int, userid: str, answers: dict[str, str], now: datetime
) -> bool:
    """Store one person's answers once; False if they had already answered."""
    row = insert_ignore(
        session,
        DrillSurveyAnswer,
        {"event_id": event_id, "userid": userid, "answers": answers, "answered_at": now},
        returning=DrillSurveyAnswer.id,
    ).first()
    return row is not None


def survey_answers(session: Session, event_id: int) -> list[DrillSurveyAnswer]:
    return list(
        session.scalars(
            select(DrillSurveyAnswer)
            .where(DrillSurveyAnswer.event_id == event_id)
            .order_by(DrillSurveyAnswer.userid)
        )
    )

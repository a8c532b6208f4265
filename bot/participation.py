"""Who has taken part in the campaign: the one definition every count of participation uses.

A person has taken part once they did something of the campaign: answered a quiz question
(daily quiz or contest), checked in (daily 打卡 or an event sign-in), signed a 责任书, reported
a hazard, made a suggestion, finished a learning task or sent a 征文 / 随手拍 entry. Sending 帮助 or any other message does not count.

This is core (it reads the models directly): features, figures and the console all call it,
so 排行's 「共 N 人参与」, the rank line of 积分 and the participation rates agree.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, select, union
from sqlalchemy.orm import Session

from bot.models import (
    ContestAnswer,
    ContestAttempt,
    DailyCheckin,
    EventAttendance,
    HazardReport,
    LearningAssignment,
    PledgeSignature,
    QuizAnswer,
    Submission,
    Suggestion,
)


def _sources() -> list[Select]:
    """One `SELECT userid` per kind of taking part."""
    return [
        select(QuizAnswer.userid.label("userid")),
        select(ContestAttempt.userid).where(
            exists().where(ContestAnswer.attempt_id == ContestAttempt.id)
        ),
        select(DailyCheckin.userid),
        select(EventAttendance.userid),
        select(PledgeSignature.userid),
        select(HazardReport.reporter),
        select(Suggestion.proposer),
        select(LearningAssignment.userid).where(LearningAssignment.completed_at.is_not(None)),
        select(Submission.userid),
    ]


def participants(session: Session) -> set[str]:
    """Everyone who has taken part (a set of userids)."""
    return set(session.scalars(union(*_sources())))


def participant_count(session: Session) -> int:
    return len(participants(session))


def has_taken_part(session: Session, userid: str) -> bool:
    """One person, on the chat path: an indexed EXISTS per kind, stopping at the first hit."""
    checks = [
        select(QuizAnswer.id).where(QuizAnswer.userid == userid),
        select(ContestAttempt.id).where(
            ContestAttempt.userid == userid,
            exists().where(ContestAnswer.attempt_id == ContestAttempt.id),
        ),
        select(DailyCheckin.id).where(DailyCheckin.userid == userid),
        select(EventAttendance.id).where(EventAttendance.userid == userid),
        select(PledgeSignature.id).where(PledgeSignature.userid == userid),
        select(HazardReport.id).where(HazardReport.reporter == userid),
        select(Suggestion.id).where(Suggestion.proposer == userid),
        select(LearningAssignment.id).where(
            LearningAssignment.userid == userid, LearningAssignment.completed_at.is_not(None)
        ),
        select(Submission.id).where(Submission.userid == userid),
    ]
    return any(session.scalar(select(exists(q))) for q in checks)

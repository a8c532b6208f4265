"""Who has taken part in the campaign: the one definition every count of participation uses.

A person has taken part once they did something of the campaign: answered a quiz question
(daily quiz or contest), checked in (daily 打卡 or an event sign-in), signed a 责任书, reported
a hazard, made a suggestion, finished a learning task or sent a 征文 / 随手拍 entry. Sending 帮助 or any other message does not count.

This is core (it reads the models directly): features, figures and the console all call it,
so 排行's 「共 N 人参与」, the rank line of 积分 and the participation rates agree.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, func, select, union
from sqlalchemy.orm import Session

from bot.models import (
    ContestAnswer,
    ContestAttempt,
    DailyCheckin,
    DepartmentTotals,
    EventAttendance,
    HazardReport,
    LearningAssignment,
    PersonTotals,
    PledgeSignature,
    QuizAnswer,
    Submission,
    Suggestion,
)


def _sources() -> list[Select]:
    """One `SELECT userid` per kind of taking part (what the counters are recomputed from)."""
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


def participants_from_rows(session: Session) -> set[str]:
    """Everyone who has taken part, from the raw rows (a union over every kind): what the
    counters are checked and repaired against (bot.counters_check); readers use
    participants()."""
    return set(session.scalars(union(*_sources())))


def participants(session: Session) -> set[str]:
    """Everyone who has taken part (a set of userids), from person_totals.took_part_on (kept
    by every writer above in its own transaction; bot.counters recomputes it from the rows
    `_sources` names). Members who left stay counted, as their rows do."""
    return set(
        session.scalars(select(PersonTotals.userid).where(PersonTotals.took_part_on.is_not(None)))
    )


def participant_count(session: Session) -> int:
    """len(participants()), from the department_totals counter: its participants add up,
    over every department and its two catch-all rows (no department; left or never synced),
    to everyone with took_part_on (a read of a few hundred rows, not of every person)."""
    return int(session.scalar(select(func.sum(DepartmentTotals.participants))) or 0)


def has_taken_part(session: Session, userid: str) -> bool:
    """One person, on the chat path: a primary-key lookup in person_totals."""
    return (
        session.scalar(select(PersonTotals.took_part_on).where(PersonTotals.userid == userid))
        is not None
    )

"""Campaign figures for `safetybot stats --json`, the 统计 command and the console.

Every figure is listed in FIGURES, here and nowhere else: a name and a function
(session, now) -> value from its feature's `stats` module. `now` is aware and in the
campaign's time zone, so `now.date()` is the local day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.activity import stats as activity
from bot.checkin import stats as checkin
from bot.drills import stats as drills
from bot.hazard import points as hazard_points
from bot.hazard import stats as hazard
from bot.inspection import points as inspection_points
from bot.inspection import stats as inspection
from bot.knowledge import stats as knowledge
from bot.learning import points as learning_points
from bot.learning import stats as learning
from bot.models import Department, Suggestion, User
from bot.pledge import stats as pledge
from bot.quiz import stats as quiz
from bot.stats_base import count_rows
from bot.submissions import stats as submissions
from bot.suggestion import adopted_points_by_user
from bot.warnings import stats as warnings

StatFn = Callable[[Session, datetime], Any]


def users(session: Session, now: datetime) -> int:
    return count_rows(session, User, User.status == 1)


def departments(session: Session, now: datetime) -> int:
    return count_rows(session, Department)


def suggestions(session: Session, now: datetime) -> int:
    return count_rows(session, Suggestion)


FIGURES: dict[str, StatFn] = {
    "users": users,
    "departments": departments,
    "pledges_signed": pledge.pledges_signed,
    "pledges_by_department": pledge.pledges_by_department,
    "checkins_today": checkin.checkins_today,
    "event_attendance": checkin.event_attendance,
    "quiz_answers": quiz.quiz_answers,
    "quiz_correct_rate": quiz.quiz_correct_rate,
    "hazards": hazard.hazards,
    "hazards_open": hazard.hazards_open,
    "hazards_overdue": hazard.hazards_overdue,
    "suggestions": suggestions,
    "inspections": inspection.inspections,
    "inspections_done": inspection.inspections_done,
    "inspection_items_failed": inspection.inspection_items_failed,
    "warnings": warnings.warnings_sent,
    "broadcasts": warnings.broadcasts_sent,
    "warning_acks": warnings.warning_acks,
    "cap_pending": warnings.cap_pending,
    "questions_asked": knowledge.questions_asked,
    "questions_unanswered": knowledge.questions_unanswered,
    "learning_assigned": learning.learning_assigned,
    "learning_completed": learning.learning_completed,
    "drills": drills.drills,
    "drill_findings": drills.drill_findings,
    "plans_due": drills.plans_due,
    "supplies_expiring": drills.supplies_expiring,
    "submissions": submissions.submissions,
    "votes": submissions.votes,
    "activity_reports": activity.activity_reports,
}

# A department head's 统计: the same features, limited to the departments they head
# (session, now, department ids) -> value.
DEPARTMENT_FIGURES: dict[str, Callable[[Session, datetime, set[int]], Any]] = {
    "members": lambda session, now, departments: count_rows(
        session, User, User.status == 1, User.department_id.in_(sorted(departments) or [-1])
    ),
    "pledges": pledge.department_pledges,
    "quiz": quiz.department_quiz,
    "checkins_today": checkin.department_checkins,
    "hazards": hazard.department_hazards,
    "warning_acks": warnings.department_acks,
}


def department_stats(session: Session, now: datetime, departments: set[int]) -> dict[str, Any]:
    return {name: fn(session, now, departments) for name, fn in DEPARTMENT_FIGURES.items()}


REQUIRED = (
    "users",
    "departments",
    "pledges_signed",
    "checkins_today",
    "quiz_answers",
    "hazards",
    "suggestions",
)


def compute_stats(session: Session, now: datetime) -> dict[str, Any]:
    return {name: fn(session, now) for name, fn in sorted(FIGURES.items())}


def point_sources(session: Session) -> dict[str, dict[str, int]]:
    """Everyone's points from the sources besides the quiz (the console's and the command
    line's 积分 tables; the chat handler collects the same for 排行)."""
    return {
        "hazard": hazard_points.hazard_points_by_user(session),
        "learning": learning_points.learning_points_by_user(session),
        "suggestion": adopted_points_by_user(session),
        "inspection": inspection_points.inspection_points_by_user(session),
    }

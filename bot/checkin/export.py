"""The attendance export of one event: who signed in, per department, survey answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.checkin.attendance import absentees, department_names
from bot.checkin.surveys import survey_answers, survey_questions
from bot.models import CheckinEvent, EventAttendance, User

METHODS = {"code": "签到码", "location": "位置", "manual": "补签", "scan": "扫码"}
ABSENTEE_HEADER = ["部门", "姓名", "账号", "职务"]


Allows = Callable[[int | None], bool]


def _everyone(_department_id: int | None) -> bool:
    return True


def attendance_sheets(
    session: Session, event: CheckinEvent, tz, allows: Allows = _everyone
) -> list:
    """「签到明细」, a per-department count and the drill survey's answers; `allows` keeps the
    people of some departments only (a department head's console)."""
    names = department_names(session)
    rows = [
        [
            names.get(a.department_id or 0, ""),
            a.name,
            a.userid,
            a.checked_at.astimezone(tz),
            METHODS.get(a.method, a.method),
            a.distance_m,
        ]
        for a in session.scalars(
            select(EventAttendance).where(EventAttendance.event_id == event.id)
        )
        if allows(a.department_id)
    ]
    rows.sort(key=lambda r: (r[0], r[2]))
    members = Counter(
        names.get(d or 0, "")
        for d in session.scalars(select(User.department_id).where(User.status == 1))
        if allows(d)
    )
    per = Counter(r[0] for r in rows)  # the detail sheet's people, per department
    summary = [[d, per.get(d, 0), members.get(d, 0)] for d in sorted(set(per) | set(members))]
    sheets = [
        ("签到明细", ["部门", "姓名", "账号", "签到时间", "方式", "距离(米)"], rows),
        ("部门汇总", ["部门", "签到人数", "部门在职人数"], summary),
    ]
    if event.survey:
        questions = survey_questions(event.survey)
        came = {r[2] for r in rows}
        answers = [
            [a.userid] + [a.answers.get(q["id"], "") for q in questions]
            for a in survey_answers(session, event.id)
            if a.userid in came
        ]
        sheets.append(("演练问卷", ["账号"] + [q["text"] for q in questions], answers))
    return sheets


def absentee_sheets(session: Session, event: CheckinEvent, tz, allows: Allows = _everyone) -> list:
    """「未到名单」: members of the invited departments who did not sign in, and a per-department
    count. Names and positions come from the directory: bot.exports writes them as text."""
    names = department_names(session)
    rows = [
        [names.get(u.department_id or 0, ""), u.name or u.userid, u.userid, u.position or ""]
        for u in absentees(session, event)
        if allows(u.department_id)
    ]
    rows.sort(key=lambda r: (r[0], r[2]))
    per = Counter(r[0] for r in rows)
    return [
        ("未到名单", ABSENTEE_HEADER, rows),
        ("部门汇总", ["部门", "未到人数"], sorted(per.items())),
    ]

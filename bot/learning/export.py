"""The 学习任务 export: one row per person and task, and a summary per task and department.
Written through bot.exports (titles and names typed by people never become formulas)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.learning.stats import completion_by_department
from bot.learning.tasks import assignments, tasks
from bot.models import Department, LearningTask, User

PERSON_HEADER = [
    "任务编号",
    "任务",
    "截止日期",
    "部门",
    "姓名",
    "账号",
    "已打开",
    "打开时间",
    "已确认",
    "确认时间",
    "确认方式",
    "已答题",
    "答对题数",
    "完成时间",
]
SUMMARY_HEADER = ["任务编号", "任务", "部门", "应学习", "已打开", "已确认", "已完成", "完成率(%)"]
CHANNELS = {"text": "回复已学习", "card": "卡片按钮"}


def _local(value, tz):
    return value.astimezone(tz).replace(tzinfo=None) if value else None


def export_sheets(session: Session, tz, task_id: int | None = None, *where: Any) -> list[tuple]:
    """[(sheet title, header, rows)] for bot.exports.write_xlsx; `where` narrows the
    assignments (the console's department scope)."""
    by_id = {t.id: t for t in tasks(session, limit=10_000)}
    names = dict(session.execute(select(User.userid, User.name)).all())
    depts = dict(session.execute(select(Department.id, Department.name)).all())
    rows = []
    for a in assignments(session, task_id, *where):
        t: LearningTask = by_id[a.task_id]
        answered = len(t.questions or []) > 0 and len(a.answers or []) == len(t.questions)
        rows.append(
            [
                t.id,
                t.title,
                t.due,
                depts.get(a.department_id or 0, ""),
                names.get(a.userid, ""),
                a.userid,
                "是" if a.opened_at else "否",
                _local(a.opened_at, tz),
                "是" if a.confirmed_at else "否",
                _local(a.confirmed_at, tz),
                CHANNELS.get(a.confirm_channel or "", ""),
                ("是" if answered else "否") if t.questions else "无检查题",
                sum(1 for x in a.answers or [] if x.get("correct")),
                _local(a.completed_at, tz),
            ]
        )
    summary = []
    for t in sorted(by_id.values(), key=lambda x: x.id):
        if task_id is not None and t.id != task_id:
            continue
        for d in completion_by_department(session, t.id, *where):
            summary.append(
                [
                    t.id,
                    t.title,
                    d["name"],
                    d["assigned"],
                    d["opened"],
                    d["confirmed"],
                    d["completed"],
                    round(100 * d["rate"], 1),
                ]
            )
    return [("学习明细", PERSON_HEADER, rows), ("部门汇总", SUMMARY_HEADER, summary)]

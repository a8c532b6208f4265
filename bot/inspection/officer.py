"""The officers' 排查 command in chat (发起 / 模板 / 进度) and the texts shared by chat and
console: an assignment's place and its end-of-checklist summary."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import texts
from bot.inspection import answering, rounds
from bot.inspection.templates import templates
from bot.localtime import parse_chat_date
from bot.models import AuditLog, Department, InspectionAssignment
from bot.people import department_name, find_users
from bot.settings import Settings

t = texts.get


def place(session: Session, a: InspectionAssignment) -> str:
    return department_name(session, a.department_id)


def summary(session: Session, a: InspectionAssignment) -> str:
    p = rounds.progress(session, a)
    tickets = answering.tickets_of(session, a.id)
    return t(
        "inspection.summary",
        title=a.round.title,
        department=place(session, a),
        passed=p.passed,
        failed=p.failed,
        na=p.na,
        tickets="、".join(tickets) if tickets else t("inspection.no_tickets"),
    )


def find_department(session: Session, text: str) -> Department | None:
    if text.isdigit() and len(text) < 10:
        return session.get(Department, int(text))
    return session.scalar(select(Department).where(Department.name == text).limit(1))


def run(session: Session, settings: Settings, actor: str, now: datetime, args: str) -> str:
    words = args.split()
    sub = words[0] if words else ""
    if sub in ("模板", "清单"):
        return template_list()
    if sub in ("进度", "列表"):
        return overview(session, now.date())
    if sub == "发起":
        return start_from_chat(session, settings, actor, now, words[1:])
    return t("inspection.officer_usage")


def template_list() -> str:
    found = templates()
    if not found:
        return t("inspection.no_templates")
    lines = [t("inspection.templates_title")]
    lines += [
        t("inspection.template_line", number=i, title=tp.title, count=len(tp.items))
        for i, tp in enumerate(found.values(), 1)
    ]
    return "\n".join(lines)


def overview(session: Session, today: date) -> str:
    rows = rounds.rounds_overview(session, today)
    if not rows:
        return t("inspection.no_rounds")
    lines = [t("inspection.rounds_title")]
    for r in rows[:10]:
        rnd = r["round"]
        depts = "；".join(
            t(
                "inspection.round_dept",
                department=d["department"],
                inspector=d["inspector"],
                answered=d["progress"].answered,
                total=d["progress"].total,
            )
            for d in r["departments"]
        )
        flag = t("inspection.flag_overdue") if r["overdue"] else ""
        flag = t("inspection.flag_done") if r["done"] else flag
        lines.append(
            t(
                "inspection.round_line",
                id=rnd.id,
                title=rnd.title,
                due=rnd.due.isoformat(),
                flag=flag,
                departments=depts,
            )
        )
    return "\n".join(lines)


def start_from_chat(
    session: Session, settings: Settings, actor: str, now: datetime, words: list[str]
) -> str:
    """发起 模板 部门 检查人 [部门 检查人 …] 截止日期"""
    today = now.date()
    if len(words) < 4 or len(words) % 2:
        return t("inspection.start_usage")
    template_id, pairs, due_text = words[0], words[1:-1], words[-1]
    due = parse_chat_date(due_text, today)
    if due is None:
        return t("inspection.bad_due", text=due_text)
    assignments: list[tuple[int, str]] = []
    for dept_text, who in zip(pairs[::2], pairs[1::2], strict=True):
        dept = find_department(session, dept_text)
        if dept is None:
            return t("inspection.unknown_department", department=dept_text)
        users = find_users(session, who)
        if len(users) != 1:
            return t("inspection.unknown_inspector", inspector=who)
        assignments.append((dept.id, users[0].userid))
    try:
        rnd = rounds.start_round(
            session,
            template_id=template_id,
            assignments=assignments,
            due=due,
            actor=actor,
            now=now,
            today=today,
        )
    except rounds.RoundRefused as exc:
        return exc.text()
    assert rnd is not None
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="inspection:start",
            allowed=True,
            detail=f"round {rnd.id} {template_id} {assignments} due {due}"[:500],
        )
    )
    return t(
        "inspection.started",
        id=rnd.id,
        title=rnd.title,
        count=len(assignments),
        due=due.isoformat(),
    )

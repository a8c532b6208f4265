"""The campaign summary (活动总结): one XLSX workbook and one printable HTML page.

`build_summary` gathers every figure once; the workbook and the page are two renderings of
the same numbers, so what is pasted into the written summary matches the spreadsheet.
Charts on the page are inline SVG, so they print and need no network.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import campaign, suggestion
from bot.activity.stats import summary_rows as activity_rows
from bot.checkin.events import kind_label
from bot.console import charts, data
from bot.console.auth import Scope
from bot.console.report_problems import problems
from bot.drills.stats import summary_rows as drill_rows
from bot.exports import Styled, percent
from bot.exports import write_xlsx as write_sheets
from bot.hazard.export import ledger_rows
from bot.inspection.export import summary_rows as inspection_rows
from bot.inspection.stats import summary as inspection_figures
from bot.learning.stats import completion_by_department
from bot.models import (
    ActivityReport,
    CheckinEvent,
    EventAttendance,
    HazardReport,
    LearningAssignment,
    Suggestion,
    WarningRecipient,
)
from bot.quiz.contest_stats import overview as contest_overview
from bot.settings import Settings
from bot.submissions.export import summary_rows as submission_rows
from bot.warnings.stats import ack_rates

SHEETS = (
    "概览",
    "部门",
    "答题",
    "责任书",
    "签到",
    "隐患台账",
    "建议",
    "隐患排查",
    "学习任务",
    "应急演练",
    "征文和随手拍",
    "部门活动",
)
TEMPLATES = Path(__file__).parent / "templates"


def build_summary(
    session: Session, settings: Settings, now: datetime, scope: Scope = data.ALL
) -> dict[str, Any]:

    tz = settings.tz
    today = now.astimezone(tz).date()

    def local(value):
        return value.astimezone(tz).replace(tzinfo=None) if value else None

    hazards = [
        {**row, "department": row["department"] or "-"}
        for row in ledger_rows(session, settings, today, scope.filter(HazardReport.department_id))
    ]
    events = []
    for e in session.scalars(select(CheckinEvent).order_by(CheckinEvent.starts_at)):
        n = session.scalar(
            select(func.count())
            .select_from(EventAttendance)
            .where(EventAttendance.event_id == e.id, scope.filter(EventAttendance.department_id))
        )
        events.append(
            {
                "title": e.title,
                "kind": kind_label(e.kind),
                "kind_key": e.kind,
                "code": e.code,
                "starts_at": local(e.starts_at),
                "ends_at": local(e.ends_at),
                "attendance": int(n or 0),
            }
        )
    suggestions = suggestion.summary_rows(session, tz, scope.filter(Suggestion.department_id))
    # Each figure once: the overview is the departments' totals, and pledge completion (a
    # pass over every member) serves both the pledge table and the departments.
    pledges = data.pledge_by_department(session, scope)
    departments = data.per_department(session, scope, pledges)
    summary = {
        "generated_at": local(now),
        "org_name": settings.org_name,
        "year": campaign.current(session).year,
        "overview": data.overview(session, scope, today, departments),
        "departments": departments,
        "quiz": data.quiz_by_theme(session, scope),
        "pledges": pledges,
        "checkins": data.fill_days(data.checkins_by_day(session, scope)),
        "participation": data.fill_days(
            data.participation_by_day(session, scope, now, tz, days=366)
        ),
        "events": events,
        "hazards": hazards,
        "suggestions": suggestions,
        "inspections": inspection_rows(session, scope.allows),
        "inspection_figures": inspection_figures(session, now),
        # Learning tasks: completion by department, every task together.
        "learning": completion_by_department(
            session, None, scope.filter(LearningAssignment.department_id)
        ),
        # Drills (desk and live): evacuation time, findings and where their follow-up stands.
        "drills": drill_rows(session, tz),
        # 征文 / 随手拍 contests and their results (organisation-wide, as announced).
        "submissions": submission_rows(session, tz),
        # Warnings that asked for 收到: how many of the people asked acknowledged them.
        "warnings": [
            {**w, "created_at": local(w["created_at"])}
            for w in ack_rates(session, scope.filter(WarningRecipient.department_id))
        ],
        "contests": [
            {
                "name": c.contest.name,
                "status": c.status,
                "opens_at": local(c.contest.opens_at),
                "participants": c.participants,
                "average": c.average,
            }
            for c in contest_overview(session, now)
        ],
        # The departments' own activities (报送), counted per kind and department.
        "activities": activity_rows(session, tz, scope.filter(ActivityReport.department_id)),
    }
    summary["problems"] = problems(summary)
    return summary


def summary_charts(summary: dict[str, Any]) -> list:
    figures = {**summary, "hazard_counts": summary["overview"]["hazard_counts"]}
    figures["status_labels"] = data.STATUS_LABELS
    return charts.campaign_charts(figures, order=charts.SUMMARY_ORDER, prefix="r", width=680)


def render_html(
    summary: dict[str, Any], download: str | None = None, download_docx: str | None = None
) -> str:
    """The printable page; `download` and `download_docx` link to the workbook and the Word
    draft (the console passes them)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"])
    )
    env.filters["pct"] = lambda v: f"{v * 100:.1f}%"
    return env.get_template("console/report.html").render(
        s=summary,
        o=summary["overview"],
        charts=summary_charts(summary),
        status_labels=data.STATUS_LABELS,
        download=download,
        download_docx=download_docx,
    )


def write_xlsx(summary: dict[str, Any], path: str | Path) -> None:
    """The workbook: one sheet per SHEETS entry, streamed by bot.exports.write_xlsx (rates as
    percentages, headers bold, columns sized to their text, no text ever a formula)."""
    write_sheets(path, workbook_sheets(summary), formatted=True)


def workbook_sheets(summary: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, header, rows) for each of SHEETS, in order."""
    builders = (
        _overview_sheet,
        _departments_sheet,
        _quiz_sheet,
        _pledges_sheet,
        _checkins_sheet,
        _ledger_sheet,
        _suggestions_sheet,
        _inspections_sheet,
        _learning_sheet,
        _drills_sheet,
        _submissions_sheet,
        _activities_sheet,
    )
    return [(title, *build(summary)) for title, build in zip(SHEETS, builders, strict=True)]


def _picked(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[list[Any]]:
    return [[r[k] for k in keys] for r in rows]


def _overview_sheet(summary: dict[str, Any]):
    o = summary["overview"]
    figures = (
        ("在册人数", "members"),
        ("参与人数", "participants"),
        ("参与率", "participation_rate"),
        ("答题次数", "quiz_answers"),
        ("答对次数", "quiz_correct"),
        ("答题正确率", "quiz_rate"),
        ("责任书已签", "pledges_signed"),
        ("责任书签订率", "pledge_rate"),
        ("打卡人次", "checkins"),
        ("活动签到人次", "attendance"),
        ("隐患上报", "hazards"),
        ("隐患已销号", "hazards_closed"),
        ("隐患逾期未整改", "hazards_overdue"),
        ("安全建议", "suggestions"),
    )
    rows = [["生成时间", Styled(summary["generated_at"], "yyyy-mm-dd hh:mm")]]
    rows += [[label, percent(o[key]) if label.endswith("率") else o[key]] for label, key in figures]
    return ["指标", "数值"], rows


def _departments_sheet(summary: dict[str, Any]):
    header = [
        "部门",
        "在册人数",
        "参与人数",
        "答题次数",
        "答对次数",
        "正确率",
        "责任书已签",
        "签订率",
        "打卡人次",
        "活动签到",
        "隐患上报",
        "隐患销号",
        "建议",
    ]
    rows = [
        [
            r["name"],
            r["members"],
            r["participants"],
            r["quiz_answers"],
            r["quiz_correct"],
            percent(r["quiz_rate"]),
            r["pledges_signed"],
            percent(r["pledge_rate"]),
            r["checkins"],
            r["attendance"],
            r["hazards"],
            r["hazards_closed"],
            r["suggestions"],
        ]
        for r in summary["departments"]
    ]
    return header, rows


def _quiz_sheet(summary: dict[str, Any]):
    rows = [[q["title"], q["answered"], q["correct"], percent(q["rate"])] for q in summary["quiz"]]
    return ["主题", "答题次数", "答对次数", "正确率"], rows


def _pledges_sheet(summary: dict[str, Any]):
    rows = [[p["name"], p["members"], p["signed"], percent(p["rate"])] for p in summary["pledges"]]
    return ["部门", "在册人数", "已签", "签订率"], rows


def _checkins_sheet(summary: dict[str, Any]):
    rows: list[list[Any]] = [[day, n] for day, n in summary["checkins"]]
    rows += [[], ["活动", "类型", "签到码", "开始", "结束", "签到人数"]]
    rows += _picked(
        summary["events"], ("title", "kind", "code", "starts_at", "ends_at", "attendance")
    )
    return ["日期", "打卡人数"], rows


def _ledger_sheet(summary: dict[str, Any]):
    header = [
        "隐患编号",
        "上报时间",
        "上报人",
        "部门",
        "位置",
        "类别",
        "隐患描述",
        "整改措施",
        "整改资金",
        "责任人",
        "整改期限",
        "状态",
        "逾期",
        "销号时间",
    ]
    keys = ("ticket", "reported_at", "reporter", "department", "location", "category")
    keys += ("description", "measure", "funds", "owner", "deadline", "status_label")
    rows = [
        [*(h[k] for k in keys), "是" if h["overdue"] else "", h["closed_at"]]
        for h in summary["hazards"]
    ]
    return header, rows


def _suggestions_sheet(summary: dict[str, Any]):
    keys = ("ticket", "created_at", "proposer", "department", "content", "replies")
    return ["编号", "提出时间", "提出人", "部门", "内容", "答复"], _picked(
        summary["suggestions"], keys
    )


def _inspections_sheet(summary: dict[str, Any]):
    header = ["轮次", "检查清单", "截止日期", "部门", "检查人", "已查/总项", "不合格", "隐患编号"]
    rows = [
        [
            r["round"],
            r["title"],
            r["due"],
            r["department"],
            r["inspector"],
            f"{r['answered']}/{r['total']}",
            r["failed"],
            r["tickets"],
        ]
        for r in summary["inspections"]
    ]
    return header, rows


def _learning_sheet(summary: dict[str, Any]):
    rows = [
        [r["name"], r["assigned"], r["opened"], r["confirmed"], r["completed"], percent(r["rate"])]
        for r in summary["learning"]
    ]
    return ["部门", "应学习", "已打开", "已确认", "已完成", "完成率"], rows


def _drills_sheet(summary: dict[str, Any]):
    header = [
        "编号",
        "演练",
        "场景类型",
        "形式",
        "时间",
        "参加人数",
        "疏散用时",
        "清点用时",
        "发现的问题及处理",
    ]
    keys = ("id", "title", "scenario_kind", "kind", "starts_at", "participants")
    return header, _picked(summary["drills"], (*keys, "evacuation", "counted", "findings"))


def _submissions_sheet(summary: dict[str, Any]):
    header = ["主题", "类型", "投稿截止", "投票截止", "投稿", "入围", "投票", "评选结果"]
    keys = ("theme", "kind", "submit_until", "vote_until", "entries", "accepted", "votes", "top")
    return header, _picked(summary["submissions"], keys)


def _activities_sheet(summary: dict[str, Any]):
    a = summary["activities"]
    header = ["编号", "日期", "部门", "活动类型", "地点", "人数", "内容", "照片", "报送人", "状态"]
    keys = ("id", "held_on", "department", "kind", "place", "head_count", "description")
    rows = _picked(a["reports"], (*keys, "photos", "filed_by", "status"))
    rows += [[], ["活动类型", "场次", "参加人次"]]
    rows += _picked(a["by_kind"], ("kind", "count", "people"))
    rows += [[], ["部门", "场次", "参加人次"]]
    rows += _picked(a["by_department"], ("name", "count", "people"))
    return header, rows


def write_report(session: Session, settings: Settings, now: datetime, path: str | Path) -> str:
    """`safetybot report FILE`: .xlsx writes the workbook, .html the printable page, .docx the
    editable written summary (Word)."""
    path = Path(path)
    summary = build_summary(session, settings, now)
    if path.suffix.lower() == ".xlsx":
        write_xlsx(summary, path)
    elif path.suffix.lower() in (".html", ".htm"):
        path.write_text(render_html(summary), encoding="utf-8")
    elif path.suffix.lower() == ".docx":
        from bot.console.report_docx import write_docx

        write_docx(summary, path)
    else:
        raise ValueError("FILE must end in .xlsx, .html or .docx")
    return str(path)

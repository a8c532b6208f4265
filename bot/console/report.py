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
from bot.exports import append_row
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
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    o = summary["overview"]
    ws = wb.active
    ws.title = SHEETS[0]
    rows = [
        ("生成时间", summary["generated_at"]),
        ("在册人数", o["members"]),
        ("参与人数", o["participants"]),
        ("参与率", o["participation_rate"]),
        ("答题次数", o["quiz_answers"]),
        ("答对次数", o["quiz_correct"]),
        ("答题正确率", o["quiz_rate"]),
        ("责任书已签", o["pledges_signed"]),
        ("责任书签订率", o["pledge_rate"]),
        ("打卡人次", o["checkins"]),
        ("活动签到人次", o["attendance"]),
        ("隐患上报", o["hazards"]),
        ("隐患已销号", o["hazards_closed"]),
        ("隐患逾期未整改", o["hazards_overdue"]),
        ("安全建议", o["suggestions"]),
    ]
    append_row(ws, ["指标", "数值"])
    for label, value in rows:
        append_row(ws, [label, value])
        if label.endswith("率"):
            ws.cell(row=ws.max_row, column=2).number_format = "0.0%"
    ws.cell(row=2, column=2).number_format = "yyyy-mm-dd hh:mm"

    ws = wb.create_sheet(SHEETS[1])
    append_row(
        ws,
        [
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
        ],
    )
    for r in summary["departments"]:
        append_row(
            ws,
            [
                r["name"],
                r["members"],
                r["participants"],
                r["quiz_answers"],
                r["quiz_correct"],
                r["quiz_rate"],
                r["pledges_signed"],
                r["pledge_rate"],
                r["checkins"],
                r["attendance"],
                r["hazards"],
                r["hazards_closed"],
                r["suggestions"],
            ],
        )
        for c in (6, 8):
            ws.cell(row=ws.max_row, column=c).number_format = "0.0%"

    ws = wb.create_sheet(SHEETS[2])
    append_row(ws, ["主题", "答题次数", "答对次数", "正确率"])
    for q in summary["quiz"]:
        append_row(ws, [q["title"], q["answered"], q["correct"], q["rate"]])
        ws.cell(row=ws.max_row, column=4).number_format = "0.0%"

    ws = wb.create_sheet(SHEETS[3])
    append_row(ws, ["部门", "在册人数", "已签", "签订率"])
    for p in summary["pledges"]:
        append_row(ws, [p["name"], p["members"], p["signed"], p["rate"]])
        ws.cell(row=ws.max_row, column=4).number_format = "0.0%"

    ws = wb.create_sheet(SHEETS[4])
    append_row(ws, ["日期", "打卡人数"])
    for day, n in summary["checkins"]:
        append_row(ws, [day, n])
    append_row(ws, [])
    append_row(ws, ["活动", "类型", "签到码", "开始", "结束", "签到人数"])
    for e in summary["events"]:
        append_row(
            ws, [e["title"], e["kind"], e["code"], e["starts_at"], e["ends_at"], e["attendance"]]
        )

    ws = wb.create_sheet(SHEETS[5])
    append_row(
        ws,
        [
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
        ],
    )
    for h in summary["hazards"]:
        append_row(
            ws,
            [
                h["ticket"],
                h["reported_at"],
                h["reporter"],
                h["department"],
                h["location"],
                h["category"],
                h["description"],
                h["measure"],
                h["funds"],
                h["owner"],
                h["deadline"],
                h["status_label"],
                "是" if h["overdue"] else "",
                h["closed_at"],
            ],
        )

    ws = wb.create_sheet(SHEETS[6])
    append_row(ws, ["编号", "提出时间", "提出人", "部门", "内容", "答复"])
    for s in summary["suggestions"]:
        append_row(
            ws,
            [
                s["ticket"],
                s["created_at"],
                s["proposer"],
                s["department"],
                s["content"],
                s["replies"],
            ],
        )

    ws = wb.create_sheet(SHEETS[7])
    append_row(
        ws, ["轮次", "检查清单", "截止日期", "部门", "检查人", "已查/总项", "不合格", "隐患编号"]
    )
    for r in summary["inspections"]:
        append_row(
            ws,
            [
                r["round"],
                r["title"],
                r["due"],
                r["department"],
                r["inspector"],
                f"{r['answered']}/{r['total']}",
                r["failed"],
                r["tickets"],
            ],
        )

    ws = wb.create_sheet(SHEETS[8])
    append_row(ws, ["部门", "应学习", "已打开", "已确认", "已完成", "完成率"])
    for r in summary["learning"]:
        append_row(
            ws, [r["name"], r["assigned"], r["opened"], r["confirmed"], r["completed"], r["rate"]]
        )
        ws.cell(row=ws.max_row, column=6).number_format = "0.0%"

    ws = wb.create_sheet(SHEETS[9])
    append_row(
        ws,
        [
            "编号",
            "演练",
            "场景类型",
            "形式",
            "时间",
            "参加人数",
            "疏散用时",
            "清点用时",
            "发现的问题及处理",
        ],
    )
    for r in summary["drills"]:
        append_row(
            ws,
            [
                r["id"],
                r["title"],
                r["scenario_kind"],
                r["kind"],
                r["starts_at"],
                r["participants"],
                r["evacuation"],
                r["counted"],
                r["findings"],
            ],
        )

    ws = wb.create_sheet(SHEETS[10])
    append_row(ws, ["主题", "类型", "投稿截止", "投票截止", "投稿", "入围", "投票", "评选结果"])
    for r in summary["submissions"]:
        append_row(
            ws,
            [
                r["theme"],
                r["kind"],
                r["submit_until"],
                r["vote_until"],
                r["entries"],
                r["accepted"],
                r["votes"],
                r["top"],
            ],
        )

    a = summary["activities"]
    ws = wb.create_sheet(SHEETS[11])
    append_row(
        ws, ["编号", "日期", "部门", "活动类型", "地点", "人数", "内容", "照片", "报送人", "状态"]
    )
    for r in a["reports"]:
        append_row(
            ws,
            [
                r["id"],
                r["held_on"],
                r["department"],
                r["kind"],
                r["place"],
                r["head_count"],
                r["description"],
                r["photos"],
                r["filed_by"],
                r["status"],
            ],
        )
    append_row(ws, [])
    append_row(ws, ["活动类型", "场次", "参加人次"])
    for k in a["by_kind"]:
        append_row(ws, [k["kind"], k["count"], k["people"]])
    append_row(ws, [])
    append_row(ws, ["部门", "场次", "参加人次"])
    for d in a["by_department"]:
        append_row(ws, [d["name"], d["count"], d["people"]])

    for sheet in wb.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for col in sheet.columns:
            letter = col[0].column_letter
            longest = max((len(str(c.value)) for c in col if c.value is not None), default=4)
            sheet.column_dimensions[letter].width = min(60, max(8, longest * 1.6))
            for c in col:
                if isinstance(c.value, str) and "\n" in c.value:
                    c.alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(str(path))


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

"""The campaign summary as an editable Word draft (活动总结, .docx), in the usual form:
title, 一、基本情况, 二、主要做法和成效 (one part per activity, with tables and charts),
三、存在问题 (from the data), 四、下一步打算 (headings to fill in), signature lines.

The figures are those of `build_summary`, like the workbook and the printable page; the
wording is content (`report.*`), so an office can adjust it without touching code.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.console import charts_png, data
from bot.console.report_problems import pct, problems
from bot.content import texts

BODY_FONT = "宋体"
HEADING_FONT = "黑体"


def t(key: str, **values: Any) -> str:
    return texts.get(f"report.{key}", **values)


def write_docx(summary: dict[str, Any], path: str | Path) -> None:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    _fonts(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)  # A4, the usual office paper
    section.top_margin = section.bottom_margin = Cm(3.0)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    o = summary["overview"]
    org, year = summary["org_name"], summary["year"]
    title = doc.add_heading(t("title", org=org, year=year), level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    meta = doc.add_paragraph(t("as_of", time=summary["generated_at"].strftime("%Y-%m-%d %H:%M")))
    meta.alignment = WD_ALIGN_PARAGRAPH.CENTER
    meta.runs[0].font.size = Pt(10)

    figures = {**summary, "hazard_counts": o["hazard_counts"], "status_labels": data.STATUS_LABELS}
    order = ("participation", "checkins", "pledges", "quiz", "hazards")
    pngs = dict(
        zip(order, (png for _, png in charts_png.campaign_pngs(figures, order)), strict=True)
    )

    def picture(name: str) -> None:
        doc.add_picture(io.BytesIO(pngs[name]), width=Cm(15))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER

    def table(key: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            doc.add_paragraph(t("none"))
            return
        _table(doc, texts.raw(f"report.tables.{key}"), rows)

    # 一、基本情况
    doc.add_heading(t("h_basic"), level=1)
    doc.add_paragraph(
        t(
            "basic",
            org=org,
            year=year,
            **{
                k: pct(v) if k.endswith("_rate") else v
                for k, v in o.items()
                if k != "hazard_counts"
            },
        )
    )
    table(
        "departments",
        [
            (
                r["name"],
                r["members"],
                r["participants"],
                pct(r["participants"] / r["members"]) if r["members"] else "-",
                r["quiz_answers"],
                pct(r["quiz_rate"]),
                r["pledges_signed"],
                pct(r["pledge_rate"]),
                r["hazards"],
                r["suggestions"],
            )
            for r in summary["departments"]
        ],
    )
    picture("participation")
    picture("checkins")

    # 二、主要做法和成效
    doc.add_heading(t("h_done"), level=1)
    _events(doc, summary, "ceremony", table)

    doc.add_heading(t("h_pledge"), level=2)
    doc.add_paragraph(t("pledge", signed=o["pledges_signed"], rate=pct(o["pledge_rate"])))
    table(
        "pledges",
        [(p["name"], p["members"], p["signed"], pct(p["rate"])) for p in summary["pledges"]],
    )
    picture("pledges")

    doc.add_heading(t("h_inspection"), level=2)
    f = summary["inspection_figures"]
    doc.add_paragraph(
        t(
            "inspection",
            rounds=f["rounds"],
            rounds_done=f["rounds_done"],
            items_checked=f["items_checked"],
            items_failed=f["items_failed"],
            tickets=f["tickets"],
            hazards=o["hazards"],
            closed=o["hazards_closed"],
            overdue=o["hazards_overdue"],
        )
    )
    table(
        "inspections",
        [
            (
                r["round"],
                r["title"],
                r["department"],
                r["inspector"],
                f"{r['answered']}/{r['total']}",
                r["failed"],
            )
            for r in summary["inspections"]
        ],
    )
    table(
        "hazards",
        [
            (
                h["ticket"],
                h["department"],
                h["description"],
                h["owner"],
                h["deadline"] or "",
                h["status_label"] + (t("overdue_mark") if h["overdue"] else ""),
            )
            for h in summary["hazards"]
        ],
    )
    picture("hazards")

    _events(doc, summary, "drill", table)
    _events(doc, summary, "campaign", table)

    doc.add_heading(t("h_learning"), level=2)
    assigned = sum(r["assigned"] for r in summary["learning"])
    completed = sum(r["completed"] for r in summary["learning"])
    doc.add_paragraph(
        t(
            "learning",
            assigned=assigned,
            completed=completed,
            rate=pct(completed / assigned if assigned else 0),
        )
    )
    table(
        "learning",
        [(r["name"], r["assigned"], r["completed"], pct(r["rate"])) for r in summary["learning"]],
    )

    doc.add_heading(t("h_quiz"), level=2)
    contests = summary.get("contests", [])
    doc.add_paragraph(
        t(
            "quiz",
            answers=o["quiz_answers"],
            correct=o["quiz_correct"],
            rate=pct(o["quiz_rate"]),
            contests=len(contests),
            people=sum(c["participants"] for c in contests),
        )
    )
    table(
        "quiz", [(q["title"], q["answered"], q["correct"], pct(q["rate"])) for q in summary["quiz"]]
    )
    picture("quiz")
    if contests:
        table(
            "contests",
            [
                (
                    c["name"],
                    texts.get(f"contest.status.{c['status']}"),
                    c["opens_at"].strftime("%Y-%m-%d %H:%M") if c["opens_at"] else "",
                    c["participants"],
                    f"{c['average']:.1f}" if c["average"] is not None else "-",
                )
                for c in contests
            ],
        )

    doc.add_heading(t("h_suggestion"), level=2)
    replied = sum(1 for s in summary["suggestions"] if s["replies"])
    doc.add_paragraph(t("suggestion", count=len(summary["suggestions"]), replied=replied))

    doc.add_heading(t("h_warning"), level=2)
    warnings = summary.get("warnings", [])
    asked = sum(w["asked"] for w in warnings)
    acked = sum(w["acked"] for w in warnings)
    doc.add_paragraph(
        t(
            "warning",
            count=len(warnings),
            asked=asked,
            acked=acked,
            rate=pct(acked / asked if asked else 0),
        )
    )
    table(
        "warnings",
        [
            (
                w["title"],
                w["created_at"].strftime("%Y-%m-%d %H:%M"),
                w["asked"],
                w["acked"],
                pct(w["rate"]),
            )
            for w in warnings
        ],
    )

    _activities(doc, summary, table)

    # 三、存在问题
    doc.add_heading(t("h_problems"), level=1)
    found = summary.get("problems")
    if found is None:
        found = problems(summary)
    for i, line in enumerate(found or [t("problems_none")], start=1):
        doc.add_paragraph(f"{i}. {line}" if found else line)

    # 四、下一步打算
    doc.add_heading(t("h_next"), level=1)
    for heading in texts.raw("report.next_items"):
        doc.add_heading(str(heading), level=2)
        doc.add_paragraph(t("to_fill"))

    doc.add_paragraph()
    sign = doc.add_paragraph(org)
    sign.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.add_paragraph(t("signature"))
    doc.save(str(path))


def _events(doc, summary: dict[str, Any], kind: str, table) -> None:
    """Events of one kind (启动仪式, 应急演练, 安全宣传咨询日) with their attendance."""
    events = [e for e in summary["events"] if e.get("kind_key") == kind]
    doc.add_heading(t(f"h_{kind}"), level=2)
    doc.add_paragraph(t(kind, count=len(events), people=sum(e["attendance"] for e in events)))
    table(
        "events",
        [
            (e["title"], e["kind"], e["starts_at"].strftime("%Y-%m-%d %H:%M"), e["attendance"])
            for e in events
        ],
    )


def _activities(doc, summary: dict[str, Any], table) -> None:
    """(十) the departments' own activities (报送), counted by kind and by department."""
    a = summary.get("activities") or {"reports": [], "by_kind": [], "by_department": []}
    reports = a["reports"]
    doc.add_heading(t("h_activity"), level=2)
    doc.add_paragraph(
        t("activity", count=len(reports), people=sum(r["head_count"] for r in reports))
    )
    if not reports:
        return
    table("activity_kinds", [(k["kind"], k["count"], k["people"]) for k in a["by_kind"]])
    table(
        "activity_departments", [(d["name"], d["count"], d["people"]) for d in a["by_department"]]
    )
    table(
        "activities",
        [
            (
                r["held_on"].isoformat(),
                r["department"],
                r["kind"],
                r["place"],
                r["head_count"],
                r["description"],
            )
            for r in reports
        ],
    )


def _fonts(doc) -> None:
    """Chinese text needs the East Asian font set explicitly (python-docx sets only Latin)."""
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    for name, font, size in (
        ("Normal", BODY_FONT, 12),
        ("Title", HEADING_FONT, 20),
        ("Heading 1", HEADING_FONT, 15),
        ("Heading 2", "楷体", 13),
    ):
        style = doc.styles[name]
        style.font.name = font
        style.font.size = Pt(size)
        if name != "Normal":
            style.font.color.rgb = RGBColor(0, 0, 0)
        rpr = style.element.get_or_add_rPr()
        rpr.get_or_add_rFonts().set(qn("w:eastAsia"), font)


def _table(doc, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from docx.shared import Pt

    tbl = doc.add_table(rows=1, cols=len(header))
    tbl.style = "Table Grid"
    for cell, text in zip(tbl.rows[0].cells, header, strict=True):
        cell.text = str(text)
        for run in cell.paragraphs[0].runs:
            run.font.bold = True
    for row in rows:
        cells = tbl.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = "" if value is None else str(value)
    for row in tbl.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                for run in p.runs:
                    run.font.size = Pt(10)

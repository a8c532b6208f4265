"""The campaign summary: the workbook's figures against the database, and the printable page."""

from __future__ import annotations

from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.console.report import SHEETS, write_report
from bot.console.testing import add_account, login, seed_campaign
from bot.db import transaction
from bot.models import (
    DailyCheckin,
    EventAttendance,
    HazardReport,
    PledgeSignature,
    Question,
    QuizAnswer,
    Suggestion,
    User,
)
from bot.quiz.bank import theme_titles


@pytest.fixture
def workbook(runtime, clock, tmp_path):
    with transaction(runtime.factory) as s:
        seed_campaign(s, runtime.settings, clock())
    path = tmp_path / "summary.xlsx"
    with runtime.factory() as s:
        write_report(s, runtime.settings, clock(), path)
    return load_workbook(path)


def sheet_dicts(ws):
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, r, strict=False)) for r in rows[1:] if any(v is not None for v in r)]


def test_workbook_has_the_sheets(workbook):
    assert workbook.sheetnames == list(SHEETS)


def test_overview_matches_the_database(workbook, runtime):
    overview = {r["指标"]: r["数值"] for r in sheet_dicts(workbook["概览"])}
    with runtime.factory() as s:
        members = s.scalar(select(func.count()).select_from(User).where(User.status == 1))
        answers = s.scalar(select(func.count()).select_from(QuizAnswer))
        correct = s.scalar(
            select(func.count()).select_from(QuizAnswer).where(QuizAnswer.correct.is_(True))
        )
        checkins = s.scalar(select(func.count()).select_from(DailyCheckin))
        attendance = s.scalar(select(func.count()).select_from(EventAttendance))
        hazards = s.scalar(select(func.count()).select_from(HazardReport))
        suggestions = s.scalar(select(func.count()).select_from(Suggestion))
        signed = s.scalar(select(func.count(func.distinct(PledgeSignature.userid))))
    assert overview["在册人数"] == members == 12
    assert overview["答题次数"] == answers == 48
    assert overview["答对次数"] == correct == 44
    assert overview["答题正确率"] == pytest.approx(correct / answers)
    assert overview["打卡人次"] == checkins == 5
    assert overview["活动签到人次"] == attendance == 3
    assert overview["隐患上报"] == hazards == 3
    assert overview["隐患逾期未整改"] == 1
    assert overview["安全建议"] == suggestions == 2
    assert overview["责任书已签"] == signed == 4
    assert overview["参与人数"] == 6  # distinct people who wrote to the bot


def test_departments_and_quiz_sheets_match(workbook, runtime):
    depts = {r["部门"]: r for r in sheet_dicts(workbook["部门"])}
    assert depts["生产一车间"]["在册人数"] == 3
    assert depts["生产一车间"]["答题次数"] == 16 and depts["生产一车间"]["答对次数"] == 14
    assert depts["生产一车间"]["责任书已签"] == 2
    assert depts["生产一车间"]["隐患上报"] == 1 and depts["生产一车间"]["建议"] == 1
    assert depts["仓储物流部"]["打卡人次"] == 1
    quiz = sheet_dicts(workbook["答题"])
    with runtime.factory() as s:
        by_theme = dict(
            s.execute(
                select(Question.theme, func.count())
                .select_from(QuizAnswer)
                .join(Question, Question.id == QuizAnswer.question_id)
                .group_by(Question.theme)
            ).all()
        )
    titles = theme_titles()
    assert {r["主题"]: r["答题次数"] for r in quiz} == {titles[k]: n for k, n in by_theme.items()}
    assert sum(r["答对次数"] for r in quiz) == 44
    pledges = {r["部门"]: r for r in sheet_dicts(workbook["责任书"])}
    assert pledges["生产二车间"]["已签"] == 1 and pledges["生产二车间"]["在册人数"] == 3


def test_ledger_attendance_and_suggestion_sheets(workbook):
    ledger = sheet_dicts(workbook["隐患台账"])
    assert [r["隐患描述"] for r in ledger] == [
        "一车间消防通道堆放纸箱",
        "二车间配电箱门未关闭",
        "仓库叉车通道无反光镜",
    ]
    overdue = [r for r in ledger if r["逾期"] == "是"]
    assert len(overdue) == 1 and overdue[0]["责任人"] == "赵磊"
    rows = list(workbook["签到"].iter_rows(values_only=True))
    assert rows[rows.index(next(r for r in rows if r[0] == "活动")) + 1][:3] == (
        "消防应急疏散演练",
        "应急演练",
        "246810",
    )
    assert [r["提出人"] for r in sheet_dicts(workbook["建议"])] == ["陈静", "吴霞"]


def seed_with_hazard(runtime, clock, description: str) -> None:
    """The seeded campaign plus one hazard reported by 刘洋 with this description."""
    from bot.hazard import ledger

    with transaction(runtime.factory) as s:
        seed_campaign(s, runtime.settings, clock())
        ledger.create_report(
            s,
            runtime.settings,
            reporter="liuyang",
            department_id=3,
            description=description,
            category="other",
            location="",
            latitude=None,
            longitude=None,
            photos=[],
            now=clock(),
        )


def test_printable_page_has_inline_svg_charts_and_escapes_text(runtime, clock, tmp_path):
    seed_with_hazard(runtime, clock, "<script>alert(1)</script>")
    path = tmp_path / "summary.html"
    with runtime.factory() as s:
        write_report(s, runtime.settings, clock(), path)
    html = path.read_text(encoding="utf-8")
    assert html.count('<svg class="chart"') == 5
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "参与 6 人" in html


def test_report_cli_and_console_download(runtime, clock, app, tmp_path, monkeypatch, settings):
    from io import BytesIO

    from bot.cli import main

    with transaction(runtime.factory) as s:
        seed_campaign(s, runtime.settings, clock())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["report", str(tmp_path / "out.xlsx")]) == 0
    assert main(["report", str(tmp_path / "out.html")]) == 0
    assert main(["report", str(tmp_path / "out.pdf")]) == 2
    assert load_workbook(tmp_path / "out.xlsx").sheetnames == list(SHEETS)
    add_account(runtime.factory, "boss", now=clock())
    client = app.test_client()
    login(client, "boss")
    r = client.get("/admin/report.xlsx")
    assert r.status_code == 200
    wb = load_workbook(BytesIO(r.data))
    assert {row[0]: row[1] for row in wb["概览"].iter_rows(values_only=True)}["答题次数"] == 48


def test_workbook_reads_as_an_officer_sees_it(runtime, clock, tmp_path):
    """Rates show as percentages, the time as a date and time, headers bold and frozen,
    columns wide enough to read, several lines of text wrapped — in the downloaded file."""
    seed_with_hazard(runtime, clock, "配电箱门未关闭\n箱内有积灰")
    path = tmp_path / "summary.xlsx"
    with runtime.factory() as s:
        write_report(s, runtime.settings, clock(), path)
    wb = load_workbook(path)

    overview = {row[0].value: row[1] for row in wb["概览"].iter_rows(min_row=2)}
    assert overview["生成时间"].number_format == "yyyy-mm-dd hh:mm"
    assert overview["生成时间"].value == clock().astimezone(runtime.settings.tz).replace(
        tzinfo=None, microsecond=0
    )
    for label in ("参与率", "答题正确率", "责任书签订率"):
        assert overview[label].number_format == "0.0%", label
    assert overview["参与率"].value == pytest.approx(6 / 12)
    assert overview["答题次数"].value == 48 and overview["答题次数"].number_format == "General"

    def row_of(ws, first: str) -> dict:
        header = [c.value for c in ws[1]]
        row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == first)
        return dict(zip(header, row, strict=False))

    workshop = row_of(wb["部门"], "生产一车间")
    assert workshop["正确率"].value == pytest.approx(14 / 16)
    assert workshop["正确率"].number_format == "0.0%"
    assert workshop["签订率"].number_format == "0.0%"
    assert workshop["答题次数"].number_format == "General"
    assert row_of(wb["责任书"], "生产二车间")["签订率"].number_format == "0.0%"
    assert all(r[3].number_format == "0.0%" for r in wb["答题"].iter_rows(min_row=2))

    hazard = next(r for r in wb["隐患台账"].iter_rows(min_row=2) if "积灰" in str(r[6].value))
    assert hazard[6].value == "配电箱门未关闭\n箱内有积灰"
    assert hazard[6].alignment.wrap_text and hazard[6].alignment.vertical == "top"
    assert not hazard[4].alignment.wrap_text
    assert isinstance(hazard[1].value, datetime)  # 上报时间: a date Excel can sort

    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.b for c in ws[1] if c.value is not None), ws.title
    # Widths follow the longest text of a column, between 8 and 60 characters.
    ledger_ws = wb["隐患台账"]
    assert ledger_ws.column_dimensions["A"].width == pytest.approx(
        max(8, len(hazard[0].value) * 1.6)
    )
    assert 8 <= ledger_ws.column_dimensions["G"].width <= 60

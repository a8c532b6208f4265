"""The written campaign summary (活动总结) as a Word draft: opened with python-docx, its
headings, figures (counted here from the database), tables and charts; the printable page's
letterhead and signature lines; the CLI and the console button."""

from __future__ import annotations

from io import BytesIO

import pytest
from docx import Document
from sqlalchemy import func, select

from bot.console.report import write_report
from bot.console.testing import add_account, login, seed_campaign
from bot.db import transaction
from bot.models import (
    AuditLog,
    Department,
    EventAttendance,
    HazardReport,
    PledgeSignature,
    QuizAnswer,
    Suggestion,
    User,
)

HEADINGS = ["一、基本情况", "二、主要做法和成效", "三、存在问题", "四、下一步打算"]


@pytest.fixture
def seeded(runtime, clock):
    with transaction(runtime.factory) as s:
        seed_campaign(s, runtime.settings, clock())
    return runtime


def write_docx(runtime, clock, path):
    with runtime.factory() as s:
        write_report(s, runtime.settings, clock(), path)
    return Document(str(path))


def texts_of(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def test_docx_has_the_usual_form(seeded, clock, tmp_path):
    doc = write_docx(seeded, clock, tmp_path / "summary.docx")
    titles = [p.text for p in doc.paragraphs if p.style.name == "Title"]
    assert titles == ["本单位2026年“安全生产月”活动总结"]
    level1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert level1 == HEADINGS
    level2 = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    for part in (
        "责任书",
        "隐患排查",
        "应急演练",
        "安全宣传咨询日",
        "学习任务",
        "知识答题",
        "安全建议",
    ):
        assert any(part in h for h in level2), part
    assert any("预警" in h for h in level2) and any("各部门自主开展活动" in h for h in level2)
    # 四、下一步打算: headings with room to write
    after = [p.text for p in doc.paragraphs][[p.text for p in doc.paragraphs].index(HEADINGS[3]) :]
    assert "（请填写）" in after
    assert "拟稿人" in texts_of(doc) and "审核人" in texts_of(doc)
    # tables and the charts as pictures
    assert len(doc.tables) >= 4
    assert len(doc.inline_shapes) >= 1
    blobs = [
        rel.target_part.blob for rel in doc.part.rels.values() if rel.reltype.endswith("/image")
    ]
    assert blobs and all(b.startswith(b"\x89PNG") for b in blobs)


def test_docx_figures_equal_the_database(seeded, clock, tmp_path):
    doc = write_docx(seeded, clock, tmp_path / "summary.docx")
    with seeded.factory() as s:
        members = s.scalar(select(func.count()).select_from(User).where(User.status == 1))
        answers = s.scalar(select(func.count()).select_from(QuizAnswer))
        hazards = s.scalar(select(func.count()).select_from(HazardReport))
        suggestions = s.scalar(select(func.count()).select_from(Suggestion))
        attendance = s.scalar(select(func.count()).select_from(EventAttendance))
        signed = s.scalar(select(func.count(func.distinct(PledgeSignature.userid))))
        per_dept = dict(
            s.execute(
                select(Department.name, func.count())
                .join(User, User.department_id == Department.id)
                .where(User.status == 1)
                .group_by(Department.name)
            ).all()
        )
    text = texts_of(doc)
    assert f"在册职工 {members} 人" in text
    assert f"累计答题 {answers} 题次" in text
    assert f"签订安全生产责任书 {signed} 人" in text
    assert f"活动签到 {attendance} 人次" in text
    assert f"上报隐患 {hazards} 项" in text
    assert f"收到安全建议 {suggestions} 条" in text
    assert f"收到职工安全建议 {suggestions} 条" in text
    # the departments table: one row per department, members as counted here
    table = doc.tables[0]
    header = [c.text for c in table.rows[0].cells]
    assert header[:2] == ["部门", "在册"]
    rows = {r.cells[0].text: int(r.cells[1].text) for r in table.rows[1:]}
    assert rows == per_dept
    # the hazard ledger table lists every hazard, the overdue one marked
    ledger = next(t for t in doc.tables if t.rows[0].cells[0].text == "编号")
    assert len(ledger.rows) - 1 == hazards
    assert sum("（逾期）" in r.cells[5].text for r in ledger.rows[1:]) == 1


def test_problems_come_from_the_data(seeded, clock, tmp_path):
    doc = write_docx(seeded, clock, tmp_path / "summary.docx")
    paragraphs = [p.text for p in doc.paragraphs]
    start, end = paragraphs.index(HEADINGS[2]), paragraphs.index(HEADINGS[3])
    problems = "\n".join(paragraphs[start + 1 : end])
    with seeded.factory() as s:
        members = s.scalar(select(func.count()).select_from(User).where(User.status == 1))
        signed = s.scalar(select(func.count(func.distinct(PledgeSignature.userid))))
    assert "1 项隐患超过整改期限" in problems
    assert f"还有 {members - signed} 人未签订" in problems
    assert "安全环保部（0.0%）" in problems  # nobody there took part


def test_org_name_from_settings(runtime, clock, tmp_path, fake):
    from bot.console.report import build_summary
    from bot.console.report_docx import write_docx as docx_writer

    settings = runtime.settings.replace(org_name="示范集团")
    with runtime.factory() as s:
        summary = build_summary(s, settings, clock())
    docx_writer(summary, tmp_path / "org.docx")
    doc = Document(str(tmp_path / "org.docx"))
    assert doc.paragraphs[0].text == "示范集团2026年“安全生产月”活动总结"
    from bot.settings import Settings

    assert Settings.from_env({"SAFETYBOT_ORG_NAME": "某某公司"}).org_name == "某某公司"
    assert Settings.from_env({}).org_name == "本单位"


def test_printable_page_has_letterhead_and_signature_lines(seeded, clock, tmp_path):
    path = tmp_path / "summary.html"
    with seeded.factory() as s:
        write_report(s, seeded.settings, clock(), path)
    html = path.read_text(encoding="utf-8")
    assert '<p class="letterhead" id="letterhead">本单位</p>' in html
    assert "本单位2026年“安全生产月”活动总结</h1>" in html
    for line in ("拟稿人：", "审核人：", "日期："):
        assert line in html
    assert "@page" in html
    assert "1 项隐患超过整改期限" in html


def test_cli_writes_docx_and_refuses_a_bad_path(
    seeded, clock, tmp_path, monkeypatch, settings, capsys
):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(tmp_path / "out.docx")]) == 0
    doc = Document(str(tmp_path / "out.docx"))
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 1"] == HEADINGS
    capsys.readouterr()
    assert main(["report", str(tmp_path / "no" / "such" / "out.docx")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "does not exist" in err
    assert main(["report", str(tmp_path / "out.pdf")]) == 2
    assert ".docx" in capsys.readouterr().err


def test_console_button_downloads_the_word_draft(seeded, clock, app):
    add_account(seeded.factory, "boss", now=clock())
    client = app.test_client()
    login(client, "boss")
    page = client.get("/admin/report").get_data(as_text=True)
    assert 'id="download-docx"' in page and "/admin/report.docx" in page
    r = client.get("/admin/report.docx")
    assert r.status_code == 200
    assert r.headers["Content-Type"].endswith("wordprocessingml.document")
    doc = Document(BytesIO(r.data))
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 1"] == HEADINGS
    with seeded.factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "console:report-docx")
            )
            == 1
        )


def test_word_draft_has_no_english_words(seeded, clock, tmp_path):
    from ascii_words import english_words

    doc = write_docx(seeded, clock, tmp_path / "summary.docx")
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert english_words("\n".join([p.text for p in doc.paragraphs] + cells)) == []

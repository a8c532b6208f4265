"""Issue 13, item 16: questions imported with Chinese headers and theme titles, the import
template from the CLI and the console, and the console's form for adding and editing one question."""

from __future__ import annotations

import io

from cli_helpers import run_cli
from openpyxl import load_workbook
from sqlalchemy import select

from bot.console.testing import add_account, csrf_from, login
from bot.models import AuditLog, Question

OFFICER = "wangfang"  # a safety officer in the seeded directory, and the console admin here


def write_xlsx(path, header, rows) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(header)
    for row in rows:
        wb.active.append(row)
    wb.save(path)


ZH_HEADER = ["题干", "选项A", "选项B", "选项C", "答案", "解析", "出处", "主题", "题型"]


def test_import_takes_chinese_headers_and_theme_titles(runtime, cli_runtime, tmp_path, capsys):
    path = tmp_path / "题目.xlsx"
    rows = [
        [
            "灭火器压力表指针在哪个区域表示压力正常？",
            "红区",
            "绿区",
            "黄区",
            "B",
            "",
            "GB 4351",
            "消防安全与生命通道",
            "单选",
        ],
        [
            "可以用水扑救遇湿易燃物品引起的火灾吗？",
            "",
            "",
            "",
            "错",
            "遇水会放出易燃气体。",
            "GB 50016",
            "危险化学品安全",
            "判断",
        ],
        [
            "触电者脱离电源后应检查哪些项目？",
            "呼吸",
            "心跳",
            "鞋码",
            "AB",
            "",
            "现场急救指南",
            "firstaid",
            "多选",
        ],
    ]
    write_xlsx(path, ZH_HEADER, rows)
    assert run_cli(runtime, cli_runtime, "questions", "import", str(path)) == 0
    assert "imported 3 questions" in capsys.readouterr().out
    with runtime.factory() as s:
        imported = {
            q.stem: q for q in s.scalars(select(Question).where(Question.origin == "import"))
        }
    fire = imported["灭火器压力表指针在哪个区域表示压力正常？"]
    assert (fire.theme, fire.type, fire.answer, fire.options) == (
        "fire",
        "single",
        "B",
        ["红区", "绿区", "黄区"],
    )
    assert imported["可以用水扑救遇湿易燃物品引起的火灾吗？"].theme == "chemicals"
    assert imported["触电者脱离电源后应检查哪些项目？"].answer == "AB"
    # The same file again replaces the questions (the id comes from the stem), never doubles.
    assert run_cli(runtime, cli_runtime, "questions", "import", str(path)) == 0
    with runtime.factory() as s:
        assert len(s.scalars(select(Question).where(Question.origin == "import")).all()) == 3
    # An unknown theme and a bad answer: one Chinese line per row, nothing imported.
    rows[0][7], rows[1][4] = "不存在的主题", "也许"
    write_xlsx(path, ZH_HEADER, rows[:2])
    assert run_cli(runtime, cli_runtime, "questions", "import", str(path)) == 1
    err = capsys.readouterr().err
    assert "第2行：主题「不存在的主题」不存在" in err and "第3行：判断题答案「也许」无效" in err


def test_template_from_the_cli_and_the_console_imports_as_it_is(
    app, runtime, cli_runtime, clock, tmp_path, capsys
):
    path = tmp_path / "template.xlsx"
    assert run_cli(runtime, cli_runtime, "questions", "template", str(path)) == 0
    add_account(runtime.factory, OFFICER, now=clock())
    client = app.test_client()
    login(client, OFFICER)
    page = client.get("/admin/questions").get_data(as_text=True)
    assert "下载导入模板" in page and "/admin/questions/template.xlsx" in page
    response = client.get("/admin/questions/template.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.content_type
    for source in (path, io.BytesIO(response.get_data())):
        wb = load_workbook(source)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        assert list(rows[0]) == [
            "编号",
            "主题",
            "题型",
            "题干",
            "选项A",
            "选项B",
            "选项C",
            "选项D",
            "选项E",
            "选项F",
            "答案",
            "解析",
            "出处",
        ]
        assert len(rows) == 2 and rows[1][1] == "消防安全与生命通道" and rows[1][2] == "单选"
        assert "消防安全与生命通道" in [r[0] for r in wb["主题"].iter_rows(values_only=True)]
    assert run_cli(runtime, cli_runtime, "questions", "import", str(path)) == 0
    assert "imported 1 questions" in capsys.readouterr().out
    with runtime.factory() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "console:question-template"))


def question_form(token: str, **values) -> dict:
    form = {
        "csrf_token": token,
        "theme": "fire",
        "type": "single",
        "stem": "",
        "answer": "",
        "explanation": "",
        "source": "《中华人民共和国消防法》第二十八条",
    }
    form.update({f"option_{c}": "" for c in "abcdef"})
    form.update(values)
    return form


def test_console_adds_and_edits_one_question_with_checks(app, runtime, clock):
    add_account(runtime.factory, OFFICER, now=clock())
    client = app.test_client()
    login(client, OFFICER)
    page = client.get("/admin/questions/new").get_data(as_text=True)
    token = csrf_from(page)
    assert "新增题目" in page and "消防安全与生命通道" in page
    stem = "疏散通道上可以临时堆放货物吗？"
    options = {"option_a": "可以", "option_b": "不可以"}
    for answer, problem in (("C", "不在选项"), ("AB", "单选题只能有一个答案"), ("", "不在选项")):
        response = client.post(
            "/admin/questions/new", data=question_form(token, stem=stem, answer=answer, **options)
        )
        assert response.status_code == 200 and problem in response.get_data(as_text=True)
        assert "未保存" in response.get_data(as_text=True)
    response = client.post(
        "/admin/questions/new", data=question_form(token, stem="", answer="A", **options)
    )
    assert "题干为空" in response.get_data(as_text=True)
    # Without the form's token nothing is saved.
    response = client.post(
        "/admin/questions/new",
        data={**question_form(token, stem=stem, answer="B", **options), "csrf_token": "x"},
    )
    assert response.status_code == 400
    response = client.post(
        "/admin/questions/new", data=question_form(token, stem=stem, answer="B", **options)
    )
    assert response.status_code == 302
    with runtime.factory() as s:
        added = s.scalar(select(Question).where(Question.stem == stem))
        assert added.id.startswith("fire-") and added.answer == "B" and added.origin == "import"
    qid = added.id
    # A second question with the same stem is refused.
    response = client.post(
        "/admin/questions/new", data=question_form(token, stem=stem, answer="B", **options)
    )
    assert f"题干与题库中的 {qid} 重复" in response.get_data(as_text=True)
    # Edit: a judge question now; 对/错 answers; a multiple answer on a judge is refused.
    edit = f"/admin/questions/{qid}"
    assert stem in client.get(edit).get_data(as_text=True)
    response = client.post(
        edit, data=question_form(token, stem=stem, type="judge", answer="对", option_a="x")
    )
    assert "判断题不应有选项" in response.get_data(as_text=True)
    new_stem = "疏散通道上不得堆放货物。"
    response = client.post(
        edit,
        data={
            **question_form(token, stem=new_stem, type="judge", answer="对", theme="消防"),
            "active": "1",
        },
    )
    assert response.status_code == 302
    with runtime.factory() as s:
        q = s.get(Question, qid)
        assert (q.stem, q.type, q.answer, q.options, q.theme) == (
            new_stem,
            "judge",
            "T",
            [],
            "fire",
        )
        actions = [
            a for (a,) in s.execute(select(AuditLog.action).where(AuditLog.detail.like(f"{qid}%")))
        ]
    assert actions == ["console:question-add", "console:question-edit"]

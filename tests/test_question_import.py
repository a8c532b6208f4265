"""`questions import` at scale (50,000 rows in one transaction), GBK CSV files from Excel, and
bad files (not a workbook, empty, wrong header): one clear line, exit 1, nothing imported, in
the CLI and the console alike."""

from __future__ import annotations

import csv
import io
import re

import pytest
from cli_helpers import run_cli
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.console.testing import add_account, csrf_from, login
from bot.db import transaction
from bot.models import Question
from bot.quiz import bank

HEADER = bank.COLUMNS


def row(qid: str, stem: str, answer: str = "B") -> list[str]:
    return [qid, "fire", "single", stem, "红区", "绿区", "黄区", "", "", "", answer, "", "GB 4351"]


def write_csv(path, rows, encoding: str = "utf-8-sig") -> None:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)


def count(runtime, origin: str | None = None) -> int:
    with runtime.factory() as s:
        stmt = select(func.count()).select_from(Question)
        if origin:
            stmt = stmt.where(Question.origin == origin)
        return s.scalar(stmt)


def test_fifty_thousand_rows_import_in_one_transaction(runtime, cli_runtime, tmp_path, capsys):
    n = 50_000
    path = tmp_path / "big.csv"
    write_csv(
        path, (row(f"big-{i:05d}", f"第{i}题：灭火器压力表指针应在哪个区域？") for i in range(n))
    )
    assert run_cli(runtime, cli_runtime, "questions", "import", str(path)) == 0
    assert f"imported {n} questions" in capsys.readouterr().out
    assert count(runtime, "import") == n
    with runtime.factory() as s:
        q = s.get(Question, "big-49999")
        assert q.stem == "第49999题：灭火器压力表指针应在哪个区域？" and q.options[1] == "绿区"

    # One transaction: a database failure in the last batch leaves every earlier batch out.
    write_csv(path, (row(f"more-{i:05d}", f"新题{i}：安全出口应保持畅通吗？") for i in range(n)))
    calls: list = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bank, "upsert_insert", _counting(bank.upsert_insert, calls, n))
        with pytest.raises(OperationalError), transaction(runtime.factory) as s:
            bank.import_questions(s, path, runtime.clock())
    assert count(runtime, "import") == n  # none of the "more-" rows


def _counting(upsert_insert, calls, n):
    """upsert_insert whose last statement of an n-row import fails in the database."""

    def wrapped(session, model):
        calls.append(model)
        if len(calls) == -(-n // bank.UPSERT_BATCH):
            raise OperationalError("INSERT INTO questions ...", {}, Exception("disk I/O error"))
        return upsert_insert(session, model)

    return wrapped


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_csv_saved_by_excel_in_china_imports(runtime, cli_runtime, tmp_path, capsys, encoding):
    path = tmp_path / "q.csv"
    write_csv(
        path,
        [row("gbk-001", "灭火器压力表指针应在哪个区域？"), row("gbk-002", "安全出口能否上锁？")],
        encoding=encoding,
    )
    assert run_cli(runtime, cli_runtime, "questions", "import", str(path)) == 0
    assert "imported 2 questions" in capsys.readouterr().out
    with runtime.factory() as s:
        assert s.get(Question, "gbk-001").stem == "灭火器压力表指针应在哪个区域？"
        assert s.get(Question, "gbk-002").options == ["红区", "绿区", "黄区"]


def _bad_files(tmp_path) -> dict[str, tuple[object, str]]:
    """name -> (path, the words its one line must contain)."""
    not_xlsx = tmp_path / "fake.xlsx"
    write_csv(not_xlsx, [row("x-001", "这其实是 CSV")])
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    empty_csv = tmp_path / "empty.csv"
    empty_csv.write_bytes(b"")
    empty_xlsx = tmp_path / "empty.xlsx"
    empty_xlsx.write_bytes(b"")
    header_only = tmp_path / "header.csv"
    write_csv(header_only, [])
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("编号,题干,答案\nx-001,题目,A\n", encoding="utf-8")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    return {
        "not_xlsx": (not_xlsx, "不是有效的 .xlsx 文件"),
        "garbage": (garbage, "不是有效的 .xlsx 文件"),
        "empty_csv": (empty_csv, "文件是空的"),
        "empty_xlsx": (empty_xlsx, "文件是空的"),
        "header_only": (header_only, "没有题目"),
        "wrong_header": (wrong, "缺少列 主题、题型、出处"),
        "binary": (binary, "CSV"),
    }


def test_bad_files_get_one_line_and_import_nothing(runtime, cli_runtime, tmp_path, capsys):
    before = count(runtime)
    for name, (path, words) in _bad_files(tmp_path).items():
        assert run_cli(runtime, cli_runtime, "questions", "import", str(path)) == 1, name
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, (name, captured.err)
        assert words in lines[0] and "Traceback" not in lines[0], (name, lines)
        assert lines[0].startswith(f"nothing imported from {path}: ")
        assert captured.out == ""
    assert count(runtime) == before


def _console_errors(html: str) -> list[str]:
    block = re.search(r'<div class="flash error" id="import-errors">(.*?)</div>', html, re.S)
    assert block, html
    return re.findall(r"<li>(.*?)</li>", block.group(1), re.S)


def test_console_import_shows_the_same_line(app, runtime, cli_runtime, clock, tmp_path, capsys):
    add_account(runtime.factory, "boss", now=clock())
    client = app.test_client()
    login(client, "boss")
    token = csrf_from(client.get("/admin/questions").get_data(as_text=True))
    before = count(runtime)
    for name, (path, _words) in _bad_files(tmp_path).items():
        assert run_cli(runtime, cli_runtime, "questions", "import", str(path)) == 1
        line = capsys.readouterr().err.strip().split(": ", 1)[1]
        r = client.post(
            "/admin/questions/import",
            data={"csrf_token": token, "file": (io.BytesIO(path.read_bytes()), path.name)},
            content_type="multipart/form-data",
            follow_redirects=True,
        )
        assert _console_errors(r.get_data(as_text=True)) == [str(escape(line))], name
    assert count(runtime) == before


def test_console_never_shows_raw_sql(app, runtime, clock, tmp_path, monkeypatch):
    add_account(runtime.factory, "boss", now=clock())
    client = app.test_client()
    login(client, "boss")
    before = count(runtime)
    data = io.StringIO()
    writer = csv.writer(data)
    writer.writerow(HEADER)
    writer.writerow(row("sql-001", "配电箱门应随时关闭吗？"))
    token = csrf_from(client.get("/admin/questions").get_data(as_text=True))
    before = count(runtime)
    # The database fails on the first statement with an error that carries SQL.
    monkeypatch.setattr(bank, "upsert_insert", _counting(bank.upsert_insert, [], 1))
    r = client.post(
        "/admin/questions/import",
        data={"csrf_token": token, "file": (io.BytesIO(data.getvalue().encode()), "q.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    errors = _console_errors(r.get_data(as_text=True))
    assert len(errors) == 1 and "未导入任何题目" in errors[0]
    assert "INSERT" not in r.get_data(as_text=True) and "disk I/O" not in errors[0]
    assert count(runtime) == before

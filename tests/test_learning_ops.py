"""学习任务 around the chat: the validator (file and line), the CLI, the console page,
reminders and escalation sent once with three runtimes racing, and the summary report."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.cli import main
from bot.console.testing import add_account, csrf_from, login
from bot.db import transaction
from bot.directory import sync_directory
from bot.learning import content as learning_content
from bot.learning.content import LearningContentError, load_items
from bot.learning.tasks import assign
from bot.migrate import upgrade
from bot.models import AuditLog, Department, LearningAssignment, LearningTask
from bot.runtime import build_runtime
from scheduler.registry import catch_up

DATA = Path(__file__).resolve().parent / "data" / "learning"
PUBLIC = "https://anquan.example.cn"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def fixture_items(monkeypatch):
    monkeypatch.setattr(learning_content, "learning_dir", lambda: DATA)


@pytest.fixture
def settings(db_url, fake, make_settings_for):
    return make_settings_for(db_url, fake, public_url=PUBLIC)


def local(day: int, hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 6, day, h, m, tzinfo=TZ).astimezone(timezone.utc)


# -- the validator ----------------------------------------------------------------------------
GOOD = (DATA / "test-duty.yaml").read_text(encoding="utf-8")


def problems_for(tmp_path, name: str, text: str) -> list[str]:
    folder = tmp_path / "learning"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    with pytest.raises(LearningContentError) as err:
        load_items(folder)
    return err.value.problems


def test_validator_names_file_and_line(tmp_path):
    bad = GOOD.replace("id: test-duty\n", "id: test-duty\ncolour: red\n")
    assert problems_for(tmp_path, "test-duty.yaml", bad) == [
        "content/learning/test-duty.yaml:3: 未知字段「colour」（article 可用："
        "body、id、kind、question_ids、questions、sources、summary、title）"
    ]


def test_validator_refuses_missing_sources_and_unknown_question_ids(tmp_path):
    text = GOOD.split("sources:")[0] + "question_ids: [law-004, law-999]\n"
    problems = problems_for(tmp_path, "test-duty.yaml", text)
    assert any(p.startswith("content/learning/test-duty.yaml:1: 缺少「sources」") for p in problems)
    line = text.splitlines().index("question_ids: [law-004, law-999]") + 1
    assert f"content/learning/test-duty.yaml:{line}: 题库中没有题号「law-999」" in "\n".join(
        problems
    )


def test_validator_checks_inline_questions_and_id(tmp_path):
    text = GOOD.replace("    answer: B\n", "    answer: E\n").replace(
        "id: test-duty\n", "id: other\n", 1
    )
    problems = problems_for(tmp_path, "test-duty.yaml", text)
    joined = "\n".join(problems)
    assert "content/learning/test-duty.yaml:2: id「other」应与文件名「test-duty」相同" in joined
    q_line = text.splitlines().index("  - id: test-duty-q1") + 1
    assert f"test-duty.yaml:{q_line}: 题目「test-duty-q1」：答案「E」不在选项之中" in joined


def test_bad_content_refuses_to_start(tmp_path, monkeypatch, settings, capsys):
    problems_for(tmp_path, "x.yaml", "id: x\nkind: poem\n")
    monkeypatch.setattr(learning_content, "learning_dir", lambda: tmp_path / "learning")
    with pytest.raises(LearningContentError, match=r"x\.yaml:2: kind"):
        build_runtime(settings)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if settings.database_url.startswith("sqlite:///"):
        # `learning list` only reads: it first checks that the database file exists.
        Path(settings.database_url.removeprefix("sqlite:///")).touch()
    assert main(["learning", "list"]) == 1
    out = capsys.readouterr()
    assert out.err.strip().splitlines() == [
        "safetybot learning list: content/learning/x.yaml:2: kind 应为 article 或 case，而不是「poem」"
    ]


# -- the CLI ----------------------------------------------------------------------------------
def run(argv, capsys) -> tuple[int, list[str]]:
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, [line for line in (out + err).splitlines() if line.strip()]


def test_cli_assign_list_export_and_mistakes(runtime, cli_runtime, capsys, tmp_path, clock):
    cli_runtime(runtime)
    with transaction(runtime.factory) as s:
        s.add(Department(id=7, name="空置部门", parent_id=1, order=7))
    base = ["learning", "assign", "学习全员安全生产责任制", "--due", "2026-06-12"]
    status, lines = run([*base, "--article", "test-duty", "--department", "3"], capsys)
    assert status == 0 and lines[0] == "task 1: 3 members, due 2026-06-12; cards queued"
    status, lines = run(
        [
            "learning",
            "assign",
            "警示教育",
            "--article",
            "test-hospital-fire",
            "--due",
            "2026-06-20",
        ],
        capsys,
    )
    assert status == 0 and lines[0].startswith("task 2: 12 members")
    status, lines = run(["learning", "list"], capsys)
    assert status == 0 and len(lines) == 2 and "0/3 done" in lines[1] and "test-duty" in lines[1]
    status, lines = run(["stats", "--json"], capsys)
    figures = json.loads("\n".join(lines))
    assert (figures["learning_assigned"], figures["learning_completed"]) == (15, 0)
    status, lines = run(["export", "learning", str(tmp_path / "l.xlsx")], capsys)
    assert status == 0 and lines == [f"wrote 15 rows to {tmp_path / 'l.xlsx'}"]
    assert load_workbook(tmp_path / "l.xlsx")["学习明细"].max_row == 16

    mistakes = {
        "--article nope": "没有编号为「nope」的学习内容。可用的编号：test-duty、test-hospital-fire",
        "--url ftp://pan.example.cn/x": "只接受以 http:// 或 https:// 开头的网址",
        "--url javascript:alert(1)": "只接受以 http:// 或 https:// 开头的网址",
        "--article test-duty --department 7": "部门「空置部门」没有成员，不能布置学习任务",
        "--article test-duty --department 999": "没有编号为 999 的部门",
        "--article test-duty --department x": "--department takes a department id",
        "--article test-duty --questions 3": "最多可出 2 道检查题",
        "--url https://pan.example.cn/v --questions 1": "最多可出 0 道检查题",
    }
    for tail, expected in mistakes.items():
        status, lines = run([*base, *tail.split()], capsys)
        assert status in (1, 2) and len(lines) == 1 and expected in lines[0], (tail, lines)
    for argv in (
        ["learning", "assign", "t", "--article", "test-duty", "--due", "2026-02-30"],
        ["learning", "assign", "t", "--article", "test-duty", "--due", "2026-06-01"],
        ["learning", "assign", "t", "--due", "2026-06-12"],
        [
            "learning",
            "assign",
            "t",
            "--article",
            "a",
            "--url",
            "https://x.cn",
            "--due",
            "2026-06-12",
        ],
        ["export", "learning", str(tmp_path / "l.xlsx"), "--task", "99"],
    ):
        status, lines = run(argv, capsys)
        assert status in (1, 2) and len(lines) == 1, (argv, lines)
    with runtime.factory() as s:
        assert len(list(s.scalars(select(LearningTask)))) == 2


# -- the console ------------------------------------------------------------------------------
def test_console_page_creates_shows_reminds_and_exports(app, runtime, clock, fake, tmp_path):
    add_account(runtime.factory, "boss", now=clock())
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    page = client.get("/admin/learning").get_data(as_text=True)
    assert "布置学习任务" in page and "【案例】北京长峰医院" in page
    token = csrf_from(page)
    form = {
        "csrf_token": token,
        "title": "观看消防演练视频",
        "source": "url",
        "url": "https://pan.example.cn/v/drill",
        "due": "2026-06-10",
        "departments": ["4"],
    }
    assert (
        client.post("/admin/learning/create", data={**form, "csrf_token": "x"}).status_code == 400
    )
    bad = client.post("/admin/learning/create", data={**form, "url": "file:///etc/passwd"})
    assert "只接受以 http:// 或 https:// 开头的网址" in client.get(
        bad.headers["Location"]
    ).get_data(as_text=True)
    created = client.post("/admin/learning/create", data=form)
    assert created.status_code == 302
    detail = client.get(created.headers["Location"]).get_data(as_text=True)
    assert (
        "3 人将收到学习卡片" in detail and "生产二车间（3 人）" in detail and "尚未完成" in detail
    )
    runtime.sender.drain()
    assert fake.messages_for("zhaolei")[0]["template_card"]["card_action"]["url"].startswith(
        PUBLIC + "/l/"
    )
    task_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    reminded = client.post(f"/admin/learning/{task_id}/remind/4", data={"csrf_token": token})
    assert "已向生产二车间的 3 人发送提醒" in client.get(reminded.headers["Location"]).get_data(
        as_text=True
    )
    again = client.post(f"/admin/learning/{task_id}/remind/4", data={"csrf_token": token})
    assert "一小时内只能发送一次" in client.get(again.headers["Location"]).get_data(as_text=True)
    runtime.sender.drain()
    assert any(t.startswith("【学习提醒】") for t in fake.texts_for("huangli"))
    download = client.get(f"/admin/learning/export.xlsx?task={task_id}")
    assert download.status_code == 200
    (tmp_path / "c.xlsx").write_bytes(download.data)
    rows = list(load_workbook(tmp_path / "c.xlsx")["学习明细"].iter_rows(values_only=True))
    assert len(rows) == 4 and rows[1][1] == "观看消防演练视频"
    with runtime.factory() as s:
        actions = {a.action for a in s.scalars(select(AuditLog))}
    assert {
        "console:learning-assign",
        "console:remind",
        "console:learning-export",
    } <= actions
    # The dashboard and the campaign summary have a learning section.
    assert "学习任务完成情况（按部门）" in client.get("/admin/").get_data(as_text=True)
    report = client.get("/admin/report").get_data(as_text=True)
    assert "七、学习任务与警示教育" in report and "生产二车间" in report
    (tmp_path / "r.xlsx").write_bytes(client.get("/admin/report.xlsx").data)
    sheet = load_workbook(tmp_path / "r.xlsx")["学习任务"]
    assert [c.value for c in sheet[2]][:5] == ["生产二车间", 3, 0, 0, 0]
    # A department head sees the tasks with their own department only, and cannot create,
    # export everyone's records or remind another department.
    head = app.test_client()
    login(head, "head3")
    page = head.get("/admin/learning").get_data(as_text=True)
    assert "观看消防演练视频" in page and "布置学习任务" not in page
    mine = head.get(f"/admin/learning/{task_id}").get_data(as_text=True)
    assert "生产二车间" not in mine and "全部完成，无需提醒" in mine  # 生产一车间 has no one
    assert head.get("/admin/learning/export.xlsx").status_code == 403
    token = csrf_from(mine)
    refused = head.post(f"/admin/learning/{task_id}/remind/4", data={"csrf_token": token})
    assert refused.status_code == 403


# -- reminders and escalation -----------------------------------------------------------------
@pytest.fixture
def three_runtimes(settings, clock, fake):
    runtimes = [
        build_runtime(settings, clock=clock, client_sleep=lambda _s: None) for _ in range(3)
    ]
    upgrade(runtimes[0].engine)
    with transaction(runtimes[0].factory) as s:
        sync_directory(s, runtimes[0].client, clock())
    fake.reset()
    yield runtimes
    for rt in runtimes:
        rt.close()


def learning_sends(fake) -> Counter:
    seen: Counter = Counter()
    for call in fake.calls_to("message/send"):
        text = (call.body.get("text") or {}).get("content", "")
        for kind in ("【学习提醒】", "【学习任务督办】"):
            if text.startswith(kind):
                tag = "today" if "今天" in text else kind
                for userid in call.body["touser"].split("|"):
                    seen[(userid, tag)] += 1
    return seen


def test_reminders_and_escalation_once_with_three_runtimes(three_runtimes, clock, fake):
    rt = three_runtimes[0]
    clock.current = local(5, "10:00")
    with transaction(rt.factory) as s:
        assign(
            s,
            title="警示教育：长峰医院火灾",
            item_id="test-hospital-fire",
            departments=[3],
            due=date(2026, 6, 7),
            created_by="wangfang",
            now=clock(),
            tz=TZ,
            public_url=PUBLIC,
        )
    rt.sender.drain()
    for day in (5, 6, 7, 8):
        for hhmm in ("07:17", "09:17", "09:40", "10:17", "13:17"):
            clock.current = local(day, hhmm)
            threads = [
                threading.Thread(target=lambda r=r: (catch_up(r), r.sender.drain()))
                for r in three_runtimes
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if (day, hhmm) == (6, "10:17"):
                # 刘洋 finishes after the first reminder: the due-day one is not for him.
                with transaction(rt.factory) as s:
                    a = s.scalar(
                        select(LearningAssignment).where(LearningAssignment.userid == "liuyang")
                    )
                    a.confirmed_at = a.completed_at = clock()
        fake._dup.clear()
        fake._recent.clear()
    seen = learning_sends(fake)
    assert seen == Counter(
        {
            ("liqiang", "【学习提醒】"): 1,
            ("liuyang", "【学习提醒】"): 1,
            ("chenjing", "【学习提醒】"): 1,
            ("liqiang", "today"): 1,
            ("chenjing", "today"): 1,
            ("liqiang", "【学习任务督办】"): 1,  # the head of 生产一车间, told once
        }
    )
    escalation = [
        c.body["text"]["content"]
        for c in fake.calls_to("message/send")
        if "督办" in (c.body.get("text") or {}).get("content", "")
    ]
    assert "生产一车间有 2 人未在 6月7日 前完成" in escalation[0] and "陈静" in escalation[0]


# -- the demo ---------------------------------------------------------------------------------
def test_demo_has_a_learning_task_ready(tmp_path):
    import time

    import requests

    from bot.demo.run import start_demo

    demo = start_demo(port=0, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    thread = threading.Thread(target=demo.server.run, daemon=True)
    thread.start()
    try:
        card = None
        for _ in range(50):
            msgs = requests.get(
                demo.base_url + "/demo/api/messages", params={"user": "liuyang"}, timeout=5
            ).json()
            cards = [
                m["body"]["template_card"]
                for m in msgs
                if m["body"].get("msgtype") == "template_card"
                and m["body"]["template_card"]["task_id"].startswith("learn_")
            ]
            if cards:
                card = cards[0]
                break
            time.sleep(0.1)
        assert card is not None and card["main_title"]["title"] == "全员安全生产责任制：人人有责"
        page = requests.get(demo.base_url + card["card_action"]["url"], timeout=5)
        assert page.status_code == 200 and "全员安全生产责任制" in page.text
    finally:
        demo.stop()
        thread.join(timeout=5)

"""Knowledge contests as people meet them: one question set for everyone, cancel and void,
the results of a contest still open, the opening notice (once, with several processes), and
the console's 知识竞赛 pages."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select

from bot.console.testing import add_account, csrf_from, login
from bot.db import transaction
from bot.models import AuditLog, Contest, ContestAttempt, JobRun, Question
from bot.quiz import contest as contests
from bot.quiz.results import close_contests
from bot.runtime import build_runtime
from scheduler.registry import catch_up

_HEAD = re.compile(r"第(\d+)/(\d+)题（(单选|多选|判断)）(.*)")
_OPTION = re.compile(r"^([A-H])\. (.*)$")


def shown_question(runtime, reply: str) -> tuple[int, Question, dict[str, str]]:
    """(number, question, {letter: option text}) of the question at the end of a reply."""
    head = [m for line in reply.splitlines() if (m := _HEAD.search(line))][-1]
    options = {m[1]: m[2] for line in reply.splitlines() if (m := _OPTION.match(line))}
    with runtime.factory() as s:
        q = s.scalar(select(Question).where(Question.stem == head[4]))
        s.expunge(q)
    return int(head[1]), q, options


def reader_answer(runtime, reply: str, right: bool = True) -> str:
    """What a person who knows the answer types: the letters of the right options as they
    were shown to them (their own order), or a wrong one."""
    _, q, options = shown_question(runtime, reply)
    if q.type == "judge":
        truth = q.answer == "T"
        return "对" if truth == right else "错"
    correct = {q.options[ord(c) - 65] for c in q.answer}
    letters = "".join(sorted(k for k, text in options.items() if text in correct))
    if right:
        return letters
    return next(k for k in options if k not in letters)


def make_contest(runtime, clock, *, opens="2026-06-05 08:00", closes="2026-06-05 18:00", **kw):
    from bot.localtime import parse_local

    tz = runtime.settings.tz
    with transaction(runtime.factory) as s:
        ids = contests.create_contest(
            s,
            name=kw.pop("name", "安全月知识竞赛"),
            themes=kw.pop("themes", []),
            count=kw.pop("count", 3),
            seconds=kw.pop("seconds", 300),
            opens_at=parse_local(opens, tz),
            closes_at=parse_local(closes, tz),
            created_by="test",
            now=clock(),
            **kw,
        )
        return ids.id


@pytest.fixture
def officer(app, runtime, clock):
    add_account(runtime.factory, "boss", now=clock())
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    return client


def post(client, path: str, **form):
    token = csrf_from(client.get("/admin/contests").get_data(as_text=True))
    return client.post(path, data={**form, "csrf_token": token}, follow_redirects=True)


def audits(runtime, action: str) -> list[str]:
    with runtime.factory() as s:
        return list(s.scalars(select(AuditLog.detail).where(AuditLog.action == action)))


# -- (a) one question set ----------------------------------------------------------------------
def test_two_people_in_one_contest_get_the_same_questions(wecom, runtime, clock):
    reply = wecom.text(
        "wangfang",
        "竞赛 创建 同题竞赛 题数=4 时限=300 开始=2026-06-05T08:00 结束=2026-06-05T18:00",
    ).text
    assert "已创建知识竞赛 #1" in reply
    seen: dict[str, list[str]] = {}
    for userid in ("liuyang", "zhaolei"):
        reply = wecom.text(userid, "竞赛").text
        assert "共 4 题" in reply
        stems = []
        for _ in range(4):
            number, q, _ = shown_question(runtime, reply)
            stems.append(q.id)
            assert number == len(stems)
            # They read the options in their own order and pick the right text: it counts.
            reply = wecom.text(userid, reader_answer(runtime, reply)).text
            assert reply.startswith("✅ 正确"), reply
        assert "得分 40 分（答对 4/4 题" in reply
        seen[userid] = stems
    assert seen["liuyang"] == seen["zhaolei"]
    with runtime.factory() as s:
        c = s.get(Contest, 1)
        assert c.question_ids == seen["liuyang"]
        attempts = s.scalars(select(ContestAttempt).order_by(ContestAttempt.userid)).all()
        assert [a.question_ids for a in attempts] == [c.question_ids, c.question_ids]


def test_the_set_is_drawn_once_even_for_a_contest_made_before_sets_were_stored(
    wecom, runtime, clock
):
    cid = make_contest(runtime, clock, count=3)
    with transaction(runtime.factory) as s:
        s.get(Contest, cid).question_ids = None  # as a row from before 0014_contests
    first = shown_question(runtime, wecom.text("liuyang", "竞赛").text)[1].id
    second = shown_question(runtime, wecom.text("chenjing", "竞赛").text)[1].id
    assert first == second
    with runtime.factory() as s:
        assert s.get(Contest, cid).question_ids[0] == first


# -- (b) cancel, void, corrections ----------------------------------------------------------------
def test_cancel_tells_who_started_and_announces_nothing(wecom, runtime, clock, fake, officer):
    cid = make_contest(runtime, clock)
    reply = wecom.text("liuyang", "竞赛").text
    reply = wecom.text("liuyang", reader_answer(runtime, reply)).text
    assert "✅ 正确" in reply
    page = post(officer, f"/admin/contests/{cid}/cancel").get_data(as_text=True)
    assert "竞赛已取消，已通知 1 名已参赛的人" in page and "已取消" in page
    runtime.sender.drain()
    assert any("「安全月知识竞赛」已取消" in t for t in fake.texts_for("liuyang"))
    assert not any("已取消" in t for t in fake.texts_for("zhaolei"))  # never started
    # Their next answer is not taken; nobody can start any more.
    assert "已取消，本场作答不计分" in wecom.text("liuyang", "A").text
    assert "现在没有进行中" in wecom.text("zhaolei", "竞赛").text
    assert "已取消" in wecom.text("liuyang", "竞赛 结果 1").text
    # The close time passes: no ranking, no results, to anyone.
    clock.set_local("2026-06-05 18:00")
    with transaction(runtime.factory) as s:
        assert close_contests(s, runtime, clock()) == "no contest due"
    runtime.sender.drain()
    everything = [t for u in ("liuyang", "wangfang") for t in fake.texts_for(u)]
    assert not any("知识竞赛成绩" in t or "知识竞赛排名" in t for t in everything)
    # Cancelling twice is refused; the one cancel is in the audit log.
    login(officer, "boss")  # the console session lapsed while the clock moved on
    assert "竞赛已取消。" in post(officer, f"/admin/contests/{cid}/cancel").get_data(as_text=True)
    assert audits(runtime, "console:contest-cancel") == [f"#{cid}「安全月知识竞赛」，通知 1 人"]


def test_void_a_wrong_question_rescores_everyone(wecom, runtime, clock, fake, officer):
    cid = make_contest(runtime, clock, count=3)
    # liuyang: all three right. zhaolei: only the first right. chenjing stops at question 1.
    for userid, rights in (("liuyang", [True] * 3), ("zhaolei", [True, False, False])):
        reply = wecom.text(userid, "竞赛").text
        for right in rights:
            reply = wecom.text(userid, reader_answer(runtime, reply, right)).text
    on_screen = wecom.text("chenjing", "竞赛").text
    assert shown_question(runtime, on_screen)[0] == 1
    page = post(officer, f"/admin/contests/{cid}/void", number="1").get_data(as_text=True)
    assert "第 1 题已作废，3 人的成绩已重新计算" in page
    with runtime.factory() as s:
        scores = dict(s.execute(select(ContestAttempt.userid, ContestAttempt.score)).all())
    assert scores == {"liuyang": 20, "zhaolei": 0, "chenjing": 0}
    # chenjing's answer was meant for the voided question: not taken for question 2.
    reply = wecom.text("chenjing", "A").text
    assert "这一题已被管理员作废" in reply and shown_question(runtime, reply)[0] == 2
    reply = wecom.text("chenjing", reader_answer(runtime, reply)).text
    reply = wecom.text("chenjing", reader_answer(runtime, reply)).text
    assert "得分 20 分（答对 2/2 题" in reply
    # Results say so; the detail page shows the question as voided.
    results = wecom.text("wangfang", "竞赛 结果 1").text
    assert "已作废的题目（不计分）：第 1 题" in results and "进行中" in results
    detail = officer.get(f"/admin/contests/{cid}").get_data(as_text=True)
    assert "已作废" in detail
    assert audits(runtime, "console:contest-void")[0].startswith(f"#{cid} 第 1 题（")
    # A second void of the same question, and voiding before the opening, are refused.
    page = post(officer, f"/admin/contests/{cid}/void", number="1").get_data(as_text=True)
    assert "第 1 题已经作废" in page


def test_before_opening_an_officer_edits_and_replaces_a_question(runtime, clock, officer):
    cid = make_contest(runtime, clock, opens="2026-06-05 14:00", closes="2026-06-05 16:00")
    with runtime.factory() as s:
        before = list(s.get(Contest, cid).question_ids)
    page = post(
        officer,
        f"/admin/contests/{cid}/edit",
        name="更正后的竞赛",
        opens_at="2026-06-05T15:00",
        closes_at="2026-06-05T17:00",
    ).get_data(as_text=True)
    assert "已保存修改" in page and "更正后的竞赛" in page
    page = post(officer, f"/admin/contests/{cid}/replace", number="2").get_data(as_text=True)
    assert "第 2 题已换为" in page
    void = post(officer, f"/admin/contests/{cid}/void", number="1").get_data(as_text=True)
    assert "竞赛还没开始：有误的题目请直接换题" in void
    with runtime.factory() as s:
        c = s.get(Contest, cid)
        assert c.name == "更正后的竞赛" and c.question_ids[0] == before[0]
        assert c.question_ids[1] != before[1] and len(set(c.question_ids)) == 3
    assert audits(runtime, "console:contest-edit")[0].startswith(
        f"#{cid} 修改 名称、开始时间、结束时间"
    )
    assert audits(runtime, "console:contest-replace")[0].startswith(f"#{cid} 第 2 题：")
    # Once open, times and questions stay as they are.
    clock.set_local("2026-06-05 15:00")
    login(officer, "boss")
    page = post(
        officer,
        f"/admin/contests/{cid}/edit",
        name="再改",
        opens_at="2026-06-05T15:30",
        closes_at="2026-06-05T17:00",
    ).get_data(as_text=True)
    assert "竞赛已开始，不能再修改名称、时间或换题" in page


# -- (c) results of a contest still open ---------------------------------------------------------
def test_results_of_an_open_contest_say_in_progress_with_the_closing_time(
    wecom, runtime, clock, settings, capsys, cli_runtime
):
    from bot.cli import build_parser

    make_contest(runtime, clock, count=2)
    reply = wecom.text("liuyang", "竞赛").text
    wecom.text("liuyang", reader_answer(runtime, reply))
    cli_runtime(runtime)
    args = build_parser().parse_args(["contest", "results", "--id", "1"])
    args.settings = settings
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "进行中" in out and "2026-06-05 18:00 截止" in out and "已结束" not in out
    assert "目前 1 人参加" in out and "1. 刘洋  10 分" in out
    chat = wecom.text("wangfang", "竞赛 结果 1").text
    assert "进行中" in chat and "已结束" not in chat
    assert "还没结束" in wecom.text("zhaolei", "竞赛 结果 1").text
    clock.set_local("2026-06-05 18:00")
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "已结束，共 1 人参加" in out and "进行中" not in out


# -- (d) the opening notice ------------------------------------------------------------------------
def test_opening_notice_goes_to_staff_once_with_two_processes(runtime, clock, fake, settings):
    make_contest(runtime, clock, opens="2026-06-05 10:00", closes="2026-06-05 12:00")
    make_contest(
        runtime,
        clock,
        name="二车间专场",
        opens="2026-06-05 10:00",
        closes="2026-06-05 12:00",
        department_ids=[4],
    )
    other = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    try:
        for minute in ("09:59", "10:00", "10:00", "10:01", "10:05"):
            clock.set_local(f"2026-06-05 {minute}")
            threads = [
                threading.Thread(target=lambda rt=rt: (catch_up(rt), rt.sender.drain()))
                for rt in (runtime, other)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        other.close()

    def notices(userid):
        return [t for t in fake.texts_for(userid) if t.startswith("【知识竞赛开始】")]

    assert len(notices("sunyu")) == 1 and "「安全月知识竞赛」" in notices("sunyu")[0]
    assert "12:00 截止" in notices("sunyu")[0] and "发送「竞赛」参加" in notices("sunyu")[0]
    assert len(notices("zhaolei")) == 2  # everyone's contest and the 二车间 one
    with runtime.factory() as s:
        assert all(c.open_notified_at is not None for c in s.scalars(select(Contest)))
        runs = s.scalars(select(JobRun.detail).where(JobRun.job_id == "contest_open")).all()
    assert sum("announced" in (d or "") for d in runs) == 1


def test_a_department_contest_is_only_for_its_departments(wecom, runtime, clock):
    make_contest(runtime, clock, name="二车间专场", department_ids=[4])
    assert "共 3 题" in wecom.text("zhaolei", "竞赛").text
    assert "现在没有进行中" in wecom.text("liuyang", "竞赛").text
    assert "不在参赛范围内" in wecom.text("liuyang", "竞赛 1").text


# -- (e) the console -------------------------------------------------------------------------------
def test_console_creates_follows_and_announces_a_contest(app, wecom, runtime, clock, fake, officer):
    page = officer.get("/admin/contests").get_data(as_text=True)
    assert "暂无竞赛" in page and "新建竞赛" in page
    # A form without its CSRF token is refused and creates nothing.
    assert officer.post("/admin/contests", data={"name": "无令牌"}).status_code == 400
    page = post(
        officer,
        "/admin/contests",
        name="后台竞赛",
        count="2",
        seconds="120",
        opens_at="2026-06-05T08:30",
        closes_at="2026-06-05T18:00",
        themes=["fire"],
        departments=["3", "4"],
    ).get_data(as_text=True)  # auto_announce unticked: results wait for an officer
    assert "已创建知识竞赛 #1「后台竞赛」，共 2 题" in page
    assert "生产一车间、生产二车间" in page and "进行中" in page
    with runtime.factory() as s:
        c = s.get(Contest, 1)
        assert (c.themes, c.department_ids, c.auto_announce) == (["fire"], [3, 4], False)
    assert audits(runtime, "console:contest-create")[0].startswith("#1「后台竞赛」，主题 ")
    for userid, right in (("liuyang", True), ("zhaolei", False)):
        reply = wecom.text(userid, "竞赛").text
        for _ in range(2):
            reply = wecom.text(userid, reader_answer(runtime, reply, right)).text
    page = officer.get("/admin/contests").get_data(as_text=True)
    row = re.search(r"<tr><td>#1</td>.*?</tr>", page, re.S)[0]
    assert "进行中" in row and "<td>2</td><td>10.0</td>" in row
    detail = officer.get("/admin/contests/1").get_data(as_text=True)
    standings = re.search(r'id="standings">(.*?)</table>', detail, re.S)[1]
    assert standings.index("刘洋") < standings.index("赵磊") and "20" in standings
    depts = re.search(r'id="departments">(.*?)</table>', detail, re.S)[1]
    assert "生产一车间</td><td>3</td><td>1</td><td>33.3%" in depts
    assert "综合办公室" not in depts
    rates = re.search(r'id="questions">(.*?)</table>', detail, re.S)[1]
    assert rates.count("<td>2</td><td>1</td><td>50.0%</td>") == 2
    # Not closed yet: no announcing. After the close, the officers get the ranking with the
    # reminder; participants get nothing until the officer announces, once.
    assert 'id="announce"' not in detail
    assert "竞赛还没结束" in post(officer, "/admin/contests/1/announce").get_data(as_text=True)
    clock.set_local("2026-06-05 18:00")
    with transaction(runtime.factory) as s:
        close_contests(s, runtime, clock())
    runtime.sender.drain()
    login(officer, "boss")
    assert not any("知识竞赛成绩" in t for t in fake.texts_for("liuyang"))
    assert any("请在管理后台「知识竞赛」页核对后" in t for t in fake.texts_for("wangfang"))
    page = post(officer, "/admin/contests/1/announce").get_data(as_text=True)
    assert "成绩已推送给 2 名参赛者" in page
    assert "成绩已经公布过" in post(officer, "/admin/contests/1/announce").get_data(as_text=True)
    runtime.sender.drain()
    assert [t for t in fake.texts_for("liuyang") if "知识竞赛成绩" in t] == [
        "【知识竞赛成绩】「后台竞赛」已结束。\n"
        "你的得分：20 分（答对 2/2 题，用时 0 秒），排名第 1/2 名。"
    ]
    assert len([t for t in fake.texts_for("zhaolei") if "知识竞赛成绩" in t]) == 1
    assert audits(runtime, "console:contest-announce") == ["#1「后台竞赛」，成绩推送 2 人"]
    assert "已结束" in officer.get("/admin/contests").get_data(as_text=True)


def test_console_contest_pages_for_a_department_head(app, runtime, clock):
    make_contest(runtime, clock)
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    client = app.test_client()
    login(client, "head3")
    page = client.get("/admin/contests").get_data(as_text=True)
    assert "安全月知识竞赛" in page and "新建竞赛" not in page
    assert "取消竞赛" not in client.get("/admin/contests/1").get_data(as_text=True)
    token = csrf_from(page)
    assert client.post("/admin/contests/1/cancel", data={"csrf_token": token}).status_code == 403
    assert audits(runtime, "console:denied") == ["/admin/contests/1/cancel"]
    assert client.get("/admin/contests/99").status_code == 404


def test_console_create_form_mistakes_are_one_line(runtime, clock, officer):
    page = post(
        officer,
        "/admin/contests",
        name="坏时间",
        count="三",
        opens_at="2026-06-05T08:30",
        closes_at="2026-06-05T18:00",
    ).get_data(as_text=True)
    assert "题数和时限应为整数" in page
    page = post(
        officer, "/admin/contests", name="坏时间", opens_at="明天", closes_at="2026-06-05T18:00"
    ).get_data(as_text=True)
    assert "请按「年-月-日 时:分」填写时间" in page
    with runtime.factory() as s:
        assert s.scalar(select(Contest)) is None

"""The knowledge contest: creation syntax, one attempt, the server-side clock, closing, results."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import transaction
from bot.models import Contest, ContestAnswer, ContestAttempt, Conversation, Question
from bot.quiz.answers import to_shown
from bot.quiz.results import close_contests


def right_answer(runtime, userid):
    with runtime.factory() as s:
        attempt = s.scalar(select(ContestAttempt).where(ContestAttempt.userid == userid))
        done = set(
            s.scalars(
                select(ContestAnswer.question_index).where(ContestAnswer.attempt_id == attempt.id)
            )
        )
        i = next(i for i in range(len(attempt.question_ids)) if i not in done)
        q = s.get(Question, attempt.question_ids[i])
        shown = to_shown(q.answer, attempt.permutations[i], q.type)
    return ("对" if shown == "T" else "错") if q.type == "judge" else shown


def create(wecom, count=3, seconds=60, extra=""):
    return wecom.text(
        "wangfang",
        f"竞赛 创建 安全月知识竞赛 题数={count} 时限={seconds} "
        f"主题=emergency,急救 开始=2026-06-05T08:00 "
        f"结束=2026-06-05T18:00{extra}",
    ).text


def test_create_needs_admin_and_good_syntax(wecom, runtime):
    assert "仅限管理员" in wecom.text("liuyang", "竞赛 创建 测试 题数=3").text
    assert "格式" in wecom.text("wangfang", "竞赛 创建").text
    bad = wecom.text("wangfang", "竞赛 创建 测试 题数=abc").text
    assert "无法创建竞赛" in bad and "竞赛 创建 <名称>" in bad
    assert "不存在" in wecom.text("wangfang", "竞赛 创建 测试 主题=天文").text
    assert (
        "结束时间应晚于开始时间"
        in wecom.text("wangfang", "竞赛 创建 测试 开始=2026-06-05T12:00 结束=2026-06-05T10:00").text
    )
    reply = create(wecom)
    assert "已创建知识竞赛 #" in reply and "题数 3 题" in reply and "限时 60 秒" in reply
    with runtime.factory() as s:
        c = s.scalar(select(Contest))
        assert c.name == "安全月知识竞赛" and c.themes == ["emergency", "firstaid"]


def test_one_attempt_and_late_answer_not_counted(wecom, runtime, clock):
    create(wecom, count=3, seconds=60)
    intro = wecom.text("liuyang", "竞赛").text
    assert "共 3 题，限时 60 秒" in intro and "剩余 60 秒" in intro
    assert "✅ 正确" in wecom.text("liuyang", right_answer(runtime, "liuyang")).text
    clock.advance(seconds=61)
    late = wecom.text("liuyang", right_answer(runtime, "liuyang")).text
    assert "时间到" in late and "得分 10 分" in late and "答对 1/3 题" in late
    with runtime.factory() as s:
        attempt = s.scalar(select(ContestAttempt).where(ContestAttempt.userid == "liuyang"))
        assert attempt.finished_at is not None and attempt.score == 10
        assert len(s.scalars(select(ContestAnswer)).all()) == 1
        assert s.get(Conversation, "liuyang") is None
    # One attempt each.
    again = wecom.text("liuyang", "竞赛").text
    assert "你已经参加过" in again and "得分 10 分" in again


def test_ranking_by_score_then_time_and_close_job_pushes(wecom, runtime, clock, fake):
    create(wecom, count=2, seconds=100)
    for userid, delay, correct in (
        ("liuyang", 30, True),
        ("zhaolei", 10, True),
        ("chenjing", 5, False),
    ):
        wecom.text(userid, "竞赛")
        for _ in range(2):
            clock.advance(seconds=delay / 2)
            answer = right_answer(runtime, userid)
            if not correct:
                answer = {"对": "错", "错": "对"}.get(answer) or ("B" if answer != "B" else "C")
            wecom.text(userid, answer)
    assert "还没结束" in wecom.text("liuyang", "竞赛 结果 1").text
    with transaction(runtime.factory) as s:
        assert close_contests(s, runtime, clock()) == "no contest due"
    clock.set_local("2026-06-05 18:00")
    with transaction(runtime.factory) as s:
        assert close_contests(s, runtime, clock()) == "closed 1 contests"
    with transaction(runtime.factory) as s:  # idempotent
        assert close_contests(s, runtime, clock()) == "no contest due"
    runtime.sender.drain()
    assert any("排名第 1/3 名" in t for t in fake.texts_for("zhaolei"))
    assert any("排名第 2/3 名" in t for t in fake.texts_for("liuyang"))
    assert any("排名第 3/3 名" in t for t in fake.texts_for("chenjing"))
    admin = [t for t in fake.texts_for("wangfang") if "知识竞赛排名" in t]
    assert len(admin) == 1
    lines = admin[0].splitlines()
    assert lines[1].startswith("1. 赵磊  20 分") and lines[2].startswith("2. 刘洋  20 分")
    assert "部门成绩" in admin[0] and "生产二车间" in admin[0]
    assert "现在没有进行中" in wecom.text("sunyu", "竞赛").text


def test_contest_job_registered_every_minute(settings):
    from scheduler.registry import job_specs

    spec = next(s for s in job_specs(settings) if s.id == "contest_close")
    assert spec.cron == {"minute": "*"}


def test_cli_contest_create(runtime, settings, capsys):
    from bot.cli import build_parser

    args = build_parser().parse_args(
        [
            "contest",
            "create",
            "--name",
            "CLI竞赛",
            "--themes",
            "firstaid",
            "--count",
            "5",
            "--seconds",
            "120",
            "--opens",
            "2030-06-05T09:00",
            "--closes",
            "2030-06-06T09:00",
        ]
    )
    args.settings = settings
    assert args.func(args) == 0
    assert "created contest #1" in capsys.readouterr().out
    with runtime.factory() as s:
        c = s.get(Contest, 1)
        assert (c.question_count, c.seconds, c.themes) == (5, 120, ["firstaid"])

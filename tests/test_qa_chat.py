"""Asking the bot safety questions in chat: answers with their source and follow-ups, don't
know + 转人工 + an officer's 回复 WT-…, small talk, and commands that still win."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.models import QaFollowup, QuestionAsked, QuestionTicket
from bot.stats import compute_stats

SAMPLE = Path(__file__).parent / "data" / "knowledge_sample"
WT = re.compile(r"WT-\d{8}-\d{4}")
OFFICER = "wangfang"


@pytest.fixture(autouse=True)
def sample_knowledge(monkeypatch):
    monkeypatch.setenv("SAFETYBOT_KNOWLEDGE_DIR", str(SAMPLE))


def logged(runtime) -> list[QuestionAsked]:
    with runtime.factory() as s:
        return list(s.scalars(select(QuestionAsked).order_by(QuestionAsked.id)))


def test_confident_answer_with_source_and_follow_ups(wecom, runtime):
    reply = wecom.text("liuyang", "灭火筒咋用？").text
    assert "拔掉保险销" in reply and "出处：应急管理部消防救援局《灭火器的使用》科普" in reply
    assert "相关问题：" in reply and "1. " in reply and "（回复数字查看）" in reply
    assert "转人工" in reply
    related = re.findall(r"^(\d)\. (.+)$", reply, re.M)
    assert len(related) >= 2
    # 2 shows the second related question's answer, with its own source.
    second = wecom.text("liuyang", "2").text
    assert second.startswith(related[1][1]) or "出处：" in second
    assert related[1][1] not in second.split("其他相关问题：")[-1]
    assert "出处：" in second and "其他相关问题：" in second
    [row] = logged(runtime)
    assert (row.best_id, row.outcome, row.userid) == (
        "fire-extinguisher-use",
        "answered",
        "liuyang",
    )
    assert row.score >= 0.6


def test_reply_two_shows_the_second_entry(wecom, runtime):
    reply = wecom.text("chenjing", "同事被电到了怎么办").text
    assert "先断电" in reply and "中国红十字会" in reply
    with runtime.factory() as s:
        choices = s.get(QaFollowup, "chenjing").choices
    second = wecom.text("chenjing", "2").text
    with runtime.factory() as s:
        from bot.knowledge.index import get_index

        doc = get_index().get(choices[1])
    assert doc.answer.splitlines()[0][:10] in second
    assert f"出处：{doc.source}" in second


def test_follow_up_expires_after_ten_minutes(wecom, clock):
    wecom.text("liuyang", "电梯卡住了怎么办")
    clock.advance(minutes=11)
    assert "没有看懂" in wecom.text("liuyang", "1").text


def test_dont_know_then_human_then_officer_reply(wecom, runtime, fake):
    reply = wecom.text("liuyang", "仓库的货架倒了压到脚了怎么办，还有安全帽要换吗").text
    assert "转人工" in reply
    [asked] = logged(runtime)
    assert asked.outcome == "unsure"
    reply = wecom.text("liuyang", "转人工").text
    ticket = WT.search(reply).group(0)
    assert ticket == "WT-20260605-0001" and "安全管理员答复后会通知您" in reply
    runtime.sender.drain()
    [note] = fake.texts_for(OFFICER)
    assert ticket in note and "货架倒了" in note and "刘洋" in note and f"回复 {ticket}" in note
    # Asking again for the same question keeps the ticket.
    assert f"已转人工，编号 {ticket}" in wecom.text("liuyang", "转人工").text
    answer = wecom.text(OFFICER, f"回复 {ticket} 先送医务室，安全帽有裂纹就换新的。").text
    assert "已把答复发送给 刘洋" in answer
    runtime.sender.drain()
    [told] = fake.texts_for("liuyang")
    assert told.startswith(f"关于您的问题 {ticket}：") and "安全帽有裂纹就换新的" in told
    with runtime.factory() as s:
        t = s.scalar(select(QuestionTicket))
        assert (t.status, t.answered_by, t.question_id) == ("answered", OFFICER, asked.id)
        stats = compute_stats(s, clock_now(runtime))
    assert stats["questions_asked"] == 1 and stats["questions_unanswered"] == 1


def clock_now(runtime):
    return runtime.clock().astimezone(runtime.settings.tz)


def test_human_with_the_question_typed_after_it(wecom, runtime, fake):
    reply = wecom.text("sunyu", "转人工 叉车电池能在仓库里充电吗").text
    ticket = WT.search(reply).group(0)
    with runtime.factory() as s:
        t = s.scalar(select(QuestionTicket).where(QuestionTicket.ticket == ticket))
        assert t.question == "叉车电池能在仓库里充电吗" and t.question_id is None
    assert "请发送「转人工 您的问题」" in wecom.text("zhaolei", "转人工").text


def test_retried_callbacks_make_one_ticket_and_one_reply(wecom, runtime, fake):
    wecom.text("liuyang", "货架倒了压到脚怎么处理伤口")
    first = wecom.text("liuyang", "转人工", msg_id="900001").text
    wecom.text("liuyang", "转人工", msg_id="900001")
    ticket = WT.search(first).group(0)
    wecom.text(OFFICER, f"回复 {ticket} 冷敷并送医", msg_id="900002")
    wecom.text(OFFICER, f"回复 {ticket} 冷敷并送医", msg_id="900002")
    runtime.sender.drain()
    assert len(fake.texts_for(OFFICER)) == 1
    assert len([t for t in fake.texts_for("liuyang") if ticket in t]) == 1
    with runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(QuestionTicket)) == 1


def test_wt_reply_is_for_officers_and_jy_reply_still_works(wecom, runtime):
    assert "仅限" in wecom.text("chenjing", "回复 WT-20260605-0001 好").text
    assert "没有找到提问 WT-20200101-0001" in wecom.text(OFFICER, "回复 WT-20200101-0001 好").text
    assert "用法：回复 WT-编号" in wecom.text(OFFICER, "回复 WT-20260605-0001").text
    ticket = re.search(r"JY-\d{8}-\d{4}", wecom.text("liuyang", "建议 加装护栏").text).group(0)
    assert "已把答复发送给 刘洋" in wecom.text(OFFICER, f"回复 {ticket} 好的").text


@pytest.mark.parametrize("text", ["今天食堂吃什么", "你是谁", "讲个笑话", "明天放假吗"])
def test_small_talk_gets_a_friendly_no(wecom, runtime, text):
    reply = wecom.text("liuyang", text).text
    assert "我只懂安全生产方面的问题" in reply and "出处" not in reply
    [row] = logged(runtime)
    assert row.outcome == "off_topic"


@pytest.mark.parametrize("text", ["312045", "112019", "3120"])
def test_a_number_holding_an_emergency_number_is_no_question(wecom, runtime, monkeypatch, text):
    # A stray check-in code is not a question about the ambulance (120) or fire (119) lines,
    # which the real knowledge base has as keywords.
    monkeypatch.delenv("SAFETYBOT_KNOWLEDGE_DIR")
    reply = wecom.text("liuyang", text).text
    assert "没有看懂" in reply and "出处" not in reply and "急救" not in reply, reply
    [row] = logged(runtime)
    assert row.outcome == "off_topic"


@pytest.mark.parametrize("text", ["打120", "119电话", "AED在哪"])
def test_an_emergency_number_inside_a_question_still_finds_its_entry(wecom, monkeypatch, text):
    monkeypatch.delenv("SAFETYBOT_KNOWLEDGE_DIR")
    assert "出处" in wecom.text("liuyang", text).text


def test_commands_are_not_swallowed(wecom, runtime):
    assert "可以做这些事" in wecom.text("liuyang", "帮助").text
    assert "答题" in wecom.text("liuyang", "答提").text  # did you mean
    assert "您好" in wecom.text("liuyang", "你好").text
    reply = wecom.text("liuyang", "答题").text
    assert "第1/3题" in reply
    # Inside the quiz, text and "1" are the quiz's (an answer, or how to answer).
    assert "出处" not in wecom.text("liuyang", "有人中暑了怎么办").text
    answer = wecom.text("liuyang", "1").text
    assert ("回答" in answer or "请回复" in answer) and "出处" not in answer
    assert logged(runtime) == []


def test_the_demo_router_answers_questions(runtime, clock):
    from bot.dispatcher import Bot
    from bot.messages import IncomingMessage
    from handlers import build_router

    bot = Bot(runtime.settings, runtime.factory, build_router(), clock=clock)
    msg = IncomingMessage(
        msg_type="text", from_user="liuyang", create_time=0, content="被困电梯怎么办", msg_id="7"
    )
    assert "不要扒门" in bot.handle(msg).reply.messages[0]["text"]["content"]
    with transaction(runtime.factory) as s:
        assert s.scalar(select(QuestionAsked.best_id)) == "elevator-trapped"

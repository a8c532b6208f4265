"""建议: proposing, the officers hearing of it, answering with 回复, listing mine."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.models import AuditLog, Conversation, Suggestion, SuggestionReply

JY = re.compile(r"JY-\d{8}-\d{4}")
OFFICER = "wangfang"


def test_suggest_notifies_officers_and_reply_reaches_the_proposer(wecom, runtime, fake):
    reply = wecom.text("sunyu", "建议 叉车通道加装凸面镜，减少盲区").text
    ticket = JY.search(reply).group(0)
    assert ticket == "JY-20260605-0001"
    with runtime.factory() as s:
        sug = s.scalar(select(Suggestion))
    assert (sug.proposer, sug.content, sug.department_id) == (
        "sunyu",
        "叉车通道加装凸面镜，减少盲区",
        6,
    )
    runtime.sender.drain()
    [note] = fake.texts_for(OFFICER)
    assert ticket in note and "孙宇" in note and "仓储物流部" in note and f"回复 {ticket}" in note

    assert "已把答复发送给 孙宇" in wecom.text(OFFICER, f"回复 {ticket} 已采纳，本周安装。").text
    runtime.sender.drain()
    [answer] = fake.texts_for("sunyu")
    assert ticket in answer and "已采纳，本周安装。" in answer and "王芳" in answer

    mine = wecom.text("sunyu", "我的建议").text
    assert ticket in mine and "已采纳" in mine and "王芳" in mine


def test_suggestion_flow_and_cancel(wecom, runtime):
    assert "安全建议" in wecom.text("liuyang", "建议").text
    assert "已取消" in wecom.text("liuyang", "取消").text
    assert "安全建议" in wecom.text("liuyang", "建议").text
    reply = wecom.text("liuyang", "车间门口增设洗眼器").text
    assert JY.search(reply)
    with runtime.factory() as s:
        assert s.scalar(select(Suggestion.content)) == "车间门口增设洗眼器"
        assert s.get(Conversation, "liuyang") is None


def test_numbers_are_per_day_and_separate_from_hazards(wecom, clock):
    assert JY.search(wecom.text("liuyang", "建议 一").text).group(0) == "JY-20260605-0001"
    assert JY.search(wecom.text("chenjing", "建议 二").text).group(0) == "JY-20260605-0002"
    clock.advance(days=1)
    assert JY.search(wecom.text("liuyang", "建议 三").text).group(0) == "JY-20260606-0001"


def test_reply_is_for_officers_only_and_checks_the_ticket(wecom, runtime):
    ticket = JY.search(wecom.text("liuyang", "建议 加装护栏").text).group(0)
    assert "仅限" in wecom.text("chenjing", f"回复 {ticket} 好的").text
    assert "用法" in wecom.text(OFFICER, "回复 加装护栏").text
    assert "没有找到" in wecom.text(OFFICER, "回复 JY-20200101-0009 好的").text
    with runtime.factory() as s:
        assert s.scalars(select(SuggestionReply)).all() == []
        assert s.scalar(select(AuditLog).where(AuditLog.allowed.is_(False))).actor == "chenjing"


def test_my_suggestions_empty(wecom):
    assert "还没有提过" in wecom.text("liuyang", "我的建议").text


def test_console_reply_uses_the_same_domain_function(wecom, runtime, fake, clock):
    import pytest

    from bot.console.actions import SuggestionReplyError, reply_to_suggestion
    from bot.db import transaction

    ticket = JY.search(wecom.text("liuyang", "建议 加装护栏").text).group(0)
    with transaction(runtime.factory) as s:
        sug = s.scalar(select(Suggestion).where(Suggestion.ticket == ticket))
        with pytest.raises(SuggestionReplyError):
            reply_to_suggestion(s, clock(), sug, actor="console:admin", content="  ")
        reply_to_suggestion(s, clock(), sug, actor="console:admin", content="已安排安装")
    runtime.sender.drain()
    [answer] = fake.texts_for("liuyang")
    assert ticket in answer and "已安排安装" in answer
    with runtime.factory() as s:
        assert s.scalar(select(SuggestionReply.replier)) == "console:admin"

"""Issue 13, items 1, 2, 7 and 10: what staff, heads and officers hit in the first week.

1. verified hazards count in 积分 (a line per source) and 排行;
2. a bare 确认/签署 signs the 责任书 only after the text was shown, and the audit says what
   was shown and when;
7. participation is one definition (bot.participation), used by 积分 and 排行;
10. forgiving answers (选A, 答案A, 1), survey letters, chat deadlines (明天, 下周五, 6月20日).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from test_quiz_flow import pending, typed

from bot.models import AuditLog
from bot.participation import has_taken_part, participants
from bot.quiz.answers import LETTERS

TICKET = re.compile(r"YH-\d{8}-\d{4}")
PNG = b"\x89PNG\r\n\x1a\n" + b"fixed" * 20
OFFICER = "wangfang"


def click(wecom, userid, key):
    return wecom.card_event(
        userid, key, "hz-task-" + key.replace(":", "-"), card_type="button_interaction"
    )


def report(wecom, user):
    wecom.text(user, "隐患 二车间消防通道堆放纸箱")
    wecom.text(user, "跳过")
    wecom.text(user, "跳过")
    return TICKET.search(wecom.text(user, "1").text).group(0)


def verified_hazard(wecom, fake, reporter):
    fake.add_media("fix-photo", PNG)
    ticket = report(wecom, reporter)
    assert "已指派" in wecom.text(OFFICER, f"隐患 指派 {ticket} 赵磊 2026-06-20 复查人=张伟").text
    click(wecom, "zhaolei", f"hazard:start:{ticket}")
    click(wecom, "zhaolei", f"hazard:done:{ticket}")
    wecom.image("zhaolei", "fix-photo")
    wecom.text("zhaolei", "完成")  # the fix takes photos and a note until 完成
    assert "已验收" in click(wecom, "zhangwei", f"hazard:verify:{ticket}").text
    return ticket


def answer_all(wecom, runtime, userid):
    wecom.text(userid, "答题")
    while True:
        _, index, q, right = pending(runtime, userid)
        if index is None:
            return
        wecom.text(userid, typed(q, right))


# -- item 1: hazard points in 积分 and 排行 ------------------------------------------------------
def test_verified_hazard_points_count_in_points_and_ranking(wecom, runtime, fake):
    verified_hazard(wecom, fake, "chenjing")
    mine = wecom.text("chenjing", "积分").text
    assert "累计积分：20 分" in mine
    assert "· 答题：0 分" in mine and "· 隐患上报（验收通过）：20 分" in mine
    assert "第 1 名（共 " in mine
    answer_all(wecom, runtime, "liuyang")  # 30 quiz points
    mine = wecom.text("liuyang", "积分").text
    assert "· 答题：30 分" in mine and "· 隐患上报（验收通过）：0 分" in mine
    ranking = wecom.text("wuxia", "排行").text
    assert "1. 刘洋  30 分" in ranking and "2. 陈静  20 分" in ranking
    assert "第 2 名（共 2 人参与）" in wecom.text("chenjing", "积分").text


# -- item 7: participation defined once ------------------------------------------------------
def test_participation_is_one_definition_used_by_points_and_ranking(wecom, runtime):
    answer_all(wecom, runtime, "liuyang")  # answered the quiz
    wecom.text("zhaolei", "打卡")  # checked in only
    wecom.text("chenjing", "帮助")  # talked to the bot: not taking part
    with runtime.factory() as s:
        assert participants(s) == {"liuyang", "zhaolei"}
        assert has_taken_part(s, "zhaolei") and not has_taken_part(s, "chenjing")
    mine = wecom.text("chenjing", "积分").text
    assert "还没有参与活动" in mine and "名（共" not in mine
    assert "第 2 名（共 2 人参与）" in wecom.text("zhaolei", "积分").text
    assert "第 1 名（共 2 人参与）" in wecom.text("liuyang", "积分").text
    ranking = wecom.text("wuxia", "排行").text
    assert "共 2 人参与活动" in ranking
    # 生产二车间 (dept 4): zhaolei took part by checking in, so the rate counts them.
    assert "生产二车间  33%（1/3 人）" in ranking


def test_the_console_counts_participants_the_same_way(wecom, runtime, app, clock):
    """The dashboard's 参与人数 is the same set: 帮助 alone does not make a participant."""
    from bot.console import data
    from bot.console.testing import add_account, login

    answer_all(wecom, runtime, "liuyang")
    wecom.text("zhaolei", "打卡")
    wecom.text("chenjing", "帮助")
    with runtime.factory() as s:
        overview = data.overview(s, data.ALL, clock().date())
    assert overview["participants"] == 2
    add_account(runtime.factory, "boss", role="admin", now=clock())
    client = app.test_client()
    login(client, "boss")
    page = client.get("/admin/").get_data(as_text=True)
    assert "<b>2</b><span>参与人数" in page and "每日使用人数（给助手发过消息）" in page


# -- item 2: a bare 确认 signs only a text that was shown ---------------------------------------
def _signed(runtime, userid):
    from bot.models import PledgeSignature

    with runtime.factory() as s:
        return list(s.scalars(select(PledgeSignature).where(PledgeSignature.userid == userid)))


def _audit(runtime, action):
    with runtime.factory() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_bare_confirm_shows_the_text_first_then_signs(wecom, runtime, fake, clock):
    clock.set_local("2026-06-05 09:12")
    first = wecom.text("liuyang", "确认")
    assert first.text is None  # the text goes first, as several messages
    runtime.sender.drain()
    texts = fake.texts_for("liuyang")
    assert not any("签署成功" in t for t in texts)
    assert any("签署前请先阅读《员工安全生产责任书》全文" in t for t in texts)
    assert any("十二、" in t for t in texts)  # the full text was shown
    assert _signed(runtime, "liuyang") == []
    # The same for 签署 by someone else.
    wecom.text("chenjing", "签署")
    assert _signed(runtime, "chenjing") == []
    # Having been shown the text, 确认 now signs, and the audit says what was shown and when.
    clock.set_local("2026-06-05 09:20")
    assert "签署成功" in wecom.text("liuyang", "确认").text
    [sig] = _signed(runtime, "liuyang")
    [audit] = _audit(runtime, "pledge:sign")
    assert sig.text_hash in audit.detail
    assert "签署前已阅读：发送「责任书」查看全文，2026-06-05 09:12" in audit.detail


def test_a_round_message_counts_as_shown(wecom, runtime, clock):
    clock.set_local("2026-06-05 09:00")
    wecom.text("wangfang", "责任书 发起 3")
    clock.set_local("2026-06-05 10:00")
    assert "签署成功" in wecom.text("chenjing", "确认签署").text
    [audit] = _audit(runtime, "pledge:sign")
    assert "签署通知推送全文，2026-06-05 09:00" in audit.detail


# -- item 10: forgiving answers, survey letters, chat deadlines ---------------------------------
def test_parse_answer_accepts_prefixes_and_numbers():
    from bot.quiz.answers import parse_answer

    assert parse_answer("选A", "single") == "A"
    assert parse_answer("选BCD", "multiple") == "BCD"
    assert parse_answer("答案A", "single") == "A"
    assert parse_answer("答案：b", "single") == "B"
    assert parse_answer("1", "single") == "A"
    assert parse_answer("1 3", "multiple") == "AC"
    assert parse_answer("5", "single") is None  # only four options
    assert parse_answer("选AB", "single") is None  # single choice: one letter


def test_quiz_answers_typed_as_xuan_daan_and_numbers(wecom, runtime):
    wecom.text("liuyang", "答题")
    forms = [
        lambda r: "选" + r,
        lambda r: "答案" + r,
        lambda r: "".join(str(LETTERS.index(c) + 1) for c in r),
    ]
    for form in forms:
        _, index, q, right = pending(runtime, "liuyang")
        reply = wecom.text("liuyang", typed(q, right) if q.type == "judge" else form(right)).text
        assert "+10 分" in reply, reply
    assert pending(runtime, "liuyang")[1] is None  # all three scored
    assert "累计积分：30 分" in wecom.text("liuyang", "积分").text


def test_survey_accepts_letters(wecom, runtime, clock):
    from bot.checkin.surveys import drill_surveys
    from bot.db import transaction
    from bot.models import DrillSurveyAnswer

    clock.set_local("2026-06-10 13:50")
    reply = wecom.text("wangfang", "活动 创建 应急演练 2026-06-10 14:00-15:00").text
    code = reply.split("签到码：")[1].split()[0]
    wecom.text("liuyang", f"签到 {code}")
    clock.set_local("2026-06-10 15:10")
    with transaction(runtime.factory) as s:
        drill_surveys(s, runtime, clock())
    assert "编号或字母" in wecom.text("liuyang", "问卷").text
    assert "A 到 C" in wecom.text("liuyang", "Z").text
    assert "（2/3）" in wecom.text("liuyang", "a").text
    assert "（3/3）" in wecom.text("liuyang", "选B").text
    assert "已提交" in wecom.text("liuyang", "无").text
    with runtime.factory() as s:
        ans = s.scalar(select(DrillSurveyAnswer))
    assert ans.answers["assembly_point"] == "知道，并按路线到达了集合点"
    assert ans.answers["evacuation_time"] == "3至5分钟"


def test_chat_deadlines_tomorrow_next_friday_and_dates(wecom, runtime, clock):
    from bot.models import HazardReport

    clock.set_local("2026-06-05 09:00")  # a Friday
    ticket = report(wecom, "liuyang")

    def deadline():
        with runtime.factory() as s:
            return s.scalar(select(HazardReport.deadline).where(HazardReport.ticket == ticket))

    assert "期限 2026-06-06" in wecom.text(OFFICER, f"隐患 指派 {ticket} 赵磊 明天").text
    assert "期限 2026-06-12" in wecom.text(OFFICER, f"隐患 指派 {ticket} 赵磊 下周五").text
    assert str(deadline()) == "2026-06-12"
    assert "期限 2026-06-20" in wecom.text(OFFICER, f"隐患 指派 {ticket} 赵磊 6月20日").text
    past = wecom.text(OFFICER, f"隐患 指派 {ticket} 赵磊 6月1日").text
    assert "2026-06-01 已经过去了" in past
    assert "已经过去" in wecom.text(OFFICER, f"隐患 指派 {ticket} 赵磊 本周一").text
    assert str(deadline()) == "2026-06-20"  # refused dates change nothing

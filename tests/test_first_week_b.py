"""Issue 13, items 3, 5, 9, 14: a chat 预警/广播 is previewed and confirmed, can be recalled
within 24 h; 统计 reads as Chinese; 收到 typed, near-miss commands and greetings are understood;
a 通知 can ask for 收到 and the console counts who acknowledged."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.console.testing import add_account, csrf_from, login
from bot.models import OutboxDelivery, RiskWarning, WarningAck
from bot.wecom.client import WeComAPIError

DEPT3 = ["liqiang", "liuyang", "chenjing"]


def _count(runtime, model, *where) -> int:
    with runtime.factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _latest(runtime) -> RiskWarning:
    with runtime.factory() as s:
        return s.scalars(select(RiskWarning).order_by(RiskWarning.id.desc())).first()


def _cards(fake, userid):
    return [
        m["template_card"] for m in fake.messages_for(userid) if m.get("msgtype") == "template_card"
    ]


# -- item 3: preview, 确认发送 / 取消, refusals, 撤回 ------------------------------------------------
def test_chat_warning_is_previewed_and_sent_only_on_confirm(wecom, runtime, fake):
    preview = wecom.text("wangfang", "预警 @生产一车间 今天下午叉车通道封闭").text
    for part in ("今天下午叉车通道封闭", "生产一车间", "共 3 人", "级别", "确认发送", "取消"):
        assert part in preview, (part, preview)
    runtime.sender.drain()
    assert fake.count("message/send") == 0 and _count(runtime, RiskWarning) == 0
    assert "还没有发出" in wecom.text("wangfang", "好的").text  # neither: asked again
    assert "已取消" in wecom.text("wangfang", "取消").text
    runtime.sender.drain()
    assert fake.count("message/send") == 0 and _count(runtime, RiskWarning) == 0
    # After 取消 there is nothing left to confirm.
    assert "已发布" not in wecom.text("wangfang", "确认发送").text

    preview = wecom.text("wangfang", "预警 暴雨 橙色 @生产一车间").text
    assert "暴雨橙色预警" in preview and "橙色" in preview and "需在 30 分钟内" in preview
    reply = wecom.text("wangfang", "确认发送").text
    assert "已发布预警" in reply and "3 人" in reply and "撤回" in reply
    runtime.sender.drain()
    for userid in DEPT3:
        assert fake.texts_for(userid)[0].startswith("【风险预警】暴雨橙色预警"), userid
    assert fake.texts_for("sunyu") == []


@pytest.mark.parametrize(
    "text, refusal, listed",
    [
        ("预警 台风 紫色 注意", "没有「紫色」这个预警级别", "蓝色、黄色、橙色、红色"),
        ("预警 台风紫色预警", "没有「紫色」这个预警级别", "蓝色、黄色、橙色、红色"),
        ("预警 台峰 红色 注意", "没有「台峰」这种灾种", "台风"),
        ("预警 台峰红色预警", "没有「台峰」这种灾种", "暴雨"),
    ],
)
def test_unknown_level_or_hazard_is_refused_with_the_valid_ones(
    wecom, runtime, fake, text, refusal, listed
):
    reply = wecom.text("wangfang", text).text
    assert refusal in reply and listed in reply, reply
    wecom.text("wangfang", "确认发送")  # nothing was drafted: nothing to send
    runtime.sender.drain()
    assert fake.count("message/send") == 0 and _count(runtime, RiskWarning) == 0


def test_a_sent_warning_is_recalled_with_every_msgid(wecom, runtime, fake):
    wecom.text("wangfang", "预警 @生产一车间 高温 红色")
    wecom.text("wangfang", "确认发送")
    runtime.sender.drain()
    wid = _latest(runtime).id
    assert len(fake.messages_for("liuyang")) == 2  # the text and the 收到 card
    assert "已撤回" in wecom.text("wangfang", f"撤回 {wid}").text
    runtime.sender.drain()
    calls = fake.calls_to("message/recall")
    sent_ids = {m.msgid for m in fake.delivered["liuyang"]}
    assert {c.body["msgid"] for c in calls} == sent_ids and len(calls) == 2
    for userid in DEPT3:
        assert len(fake.recalled_for(userid)) == 2, userid
    assert "已经撤回过" in wecom.text("wangfang", f"撤回 {wid}").text
    runtime.sender.drain()
    assert fake.count("message/recall") == 2
    # A recalled warning asks nobody for 收到 any more: the follow-up is marked done.
    warning = _latest(runtime)
    assert warning.reminded_at is not None and warning.escalated_at is not None


def test_recall_cancels_what_has_not_gone_out(wecom, runtime, fake):
    wecom.text("wangfang", "广播 明天上午停水")
    wecom.text("wangfang", "确认发送")
    wid = _latest(runtime).id
    assert "已撤回" in wecom.text("wangfang", f"撤回 {wid}").text  # before the sender ran
    runtime.sender.drain()
    assert fake.count("message/recall") == 0
    assert all("停水" not in t for t in fake.texts_for("sunyu"))
    assert _count(runtime, OutboxDelivery, OutboxDelivery.last_error == "recalled") == 12


def test_recall_after_24_hours_is_refused(wecom, runtime, fake, clock):
    wecom.text("wangfang", "广播 @生产一车间 明天上午停水")
    wecom.text("wangfang", "确认发送")
    runtime.sender.drain()
    wid = _latest(runtime).id
    clock.advance(hours=24, minutes=1)
    assert "超过 24 小时" in wecom.text("wangfang", f"撤回 {wid}").text
    assert "请写上要撤回的编号" in wecom.text("wangfang", "撤回").text
    assert "没有编号为 999" in wecom.text("wangfang", "撤回 999").text
    assert "仅限管理员" in wecom.text("liuyang", f"撤回 {wid}").text
    runtime.sender.drain()
    assert fake.count("message/recall") == 0 and fake.recalled_for("liuyang") == []


def test_the_fake_refuses_an_unknown_or_old_msgid(runtime, fake):
    with pytest.raises(WeComAPIError):
        runtime.client.recall_message("no-such-msgid")
    result = runtime.client.send_message({"msgtype": "text", "text": {"content": "x"}}, ["liuyang"])
    fake.clock = lambda: fake.delivered["liuyang"][0].at + 24 * 3600 + 1
    with pytest.raises(WeComAPIError):
        runtime.client.recall_message(result.msgid)
    assert fake.recalled_for("liuyang") == []


# -- item 5: 统计 in Chinese --------------------------------------------------------------------
def test_stats_reads_as_chinese_lines(wecom, runtime):
    text = wecom.text("wangfang", "统计").text
    assert re.search(r"[a-z]+_[a-z_]+", text) is None, text  # no raw keys such as hazards_open
    assert "成员数：12 人" in text and "未销号隐患：0 条" in text and "答题正确率：0.0%" in text
    assert "各部门责任书签署：" in text
    assert re.search(r"\n  · 生产一车间：已签 0 / 应签 3", text), text


def test_every_figure_has_a_label_for_people():
    from bot.stats import FIGURES
    from bot.warnings.summary import figure_labels, summary_lines

    assert set(FIGURES) <= set(figure_labels())
    lines = summary_lines({"quiz_correct_rate": 0.6667, "users": 1234, "unlabelled_x": 1}, "T")
    assert lines == ["T", "成员数：1,234 人", "答题正确率：66.7%"]


# -- item 9: 收到 typed, near misses, greetings ------------------------------------------------------
def test_typed_shoudao_acknowledges_the_latest_unacknowledged_warning(wecom, runtime, fake):
    wecom.text("wangfang", "预警 @生产一车间 高温 红色")
    wecom.text("wangfang", "确认发送")
    wecom.text("wangfang", "预警 @生产一车间 暴雨 红色")
    wecom.text("wangfang", "确认发送")
    runtime.sender.drain()
    first, second = sorted(w for w in _ids(runtime))
    assert "暴雨红色预警" in wecom.text("liuyang", "收到").text  # the latest first
    assert "高温红色预警" in wecom.text("liuyang", "收到").text
    assert "没有需要确认" in wecom.text("liuyang", "收到").text  # once each
    assert "没有需要确认" in wecom.text("sunyu", "收到").text  # not a recipient
    assert _count(runtime, WarningAck, WarningAck.userid == "liuyang") == 2
    status = wecom.text("wangfang", f"预警 状态 {second}").text
    assert "已确认 1 人" in status


def _ids(runtime):
    with runtime.factory() as s:
        return list(s.scalars(select(RiskWarning.id)))


@pytest.mark.parametrize(
    "typed, command", [("帮主", "帮助"), ("答提", "答题"), ("打 卡", "打卡"), ("积份", "积分")]
)
def test_a_near_miss_of_a_command_gets_did_you_mean(wecom, typed, command):
    assert wecom.text("liuyang", typed).text.startswith(f"您是不是想发送「{command}」？")


def test_end_outside_a_conversation_and_greetings(wecom):
    assert "没有进行中的操作" in wecom.text("liuyang", "结束").text
    for greeting in ("你好", "您好！", "在吗？", "hi", "Hello"):
        reply = wecom.text("liuyang", greeting).text
        assert reply.startswith("您好 刘洋！") and "「安全生产月助手」可以做这些事" in reply, (
            greeting
        )
    assert "没有看懂" in wecom.text("liuyang", "今天天气不错啊朋友们").text


# -- item 14: a 通知 asking for 收到, acknowledged counts in the console ---------------------------
def test_chat_broadcast_can_ask_for_shoudao(wecom, runtime, fake):
    preview = wecom.text("wangfang", "广播 @生产一车间 周五停电检修，请关闭设备 需确认").text
    assert "需在 30 分钟内点「收到」" in preview
    reply = wecom.text("wangfang", "确认发送").text
    assert "3 人" in reply and "收到" in reply
    runtime.sender.drain()
    assert fake.texts_for("liuyang") == ["【通知】周五停电检修，请关闭设备"]
    [card] = _cards(fake, "liuyang")
    assert card["main_title"]["desc"] == "通知 · 请确认"
    res = wecom.card_event(
        "liuyang", card["button_list"][0]["key"], card["task_id"], card_type="button_interaction"
    )
    assert "已确认收到通知" in res.text
    assert "已确认收到通知" in wecom.text("chenjing", "收到").text


def test_console_broadcast_honours_title_and_ack_and_counts_acknowledged(app, runtime, fake, clock):
    add_account(runtime.factory, "boss", now=clock())
    boss = app.test_client()
    assert login(boss, "boss").status_code == 302
    token = csrf_from(boss.get("/admin/broadcast").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "kind": "broadcast",
        "title": "停电通知",
        "text": "周五下午停电检修",
        "departments": ["3"],
        "require_ack": "1",
        "do": "send",
    }
    assert boss.post("/admin/broadcast", data=form).status_code == 302
    runtime.sender.drain()
    warning = _latest(runtime)
    assert warning.kind == "broadcast" and warning.require_ack and warning.title == "停电通知"
    assert fake.texts_for("liuyang")[0].startswith("【通知】停电通知")
    assert _cards(fake, "liuyang")
    from bot.db import transaction
    from bot.warnings.acks import record_ack

    with transaction(runtime.factory) as s:
        record_ack(s, warning.id, "liuyang", clock())
    html = boss.get("/admin/broadcast").get_data(as_text=True)
    assert "已确认收到" in html and "1 / 3" in html and "已读回执" in html


def test_near_misses_are_exactly_those_one_edit_away():
    """edits_apart (a one-pass check) agrees with the full Levenshtein distance on every pair
    of short strings over a small alphabet, Chinese included."""
    import itertools

    from handlers.help import edits_apart

    def levenshtein(a: str, b: str) -> int:
        previous = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            current = [i]
            for j, cb in enumerate(b, 1):
                current.append(
                    min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
                )
            previous = current
        return previous[-1]

    words = ["".join(w) for n in range(4) for w in itertools.product("a打卡", repeat=n)]
    for a, b in itertools.product(words, repeat=2):
        distance = levenshtein(a, b)
        assert edits_apart(a, b) == (distance if distance <= 1 else None), (a, b)

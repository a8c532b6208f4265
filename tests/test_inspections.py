"""Issue 14: inspections done in chat, every failed item a ticket in the hazard ledger.

A full round through the chat driver (the transcript an inspector sees), resume after a
restart, two inspectors at once, retried callbacks, bad input.
"""

from __future__ import annotations

import re

from inspection_helpers import OFFICER, start, test_checklists  # noqa: F401
from sqlalchemy import func, select

from bot.app import create_app
from bot.fake_wecom.driver import flask_post
from bot.models import HazardReport, InspectionAssignment, InspectionResult
from bot.runtime import build_runtime

TICKET = re.compile(r"YH-\d{8}-\d{4}")
PNG = b"\x89PNG\r\n\x1a\n" + b"fixed" * 20


def count(runtime, model, *where):
    with runtime.factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_a_full_round_in_chat(wecom, runtime, fake):
    reply = start(wecom)
    assert "已发起第 1 轮【办公场所安全检查】，1 个部门，截止 2026-06-20" in reply
    runtime.sender.drain()
    told = fake.texts_for("liuyang")
    assert any("【安全检查任务】办公场所安全检查" in t and "生产一车间" in t for t in told)
    fake.add_media("exit-photo", PNG)
    transcript = []

    def say(text=None, image=None):
        r = wecom.image("liuyang", image) if image else wecom.text("liuyang", text)
        transcript.append((text or "[照片]", r.text))
        return r.text

    first = say("检查")
    assert "开始【办公场所安全检查】" in first and "第1/4项（重点项）：疏散通道" in first
    assert "检查要点：走一遍疏散路线" in first
    assert "请回复「合格」「不合格」或「不适用」" in say("也许吧")
    assert "第1/4项" in transcript[-1][1]  # the same item again
    assert "请拍照发送现场照片" in say("不合格")
    assert "立即通知安全管理员" in transcript[-1][1]  # a critical item
    assert "照片已收到" in say(image="exit-photo")
    opened = say("东侧安全出口堆放纸箱")
    ticket = TICKET.search(opened).group(0)
    assert "已登记隐患" in opened and "第2/4项" in opened
    assert "第3/4项" in say("✓")
    assert "请拍照" in say("2")
    assert "请用一句话说明问题" in say("跳过")
    second = TICKET.search(say("跳过")).group(0)
    assert "第4/4项" in transcript[-1][1]
    end = say("不适用")
    assert "检查完成" in end and "合格 1 项，不合格 2 项，不适用 1 项" in end
    assert ticket in end and second in end
    # The tickets are in the hazard ledger, with the item's category, place and photo.
    with runtime.factory() as s:
        h = s.scalar(select(HazardReport).where(HazardReport.ticket == ticket))
        assert h.category == "escape" and h.location == "生产一车间" and h.department_id == 3
        assert "疏散通道" in h.description and "东侧安全出口堆放纸箱" in h.description
        assert [p.media_id for p in h.photos] == ["exit-photo"]
        assert h.origin.startswith("inspection:")
        h2 = s.scalar(select(HazardReport).where(HazardReport.ticket == second))
        assert h2.category == "electrical" and h2.photos == []
        a = s.scalar(select(InspectionAssignment))
        assert a.status == "done"
    # The officer heard of the critical item at once, and of each new ticket.
    runtime.sender.drain()
    officer = fake.texts_for(OFFICER)
    assert any("重点项不合格" in t and "疏散通道" in t for t in officer)
    assert any(ticket in t for t in officer)
    # 检查 again: nothing left to do; the ticket follows the usual 六定 flow.
    assert "没有需要完成的安全检查" in wecom.text("liuyang", "检查").text
    assert "已指派" in wecom.text(OFFICER, f"隐患 指派 {ticket} 李强 2026-06-20").text
    print("\n".join(f"> {q}\n{a}" for q, a in transcript))


def test_not_an_inspector_is_told_so(wecom, runtime):
    start(wecom)
    assert "没有需要完成的安全检查" in wecom.text("chenjing", "检查").text


def test_bad_rounds_are_refused(wecom, runtime):
    assert "没有检查清单「nope」" in start(wecom, "排查 发起 nope 生产一车间 刘洋 2026-06-20")
    assert "找不到部门「火星」" in start(wecom, "排查 发起 office 火星 刘洋 2026-06-20")
    assert "找不到检查人" in start(wecom, "排查 发起 office 生产一车间 无名氏 2026-06-20")
    assert "已经过去" in start(wecom, "排查 发起 office 生产一车间 刘洋 2026-06-01")
    assert "用法" in start(wecom, "排查 发起 office")
    # 示范集团 (dept 1) has members only in its sub-departments; an empty leaf has none.
    with runtime.factory() as s:
        from bot.models import Department

        s.add(Department(id=99, name="空部门", parent_id=1))
        s.commit()
    assert "没有在职成员" in start(wecom, "排查 发起 office 空部门 刘洋 2026-06-20")
    assert "仅限管理员" in wecom.text("liuyang", "排查 发起 office 生产一车间 刘洋 明天").text


def test_stop_interrupt_and_resume_after_restart(wecom, runtime, fake, settings, clock):
    start(wecom)
    wecom.text("liuyang", "检查")
    wecom.text("liuyang", "合格")
    assert "还没填完" in wecom.text("liuyang", "帮助").text  # 帮助 answers inside it
    paused = wecom.text("liuyang", "积分").text  # another command pauses the checklist
    assert "安全检查已暂停" in paused
    assert "第2/4项" in wecom.text("liuyang", "继续").text
    assert "进度已保存（已完成 1/4 项）" in wecom.text("liuyang", "暂停").text
    # The next day, a new process on the same database: 检查 carries on at item 2.
    clock.advance(days=1)
    rt2 = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    try:
        app2 = create_app(runtime=rt2)
        app2.testing = True
        from conftest import TestDriver

        w2 = TestDriver(rt2, fake, flask_post(app2.test_client()))
        again = w2.text("liuyang", "检查").text
        assert "继续【办公场所安全检查】" in again and "已完成 1/4 项" in again
        assert "第2/4项" in again
        for answer in ("合格", "合格", "合格"):
            last = w2.text("liuyang", answer).text
        assert "合格 4 项，不合格 0 项" in last
    finally:
        rt2.close()


def test_two_inspectors_at_once_on_one_round(wecom, runtime):
    reply = start(wecom, "排查 发起 office 生产一车间 刘洋 生产二车间 赵磊 2026-06-20")
    assert "2 个部门" in reply
    assert "第1/4项" in wecom.text("liuyang", "检查").text
    assert "第1/4项" in wecom.text("zhaolei", "检查").text
    assert "第2/4项" in wecom.text("liuyang", "合格").text
    assert "请拍照" in wecom.text("zhaolei", "不合格").text
    assert "第3/4项" in wecom.text("liuyang", "合格").text
    assert "请用一句话说明" in wecom.text("zhaolei", "跳过").text
    assert TICKET.search(wecom.text("zhaolei", "灯不亮").text)
    assert count(runtime, InspectionResult) == 3
    assert count(runtime, HazardReport) == 1


def test_a_retried_callback_records_once(wecom, runtime):
    start(wecom)
    wecom.text("liuyang", "检查")
    wecom.text("liuyang", "不合格", msg_id="retry-1")
    wecom.text("liuyang", "不合格", msg_id="retry-1")  # WeCom retries the same MsgId
    wecom.text("liuyang", "跳过", msg_id="retry-2")
    first = wecom.text("liuyang", "无法推开", msg_id="retry-3").text
    again = wecom.text("liuyang", "无法推开", msg_id="retry-3").text
    assert TICKET.search(first)
    assert count(runtime, InspectionResult) == 1
    assert count(runtime, HazardReport) == 1
    assert again is None or "第2/4项" in again
    # The card's button starts the same assignment (a click works like 检查).
    click = wecom.card_event(
        "liuyang", "inspection:start:1", "insp-1-x", card_type="button_interaction"
    )
    assert "已完成 1/4 项" in click.text


def test_the_demo_has_a_round_ready_for_its_user(wecom, runtime, clock):
    from bot.db import transaction
    from bot.demo.run import DEMO_INSPECTOR, seed_demo_round

    with transaction(runtime.factory) as s:
        assert seed_demo_round(s, clock(), runtime.settings.tz) is not None
    with transaction(runtime.factory) as s:  # a restart of the demo on the same database
        assert seed_demo_round(s, clock(), runtime.settings.tz) is None
    assert "第1/4项" in wecom.text(DEMO_INSPECTOR, "检查").text

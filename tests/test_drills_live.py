"""Issue 15: a live drill (实战演练) from chat: roles pushed once, check-in with the event code,
key times in order (out of order refused), evacuation time, evaluation in chat, photos, and a
finding that becomes a YH ticket in the hazard ledger; plans and their reminders."""

from __future__ import annotations

import re
from datetime import date

from drill_helpers import OFFICER, test_scenarios  # noqa: F401
from sqlalchemy import select

from bot.db import transaction
from bot.drills import live, plans
from bot.models import CheckinEvent, Drill, DrillFinding, DrillPhoto, EmergencyPlan, HazardReport

TICKET = re.compile(r"YH-\d{8}-\d{4}")
PNG = b"\x89PNG\r\n\x1a\n" + b"drill" * 20


def run_job(runtime, fn, clock):
    with transaction(runtime.factory) as s:
        return fn(s, runtime, clock())


def test_a_live_drill_from_chat(wecom, runtime, fake, clock):
    created = wecom.text(OFFICER, "演练 创建 office-fire 2026-06-06 15:00 办公楼 生产一车间").text
    assert "已创建第 1 号实战演练【办公楼火灾疏散演练】" in created
    assert "6月6日 15:00" in created and "参加 3 人" in created
    code = re.search(r"签到码：(\d{6})", created).group(1)
    with runtime.factory() as s:
        d = s.scalar(select(Drill))
        event = s.get(CheckinEvent, d.event_id)
        assert event.kind == "drill" and event.code == code and event.department_ids == [3]
    assert "刘洋 担任「疏散引导」" in wecom.text(OFFICER, "演练 角色 1 疏散引导 @刘洋").text
    assert "李强 担任「指挥」" in wecom.text(OFFICER, "演练 角色 1 command 李强").text
    assert "场景中没有角色「厨师」" in wecom.text(OFFICER, "演练 角色 1 厨师 @刘洋").text
    # Roles are pushed from a day before, once.
    runtime.sender.drain()
    before = len(fake.texts_for("liuyang"))
    assert run_job(runtime, live.push_roles, clock) == "roles pushed 0"  # 30 hours ahead
    clock.set_local("2026-06-05 16:00")
    assert run_job(runtime, live.push_roles, clock) == "roles pushed 2"
    assert run_job(runtime, live.push_roles, clock) == "roles pushed 0"
    runtime.sender.drain()
    notices = fake.texts_for("liuyang")[before:]
    assert len(notices) == 1 and "您的角色：疏散引导" in notices[0]
    assert "引导人员从安全出口撤离" in notices[0]
    # At the drill: check-in with the event's code, key times in order.
    clock.set_local("2026-06-06 14:50")
    assert "签到成功" in wecom.text("liuyang", f"签到 {code}").text
    refused = wecom.text(OFFICER, "演练 疏散完成").text
    assert "下一个应记录「开始」，不能记录「疏散完成」" in refused
    clock.set_local("2026-06-06 15:00")
    assert "已记录「开始」" in wecom.text(OFFICER, "演练 开始").text
    clock.advance(minutes=3, seconds=20)
    evacuated = wecom.text(OFFICER, "演练 疏散完成").text
    assert "疏散用时：3 分 20 秒" in evacuated and "下一个关键时间：「清点完成」" in evacuated
    clock.advance(minutes=2)
    assert "清点用时（从开始算起）：5 分 20 秒" in wecom.text(OFFICER, "演练 清点完成").text
    # Photos during the drill, kept as hazard photos are (the retry job fetches them).
    fake.add_media("drill-photo", PNG)
    assert "请发送【办公楼火灾疏散演练】的现场照片" in wecom.text("liuyang", "演练 照片").text
    assert "照片已收到" in wecom.image("liuyang", "drill-photo").text
    assert "已保存 1 张演练照片" in wecom.text("liuyang", "好了").text
    assert run_job(runtime, live.retry_photos, clock) == "drill photos stored 1"
    with runtime.factory() as s:
        photo = s.scalar(select(DrillPhoto))
        assert photo.status == "stored" and photo.path.startswith("hazards/")
    # Evaluation in chat by an observer (李强), item by item.
    first = wecom.text("liqiang", "演练 评估").text
    assert "开始填写【办公楼火灾疏散演练】演练评估表" in first and "第1/3项：报警是否及时" in first
    assert "请回复 1～5 之间的整数分数" in wecom.text("liqiang", "6").text
    assert "第2/3项" in wecom.text("liqiang", "4").text
    assert "第3/3项：发现的问题" in wecom.text("liqiang", "3分").text
    done = wecom.text("liqiang", "东侧楼梯堆放杂物，影响疏散").text
    assert "评估表已填完" in done and "问题 1：东侧楼梯堆放杂物" in done
    assert "您已填完" in wecom.text("liqiang", "演练 评估").text
    # The finding becomes a YH ticket with its owner and deadline.
    ticketed = wecom.text(OFFICER, "演练 整改 1 李强 2026-06-20").text
    ticket = TICKET.search(ticketed).group(0)
    assert "问题 1 已登记为隐患" in ticketed and "期限 2026-06-20" in ticketed
    with runtime.factory() as s:
        h = s.scalar(select(HazardReport).where(HazardReport.ticket == ticket))
        assert h.origin == "drill:1" and h.owner == "liqiang" and h.status == "accepted"
        assert "东侧楼梯堆放杂物" in h.description
        assert h.department_id == 3  # the owner's department (李强 heads 生产一车间)
    runtime.sender.drain()
    # Filed and assigned in one step: no 「新隐患待受理」 for the officers to act on.
    assert not any(f"【新隐患上报】{ticket}" in t for t in fake.texts_for(OFFICER))
    again = wecom.text(OFFICER, "演练 整改 1 李强 2026-06-20").text
    assert ticket in again  # once: the same ticket
    listed = wecom.text(OFFICER, "演练 发现").text
    assert ticket in listed and "已指派" in listed or "整改" in listed
    ended = wecom.text(OFFICER, "演练 结束").text
    assert "疏散用时：3 分 20 秒；清点用时：5 分 20 秒" in ended
    assert "没有演练场景" in wecom.text(OFFICER, "演练 创建 nope 2026-06-07 15:00 办公楼").text
    assert "仅限管理员" in wecom.text("liuyang", "演练 开始").text


def test_plans_reminders_once_and_a_drill_updates_its_plan(runtime, session, clock):
    now = clock()
    s = session
    plan = plans.save_plan(
        s,
        title="综合应急预案",
        kind="comprehensive",
        owner="zhangwei",
        version="2024版",
        url="https://pan.example.cn/plan.pdf",
        last_review=date(2023, 7, 1),
        next_review=None,
        actor="cli",
        now=now,
    )
    assert plan.next_review == date(2026, 7, 1)  # three years after the last review
    first = plans.plan_reminders(s, runtime, now)
    assert first == "plan reminders 2"  # review due within a month, never drilled
    assert plans.plan_reminders(s, runtime, now) == "plan reminders 0"
    d = live.create_live(
        s,
        scenario_id="office-fire",
        starts_at=now,
        place="办公楼",
        department_ids=[5],
        userids=[],
        roles={"evacuation": ["wuxia"]},
        facilitator=OFFICER,
        now=now,
        plan_id=plan.id,
        tz=runtime.settings.tz,
    )
    live.end_live(s, d, now, runtime.settings.tz)
    assert s.get(EmergencyPlan, plan.id).last_drill == date(2026, 6, 5)
    assert s.scalar(select(DrillFinding)) is None

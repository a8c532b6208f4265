"""预警 / 广播 / 统计, the 收到 card and its follow-up, group robots."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update

from bot.db import transaction
from bot.fake_wecom.seed import USERS
from bot.models import AuditLog, RiskWarning, WarningAck
from bot.outbox import counts
from bot.runtime import build_runtime
from bot.warnings.templates import LEVELS, render_template, warning_templates
from scheduler.registry import job_specs, previous_fire_time, run_job

ALL = [u[0] for u in USERS]
DEPT3 = ["liqiang", "liuyang", "chenjing"]


def _send(wecom, text, userid="wangfang"):
    """预警/广播 show a preview first; 确认发送 sends it. The reply to 确认发送."""
    preview = wecom.text(userid, text).text
    assert "确认发送" in preview, preview
    return wecom.text(userid, "确认发送")


def _texts(fake, userid):
    return fake.texts_for(userid)


def _cards(fake, userid):
    return [
        m["template_card"] for m in fake.messages_for(userid) if m.get("msgtype") == "template_card"
    ]


def test_free_text_warning_reaches_every_active_member(wecom, runtime, fake):
    reply = _send(wecom, "预警 今天下午有强降雨，请关好门窗").text
    assert "12 人" in reply and "全员" in reply
    runtime.sender.drain()
    for userid in ALL:
        assert _texts(fake, userid) == ["【风险预警】今天下午有强降雨，请关好门窗"], userid
        assert _cards(fake, userid) == []  # free text does not ask for 收到 by default


def test_department_warning_includes_sub_departments(wecom, runtime, fake):
    from bot.models import Department, User

    with transaction(runtime.factory) as session:
        session.add(Department(id=7, name="一车间甲班", parent_id=3, order=7))
        session.add(
            User(
                userid="banzhang",
                name="班长",
                department_id=7,
                department_ids=[7],
                leader_of=[],
                status=1,
            )
        )
    fake.add_user("banzhang", "班长", [7])
    reply = _send(wecom, "预警 @生产一车间 @仓储物流部 叉车通道今天封闭").text
    assert "6 人" in reply, reply
    runtime.sender.drain()
    for userid in ALL + ["banzhang"]:
        got = _texts(fake, userid)
        if userid in DEPT3 + ["banzhang", "xuhao", "sunyu"]:
            assert got == ["【风险预警】叉车通道今天封闭"], userid
        else:
            assert got == [], userid


def test_unknown_department_is_refused_and_nothing_sent(wecom, runtime, fake):
    reply = wecom.text("wangfang", "预警 @不存在的部门 注意").text
    assert "没有找到部门" in reply and "不存在的部门" in reply
    runtime.sender.drain()
    assert fake.count("message/send") == 0


def test_template_warning_renders_warnings_yaml(wecom, runtime, fake):
    reply = _send(wecom, "预警 暴雨 橙色 @生产二车间 下午停止室外作业").text
    assert "暴雨橙色预警" in reply and "收到" in reply  # orange asks for 收到 by default
    runtime.sender.drain()
    tpl = warning_templates()["rainstorm"]
    text = _texts(fake, "zhaolei")[0]
    assert text.startswith("【风险预警】暴雨橙色预警")
    assert tpl["levels"]["orange"]["meaning"] in text
    assert "下午停止室外作业" in text
    for i, action in enumerate(tpl["levels"]["orange"]["actions"], 1):
        assert f"{i}. {action}" in text
    assert tpl["source"] in text
    card = _cards(fake, "zhaolei")[0]
    assert card["card_type"] == "button_interaction"
    assert card["button_list"][0]["key"].startswith("warning:ack:")
    assert _texts(fake, "liuyang") == []


def test_every_template_renders():
    for hazard, data in warning_templates().items():
        for level in LEVELS:
            rendered = render_template(hazard, level)
            assert rendered.title == data["levels"][level]["title"]
            assert rendered.actions and rendered.source
            assert (
                len(
                    rendered.markdown(
                        {"prefix": "p", "actions": "a", "note": "n", "source": "s"}
                    ).encode()
                )
                <= 4096
            )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("预警", "请在「预警」后写上"),
        ("预警 暴雨", "需要写明级别"),
        ("预警 用法", "预警的用法"),
        ("预警 批准", "请写上编号"),
        ("预警 批准 abc", "请写上编号"),
        ("预警 批准 99", "不是等待审核"),
        ("预警 状态 99", "没有编号为 99"),
        ("广播", "请在「广播」后写上"),
    ],
)
def test_usage_and_errors(wecom, runtime, fake, text, expected):
    assert expected in wecom.text("wangfang", text).text
    runtime.sender.drain()
    assert fake.count("message/send") == 0


def test_non_admin_is_refused_and_audited(wecom, runtime, fake):
    for text in ("预警 明天停电", "广播 大家好", "统计"):
        assert "仅限管理员" in wecom.text("liuyang", text).text
    runtime.sender.drain()
    assert fake.count("message/send") == 0
    with runtime.factory() as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.actor == "liuyang")).all()
    assert len(rows) == 3 and not any(r.allowed for r in rows)
    assert {r.action for r in rows} == {"refused:预警", "refused:广播", "refused:统计"}
    assert _scalar(runtime, select(func.count()).select_from(RiskWarning)) == 0


def test_broadcast_and_stats(wecom, runtime, fake):
    reply = _send(wecom, "广播 本周五下午3点消防疏散演练").text
    assert "12 人" in reply
    runtime.sender.drain()
    assert _texts(fake, "sunyu") == ["【通知】本周五下午3点消防疏散演练"]
    stats = wecom.text("wangfang", "统计")
    runtime.sender.drain()
    text = stats.text or "\n".join(_texts(fake, "wangfang"))
    assert "成员数：12" in text and "已发送通知：1" in text and "已发布预警：0" in text


def _warning_id(runtime) -> int:
    with runtime.factory() as s:
        return s.scalars(select(RiskWarning.id).order_by(RiskWarning.id.desc())).first()


def _scalar(runtime, stmt):
    # A short session each time: a long-lived one would hold SQLite's write lock.
    with runtime.factory() as s:
        return s.scalar(stmt)


def test_ack_click_records_once_and_updates_card(wecom, runtime, fake):
    _send(wecom, "预警 @生产一车间 高温 红色 需确认45")
    runtime.sender.drain()
    wid = _warning_id(runtime)
    key = f"warning:ack:{wid}"
    card = _cards(fake, "liuyang")[0]
    assert card["button_list"][0]["key"] == key and "45" in card["sub_title_text"]
    res_time = int(time.time())
    res = wecom.card_event(
        "liuyang", key, card["task_id"], card_type="button_interaction", create_time=res_time
    )
    assert "已确认收到" in res.text
    # WeCom retrying the same callback (same CreateTime) gets the same answer, changes nothing.
    again = wecom.card_event(
        "liuyang", key, card["task_id"], card_type="button_interaction", create_time=res_time
    )
    assert again.text == ""  # the retry changed nothing and sent nothing again
    res2 = wecom.card_event(
        "liuyang", key, card["task_id"], card_type="button_interaction", create_time=res_time + 5
    )
    assert "已经确认过" in res2.text
    assert (
        "不需要您确认" in wecom.card_event("sunyu", key, "x", card_type="button_interaction").text
    )
    runtime.sender.drain()
    assert _scalar(runtime, select(func.count()).select_from(WarningAck)) == 1
    assert len(fake.updated_cards) == 2  # the click and the later repeat (not the retry)
    updated = fake.updated_cards[0]["template_card"]
    assert updated["button_list"][0]["text"] == "已收到"
    status = wecom.text("wangfang", f"预警 状态 {wid}").text
    assert "已确认 1 人" in status and "未确认 2 人" in status and "李强" in status


def test_followup_reminds_once_then_tells_department_heads(runtime, fake, clock, wecom):
    _send(wecom, "预警 暴雨 红色")  # red: 收到 required, 30 minutes
    runtime.sender.drain()
    wid = _warning_id(runtime)
    card = _cards(fake, "zhaolei")[0]
    for userid in ALL:
        if userid not in ("zhaolei", "liuyang", "chenjing", "liqiang"):
            wecom.card_event(
                userid, f"warning:ack:{wid}", card["task_id"], card_type="button_interaction"
            )
    runtime.sender.drain()
    fake.reset()
    spec = next(s for s in job_specs(runtime.settings) if s.id == "warning_followup")

    def minute_tick():  # what the scheduler does each minute, for this job only
        fire = previous_fire_time(spec, runtime.settings.tz, clock())
        assert run_job(runtime, spec, fire)
        runtime.sender.drain()

    clock.advance(minutes=29)
    minute_tick()
    assert fake.count("message/send") == 0
    clock.advance(minutes=1, seconds=5)
    minute_tick()
    reminded = {u for u in ALL if _cards(fake, u)}
    assert reminded == {"zhaolei", "liuyang", "chenjing", "liqiang"}
    assert "还没有确认收到" in _texts(fake, "zhaolei")[0]
    # zhaolei acknowledges on the reminder; the others do not.
    wecom.card_event("zhaolei", f"warning:ack:{wid}", "t", card_type="button_interaction")
    runtime.sender.drain()
    fake.reset()
    for _ in range(5):  # more minutes before the escalation: nothing new
        clock.advance(minutes=1)
        minute_tick()
    assert fake.count("message/send") == 0
    clock.advance(minutes=30)
    minute_tick()
    # liuyang and chenjing (dept 3) -> liqiang, head of 3; liqiang himself is not on his own
    # list (dept 1 above has no head, so nobody hears about him).
    texts = _texts(fake, "liqiang")
    assert len(texts) == 1 and "刘洋" in texts[0] and "陈静" in texts[0] and "2 人" in texts[0]
    assert "李强" not in texts[0]
    assert _texts(fake, "yangmin") == []  # zhaolei acknowledged
    # Running the job again (another process, a rerun) sends nothing more.
    fake.reset()
    with transaction(runtime.factory) as s:
        from bot.warnings.acks import run_followups

        run_followups(s, runtime.settings, clock())
    assert run_job(runtime, spec, clock().replace(second=0, microsecond=0)) is False
    runtime.sender.drain()
    assert fake.count("message/send") == 0


def test_robots_get_warnings_as_markdown(settings, clock, fake):
    from bot.directory import sync_directory
    from bot.migrate import upgrade

    settings = settings.replace(robot_keys=("robot-a", "robot-b"))
    rt = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, clock())
    try:
        from bot.app import create_app
        from bot.fake_wecom.driver import CallbackDriver, flask_post

        app = create_app(runtime=rt)
        driver = CallbackDriver(
            rt.crypto, flask_post(app.test_client()), agent_id=settings.agent_id
        )
        reply = _send(driver, "预警 台风 黄色 @生产一车间 加固临时设施").text
        assert "2 个群机器人" in reply
        _send(driver, "广播 普通通知不发群机器人")
        rt.sender.drain()
        for key in ("robot-a", "robot-b"):
            msgs = fake.robot_messages[key]
            assert len(msgs) == 1
            md = msgs[0]["markdown"]["content"]
            assert msgs[0]["msgtype"] == "markdown"
            assert "台风黄色预警" in md and "加固临时设施" in md and "生产一车间" in md
        with rt.factory() as s:
            c = counts(s)
        assert c["enqueued"] == c["sent"] and c["pending"] == c["dead"] == 0
    finally:
        rt.close()


def test_robot_rate_limit_defers_instead_of_dropping(settings, clock, fake):
    """21 warnings in one minute: the 21st robot message waits for the next minute."""
    from bot.directory import sync_directory
    from bot.migrate import upgrade
    from bot.warnings import publish
    from bot.warnings.templates import render_typed

    settings = settings.replace(robot_keys=("robot-a",))
    rt = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, clock())
        for i in range(21):
            publish.publish(
                s,
                settings,
                clock(),
                created_by="wangfang",
                rendered=render_typed(f"第{i}条"),
                department_ids=[6],
            )
    try:
        rt.sender.drain()
        assert len(fake.robot_messages["robot-a"]) == 20
        clock.advance(minutes=1)
        fake._robot_recent.clear()  # the fake counts real seconds; the bot counts clock minutes
        rt.sender.drain()
        assert len(fake.robot_messages["robot-a"]) == 21
    finally:
        rt.close()


def test_stats_formats_nested_figures_as_short_lines():
    from bot.warnings.summary import summary_lines

    figures = {"pledges_by_department": {"仓储物流部": {"signed": 1, "in_scope": 2}}}
    assert summary_lines({**figures, "event_attendance": {}}, "T") == [
        "T",
        "各部门责任书签署：",
        "  · 仓储物流部：已签 1 / 应签 2",
        "活动签到人数：暂无",
    ]


def test_escalation_with_most_of_a_large_organisation_pending(runtime, fake, clock, wecom):
    """A red warning nobody acknowledges, with 70,000 more recipients than one PostgreSQL
    statement takes as parameters: the follow-up job still tells the head, once, how many."""
    from sqlalchemy import insert

    from bot.models import User, WarningRecipient
    from bot.warnings.acks import run_followups

    _send(wecom, "预警 暴雨 红色")
    runtime.sender.drain()
    wid = _warning_id(runtime)
    extra = [f"staff{i:05d}" for i in range(70_000)]
    with transaction(runtime.factory) as s:
        s.execute(
            insert(User.__table__),
            [
                {"userid": u, "name": f"员工{i}", "department_id": 3, "department_ids": [3]}
                for i, u in enumerate(extra)
            ],
        )
        s.execute(
            insert(WarningRecipient.__table__),
            [{"warning_id": wid, "userid": u, "department_id": 3} for u in extra],
        )
        # The reminder went out earlier (not the point here, and 70,000 sends are slow).
        s.execute(update(RiskWarning).where(RiskWarning.id == wid).values(reminded_at=clock()))
    clock.advance(minutes=61)  # past the escalation (60 min)
    with transaction(runtime.factory) as s:
        summary = run_followups(s, runtime.settings, clock())
    assert summary.startswith("reminded 0, escalated to "), summary
    fake.reset()
    runtime.sender.drain()
    text = "".join(_texts(fake, "liqiang"))  # one message, split at WeCom's length limit
    # Dept 3's members other than the head himself: the seeded two and the 70,000.
    assert text.startswith("【预警确认情况】") and text.count("【预警确认情况】") == 1
    assert "还有 70002 人没有点「收到」" in text and "刘洋（生产一车间）" in text

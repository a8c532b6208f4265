"""隐患上报: the report conversation, photos, tickets, notifications, restarts and retries."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.db import transaction
from bot.fake_wecom.driver import CallbackDriver, flask_post
from bot.hazard import ledger, photos
from bot.models import Conversation, HazardPhoto, HazardReport, HazardTransition, OutboundMessage
from bot.runtime import build_runtime

TICKET = re.compile(r"YH-\d{8}-\d{4}")
PNG = b"\x89PNG\r\n\x1a\n" + b"hazard-photo-bytes" * 10


def report(wecom, user="liuyang", desc="二车间消防通道堆放纸箱", category="1") -> str:
    assert "照片" in wecom.text(user, f"隐患 {desc}").text
    assert "位置" in wecom.text(user, "跳过").text
    assert "类别" in wecom.text(user, "跳过").text
    reply = wecom.text(user, category).text
    return TICKET.search(reply).group(0)


def hazards(runtime) -> list[HazardReport]:
    with runtime.factory() as s:
        return list(s.scalars(select(HazardReport).order_by(HazardReport.id)))


def conversation(runtime, userid):
    with runtime.factory() as s:
        return s.get(Conversation, userid)


# -- the conversation -----------------------------------------------------------------------------
def test_full_report_with_photos_location_and_category(wecom, runtime, fake):
    fake.add_media("m-1", PNG)
    fake.add_media("m-2", PNG + b"2", "image/jpeg")
    assert "描述" in wecom.text("liuyang", "隐患").text
    assert "照片" in wecom.text("liuyang", "配电箱门损坏，线路裸露").text
    assert "第 1 张" in wecom.image("liuyang", "m-1").text
    assert "第 2 张" in wecom.image("liuyang", "m-2").text
    assert "位置" in wecom.text("liuyang", "好了").text
    reply = wecom.location("liuyang", 31.2304, 121.4737, "一车间东门配电间").text
    assert "1. 消防" in reply and "9. 其他" in reply
    reply = wecom.text("liuyang", "2").text
    ticket = TICKET.search(reply).group(0)
    assert ticket == "YH-20260605-0001"
    assert "用电" in reply and "一车间东门配电间" in reply and "2 张" in reply

    [h] = hazards(runtime)
    assert (h.ticket, h.reporter, h.category, h.status) == (
        ticket,
        "liuyang",
        "electrical",
        "reported",
    )
    assert h.description == "配电箱门损坏，线路裸露" and h.department_id == 3
    assert h.location == "一车间东门配电间" and h.latitude == pytest.approx(31.2304)
    assert conversation(runtime, "liuyang") is None
    with runtime.factory() as s:
        stored = list(s.scalars(select(HazardPhoto).order_by(HazardPhoto.id)))
        [tr] = s.scalars(select(HazardTransition)).all()
    assert [p.status for p in stored] == ["stored", "stored"]
    assert stored[1].content_type == "image/jpeg" and stored[1].path.endswith(".jpg")
    for p, data in zip(stored, [PNG, PNG + b"2"], strict=True):
        digest = hashlib.sha256(data).hexdigest()
        assert p.sha256 == digest and p.size == len(data) and digest in p.path
        assert (Path(runtime.settings.files_dir) / p.path).read_bytes() == data
    assert (tr.action, tr.from_status, tr.to_status, tr.actor) == (
        "report",
        None,
        "reported",
        "liuyang",
    )

    # The officer (wangfang) gets a text with the photo count and a card with an accept button.
    runtime.sender.drain()
    msgs = fake.messages_for("wangfang")
    text = next(m["text"]["content"] for m in msgs if m["msgtype"] == "text")
    assert ticket in text and "照片已保存，共2张" in text and "刘洋" in text
    card = next(m["template_card"] for m in msgs if m["msgtype"] == "template_card")
    assert card["card_type"] == "button_interaction"
    assert card["button_list"][0]["key"] == f"hazard:accept:{ticket}"
    assert fake.messages_for("liuyang") == []  # the reporter got the passive reply only


def test_report_with_text_location_and_category_by_name(wecom, runtime):
    wecom.text("chenjing", "隐患楼梯间应急灯不亮")  # no space after the keyword
    wecom.text("chenjing", "完成")
    assert "类别" in wecom.text("chenjing", "3号楼二层楼梯间").text
    reply = wecom.text("chenjing", "消防").text
    assert TICKET.search(reply)
    [h] = hazards(runtime)
    assert (h.description, h.location, h.category) == (
        "楼梯间应急灯不亮",
        "3号楼二层楼梯间",
        "fire",
    )


def test_bad_category_is_asked_again(wecom, runtime):
    wecom.text("liuyang", "隐患 叉车超速")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    assert "1-9" in wecom.text("liuyang", "10").text  # 电梯 and 食品安全 came with inspections
    assert "1-9" in wecom.text("liuyang", "不知道").text
    assert hazards(runtime) == []
    assert TICKET.search(wecom.text("liuyang", "4").text)
    assert hazards(runtime)[0].category == "machinery"


def test_cancel_abandons_the_report(wecom, runtime):
    wecom.text("liuyang", "隐患 地面油污")
    wecom.text("liuyang", "跳过")
    assert "已取消" in wecom.text("liuyang", "取消").text
    assert conversation(runtime, "liuyang") is None
    assert hazards(runtime) == []
    assert "描述" in wecom.text("liuyang", "隐患").text
    assert "已取消" in wecom.text("liuyang", "取消").text
    assert hazards(runtime) == []


def test_other_commands_still_work_in_the_middle(wecom, runtime):
    wecom.text("liuyang", "隐患 地面油污")
    assert "安全生产月助手" in wecom.text("liuyang", "帮助").text  # help answers, flow stays
    assert conversation(runtime, "liuyang").step == "photos"


def test_conversation_times_out(wecom, runtime, clock, fake):
    """A timed-out report is paused, not dropped: the text typed after it is offered to it
    (issue 13, item 11; it used to end the report and throw the text away)."""
    wecom.text("liuyang", "隐患 地面油污")
    clock.advance(minutes=runtime.settings.conversation_timeout_minutes + 1)
    reply = wecom.text("liuyang", "跳过").text
    assert "因超时已暂停" in reply and "「跳过」" in reply and "继续" in reply
    conv = conversation(runtime, "liuyang")
    assert conv.flow == "hazard" and conv.data["description"] == "地面油污"
    assert hazards(runtime) == []
    assert "已放弃" in wecom.text("liuyang", "取消").text
    assert conversation(runtime, "liuyang") is None


def test_conversation_survives_a_restart(wecom, runtime, clock, fake):
    """A second process (new runtime and app on the same database) continues the report."""
    fake.add_media("m-r", PNG)
    wecom.text("liuyang", "隐患 仓库灭火器过期")
    wecom.image("liuyang", "m-r")
    runtime.close()  # the first process goes away
    rt2 = build_runtime(runtime.settings, clock=clock, client_sleep=lambda _s: None)
    try:
        app2 = create_app(runtime=rt2)
        driver = CallbackDriver(
            rt2.crypto, flask_post(app2.test_client()), agent_id=rt2.settings.agent_id
        )
        assert "位置" in driver.text("liuyang", "好了").text
        driver.text("liuyang", "仓库B区")
        reply = driver.text("liuyang", "1").text
        assert TICKET.search(reply) and "1 张" in reply
        with rt2.factory() as s:
            [h] = s.scalars(select(HazardReport)).all()
            assert (h.description, h.location, len(h.photos)) == ("仓库灭火器过期", "仓库B区", 1)
    finally:
        rt2.close()


def test_retried_callback_opens_one_ticket(wecom, runtime):
    wecom.text("liuyang", "隐患 配电柜前堆物")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    replies = [
        wecom.text("liuyang", "2", msg_id="retried-msg-1", create_time=1780000000).text
        for _ in range(3)
    ]
    assert len(set(replies)) == 1 and TICKET.search(replies[0])
    assert len(hazards(runtime)) == 1
    with runtime.factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(OutboundMessage.source == "hazard:new")
            )
            == 2
        )  # text + card, once


def test_my_hazards_lists_mine_only(wecom, runtime):
    assert "还没有" in wecom.text("liuyang", "我的隐患").text
    t1 = report(wecom, "liuyang", "楼道堆放杂物")
    t2 = report(wecom, "liuyang", "消防栓被遮挡")
    report(wecom, "chenjing", "别人的隐患")
    reply = wecom.text("liuyang", "我的隐患").text
    assert t1 in reply and t2 in reply and "待受理" in reply and "别人的隐患" not in reply
    assert "共 2 条" in reply


# -- photos -------------------------------------------------------------------------------------
def test_media_error_json_is_not_a_photo_and_the_job_fetches_it_later(wecom, runtime, fake, clock):
    # media/get answers 40007 as JSON with HTTP 200: that must not be stored as an image.
    wecom.text("liuyang", "隐患 电缆破损")
    assert "稍后自动保存" in wecom.image("liuyang", "not-yet").text
    wecom.text("liuyang", "好了")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "2")
    with runtime.factory() as s:
        [p] = s.scalars(select(HazardPhoto)).all()
    assert (p.status, p.path, p.attempts) == ("pending", None, 1) and "40007" in p.last_error
    files = Path(runtime.settings.files_dir)
    assert not files.exists() or not any(f.is_file() for f in files.rglob("*"))
    runtime.sender.drain()
    assert any("照片已保存，共1张" in t for t in fake.texts_for("wangfang"))

    fake.add_media("not-yet", PNG)  # now WeCom has it
    clock.advance(minutes=1)
    with transaction(runtime.factory) as s:
        detail = photos.retry_pending(s, runtime, clock())
    assert "stored 1" in detail
    with runtime.factory() as s:
        p = s.scalars(select(HazardPhoto)).one()
    assert p.status == "stored" and p.attempts == 2
    assert (Path(runtime.settings.files_dir) / p.path).read_bytes() == PNG


def test_permanent_media_error_is_given_up_after_a_few_tries(wecom, runtime, clock):
    wecom.text("liuyang", "隐患 电缆破损")
    wecom.image("liuyang", "never-there")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "2")
    statuses = []
    for _ in range(3):
        clock.advance(minutes=1)
        with transaction(runtime.factory) as s:
            photos.retry_pending(s, runtime, clock())
            statuses.append(s.scalars(select(HazardPhoto.status)).one())
    assert statuses == ["pending", "failed", "failed"]


def test_transient_failure_is_retried_until_the_media_expires(wecom, runtime, fake, clock):
    fake.add_media("slow", PNG)
    fake.inject("media/get", status=503, times=1)  # the quick in-callback try fails
    wecom.text("liuyang", "隐患 电缆破损")
    assert "稍后自动保存" in wecom.image("liuyang", "slow").text
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "2")
    fake.inject("media/get", status=503, times=5)
    for _ in range(5):
        clock.advance(minutes=1)
        with transaction(runtime.factory) as s:
            photos.retry_pending(s, runtime, clock())
    with runtime.factory() as s:
        assert s.scalars(select(HazardPhoto.status)).one() == "pending"  # still trying
    clock.advance(days=3)
    with transaction(runtime.factory) as s:
        assert "failed 1" in photos.retry_pending(s, runtime, clock())


def test_photo_retry_job_is_registered_every_minute(runtime):
    from scheduler.registry import job_specs

    specs = {s.id: s for s in job_specs(runtime.settings)}
    assert specs["hazard_photo_retry"].cron == {"minute": "*"}
    assert specs["hazard_overdue"].cron == {"hour": 10, "minute": 5}


# -- ticket numbers ---------------------------------------------------------------------------------
def test_sixteen_concurrent_reports_get_distinct_numbers(runtime, clock):
    barrier = threading.Barrier(16)
    tickets: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction(runtime.factory) as s:
                h = ledger.create_report(
                    s,
                    runtime.settings,
                    reporter="liuyang",
                    department_id=3,
                    description=f"隐患 {i}",
                    category="other",
                    location="",
                    latitude=None,
                    longitude=None,
                    photos=[],
                    now=clock().astimezone(runtime.settings.tz),
                )
                ticket = h.ticket
            with lock:
                tickets.append(ticket)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(tickets) == [f"YH-20260605-{n:04d}" for n in range(1, 17)]


def test_numbers_restart_each_local_day(wecom, runtime, clock):
    assert report(wecom) == "YH-20260605-0001"
    assert report(wecom) == "YH-20260605-0002"
    clock.set_local("2026-06-05 23:59")
    assert report(wecom) == "YH-20260605-0003"
    clock.set_local("2026-06-06 00:01")  # still 2026-06-05 in UTC: the local day counts
    assert report(wecom) == "YH-20260606-0001"


def test_stats_count_hazards_and_suggestions(wecom, runtime, session):
    from bot.stats import compute_stats

    report(wecom)
    report(wecom, "chenjing")
    wecom.text("liuyang", "建议 增加应急照明")
    with runtime.factory() as s:
        stats = compute_stats(s, runtime.clock())
    assert stats["hazards"] == 2 and stats["suggestions"] == 1
    assert stats["hazards_open"] == 2 and stats["hazards_overdue"] == 0

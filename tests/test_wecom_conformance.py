"""What a loosely faked WeCom would hide: checked against a fake as strict as WeCom.

Each test names the WeCom rule (发送应用消息, 模板卡片, 被动回复, 全局错误码, 群机器人配置说明).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from test_outbox import add_members, assert_invariant

from bot.db import transaction
from bot.fake_wecom.driver import PassiveReplyRefused
from bot.fake_wecom.seed import USERS
from bot.messages import text_message
from bot.models import OutboxDelivery
from bot.outbox import counts, enqueue, held_batches
from bot.quiz.push import quiz_push_message
from bot.wecom.inbound import render_text_reply

SEED = [u[0] for u in USERS]


def queue(runtime, userids, body, **kw):
    with transaction(runtime.factory) as s:
        return enqueue(s, userids, body, source="test", now=runtime.clock(), **kw)


# -- 1. a template card's task_id is unique within the app ----------------------------------------
def test_a_card_sent_in_several_calls_gets_one_task_id_per_call_and_reaches_everyone(runtime, fake):
    members = SEED + add_members(runtime, fake, 2500)
    with runtime.factory() as s:
        card = quiz_push_message(s, runtime, runtime.clock())
    queue(runtime, members, card)
    runtime.sender.drain()
    calls = fake.calls_to("message/send")
    task_ids = [c.body["template_card"]["task_id"] for c in calls]
    assert len(calls) == 3 and len(set(task_ids)) == 3
    assert all(t.startswith(card["template_card"]["task_id"]) for t in task_ids)
    assert fake.dropped_task_ids == []
    assert all(len(fake.messages_for(u)) == 1 for u in members)  # nobody missed the card


def test_the_fake_drops_a_reused_task_id_as_wecom_does(runtime, fake):
    card = {"msgtype": "template_card", "template_card": {"card_type": "text_notice",
            "main_title": {"title": "t"}, "card_action": {"type": 1, "url": "https://x"},
            "task_id": "same-task"}}  # fmt: skip
    runtime.client.send_message(card, ["liuyang"], duplicate_check=False)
    runtime.client.send_message(card, ["chenjing"], duplicate_check=False)
    assert len(fake.messages_for("liuyang")) == 1
    assert fake.messages_for("chenjing") == [] and fake.dropped_task_ids == ["same-task"]


# -- 2. a card click is answered by a card update; texts go through the API -----------------------
def test_card_clicks_get_no_passive_text_and_their_texts_arrive_through_the_api(wecom, fake):
    from bot.pledge.texts import current_texts

    head = current_texts()["department_head"]
    click = wecom.card_event(
        "liqiang", "pledge:sign:" + head.hash, "pledge_task1", card_type="button_interaction"
    )
    assert click.status == 200 and "签署成功" in click.text


def test_the_driver_refuses_a_passive_text_reply_to_a_card_click(runtime):
    """A bot that answered a click with a passive text would pass a loose fake."""
    from bot.fake_wecom.driver import CallbackDriver

    def answers_with_text(path: str, body: bytes) -> tuple[int, bytes]:
        xml = render_text_reply("liuyang", runtime.settings.corp_id, "好", "1000002")
        return 200, runtime.crypto.encrypt_reply(xml, "nonce123", "1700000000").encode()

    driver = CallbackDriver(runtime.crypto, answers_with_text)
    with pytest.raises(PassiveReplyRefused):
        driver.card_event("liuyang", "test:x", "t1", card_type="button_interaction")
    assert driver.text("liuyang", "帮助").text == "好"  # to a text message it is fine


# -- 3. texts longer than 2,048 bytes are split where they are queued ----------------------------
def test_a_long_broadcast_arrives_whole_in_parts(runtime, fake):
    lines = [
        f"第{i}条：请各部门于本周五前完成配电箱、灭火器和疏散通道的自查并上报。" for i in range(60)
    ]
    text = "\n".join(lines)
    assert len(text.encode()) > 5000
    queue(runtime, SEED, text_message(text), dedup_key="broadcast:long")
    runtime.sender.drain()
    got = fake.texts_for("liuyang")
    assert len(got) >= 3 and all(len(t.encode()) <= 2048 for t in got)
    assert "".join(got).replace("\n", "") == text.replace("\n", "")
    # Queued twice under one dedup key: nothing new.
    assert queue(runtime, SEED, text_message(text), dedup_key="broadcast:long") is None


def test_the_fake_cuts_an_over_long_text_as_wecom_does(runtime, fake):
    runtime.client.send_message(text_message("安" * 1000), ["liuyang"])
    assert len(fake.texts_for("liuyang")[0].encode()) <= 2048


# -- 4. no duplicate check on replies to what a person just asked --------------------------------
def test_asking_for_the_pledge_twice_in_half_an_hour_sends_it_twice(wecom, runtime, fake, clock):
    wecom.text("liuyang", "责任书")
    runtime.sender.drain()
    first = len(fake.texts_for("liuyang"))
    clock.advance(minutes=5)
    wecom.text("liuyang", "责任书")
    runtime.sender.drain()
    assert len(fake.texts_for("liuyang")) == 2 * first


# -- 5. error codes -------------------------------------------------------------------------------
@pytest.mark.parametrize("errcode", [-1, 45009, 45033])
def test_busy_and_frequency_errors_are_retried_even_from_gettoken(runtime, fake, clock, errcode):
    fake.expire_tokens()
    fake.inject("gettoken", errcode=errcode, times=1)
    fake.inject("message/send", errcode=errcode, times=3)
    queue(runtime, SEED, text_message("明早八点消防演练"))
    for _ in range(5):
        runtime.sender.drain()
        clock.advance(minutes=10)
    assert all(len(fake.texts_for(u)) == 1 for u in SEED)
    assert_invariant(runtime)


def test_an_ip_not_in_the_trusted_list_holds_messages_until_it_is_fixed(runtime, fake, clock):
    fake.inject("message/send", errcode=60020, times=50)
    queue(runtime, SEED, text_message("明早八点消防演练"))
    for _ in range(12):  # two hours of the admin not noticing: nothing is lost
        runtime.sender.drain()
        clock.advance(minutes=11)
    with runtime.factory() as s:
        assert counts(s)["dead"] == 0 and counts(s)["pending"] == len(SEED)
        assert held_batches(s) == 1
    fake.reset()  # the admin adds the address to 企业可信IP
    clock.advance(minutes=11)
    runtime.sender.drain()
    assert all(len(fake.texts_for(u)) == 1 for u in SEED)
    with runtime.factory() as s:
        assert held_batches(s) == 0
    assert_invariant(runtime)


# -- 6. invaliduser comes back lower-cased ---------------------------------------------------------
def test_invalid_users_are_matched_without_case_and_not_retried(runtime, fake, clock):
    queue(runtime, ["liuyang", "ZhangSan-Left"], text_message("通知"))
    runtime.sender.drain()
    clock.advance(minutes=30)
    runtime.sender.drain()
    assert len(fake.calls_to("message/send")) == 1
    with runtime.factory() as s:
        dead = s.scalars(select(OutboxDelivery).where(OutboxDelivery.status == "dead")).all()
    assert [d.userid for d in dead] == ["ZhangSan-Left"]
    assert dead[0].last_error.startswith("invaliduser")


# -- 7. group robots: 4,096 bytes of markdown, UTF-8 not \\u escapes -------------------------------
def test_a_long_warning_fits_the_robot_limit_with_its_scope_line(settings, clock, fake):
    from bot.app import create_app
    from bot.directory import sync_directory
    from bot.fake_wecom.driver import CallbackDriver, flask_post
    from bot.migrate import upgrade
    from bot.runtime import build_runtime

    rt = build_runtime(
        settings.replace(robot_keys=("robot-key-1",)), clock=clock, client_sleep=lambda _s: None
    )
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, clock())
    wecom = CallbackDriver(rt.crypto, flask_post(create_app(runtime=rt).test_client()))
    long = "请注意防范。" * 400
    wecom.text("wangfang", f"预警 @生产一车间 暴雨 红色 {long}")
    wecom.text("wangfang", "确认发送")  # 预警 shows a preview first
    rt.sender.drain()
    rt.close()
    [raw] = fake.robot_raw
    assert b"\\\\u" not in raw
    body = json.loads(raw)
    content = body["markdown"]["content"]
    assert len(content.encode()) <= 4096 and "生产一车间" in content.splitlines()[-1]
    assert fake.robot_messages["robot-key-1"]


# -- 8. the passive reply's CDATA --------------------------------------------------------------------
def test_user_text_with_cdata_end_survives_the_passive_reply(runtime):
    from bot.wecom.crypto import parse_xml

    xml = render_text_reply("liuyang", "corp", "您写的是：a]]><x>b</x>", "1000002")
    assert parse_xml(xml)["Content"] == "您写的是：a]]><x>b</x>"


# -- 9. smaller ------------------------------------------------------------------------------------
def test_an_acknowledged_warning_card_has_nothing_left_to_click(wecom, runtime, fake):
    wecom.text("wangfang", "预警 @生产一车间 高温 红色")
    wecom.text("wangfang", "确认发送")  # 预警 shows a preview first
    runtime.sender.drain()
    card = next(
        m["template_card"] for m in fake.messages_for("liuyang") if m["msgtype"] == "template_card"
    )
    key = card["button_list"][0]["key"]
    wecom.card_event("liuyang", key, card["task_id"], card_type="button_interaction")
    [update] = fake.updated_cards
    assert update["template_card"]["replace_text"] == "已收到"
    assert update["template_card"]["task_id"] == card["task_id"]  # the clicked card's own id


def test_the_console_shows_a_banner_while_messages_are_held_for_the_ip_list(
    runtime, fake, clock, app
):
    from bot.console.auth import create_account

    with transaction(runtime.factory) as s:
        create_account(
            s, "boss", "a-long-enough-password", role="admin", departments=[], now=clock()
        )
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post(
        "/admin/login",
        data={"username": "boss", "password": "a-long-enough-password", "csrf_token": token},
    )
    assert "60020" not in client.get("/admin/").get_data(as_text=True)
    fake.inject("message/send", errcode=60020, times=5)
    queue(runtime, SEED, text_message("明早八点消防演练"))
    runtime.sender.drain()
    assert "企业可信IP" in client.get("/admin/").get_data(as_text=True)


def test_a_long_question_goes_before_its_card_in_full_and_the_card_stays_short(
    wecom, runtime, fake, clock
):
    from bot.models import Question, QuizDailySet
    from bot.quiz.bank import ensure_bank

    stem = "某单位配电室门口长期堆放纸箱和杂物，值班人员认为平时很少有人进出因此无须清理，这种做法违反了哪项要求？"
    options = [
        "配电室门口应保持通道畅通，不得堆放可燃物",
        "只要不锁门就可以",
        "夜间清理即可",
        "无需处理",
    ]
    with transaction(runtime.factory) as s:
        ensure_bank(s, clock())
        s.add(Question(id="long-1", theme="electrical", type="single", stem=stem,
                       options=options, answer="A", updated_at=clock()))  # fmt: skip
        s.flush()
        s.add(QuizDailySet(userid="liuyang", day=clock().astimezone(runtime.settings.tz).date(),
                           question_ids=["long-1"], permutations=[[0, 1, 2, 3]],
                           created_at=clock()))  # fmt: skip
    wecom.text("liuyang", "答题")
    click = wecom.card_event("liuyang", "quiz:start", "quizpush-x", card_type="button_interaction")
    assert stem in click.text and options[0] in click.text  # the whole question, as text
    card = [m for m in fake.messages_for("liuyang") if m["msgtype"] == "template_card"][-1]
    vote = card["template_card"]
    assert len(vote["main_title"]["desc"]) <= 44
    assert all(len(o["text"]) <= 17 for o in vote["checkbox"]["option_list"])

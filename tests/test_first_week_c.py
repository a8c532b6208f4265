"""Issue 13, items 4, 8 and 11: the campaign's period, photos in hazard reports and fixes,
conversations that are paused instead of losing what people typed."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from bot.db import transaction
from bot.models import AuditLog, Conversation, HazardPhoto, HazardReport, OutboundMessage
from scheduler import jobs

TICKET = re.compile(r"YH-\d{8}-\d{4}")
PNG = b"\x89PNG\r\n\x1a\n" + b"first-week" * 10
OFFICER = "wangfang"


def conversation(runtime, userid) -> Conversation | None:
    with runtime.factory() as s:
        return s.get(Conversation, userid)


def hazards(runtime) -> list[HazardReport]:
    with runtime.factory() as s:
        return list(s.scalars(select(HazardReport).order_by(HazardReport.id)))


def texts_after(runtime, fake, userid, before: int) -> list[str]:
    runtime.sender.drain()
    return fake.texts_for(userid)[before:]


# -- item 4: the campaign has a start and an end --------------------------------------------------
def run_push(runtime, job, clock) -> tuple[str, list[dict]]:
    with transaction(runtime.factory) as s:
        result = job(s, runtime, clock())
    with runtime.factory() as s:
        bodies = [
            m.payload for m in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
        ]
    return result, bodies


def campaign_cli(settings, cli_runtime, runtime, *argv) -> int:
    from bot.cli import campaign as area
    from bot.cli.parser import ArgumentParser

    cli_runtime(runtime)
    parser = ArgumentParser(prog="safetybot")
    area.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["campaign", *argv])
    args.settings = settings
    return args.func(args)


def test_no_tip_or_quiz_push_after_the_campaign_until_an_officer_extends_it(
    runtime, clock, settings, cli_runtime, capsys
):
    clock.set_local("2026-07-01 08:30")
    result, bodies = run_push(runtime, jobs.push_daily_tip, clock)
    assert "outside the campaign" in result and bodies == []
    result, bodies = run_push(runtime, jobs.push_daily_quiz, clock)
    assert "outside the campaign" in result and bodies == []

    # `safetybot campaign extend`: stored (audited) in the database, not in content.
    assert campaign_cli(settings, cli_runtime, runtime, "extend", "2026-07-05") == 0
    assert "2026-06-01 to 2026-07-05" in capsys.readouterr().out
    with runtime.factory() as s:
        row = s.scalar(select(AuditLog).where(AuditLog.action == "campaign:extend"))
        assert row is not None and row.detail.startswith("2026-07-05")
    result, bodies = run_push(runtime, jobs.push_daily_tip, clock)
    assert result.startswith("tip to")
    tip = bodies[0]["text"]["content"]
    assert tip.startswith("【每日安全提示 · 7月1日】")
    assert "6月1日" not in tip and "启动" not in tip and "收官" not in tip
    assert run_push(runtime, jobs.push_daily_quiz, clock)[0].startswith("quiz to")

    # Not before today; the show command reads the stored end.
    assert campaign_cli(settings, cli_runtime, runtime, "extend", "2026-06-20") == 1
    assert campaign_cli(settings, cli_runtime, runtime, "show") == 0
    assert "2026-07-05, running" in capsys.readouterr().out
    clock.set_local("2026-07-06 08:30")
    assert "outside the campaign" in run_push(runtime, jobs.push_daily_tip, clock)[0]


def test_no_tip_claims_a_date_that_is_not_today():
    assert jobs.tip_message(date(2026, 7, 1)) is None  # outside the campaign
    assert jobs.tip_message(date(2026, 5, 31)) is None
    for day in range(1, 31):
        text = jobs.tip_message(date(2026, 6, day))["text"]["content"]
        assert text.startswith(f"【每日安全提示 · 6月{day}日】")
        others = {f"6月{d}日" for d in range(1, 31) if d != day and d != 16}
        assert not [o for o in others if f"今天是{o}" in text], day
    assert "启动" in jobs.tip_message(date(2026, 6, 1))["text"]["content"]
    assert "收官" in jobs.tip_message(date(2026, 6, 30))["text"]["content"]
    # Extended: 30 June is no longer the last day; the tips go on without dated ones.
    from bot.campaign import from_content

    base = from_content()
    longer = type(base)(**{**base.__dict__, "end": date(2026, 7, 10)})
    for day in [date(2026, 6, 30), *(date(2026, 7, d) for d in range(1, 10))]:
        text = jobs.tip_message(day, longer)["text"]["content"]
        assert "收官" not in text and "启动" not in text and "咨询日" not in text
    assert "收官" in jobs.tip_message(date(2026, 7, 10), longer)["text"]["content"]


# -- item 8: photos ------------------------------------------------------------------------------
def test_officer_notice_has_no_photo_line_without_photos(wecom, runtime, fake):
    before = len(fake.texts_for(OFFICER))
    wecom.text("liuyang", "隐患 楼道堆放纸箱")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    assert TICKET.search(wecom.text("liuyang", "1").text)
    notice = [t for t in texts_after(runtime, fake, OFFICER, before) if "新隐患上报" in t]
    assert notice and "照片" not in notice[0] and "共0张" not in notice[0]


def test_a_photo_sent_before_hazard_starts_a_report(wecom, runtime, fake):
    fake.add_media("loose-1", PNG)
    reply = wecom.image("liuyang", "loose-1").text
    assert "要上报隐患吗" in reply and "描述" in reply
    assert "已有 1 张照片" in wecom.text("liuyang", "配电箱门没关").text
    assert "位置" in wecom.text("liuyang", "好了").text
    wecom.text("liuyang", "跳过")
    reply = wecom.text("liuyang", "2").text
    assert TICKET.search(reply) and "1 张" in reply
    with runtime.factory() as s:
        [h] = s.scalars(select(HazardReport)).all()
        assert h.description == "配电箱门没关" and [p.status for p in h.photos] == ["stored"]


def test_photo_then_the_hazard_command_keeps_the_photo(wecom, runtime, fake):
    fake.add_media("loose-2", PNG + b"2")
    wecom.image("chenjing", "loose-2")
    assert "已有 1 张照片" in wecom.text("chenjing", "隐患 灭火器被挡住").text
    wecom.text("chenjing", "好了")
    wecom.text("chenjing", "跳过")
    assert "1 张" in wecom.text("chenjing", "1").text


def assigned_hazard(wecom) -> str:
    wecom.text("liuyang", "隐患 二车间消防通道堆放纸箱")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    ticket = TICKET.search(wecom.text("liuyang", "1").text).group(0)
    assert "已指派" in wecom.text(OFFICER, f"隐患 指派 {ticket} 赵磊 2026-06-20").text
    return ticket


def click(wecom, userid, key):
    return wecom.card_event(
        userid, key, "hz-task-" + key.replace(":", "-"), card_type="button_interaction"
    )


def test_the_fix_takes_a_photo_and_a_note_in_either_order_until_done(wecom, runtime, fake):
    fake.add_media("fix-1", PNG + b"f1")
    fake.add_media("fix-2", PNG + b"f2")
    ticket = assigned_hazard(wecom)
    click(wecom, "zhaolei", f"hazard:start:{ticket}")
    assert "照片" in click(wecom, "zhaolei", f"hazard:done:{ticket}").text
    assert "还没有收到" in wecom.text("zhaolei", "完成").text
    assert "已记下整改说明" in wecom.text("zhaolei", "已清理通道，张贴警示标识").text
    assert "第 1 张整改照片" in wecom.image("zhaolei", "fix-1").text
    assert "第 2 张整改照片" in wecom.image("zhaolei", "fix-2").text
    reply = wecom.text("zhaolei", "完成").text
    assert "等待验收" in reply and "2 张" in reply
    with runtime.factory() as s:
        h = s.scalar(select(HazardReport).where(HazardReport.ticket == ticket))
        fixes = s.scalars(select(HazardPhoto).where(HazardPhoto.kind == "rectify")).all()
        assert h.status == "rectified" and h.rectify_note == "已清理通道，张贴警示标识"
        assert len(fixes) == 2


# -- item 11: conversations are paused, not lost ------------------------------------------------------
def test_another_command_pauses_a_report_and_continue_resumes_it(wecom, runtime):
    wecom.text("liuyang", "隐患")
    reply = wecom.text("liuyang", "我的建议").text
    assert "隐患上报已暂停，发送「继续」接着填" in reply and "还没有提过安全建议" in reply
    conv = conversation(runtime, "liuyang")
    assert conv.flow == "hazard" and conv.data["_paused"] is True
    # Something typed while paused is a fresh message, not the description.
    assert "没有看懂" in wecom.text("liuyang", "今天食堂吃什么").text
    reply = wecom.text("liuyang", "继续").text
    assert "隐患上报" in reply and "描述" in reply
    assert "照片" in wecom.text("liuyang", "楼梯扶手松动").text
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    assert TICKET.search(wecom.text("liuyang", "4").text)
    assert hazards(runtime)[0].description == "楼梯扶手松动"


def test_quiz_in_the_middle_of_a_report_keeps_the_draft(wecom, runtime):
    wecom.text("liuyang", "隐患 地面油污")
    reply = wecom.text("liuyang", "答题").text
    assert "隐患上报已暂停" in reply and "第1/3题" in reply
    conv = conversation(runtime, "liuyang")
    assert conv.flow == "quiz" and conv.data["_stash"]["data"]["description"] == "地面油污"
    reply = wecom.text("liuyang", "结束").text  # leaving the quiz brings the report back, paused
    assert "隐患上报已暂停" in reply
    assert "照片" in wecom.text("liuyang", "继续").text
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    assert TICKET.search(wecom.text("liuyang", "1").text)
    assert hazards(runtime)[0].description == "地面油污"


def test_help_answers_in_every_conversation(wecom, runtime, clock):
    for flow, step in (("checkin_location", "await_location"), ("drill_survey", "q0")):
        with transaction(runtime.factory) as s:
            s.merge(
                Conversation(
                    userid="chenjing",
                    flow=flow,
                    step=step,
                    data={"event_id": 1, "survey": "x", "answers": {}},
                    updated_at=clock(),
                    expires_at=clock().replace(year=2027),
                )
            )
        reply = wecom.text("chenjing", "帮助").text
        assert "安全生产月助手" in reply and "答题" in reply, flow
        assert conversation(runtime, "chenjing").flow == flow  # still there, not paused
        assert not conversation(runtime, "chenjing").data.get("_paused")


def test_a_suggestion_typed_after_the_timeout_is_offered_not_lost(wecom, runtime, clock):
    wecom.text("chenjing", "建议")
    clock.advance(minutes=runtime.settings.conversation_timeout_minutes + 5)
    reply = wecom.text("chenjing", "叉车通道加装凸面镜").text
    assert "因超时已暂停" in reply and "叉车通道加装凸面镜" in reply and "继续" in reply
    reply = wecom.text("chenjing", "继续").text
    assert "感谢您的建议" in reply
    with runtime.factory() as s:
        from bot.models import Suggestion

        [row] = s.scalars(select(Suggestion)).all()
        assert row.content == "叉车通道加装凸面镜" and row.proposer == "chenjing"


def test_a_hazard_description_typed_after_the_timeout_is_offered(wecom, runtime, clock):
    wecom.text("liuyang", "隐患")
    clock.advance(minutes=runtime.settings.conversation_timeout_minutes + 5)
    reply = wecom.text("liuyang", "仓库灭火器过期").text
    assert "隐患上报" in reply and "仓库灭火器过期" in reply
    assert "照片" in wecom.text("liuyang", "继续").text
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    assert TICKET.search(wecom.text("liuyang", "1").text)
    assert hazards(runtime)[0].description == "仓库灭火器过期"


def test_a_command_after_the_timeout_is_answered_and_the_draft_kept(wecom, runtime, clock, fake):
    wecom.text("liuyang", "隐患 地面油污")
    clock.advance(minutes=runtime.settings.conversation_timeout_minutes + 5)
    before = len(fake.texts_for("liuyang"))
    wecom.text("liuyang", "我的建议")
    got = texts_after(runtime, fake, "liuyang", before)
    assert any("因超时已暂停" in t for t in got) and any("还没有提过安全建议" in t for t in got)
    assert conversation(runtime, "liuyang").data["description"] == "地面油污"

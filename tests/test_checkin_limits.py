"""签到 codes cannot be guessed: five wrong codes in ten minutes make a person wait (counted in
the database, across workers, once per WeCom message however often it is retried), and a
closed or not yet open event answers as a wrong code, without its title."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import create_app
from bot.fake_wecom.driver import CallbackDriver, flask_post
from bot.models import AuditLog, EventAttendance
from bot.runtime import build_runtime


def _create(wecom, spec: str) -> str:
    reply = wecom.text("wangfang", f"活动 创建 {spec}").text
    return reply.split("签到码：")[1].split()[0]


def _wrong(code: str, i: int) -> str:
    guess = f"{100000 + i * 7919:06d}"
    return guess if guess != code else f"{100001 + i * 7919:06d}"


def _attendees(runtime) -> int:
    with runtime.factory() as s:
        return s.scalar(select(func.count()).select_from(EventAttendance))


def test_five_wrong_codes_make_a_person_wait_ten_minutes(wecom, runtime, clock):
    clock.set_local("2026-06-10 14:05")
    code = _create(wecom, "启动仪式 2026-06-10 14:00-16:00")
    for i in range(5):
        assert "不正确" in wecom.text("liuyang", f"签到 {_wrong(code, i)}").text
    # The sixth try, even with the right code, waits; the reply says how long.
    assert "请 10 分钟后再试" in wecom.text("liuyang", f"签到 {code}").text
    clock.advance(minutes=4)
    assert "请 6 分钟后再试" in wecom.text("liuyang", code).text  # the bare code too
    assert _attendees(runtime) == 0
    # Someone else is not held up.
    assert "签到成功" in wecom.text("chenjing", f"签到 {code}").text
    clock.advance(minutes=6, seconds=1)
    assert "签到成功" in wecom.text("liuyang", f"签到 {code}").text


def test_a_retried_message_counts_once(wecom, runtime, clock):
    clock.set_local("2026-06-10 14:05")
    code = _create(wecom, "启动仪式 2026-06-10 14:00-16:00")
    for i in range(4):
        first = wecom.text("liuyang", f"签到 {_wrong(code, i)}", msg_id=f"9000{i}")
        assert "不正确" in first.text
        for _ in range(3):  # WeCom retries the callback with the same MsgId
            assert wecom.text("liuyang", f"签到 {_wrong(code, i)}", msg_id=f"9000{i}").text == (
                first.text
            )
    with runtime.factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.actor == "liuyang", AuditLog.action == "checkin:wrong-code")
            )
            == 4
        )
    # Four wrong codes so far, not sixteen: the fifth is still answered, the sixth waits.
    assert "不正确" in wecom.text("liuyang", f"签到 {_wrong(code, 4)}").text
    assert "分钟后再试" in wecom.text("liuyang", f"签到 {code}").text


def test_wrong_codes_count_across_two_workers(wecom, runtime, settings, clock, fake):
    clock.set_local("2026-06-10 14:05")
    code = _create(wecom, "启动仪式 2026-06-10 14:00-16:00")
    other = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    try:
        second = CallbackDriver(
            other.crypto,
            flask_post(create_app(runtime=other).test_client()),
            agent_id=settings.agent_id,
        )
        workers = [wecom, second]
        for i in range(5):
            assert "不正确" in workers[i % 2].text("liuyang", f"签到 {_wrong(code, i)}").text
        assert "分钟后再试" in second.text("liuyang", f"签到 {code}").text
        assert "分钟后再试" in wecom.text("liuyang", f"签到 {code}").text
    finally:
        other.close()
    assert _attendees(runtime) == 0


def test_closed_and_future_events_answer_as_a_wrong_code(wecom, runtime, clock):
    clock.set_local("2026-06-10 09:00")
    early = _create(wecom, "秘密演练甲 2026-06-10 14:00-16:00")
    late = _create(wecom, "秘密演练乙 2026-06-10 08:00-08:30 确认")  # past: confirmed
    for code in (early, late):
        reply = wecom.text("liuyang", f"签到 {code}").text
        assert "秘密演练" not in reply
        assert reply == wecom.text("chenjing", f"签到 {code}").text  # same for everyone
        guess = next(g for g in ("123456", "654321", "111111") if g not in (early, late))
        assert reply.replace(code, guess) == wecom.text("zhaolei", f"签到 {guess}").text
    assert _attendees(runtime) == 0

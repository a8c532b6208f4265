"""打卡, event sign-in (codes, expiry, location radius), drill surveys, attendance export, stats."""

from __future__ import annotations

import threading

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.checkin.attendance import haversine_m
from bot.checkin.events import kind_for_title
from bot.checkin.surveys import drill_surveys
from bot.db import transaction
from bot.models import CheckinEvent, DailyCheckin, DrillSurveyAnswer, EventAttendance
from bot.stats import compute_stats

SITE = (31.2304, 121.4737)


def _count(runtime, model, *where):
    with runtime.factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_daily_checkin_once_a_day_with_streak(wecom, runtime, clock):
    clock.set_local("2026-06-05 08:00")
    first = wecom.text("liuyang", "打卡").text
    assert "打卡成功" in first and "连续第 1 天" in first and "今日安全一句话" in first
    assert "已经打过卡" in wecom.text("liuyang", "打卡").text
    clock.set_local("2026-06-06 23:59")
    assert "连续第 2 天" in wecom.text("liuyang", "打卡").text
    clock.set_local("2026-06-08 00:01")  # skipped the 7th: the streak starts again
    assert "连续第 1 天" in wecom.text("liuyang", "打卡").text
    assert _count(runtime, DailyCheckin, DailyCheckin.userid == "liuyang") == 3


def test_sixteen_concurrent_checkins_count_once(wecom, runtime):
    barrier = threading.Barrier(16)
    results = []

    def tap():
        barrier.wait()
        results.append(wecom.text("zhaolei", "打卡"))

    threads = [threading.Thread(target=tap) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in results] == [200] * 16
    texts = [r.text for r in results]
    assert sum("打卡成功" in t for t in texts) == 1
    assert sum("已经打过卡" in t for t in texts) == 15
    assert _count(runtime, DailyCheckin) == 1


def _create(wecom, text):
    reply = wecom.text("wangfang", "活动 创建 " + text).text
    assert "签到码" in reply, reply
    code = reply.split("签到码：")[1].split()[0]
    assert len(code) == 6 and code.isdigit()
    return code, reply


def test_event_codes_right_wrong_expired_not_started(wecom, runtime, clock):
    clock.set_local("2026-06-10 13:00")
    code, reply = _create(wecom, "应急演练 2026-06-10 14:00-16:00")
    assert "应急演练" in reply and "6月10日 14:00–16:00" in reply
    with runtime.factory() as s:
        event = s.scalar(select(CheckinEvent))
    assert event.kind == "drill" and event.survey == "drill"
    assert "仅限管理员" in wecom.text("liuyang", "活动 创建 应急演练 今天 14:00-16:00").text
    # Not open yet: answered as a wrong code (guessing a code reveals no title).
    assert f"签到码「{code}」不正确" in wecom.text("liuyang", f"签到 {code}").text
    clock.set_local("2026-06-10 14:05")
    assert "签到成功" in wecom.text("liuyang", f"签到{code}").text
    assert "无需重复签到" in wecom.text("liuyang", f"签到 {code}").text
    wrong = "000000" if code != "000000" else "111111"
    assert f"签到码「{wrong}」不正确" in wecom.text("chenjing", f"签到 {wrong}").text
    assert "6 位签到码" in wecom.text("chenjing", "签到 12ab").text
    assert "签到成功" in wecom.text("chenjing", code).text  # the code alone while the event is open
    clock.set_local("2026-06-10 16:01")
    assert f"签到码「{code}」不正确" in wecom.text("zhaolei", f"签到 {code}").text
    assert (
        "没有看懂" in wecom.text("zhaolei", code).text
    )  # no open event: a bare number is not a code
    assert _count(runtime, EventAttendance) == 2


def test_event_create_usage_on_errors(wecom, fake, runtime):
    for bad in (
        "活动 创建",
        "活动 创建 应急演练 明天 16:00-14:00",
        "活动 创建 演练 6月10日 14:00-16:00 地点=北京",
        "活动 创建 演练 6月10日 14:00-16:00 半径=200",
    ):
        res = wecom.text("wangfang", bad)
        runtime.sender.drain()
        shown = res.text or "\n".join(fake.texts_for("wangfang"))
        assert "用法：活动 创建" in shown, bad
    assert _count(runtime, CheckinEvent) == 0


def test_location_inside_and_outside_radius(wecom, runtime, clock):
    clock.set_local("2026-06-12 09:40")
    code, reply = _create(
        wecom, f"消防疏散演练 6月12日 09:30-10:30 地点={SITE[0]},{SITE[1]} 半径=200"
    )
    assert "200 米" in reply
    ask = wecom.text("liuyang", f"签到 {code}").text
    assert "发送您当前的位置" in ask
    far = wecom.location("liuyang", SITE[0] + 0.01, SITE[1], "远处").text  # ~1.1 km north
    assert "超出了 200 米" in far and "1112 米" in far
    assert _count(runtime, EventAttendance) == 0
    near = wecom.location("liuyang", SITE[0] + 0.001, SITE[1], "厂区").text  # ~111 m
    assert "签到成功" in near and "111 米" in near
    with runtime.factory() as s:
        att = s.scalar(select(EventAttendance))
    assert att.method == "location" and 105 < att.distance_m < 118
    # Cancel works; a text during the flow is told what to send.
    wecom.text("chenjing", f"签到 {code}")
    assert "请发送您的位置" in wecom.text("chenjing", "你好").text
    assert "已取消" in wecom.text("chenjing", "取消").text


def test_haversine_known_distance():
    # Beijing Tiananmen to Shanghai People's Square is about 1,067 km.
    d = haversine_m(39.9087, 116.3975, 31.2317, 121.4726)
    assert 1_060_000 < d < 1_075_000


def test_drill_survey_sent_at_end_and_answered(wecom, runtime, fake, clock):
    clock.set_local("2026-06-10 13:50")
    code, _ = _create(wecom, "应急演练 2026-06-10 14:00-15:00")
    for u in ("liuyang", "chenjing"):
        assert "签到成功" in wecom.text(u, f"签到 {code}").text
    assert "没有需要您填写" in wecom.text("liuyang", "问卷").text

    def run_job():
        with transaction(runtime.factory) as s:
            return drill_surveys(s, runtime, clock())

    assert run_job() == "no survey due"  # not over yet
    clock.set_local("2026-06-10 15:10")
    assert run_job().startswith("surveys")
    assert run_job() == "no survey due"
    runtime.sender.drain()
    assert any("【演练问卷】" in t for t in fake.texts_for("liuyang"))
    assert not any("【演练问卷】" in t for t in fake.texts_for("zhaolei"))
    q1 = wecom.text("liuyang", "问卷").text
    assert "（1/3）" in q1 and "集合点" in q1
    assert "1 到 3" in wecom.text("liuyang", "9").text
    assert "（2/3）" in wecom.text("liuyang", "1").text
    assert "（3/3）" in wecom.text("liuyang", "2").text
    assert "已提交" in wecom.text("liuyang", "集合点指示牌再多一些").text
    with runtime.factory() as s:
        ans = s.scalar(select(DrillSurveyAnswer))
    assert ans.answers == {
        "assembly_point": "知道，并按路线到达了集合点",
        "evacuation_time": "3至5分钟",
        "improvement": "集合点指示牌再多一些",
    }
    assert "没有需要您填写" in wecom.text("liuyang", "问卷").text
    # The admin command says the survey already went out.
    assert "已经发送过" in wecom.text("wangfang", f"活动 问卷 {code}").text


def test_stats_and_attendance_export(wecom, runtime, clock, tmp_path, cli_runtime):
    clock.set_local("2026-06-10 14:10")
    wecom.text("liuyang", "打卡")
    wecom.text("zhaolei", "打卡")
    code, _ = _create(wecom, "安全培训 今天 14:00-16:00")
    for u in ("liuyang", "chenjing", "zhaolei"):
        wecom.text(u, f"签到 {code}")
    with runtime.factory() as s:
        stats = compute_stats(s, clock())
        event_id = s.scalar(select(CheckinEvent.id))
    assert stats["checkins_today"] == 2
    assert stats["event_attendance"] == {f"{event_id} 安全培训": 3}
    per = wecom.text("wangfang", f"活动 统计 {event_id}").text
    assert "共 3 人" in per and "生产一车间：2 人" in per and "生产二车间：1 人" in per

    from bot.cli import build_parser

    out = tmp_path / "attendance.xlsx"
    args = build_parser().parse_args(["export", "attendance", code, str(out)])
    args.settings = runtime.settings

    cli_runtime(runtime)
    assert args.func(args) == 0
    wb = load_workbook(out)
    rows = [[c.value for c in r] for r in wb["签到明细"].iter_rows()]
    assert rows[0] == ["部门", "姓名", "账号", "签到时间", "方式", "距离(米)"]
    assert [r[2] for r in rows[1:]] == ["chenjing", "liuyang", "zhaolei"]
    assert rows[1][:2] == ["生产一车间", "陈静"] and rows[1][4] == "签到码"
    assert rows[1][3].strftime("%Y-%m-%d %H:%M") == "2026-06-10 14:10"
    summary = {
        r[0]: r[1:] for r in ([c.value for c in row] for row in wb["部门汇总"].iter_rows(min_row=2))
    }
    assert (
        summary["生产一车间"] == [2, 3]
        and summary["生产二车间"] == [1, 3]
        and summary["综合办公室"] == [0, 2]
    )


@pytest.mark.parametrize(
    "title,kind",
    [
        ("应急演练", "drill"),
        ("启动仪式", "ceremony"),
        ("安全宣传咨询日", "campaign"),
        ("安全培训", "training"),
        ("班组会", "other"),
    ],
)
def test_kind_from_title(title, kind):
    assert kind_for_title(title) == kind

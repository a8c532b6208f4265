"""Issue 13, items 12 and 15: department heads are no longer left out (hazard notices, their
统计, their console pages with 「提醒他们」, the escalation list), and events (location check,
late manual sign-in, absentees, invitations, a start in the past)."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.console.testing import add_account, csrf_from, login
from bot.db import transaction
from bot.models import AuditLog, CheckinEvent, EventAttendance, User, WarningAck
from bot.warnings.acks import run_followups

TICKET = re.compile(r"YH-\d{8}-\d{4}")
# English words; "Excel" is the program's name, on every page's 「导出 Excel」 button.
ASCII_WORD = re.compile(r"\b(?!Excel\b)[A-Za-z]{3,}\b")
SITE = (31.2304, 121.4737)


def texts_of(runtime, fake, userid) -> list[str]:
    runtime.sender.drain()
    return fake.texts_for(userid)


def visible_text(html: str) -> str:
    """What a person reads on a page: no tags, no attribute values."""
    body = html.split("<body>", 1)[-1]
    return re.sub(r"<[^>]+>", " ", body)


@pytest.fixture
def head(app, runtime, clock):
    """李强's console login: department head of 生产一车间 (3)."""
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    client = app.test_client()
    assert login(client, "head3").status_code == 302
    return client


@pytest.fixture
def boss(app, runtime, clock):
    add_account(runtime.factory, "boss", role="safety_officer", now=clock())
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    return client


# == item 12: department heads ================================================================
def test_head_hears_of_a_new_hazard_in_their_department_once(wecom, runtime, fake):
    wecom.text("liuyang", "隐患 二车间门口叉车通道被纸箱堵住")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    reply = wecom.text("liuyang", "1", msg_id="retried-callback-1").text
    ticket = TICKET.search(reply).group(0)
    wecom.text("liuyang", "1", msg_id="retried-callback-1")  # WeCom retries the callback
    notices = [t for t in texts_of(runtime, fake, "liqiang") if "本部门新隐患" in t]
    assert len(notices) == 1
    assert ticket in notices[0] and "刘洋" in notices[0] and "叉车通道" in notices[0]
    assert not [t for t in texts_of(runtime, fake, "yangmin") if ticket in t]  # head of 4
    assert not [t for t in texts_of(runtime, fake, "liuyang") if "本部门新隐患" in t]


def test_stats_in_chat_for_a_head_is_their_department_staff_are_refused(wecom, runtime, clock):
    wecom.text("liuyang", "打卡")
    wecom.text("zhaolei", "打卡")  # another department: not in 李强's figures
    wecom.text("liuyang", "隐患 配电箱门没关")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "跳过")
    wecom.text("liuyang", "1")

    reply = wecom.text("liqiang", "统计").text
    assert reply.startswith("生产一车间 · 安全生产月数据")
    assert "在册人数：3 人" in reply
    assert "责任书：已签 0 / 应签 3 人（0.0%）" in reply
    assert "今日打卡：1 / 3 人" in reply
    assert "今日答题：0 / 3 人参加" in reply
    assert "隐患：未关闭 1 条，已关闭 0 条" in reply
    assert "预警确认：已确认 0 / 应确认 0 人次" in reply
    assert "生产二车间" not in reply and not ASCII_WORD.search(reply)

    refused = wecom.text("liuyang", "统计").text
    assert refused.startswith("抱歉") and "部门负责人" in refused and "积分" in refused
    with runtime.factory() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "refused:统计")) is not None

    assert "安全生产月活动数据" in wecom.text("wangfang", "统计").text  # officer: everything


def test_head_console_pages_are_scoped_with_a_pending_list(head, boss, wecom):
    wecom.text("liuyang", "打卡")
    for path, done_word in (
        ("/admin/pledges", "签订情况"),
        ("/admin/quiz", "今日答题情况"),
        ("/admin/checkins", "今日打卡情况"),
    ):
        r = head.get(path)
        html = r.get_data(as_text=True)
        assert r.status_code == 200, path
        assert done_word in html and "尚未完成" in html and "提醒他们" in html, path
        assert "陈静" in html and "李强" in html, path
        # Nobody and nothing of other departments.
        for other in ("赵磊", "黄丽", "吴霞", "孙宇", "生产二车间", "仓储物流部"):
            assert other not in visible_text(html), (path, other)
        assert not ASCII_WORD.search(visible_text(html)), path
    checkins = head.get("/admin/checkins").get_data(as_text=True)
    pending = checkins.split('id="pending"')[1]
    assert "刘洋" not in pending  # checked in today
    pledges = head.get("/admin/pledges").get_data(as_text=True)
    assert "发起签订" not in pledges and "当前文本" not in pledges  # officers' part
    # An officer sees every department.
    html = boss.get("/admin/checkins").get_data(as_text=True)
    assert "赵磊" in html and "陈静" in html and "仓储物流部" in html


def test_a_head_meets_403_pages_in_chinese(head):
    for r in (
        head.get("/admin/questions"),
        head.get("/admin/audit"),
        head.post(
            "/admin/remind/pledge/4",
            data={"csrf_token": csrf_from(head.get("/admin/pledges").get_data(as_text=True))},
        ),
    ):
        html = r.get_data(as_text=True)
        assert r.status_code == 403
        assert "没有权限" in html and "Forbidden" not in html
        assert not ASCII_WORD.search(visible_text(html))


def test_remind_them_sends_once_an_hour_to_exactly_those_people(head, wecom, runtime, fake, clock):
    wecom.text("liuyang", "打卡")
    page = head.get("/admin/checkins").get_data(as_text=True)
    token = csrf_from(page)
    # Without the CSRF token nothing is sent.
    assert head.post("/admin/remind/checkin/3").status_code == 400

    r = head.post("/admin/remind/checkin/3", data={"csrf_token": token}, follow_redirects=True)
    assert "已向生产一车间的 2 人发送提醒" in r.get_data(as_text=True)
    reminded = {
        u
        for u in ("liqiang", "liuyang", "chenjing", "zhaolei", "huangli")
        if any("打卡提醒" in t for t in texts_of(runtime, fake, u))
    }
    assert reminded == {"liqiang", "chenjing"}

    clock.advance(minutes=20)
    r = head.post("/admin/remind/checkin/3", data={"csrf_token": token}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "一小时内只能发送一次" in html and "09:00 之后可以再次提醒" not in html
    assert "10:00 之后可以再次提醒" in html  # first tap at 09:00 Shanghai
    assert sum("打卡提醒" in t for t in texts_of(runtime, fake, "chenjing")) == 1
    # Another page is its own reminder.
    r = head.post("/admin/remind/pledge/3", data={"csrf_token": token}, follow_redirects=True)
    assert "已向生产一车间的 3 人发送提醒" in r.get_data(as_text=True)
    assert any("责任书提醒" in t for t in texts_of(runtime, fake, "liuyang"))

    clock.advance(minutes=41)
    r = head.post("/admin/remind/checkin/3", data={"csrf_token": token}, follow_redirects=True)
    assert "发送提醒" in r.get_data(as_text=True)
    assert sum("打卡提醒" in t for t in texts_of(runtime, fake, "chenjing")) == 2
    with runtime.factory() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action.like("console:remind%"))).all()
        sent = [r for r in rows if r.action == "console:remind"]
        assert len(sent) == 3 and all(r.actor == "console:head3" for r in sent)
        assert [r.detail for r in rows if r.action == "console:remind-limited"] == [
            "打卡，生产一车间"
        ]


def test_escalation_leaves_the_head_out_of_their_own_list_and_names_the_warning(
    wecom, runtime, fake, clock
):
    preview = wecom.text("wangfang", "预警 暴雨 红色 @生产一车间")
    assert "确认发送" in preview.text
    wecom.text("wangfang", "确认发送")
    runtime.sender.drain()
    with runtime.factory() as s:
        from bot.models import RiskWarning

        warning = s.scalar(select(RiskWarning))
    wecom.card_event("chenjing", f"warning:ack:{warning.id}", "t", card_type="button_interaction")
    with runtime.factory() as s:
        assert s.scalar(select(WarningAck.userid)) == "chenjing"
    clock.advance(hours=3)
    with transaction(runtime.factory) as s:
        run_followups(s, runtime.settings, clock())
    [escalation] = [t for t in texts_of(runtime, fake, "liqiang") if "预警确认情况" in t]
    assert "红色预警「" in escalation and warning.title in escalation
    assert "2026-06-05 09:00 发布" in escalation and f"编号 {warning.id}" in escalation
    assert "刘洋" in escalation and "1 人" in escalation
    assert "李强" not in escalation  # the head is not on their own list


# == item 15: events ==========================================================================
def _create(wecom, spec: str) -> str:
    reply = wecom.text("wangfang", f"活动 创建 {spec}").text
    assert "签到码" in reply, reply
    return reply.split("签到码：")[1].split()[0]


def test_the_location_check_of_an_event(wecom, runtime, clock):
    clock.set_local("2026-06-12 09:20")
    code = _create(wecom, f"消防疏散演练 6月12日 09:30-10:30 地点={SITE[0]},{SITE[1]} 半径=200")
    assert "发送您当前的位置" in wecom.text("liuyang", f"签到 {code}").text
    far = wecom.location("liuyang", SITE[0] + 0.01, SITE[1]).text
    assert "米" in far and "签到成功" not in far
    near = wecom.location("liuyang", SITE[0] + 0.0005, SITE[1]).text
    assert "签到成功" in near
    with runtime.factory() as s:
        row = s.scalar(select(EventAttendance))
        assert row.method == "location" and row.distance_m < 200


def test_invitations_go_to_the_invited_departments_once(wecom, boss, runtime, fake, clock):
    code = _create(wecom, "安全培训 6月8日 14:00-16:00 部门=生产二车间")
    invited = {
        u
        for u in ("yangmin", "zhaolei", "huangli", "liuyang", "wuxia")
        if any("活动通知" in t for t in texts_of(runtime, fake, u))
    }
    assert invited == {"yangmin", "zhaolei", "huangli"}
    [note] = [t for t in texts_of(runtime, fake, "zhaolei") if "活动通知" in t]
    assert "安全培训" in note and "6月8日 14:00–16:00" in note and code not in note
    assert (
        "没有找到部门「财务部」"
        in wecom.text("wangfang", "活动 创建 培训 6月8日 14:00-16:00 部门=财务部").text
    )

    token = csrf_from(boss.get("/admin/events").get_data(as_text=True))
    r = boss.post(
        "/admin/events",
        data={
            "csrf_token": token,
            "title": "消防演练",
            "kind": "drill",
            "starts_at": "2026-06-09T09:00",
            "ends_at": "2026-06-09T10:00",
            "departments": ["3", "5"],
        },
    )
    assert r.status_code == 302
    with runtime.factory() as s:
        event = s.scalar(select(CheckinEvent).where(CheckinEvent.title == "消防演练"))
        assert event.department_ids == [3, 5]
        from bot.checkin.events import send_invitations

        assert send_invitations(s, event, clock(), runtime.settings.tz) == 0  # once
    for userid, expected in (("liuyang", 1), ("wuxia", 1), ("zhaolei", 0)):
        got = [t for t in texts_of(runtime, fake, userid) if "「消防演练」" in t]
        assert len(got) == expected, userid
    html = boss.get(f"/admin/events/{event.id}").get_data(as_text=True)
    assert "受邀部门：生产一车间、综合办公室" in html


def test_a_start_in_the_past_warns_in_chat_cli_and_console(
    wecom, boss, runtime, clock, settings, cli_runtime, capsys
):
    refused = wecom.text("wangfang", "活动 创建 应急演练 6月1日 09:00-10:00").text
    assert "已经过去" in refused and "确认" in refused and "\n" not in refused
    assert "签到码" in wecom.text("wangfang", "活动 创建 应急演练 6月1日 09:00-10:00 确认").text

    from bot.cli import checkin as area
    from bot.cli.parser import ArgumentParser

    cli_runtime(runtime)
    parser = ArgumentParser(prog="safetybot")
    area.add_commands(parser.add_subparsers(dest="command", required=True))
    argv = [
        "event",
        "create",
        "--title",
        "补录培训",
        "--starts",
        "2026-06-02 09:00",
        "--ends",
        "2026-06-02 10:00",
    ]
    args = parser.parse_args(argv)
    args.settings = settings
    assert args.func(args) == 2
    out = capsys.readouterr().out.strip()
    assert "in the past" in out and "--past" in out and "\n" not in out
    args = parser.parse_args([*argv, "--past"])
    args.settings = settings
    assert args.func(args) == 0

    form = {
        "title": "补录演练",
        "kind": "drill",
        "starts_at": "2026-06-03T09:00",
        "ends_at": "2026-06-03T10:00",
    }
    token = csrf_from(boss.get("/admin/events").get_data(as_text=True))
    r = boss.post("/admin/events", data={**form, "csrf_token": token})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "已经过去" in html and "确认创建" in html
    assert 'value="补录演练"' in html  # the form comes back filled in
    with runtime.factory() as s:
        assert s.scalar(select(CheckinEvent).where(CheckinEvent.title == "补录演练")) is None
    r = boss.post("/admin/events", data={**form, "csrf_token": token, "confirm_past": "1"})
    assert r.status_code == 302
    with runtime.factory() as s:
        titles = set(s.scalars(select(CheckinEvent.title)))
    assert {"应急演练", "补录培训", "补录演练"} <= titles


def test_manual_sign_in_and_the_absentee_list(
    wecom, boss, head, runtime, clock, settings, cli_runtime, capsys, tmp_path
):
    code = _create(wecom, "应急演练 6月5日 09:00-10:00 部门=生产一车间,生产二车间")
    wecom.text("liuyang", f"签到 {code}")
    with transaction(runtime.factory) as s:
        s.get(User, "huangli").position = '=HYPERLINK("http://x")'  # a formula in the directory
        event_id = s.scalar(select(CheckinEvent.id))
    clock.set_local("2026-06-05 11:00")  # after the event: a late sign-in by the officer

    page = boss.get(f"/admin/events/{event_id}").get_data(as_text=True)
    absent = page.split('id="absentees"')[1]
    assert "未到名单（5 人）" in page and "陈静" in absent and "刘洋" not in absent
    assert "吴霞" not in absent  # 综合办公室 was not invited
    r = boss.post(
        f"/admin/events/{event_id}/manual",
        data={"csrf_token": csrf_from(page), "userid": "chenjing"},
        follow_redirects=True,
    )
    html = r.get_data(as_text=True)
    assert "已为 陈静 补签「应急演练」" in html and "补签" in html
    with runtime.factory() as s:
        row = s.scalar(select(EventAttendance).where(EventAttendance.userid == "chenjing"))
        assert row.method == "manual" and row.recorded_by == "console:boss"
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "console:event-manual"))
        assert audit.actor == "console:boss" and "陈静" in audit.detail
    assert "未到名单（4 人）" in html
    # A department head sees their own department's absentees only and cannot sign anyone in.
    head_page = head.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "李强" in head_page and "赵磊" not in head_page and "登记补签" not in head_page
    r = head.post(
        f"/admin/events/{event_id}/manual",
        data={"csrf_token": csrf_from(head_page), "userid": "liqiang"},
    )
    assert r.status_code == 403 and "没有权限" in r.get_data(as_text=True)

    # The console download and the CLI export: the same workbook.
    r = boss.get(f"/admin/events/{event_id}/absentees.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data))["未到名单"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0] == ["部门", "姓名", "账号", "职务"]
    assert sorted(r[2] for r in rows[1:]) == ["huangli", "liqiang", "yangmin", "zhaolei"]
    formula = next(row for row in ws.iter_rows() if row[2].value == "huangli")[3]
    assert formula.data_type == "s" and formula.value.startswith("=HYPERLINK")

    from bot.cli import export as area
    from bot.cli.parser import ArgumentParser

    cli_runtime(runtime)
    parser = ArgumentParser(prog="safetybot")
    area.add_commands(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "absent.xlsx"
    args = parser.parse_args(["export", "absentees", str(event_id), str(out)])
    args.settings = settings
    assert args.func(args) == 0
    assert "wrote 4 absentees" in capsys.readouterr().out
    wb = load_workbook(out)
    assert wb["部门汇总"]["A2"].value == "生产一车间" and wb["部门汇总"]["B2"].value == 1

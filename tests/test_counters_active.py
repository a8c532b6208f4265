"""department_day_active: the people who used the bot per department and day (the dashboard's
and the summary's 每日使用人数), kept by the dispatcher when it inserts a person's first
daily_activity row of a day, proved by `safetybot counters check [--repair]`.

Each test runs on SQLite and PostgreSQL: chat traffic (retries, a stranger, a member who moves,
two days) leaves the counter equal to the people worked out by hand and to daily_activity; so
do first messages sent at once to two bot processes; a tampered counter is reported and
repaired; migration 0026 fills the counter from the rows stored before it; and an officer's
dashboard and summary page show the same people per day as before.
"""

from __future__ import annotations

import re
import threading
from datetime import date

from sqlalchemy import delete, inspect, select, update
from test_counters import downgrade_to, run_check

from bot.app import create_app
from bot.console.testing import add_account, login
from bot.db import transaction
from bot.fake_wecom.driver import flask_post
from bot.migrate import upgrade as upgrade_to_head
from bot.models import DailyActivity, DepartmentDayActive, User
from bot.runtime import build_runtime

DAY1, DAY2 = date(2026, 6, 5), date(2026, 6, 6)


def active(runtime) -> dict[tuple[int, date], int]:
    """(department, day) -> people who used the bot, as counted (rows of 0 left out)."""
    with runtime.factory() as s:
        return {
            (r.department_id, r.day): r.people
            for r in s.scalars(select(DepartmentDayActive))
            if r.people
        }


def from_rows(runtime) -> dict[tuple[int, date], int]:
    """The same, counted from daily_activity."""
    out: dict[tuple[int, date], int] = {}
    with runtime.factory() as s:
        for a in s.scalars(select(DailyActivity)):
            key = (a.department_id or 0, a.day)
            out[key] = out.get(key, 0) + 1
    return out


def two_days_of_chat(wecom, runtime, clock) -> None:
    """Day 1: 刘洋 (3) writes three times, one message retried; 陈静 (3) once; 赵磊 (4) once;
    a stranger with no department once. 刘洋 then moves to 4: still counted once, in 3.
    Day 2: 刘洋 (now 4) and 陈静 (3)."""
    wecom.text("liuyang", "帮助")
    first = wecom.text("liuyang", "打卡", msg_id="liuyang-checkin").text
    assert wecom.text("liuyang", "打卡", msg_id="liuyang-checkin").text == first
    wecom.text("liuyang", "答题")
    wecom.text("chenjing", "积分")
    wecom.text("zhaolei", "帮助")
    wecom.text("guest-01", "帮助")
    with transaction(runtime.factory) as s:
        s.execute(update(User).where(User.userid == "liuyang").values(department_id=4))
    wecom.text("liuyang", "帮助")
    clock.advance(days=1)
    wecom.text("liuyang", "帮助")
    wecom.text("chenjing", "打卡")


def test_first_messages_of_a_day_count_each_person_once(wecom, runtime, clock, cli_runtime, capsys):
    two_days_of_chat(wecom, runtime, clock)
    expected = {(3, DAY1): 2, (4, DAY1): 1, (0, DAY1): 1, (4, DAY2): 1, (3, DAY2): 1}
    assert active(runtime) == from_rows(runtime) == expected
    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")


MEMBERS = ["liuyang", "chenjing", "liqiang", "zhaolei", "huangli", "yangmin", "wuxia", "sunyu"]


def test_first_messages_at_once_to_two_processes_count_each_person_once(
    wecom, runtime, settings, clock, fake, cli_runtime, capsys
):
    """Every member's first messages of the day reach two bot processes at the same moment
    (each process remembers only whom it recorded itself), one of them twice with the same
    MsgId (WeCom's retry racing the first delivery): each person counts once."""
    other = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    try:
        second = type(wecom)(other, fake, flask_post(create_app(runtime=other).test_client()))
        drivers = [wecom, second]
        barrier = threading.Barrier(len(MEMBERS) * 4)
        failures: list[str] = []

        def send(userid: str, n: int) -> None:
            barrier.wait()
            # n = 0, 1: the same MsgId to both processes; n = 2, 3: one new message each.
            msg_id = f"first-{userid}" if n < 2 else None
            result = drivers[n % 2].text(userid, "帮助", msg_id=msg_id)
            if result.status != 200:
                failures.append(f"{userid} {n}: {result.status}")

        threads = [threading.Thread(target=send, args=(u, n)) for u in MEMBERS for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.close()
    assert failures == []
    assert active(runtime) == {(3, DAY1): 3, (4, DAY1): 3, (5, DAY1): 1, (6, DAY1): 1}
    assert active(runtime) == from_rows(runtime)
    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")


def test_a_tampered_day_is_reported_and_repaired(wecom, runtime, clock, cli_runtime, capsys):
    two_days_of_chat(wecom, runtime, clock)
    with transaction(runtime.factory) as s:
        a = DepartmentDayActive
        s.execute(update(a).where(a.department_id == 3, a.day == DAY1).values(people=5))
        s.execute(delete(a).where(a.department_id == 0))
        s.add(DepartmentDayActive(department_id=6, day=DAY2, people=2))

    code, out = run_check(runtime, cli_runtime, capsys)
    assert code == 1
    assert out.strip().splitlines() == [
        "部门 0 · 2026-06-05 使用人数：应为 1，记录为 0",
        "部门 3 · 2026-06-05 使用人数：应为 2，记录为 5",
        "部门 6 · 2026-06-06 使用人数：应为 0，记录为 2",
        "共 3 处不一致（0 人、3 个部门日），可加修复选项按原始记录重算",
    ]
    code, out = run_check(runtime, cli_runtime, capsys, "--repair")
    assert code == 0
    assert out.strip().splitlines()[-1] == "已按原始记录修复 3 处不一致（0 人、3 个部门日）"
    assert active(runtime) == from_rows(runtime)
    # And the counter goes on from the repaired values.
    wecom.text("zhaolei", "帮助")
    assert active(runtime)[(4, DAY2)] == 2
    assert run_check(runtime, cli_runtime, capsys)[0] == 0


def test_migration_0026_fills_the_counter_from_daily_activity(
    wecom, runtime, clock, cli_runtime, capsys
):
    two_days_of_chat(wecom, runtime, clock)
    downgrade_to(runtime, "0024_question_counts")
    # Rows stored while there is no counter: the migration counts what is there when it runs.
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM daily_activity WHERE userid = 'zhaolei'")
    upgrade_to_head(runtime.engine)
    assert active(runtime) == {(3, DAY1): 2, (0, DAY1): 1, (4, DAY2): 1, (3, DAY2): 1}
    # daily_activity's department index is gone: the figures read the counter.
    indexes = {i["name"] for i in inspect(runtime.engine).get_indexes("daily_activity")}
    assert "ix_daily_activity_department_id" not in indexes
    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")


# -- what an officer sees -------------------------------------------------------------------------
def people_per_day(page: str, chart_id: str) -> dict[str, str]:
    """The 每日使用人数 chart as shown: each column's tooltip, 'MM-DD' -> 'N人'."""
    svg = re.search(rf'<svg class="chart" id="{chart_id}".*?</svg>', page, re.S).group(0)
    assert "每日使用人数" in svg
    return dict(re.findall(r"<title>(\d\d-\d\d): (\d+人)</title>", svg))


def test_dashboard_and_summary_show_the_people_per_day(wecom, runtime, clock, app):
    two_days_of_chat(wecom, runtime, clock)
    add_account(runtime.factory, "boss", now=clock())
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    boss, head = app.test_client(), app.test_client()
    assert login(boss, "boss").status_code == 302
    assert login(head, "head3").status_code == 302

    # Everyone (the stranger too); 刘洋 counts where he first wrote each day.
    dashboard = boss.get("/admin/").get_data(as_text=True)
    assert people_per_day(dashboard, "chart-participation") == {"06-05": "4人", "06-06": "2人"}
    summary = boss.get("/admin/report").get_data(as_text=True)
    assert people_per_day(summary, "r-participation") == {"06-05": "4人", "06-06": "2人"}
    # A department head of 生产一车间 sees its own people: 刘洋 and 陈静, then 陈静.
    dashboard = head.get("/admin/").get_data(as_text=True)
    assert people_per_day(dashboard, "chart-participation") == {"06-05": "2人", "06-06": "1人"}
    summary = head.get("/admin/report").get_data(as_text=True)
    assert people_per_day(summary, "r-participation") == {"06-05": "2人", "06-06": "1人"}

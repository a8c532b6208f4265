"""The sender's user row, roles and conversation are read in one statement per message, never
from a per-process cache: a change made by another process (a role granted on the CLI, a
directory sync run by the scheduler) is seen by the very next message in every web process."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import transaction
from bot.directory import grant, sync_directory
from bot.models import DailyActivity, DailyCheckin, RoleAssignment
from bot.runtime import build_runtime


def other_process(settings, clock):
    """A second runtime on the same database: its own engine, sessions and Bot (as the
    scheduler or the CLI in another process)."""
    return build_runtime(settings, clock=clock, client_sleep=lambda _s: None)


def test_a_role_granted_elsewhere_applies_to_the_next_message(runtime, wecom, settings, clock):
    assert "预警" not in wecom.text("zhaolei", "帮助").text  # this process has seen zhaolei
    other = other_process(settings, clock)
    try:
        with transaction(other.factory) as s:
            assert grant(s, "zhaolei", "safety_officer")
        assert "预警" in wecom.text("zhaolei", "帮助").text
        with transaction(other.factory) as s:
            s.execute(RoleAssignment.__table__.delete().where(RoleAssignment.userid == "zhaolei"))
        assert "预警" not in wecom.text("zhaolei", "帮助").text  # revoked: no stale role
    finally:
        other.close()


def test_a_member_moved_by_sync_checks_in_for_the_new_department(
    runtime, wecom, fake, settings, clock
):
    assert wecom.text("zhaolei", "打卡").status == 200  # in 二车间 (department 4)
    fake.state.users["zhaolei"]["department"] = [5]
    fake.state.users["zhaolei"]["main_department"] = 5
    fake.state.users["zhaolei"]["is_leader_in_dept"] = [0]
    other = other_process(settings, clock)
    try:
        with transaction(other.factory) as s:
            sync_directory(s, other.client, clock())
    finally:
        other.close()
    clock.advance(days=1)
    assert wecom.text("zhaolei", "打卡").status == 200
    with runtime.factory() as s:
        rows = dict(
            s.execute(
                select(DailyCheckin.day, DailyCheckin.department_id).where(
                    DailyCheckin.userid == "zhaolei"
                )
            ).all()
        )
        active = dict(
            s.execute(
                select(DailyActivity.day, DailyActivity.department_id).where(
                    DailyActivity.userid == "zhaolei"
                )
            ).all()
        )
    assert sorted(rows.values()) == [4, 5]  # yesterday's check-in in 二车间, today's in 办公室
    assert sorted(active.values()) == [4, 5]


def test_a_department_leader_appointed_by_sync_gets_the_head_role(
    runtime, wecom, fake, settings, clock
):
    from bot.context import load_sender

    wecom.text("huangli", "帮助")
    with runtime.factory() as s:
        assert "department_head" not in load_sender(s, runtime.settings, "huangli")[1]
    fake.state.users["huangli"]["is_leader_in_dept"] = [1]
    other = other_process(settings, clock)
    try:
        with transaction(other.factory) as s:
            sync_directory(s, other.client, clock())
    finally:
        other.close()
    with runtime.factory() as s:
        user, roles, _conv = load_sender(s, runtime.settings, "huangli")
    assert "department_head" in roles and user.leader_of == [4]

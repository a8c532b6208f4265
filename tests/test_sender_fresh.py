"""The sender's user row, roles and conversation are read in one statement per message, never
from a per-process cache: a change made by another process (a role granted on the CLI, a
directory sync run by the scheduler) is seen by the very next message in every web process.
The question bank is cached per process, checked against bank_version (which that statement
reads): an edit, an import or a retirement elsewhere is seen by the very next message too."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from bot import bank_cache
from bot.db import transaction
from bot.directory import grant, sync_directory
from bot.models import (
    BankVersion,
    DailyActivity,
    DailyCheckin,
    Question,
    QuizDailySet,
    RoleAssignment,
)
from bot.quiz.bank import ensure_bank, save_question
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


# -- the question bank: a process's copy is checked against bank_version on every message --------
def bank_version(runtime) -> int:
    with runtime.factory() as s:
        return s.scalar(select(BankVersion.version).where(BankVersion.id == 1))


def test_every_write_to_the_questions_table_bumps_the_bank_version(runtime, clock):
    with transaction(runtime.factory) as s:
        ensure_bank(s, clock())
    before = bank_version(runtime)
    with transaction(runtime.factory) as s:  # any SQL, not only the bank's own functions
        s.execute(update(Question).where(Question.id == "fire-001").values(stem="改过的题干"))
    with transaction(runtime.factory) as s:
        s.add(
            Question(
                id="x-1", theme="fire", type="judge", stem="新题", answer="T", updated_at=clock()
            )
        )
    with transaction(runtime.factory) as s:
        s.execute(delete(Question).where(Question.id == "x-1"))
    assert bank_version(runtime) >= before + 3
    rolled_back = bank_version(runtime)
    try:
        with transaction(runtime.factory) as s:
            s.execute(update(Question).values(explanation="回滚"))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert bank_version(runtime) == rolled_back


def test_a_question_retired_or_imported_elsewhere_applies_to_the_next_first_quiz(
    runtime, wecom, settings, clock
):
    assert "第1/3题" in wecom.text("zhaolei", "答题").text  # this process holds the bank now
    other = other_process(settings, clock)
    try:
        with transaction(other.factory) as s:
            s.execute(update(Question).values(active=False))  # the officer retires them all
            saved, problems = save_question(s, NEW_QUESTION, clock())
            assert saved is not None, problems
    finally:
        other.close()
    reply = wecom.text("huangli", "答题").text
    assert "第1/1题" in reply and NEW_QUESTION["stem"] in reply


def test_a_question_edited_elsewhere_applies_to_the_next_answer(runtime, wecom, settings, clock):
    wecom.text("zhaolei", "答题")
    with runtime.factory() as s:
        qids = s.scalar(select(QuizDailySet.question_ids).where(QuizDailySet.userid == "zhaolei"))
        first = s.get(Question, qids[0])
        answer = "对" if first.type == "judge" else "1"  # any answer: only the next text matters
    other = other_process(settings, clock)
    try:
        with transaction(other.factory) as s:
            s.execute(update(Question).where(Question.id == qids[1]).values(stem="第二题的新题干"))
    finally:
        other.close()
    reply = wecom.text("zhaolei", answer).text
    assert "第2/3题" in reply and "第二题的新题干" in reply


NEW_QUESTION = {
    "theme": "fire",
    "type": "judge",
    "stem": "灭火器压力表指针在绿区表示压力正常。",
    "options": [],
    "answer": "对",
    "explanation": "绿区正常，红区压力不足，黄区压力过高。",
    "source": "测试",
}


def test_a_bank_read_by_a_rolled_back_writer_is_never_served(runtime, settings, clock):
    """The writer's version number comes back for the next writer after a rollback: what the
    rolled-back transaction read must not be taken for that next version's bank."""
    with transaction(runtime.factory) as s:
        ensure_bank(s, clock())
    try:
        with transaction(runtime.factory) as s:
            s.add(
                Question(
                    id="x-ghost",
                    theme="fire",
                    type="judge",
                    stem="回滚的题",
                    answer="T",
                    updated_at=clock(),
                )
            )
            s.flush()
            bank_cache.forget(s)
            assert "x-ghost" in bank_cache.current(s).questions
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    other = other_process(settings, clock)
    try:
        with transaction(other.factory) as s:  # the next writer gets the same version number
            s.execute(update(Question).where(Question.id == "fire-001").values(stem="新的题干"))
    finally:
        other.close()
    with transaction(runtime.factory) as s:
        bank = bank_cache.current(s)
        assert "x-ghost" not in bank.questions and bank.questions["fire-001"].stem == "新的题干"

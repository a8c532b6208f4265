"""department_totals (migration 0025): members, quiz points and participants per current
department, kept by triggers on person_totals and users, read by 排行 and participant_count.

A transcript through chat (answers, a check-in, 排行 and 积分, then a member moves department,
one leaves, one joins) shows the department lines worked out by hand and a clean
`counters check`; answers racing directory moves from other connections lose nothing and
deadlock nowhere; a tampered total is reported and repaired; the migration fills the table
from what is stored; the triggers exist at head (a later SQLite batch migration of users or
person_totals, which recreates the table, would drop them silently).
"""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import select, text, update
from test_counters import answer_quiz, downgrade_to, run_check

from bot import counters
from bot.console import data
from bot.counters_check import check, recorded_totals, totals_drift
from bot.db import is_postgres, transaction
from bot.directory import sync_directory
from bot.migrate import upgrade as upgrade_to_head
from bot.models import DepartmentTotals, PersonTotals, User
from bot.participation import participant_count, participants

DAY1 = date(2026, 6, 5)
TRIGGERS = {
    f"department_totals_{kind}_{event}"
    for kind in ("person", "member")
    for event in ("insert", "update", "delete")
}


def totals(runtime) -> dict[int, tuple[int, int, int]]:
    """department -> (members, points, participants), the two rows of each added."""
    with runtime.factory() as s:
        return {d: v for d, v in recorded_totals(s).items() if any(v)}


def block(reply: str, title: str) -> list[str]:
    """The lines of one table of 排行 (after its title, up to the blank line)."""
    lines = reply.split(title, 1)[1].split("\n\n", 1)[0]
    return [line for line in lines.splitlines() if line]


def sync(runtime, clock) -> None:
    with transaction(runtime.factory) as s:
        sync_directory(s, runtime.client, clock())


# -- a transcript through chat -------------------------------------------------------------
def test_ranking_and_points_follow_answers_and_directory_moves(
    wecom, runtime, fake, clock, cli_runtime, capsys
):
    answer_quiz(wecom, runtime, "liuyang", "RRR")  # 生产一车间, 30
    answer_quiz(wecom, runtime, "chenjing", "RWR")  # 生产一车间, 20
    answer_quiz(wecom, runtime, "zhaolei", "RWW")  # 生产二车间, 10
    assert "打卡成功" in wecom.text("sunyu", "打卡").text  # 仓储物流部, takes part, 0

    reply = wecom.text("wuxia", "排行").text
    assert "共 4 人参与活动" in reply
    assert block(reply, "个人积分前十：") == ["1. 刘洋  30 分", "2. 陈静  20 分", "3. 赵磊  10 分"]
    assert block(reply, "部门人均积分：") == [
        "1. 生产一车间  人均 16.7 分（3 人）",
        "2. 生产二车间  人均 3.3 分（3 人）",
        "3. 安全环保部  人均 0.0 分（2 人）",
        "4. 综合办公室  人均 0.0 分（2 人）",
        "5. 仓储物流部  人均 0.0 分（2 人）",
    ]
    assert block(reply, "部门参与率：") == [
        "1. 生产一车间  67%（2/3 人）",
        "2. 仓储物流部  50%（1/2 人）",
        "3. 生产二车间  33%（1/3 人）",
        "4. 安全环保部  0%（0/2 人）",
        "5. 综合办公室  0%（0/2 人）",
    ]
    mine = wecom.text("chenjing", "积分").text
    assert "排名：第 2 名（共 4 人参与）" in mine and "已答完，答对 2/3 题" in mine
    assert "排名：第 4 名（共 4 人参与）" in wecom.text("sunyu", "积分").text
    mine = wecom.text("wuxia", "积分").text
    assert "您还没有参与活动" in mine and "还没答题" in mine

    # The directory changes: 刘洋 moves to 仓储物流部 with his 30 points, 赵磊 leaves (his
    # points and participation stay counted, in no department), 新人 joins 综合办公室.
    fake.add_user("liuyang", "刘洋", [6], position="叉车司机")
    del fake.state.users["zhaolei"]
    fake.add_user("xinren", "新人", [5])
    sync(runtime, clock)

    reply = wecom.text("wuxia", "排行").text
    assert "共 4 人参与活动" in reply
    assert block(reply, "部门人均积分：") == [
        "1. 生产一车间  人均 10.0 分（2 人）",
        "2. 仓储物流部  人均 10.0 分（3 人）",
        "3. 安全环保部  人均 0.0 分（2 人）",
        "4. 生产二车间  人均 0.0 分（2 人）",
        "5. 综合办公室  人均 0.0 分（3 人）",
    ]
    assert block(reply, "部门参与率：") == [
        "1. 仓储物流部  67%（2/3 人）",
        "2. 生产一车间  50%（1/2 人）",
        "3. 安全环保部  0%（0/2 人）",
        "4. 生产二车间  0%（0/2 人）",
        "5. 综合办公室  0%（0/3 人）",
    ]
    assert "排名：第 1 名（共 4 人参与）" in wecom.text("liuyang", "积分").text

    # Answers after the move count where the person is now.
    answer_quiz(wecom, runtime, "xinren", "RRR")
    reply = wecom.text("wuxia", "排行").text
    assert "共 5 人参与活动" in reply
    assert "综合办公室  人均 10.0 分（3 人）" in reply and "综合办公室  33%（1/3 人）" in reply
    assert totals(runtime) == {
        2: (2, 0, 0),
        3: (2, 20, 1),
        4: (2, 0, 0),
        5: (3, 30, 1),
        6: (3, 30, 2),
        counters.ELSEWHERE: (0, 10, 1),
    }
    with runtime.factory() as s:
        assert participant_count(s) == len(participants(s)) == 5
        # The console's department rows read the same counter: the same members and
        # participants as 排行's lines. (Its overall 参与人数 counts active members only: 4,
        # without 赵磊, who left; 排行's 「共 5 人参与」 keeps everyone who ever took part.)
        rows = data.per_department(s, data.ALL)
        assert {r["department_id"]: (r["members"], r["participants"]) for r in rows} == {
            2: (2, 0),
            3: (2, 1),
            4: (2, 0),
            5: (3, 1),
            6: (3, 2),
        }
        assert data.overview(s, data.ALL, clock().date(), rows)["participants"] == 4
    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")
    answer_quiz(wecom, runtime, "yangmin", "R")  # one of three
    assert "已答 1/3 题" in wecom.text("yangmin", "积分").text


# -- every writer of users and person_totals -----------------------------------------------
def test_rows_written_outside_the_chat_path_are_counted_too(runtime):
    """A person counted before their users row exists, a member without a department, a
    deleted person row, a deleted member: the triggers follow each (both databases)."""
    with transaction(runtime.factory) as s:
        s.add(PersonTotals(userid="ghost", points=40, answers=4, correct=4, took_part_on=DAY1))
    assert totals(runtime)[counters.ELSEWHERE] == (0, 40, 1)
    with transaction(runtime.factory) as s:  # now synced, into 生产一车间
        s.add(User(userid="ghost", name="幽灵", department_id=3, department_ids=[3], leader_of=[]))
    assert counters.ELSEWHERE not in totals(runtime) and totals(runtime)[3] == (4, 40, 1)
    with transaction(runtime.factory) as s:  # no main department
        s.execute(update(User).where(User.userid == "ghost").values(department_id=None))
    assert totals(runtime)[counters.NO_DEPARTMENT] == (1, 40, 1) and totals(runtime)[3][0] == 3
    with transaction(runtime.factory) as s:
        s.execute(text("DELETE FROM person_totals WHERE userid = 'ghost'"))
    assert totals(runtime)[counters.NO_DEPARTMENT] == (1, 0, 0)
    with transaction(runtime.factory) as s:
        s.execute(text("DELETE FROM users WHERE userid = 'ghost'"))
    assert counters.NO_DEPARTMENT not in totals(runtime)
    with runtime.factory() as s:
        assert check(s) == []


# -- answers racing directory moves ------------------------------------------------------------
MEMBERS = ["liuyang", "chenjing", "liqiang", "zhaolei", "huangli", "yangmin"]


def test_answers_racing_directory_moves_lose_nothing(runtime):
    """Six connections count answers for six members while a seventh moves all of them
    between two departments (and one of them out and back) in one transaction at a time, as
    a sync does: no error, no deadlock, and the totals equal the recomputed ones."""
    barrier = threading.Barrier(len(MEMBERS) + 1)
    errors: list[BaseException] = []
    done = threading.Event()

    def answers(userid: str) -> None:
        try:
            barrier.wait()
            for i in range(20):
                with transaction(runtime.factory) as s:
                    counters.count_answer(s, userid, 3, DAY1, i % 2 == 0, 10 * (i % 2 == 0), "q1")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def mover() -> None:
        try:
            barrier.wait()
            n = 0
            while not done.is_set() or n < 3:
                n += 1
                with transaction(runtime.factory) as s:
                    for userid in sorted(MEMBERS):
                        s.execute(
                            update(User)
                            .where(User.userid == userid)
                            .values(department_id=3 + n % 2, status=5 if n % 3 == 0 else 1)
                        )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=answers, args=(u,)) for u in MEMBERS]
    moving = threading.Thread(target=mover)
    for t in [*threads, moving]:
        t.start()
    for t in threads:
        t.join()
    done.set()
    moving.join()
    assert errors == []
    with runtime.factory() as s:
        assert sum(v[1] for v in recorded_totals(s).values()) == len(MEMBERS) * 100
        # (counters.count_answer alone stores no answers: person_totals has no raw rows here.)
        assert totals_drift(s) == []


# -- tampering ---------------------------------------------------------------------------------
def test_a_tampered_total_is_reported_and_repaired(wecom, runtime, cli_runtime, capsys):
    answer_quiz(wecom, runtime, "liuyang", "RRW")
    with transaction(runtime.factory) as s:
        s.execute(
            update(DepartmentTotals)
            .where(DepartmentTotals.department_id == 3, DepartmentTotals.source == 0)
            .values(points=DepartmentTotals.points + 5, participants=0)
        )
        s.add(DepartmentTotals(department_id=99, source=1, members=2))
    code, out = run_check(runtime, cli_runtime, capsys)
    assert code == 1
    assert out.strip().splitlines()[:3] == [
        "部门 3 当前积分：应为 20，记录为 25",
        "部门 3 当前参与人数：应为 1，记录为 0",
        "部门 99 当前人数：应为 0，记录为 2",
    ]
    code, out = run_check(runtime, cli_runtime, capsys, "--repair")
    assert code == 0 and out.strip().startswith("部门 3 当前积分")
    assert totals(runtime)[3] == (3, 20, 1) and 99 not in totals(runtime)
    assert run_check(runtime, cli_runtime, capsys)[0] == 0
    # And the totals go on from the repaired values.
    answer_quiz(wecom, runtime, "chenjing", "RRR")
    assert totals(runtime)[3] == (3, 50, 2)
    assert run_check(runtime, cli_runtime, capsys)[0] == 0


# -- the migration -------------------------------------------------------------------------------
def test_migration_0025_fills_the_totals_and_installs_the_triggers(
    wecom, runtime, clock, cli_runtime, capsys
):
    answer_quiz(wecom, runtime, "liuyang", "RRW")
    wecom.text("sunyu", "打卡")
    downgrade_to(runtime, "0024_question_counts")
    # Changes while there are no triggers: the migration counts what is stored when it runs.
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE users SET department_id = 6 WHERE userid = 'liuyang'")
        conn.exec_driver_sql("UPDATE users SET status = 5 WHERE userid = 'xuhao'")
    upgrade_to_head(runtime.engine)
    assert totals(runtime) == {
        2: (2, 0, 0),
        3: (2, 0, 0),
        4: (3, 0, 0),
        5: (2, 0, 0),
        6: (2, 20, 2),
    }
    with runtime.engine.connect() as conn:
        if is_postgres(runtime.engine):
            names = conn.execute(
                text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'department_totals_%'")
            )
        else:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        assert set(names.scalars()) >= TRIGGERS
    answer_quiz(wecom, runtime, "chenjing", "RRR")
    assert totals(runtime)[3] == (2, 30, 1)
    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")


def test_triggers_are_there_at_head(runtime):
    """Recreating users or person_totals (SQLite batch mode) drops their triggers: a later
    migration that does must create them again, or this fails."""
    with runtime.engine.connect() as conn:
        if is_postgres(runtime.engine):
            rows = conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                    " WHERE c.relname IN ('users', 'person_totals')"
                    " AND c.relnamespace = to_regnamespace(current_schema())::oid"
                )
            )
        else:
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        assert set(rows.scalars()) >= TRIGGERS
    with runtime.factory() as s:
        assert s.scalar(select(DepartmentTotals.department_id).limit(1)) is not None


def test_a_reorganisation_moving_thousands_of_members_in_one_transaction(runtime):
    """8,000 members moved by one statement (a sync after a reorganisation): one row lock per
    person, nothing in PostgreSQL's shared lock table (an advisory lock per person would run
    out of max_locks_per_transaction there)."""
    n = 8000
    with transaction(runtime.factory) as s:
        s.execute(
            User.__table__.insert(),
            [
                {"userid": f"m{i:05d}", "name": "", "department_id": 3, "department_ids": [3]}
                for i in range(n)
            ],
        )
        s.execute(
            PersonTotals.__table__.insert(),
            [
                {"userid": f"m{i:05d}", "points": 10, "took_part_on": DAY1}
                for i in range(0, n, 2)  # half of them took part, 10 points each
            ],
        )
    assert totals(runtime)[3] == (3 + n, 10 * n // 2, n // 2)
    with transaction(runtime.factory) as s:
        s.execute(update(User).where(User.userid.like("m%")).values(department_id=4))
    assert totals(runtime)[3] == (3, 0, 0)
    assert totals(runtime)[4] == (3 + n, 10 * n // 2, n // 2)
    with runtime.factory() as s:
        assert totals_drift(s) == []


def test_chat_answers_during_directory_syncs_that_move_their_senders(
    wecom, runtime, fake, clock, cli_runtime, capsys
):
    """Through the whole stack: four members answer their quiz through chat while syncs
    (another connection, the ORM's flush) move them between 生产一车间 and 生产二车间."""
    movers = ["liuyang", "chenjing", "zhaolei", "huangli"]
    errors: list[BaseException] = []
    start = threading.Barrier(len(movers) + 1)

    def member(userid: str) -> None:
        try:
            start.wait()
            answer_quiz(wecom, runtime, userid, "RRR")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def syncs() -> None:
        try:
            start.wait()
            for n in range(6):
                for i, userid in enumerate(movers):
                    fake.add_user(userid, userid, [3 + (n + i) % 2])
                sync(runtime, clock)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=member, args=(u,)) for u in movers]
    threads.append(threading.Thread(target=syncs))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # After the last sync (n = 5): liuyang and zhaolei in 4, chenjing and huangli in 3.
    assert totals(runtime)[3] == (3, 60, 2) and totals(runtime)[4] == (3, 60, 2)
    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")


# -- 积分's rank with points from other sources ---------------------------------------------------
def test_people_above_counts_like_the_whole_board(runtime):
    """ranking.people_above (a count over the points index, then either the band of quiz points
    within the largest extra or a lookup of each person with extra points, whichever is fewer
    rows) agrees with counting the whole board, for members high and low, with few and with
    many people holding extra points."""
    import random

    from bot.quiz.ranking import people_above

    rng = random.Random(7)
    people = {f"p{i:03d}": 10 * rng.randrange(0, 40) for i in range(300)}
    with transaction(runtime.factory) as s:
        s.execute(
            PersonTotals.__table__.insert(),
            [
                {"userid": u, "points": p, "answers": 1, "took_part_on": DAY1}
                for u, p in people.items()
            ],
        )
    few = {u: 20 * rng.randrange(1, 4) for u in rng.sample(sorted(people), 5)} | {"nobody": 500}
    many = {u: 5 * rng.randrange(1, 30) for u in rng.sample(sorted(people), 250)}
    with runtime.factory() as s:
        for extra in (few, many):
            for me in rng.sample(sorted(people), 40):
                mine = people[me] + extra.get(me, 0)
                board = {
                    u: people.get(u, 0) + extra.get(u, 0) for u in people.keys() | extra.keys()
                }
                want = sum(1 for u, p in board.items() if p > mine and u != me)
                assert people_above(s, mine, extra, me) == want, (me, mine)

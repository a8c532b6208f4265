"""Issue 20, item 3: the running totals (person_totals, department_day_counts) kept by the
writers and proved by `safetybot counters check [--repair]`.

A campaign played through the chat path (right and wrong answers, retried MsgIds, a check-in
sent twice, a pledge, a hazard, a suggestion, an event sign-in, a contest, a learning task, an
essay) leaves counters equal to the sums worked out by hand and the check clean; so do answers
sent at once from many threads; a tampered counter is reported and repaired; and the migration
fills the counters from rows stored before it.
"""

from __future__ import annotations

import re
import threading
from datetime import date

from alembic import command
from sqlalchemy import select, update

from bot import counters
from bot.cli import build_parser
from bot.db import transaction
from bot.learning.tasks import assign
from bot.migrate import alembic_config
from bot.migrate import upgrade as upgrade_to_head
from bot.models import (
    ContestAnswer,
    ContestAttempt,
    DepartmentDayCounts,
    PersonTotals,
    Question,
    QuestionCounts,
    QuizAnswer,
    QuizDailySet,
)
from bot.quiz.answers import LETTERS, to_shown

DAY1, DAY2 = date(2026, 6, 5), date(2026, 6, 6)
CODE = re.compile(r"签到码：(\d{6})")
ESSAY = "我身边的安全：每天上岗前检查劳保用品，发现隐患及时上报，安全生产人人有责，大家都要做到。"


# -- reading what the bot stored -----------------------------------------------------------------
def people(runtime) -> dict[str, tuple]:
    """userid -> (points, answers, correct, took part?)."""
    with runtime.factory() as s:
        return {
            r.userid: (r.points, r.answers, r.correct, r.took_part_on is not None)
            for r in s.scalars(select(PersonTotals))
        }


def department_days(runtime) -> dict[tuple, tuple]:
    """(department, day) -> (quiz answers, right, points, check-ins)."""
    with runtime.factory() as s:
        return {
            (r.department_id, r.day): (r.quiz_answers, r.quiz_correct, r.quiz_points, r.checkins)
            for r in s.scalars(select(DepartmentDayCounts))
        }


def question_totals(runtime) -> dict[int, tuple]:
    """department -> (answers, right) summed over its question_counts rows, and checks each
    row against the answers to that question from that department."""
    out: dict[int, tuple] = {}
    with runtime.factory() as s:
        for r in s.scalars(select(QuestionCounts)):
            answers = [
                a.correct
                for a in s.scalars(
                    select(QuizAnswer).where(
                        QuizAnswer.question_id == r.question_id,
                        QuizAnswer.department_id == r.department_id,
                    )
                )
            ]
            assert (r.answers, r.correct) == (len(answers), sum(answers)), r.question_id
            n, c = out.get(r.department_id, (0, 0))
            out[r.department_id] = (n + r.answers, c + r.correct)
    return out


def downgrade_to(runtime, revision: str) -> None:
    """The test's database migrated down to `revision` (to store rows as before a migration)."""
    cfg = alembic_config()
    with runtime.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def run_check(runtime, cli_runtime, capsys, *extra) -> tuple[int, str]:
    args = build_parser().parse_args(["counters", "check", *extra])
    args.settings = runtime.settings
    cli_runtime(runtime)
    code = args.func(args)
    return code, capsys.readouterr().out


# -- the daily quiz through chat -----------------------------------------------------------------
def _pending(runtime, userid):
    """(index, question, the right answer as this person sees it) of today's next question."""
    with runtime.factory() as s:
        ds = s.scalar(
            select(QuizDailySet)
            .where(QuizDailySet.userid == userid)
            .order_by(QuizDailySet.day.desc())
        )
        done = set(s.scalars(select(QuizAnswer.question_index).where(QuizAnswer.set_id == ds.id)))
        index = next((i for i in range(len(ds.question_ids)) if i not in done), None)
        if index is None:
            return None, None, None
        q = s.get(Question, ds.question_ids[index])
        return index, q, to_shown(q.answer, ds.permutations[index], q.type)


def _typed(q, shown: str) -> str:
    if q.type == "judge":
        return "对" if shown == "T" else "错"
    return shown


def _wrong(q, right: str) -> str:
    if q.type == "judge":
        return "F" if right == "T" else "T"
    return next(c for c in LETTERS[: len(q.options)] if c not in right)


def answer_quiz(wecom, runtime, userid, pattern: str, *, retry=False) -> None:
    """答题, then answer today's three questions: pattern "RWR" = right, wrong, right.
    retry: every answer is delivered twice with the same MsgId (WeCom's retry)."""
    wecom.text(userid, "答题")
    for n, want in enumerate(pattern):
        index, q, right = _pending(runtime, userid)
        assert index == n
        text = _typed(q, right if want == "R" else _wrong(q, right))
        msg_id = f"{userid}-{index}-{q.id}"[:60] if retry else None
        first = wecom.text(userid, text, msg_id=msg_id).text
        assert ("回答正确" if want == "R" else "回答错误") in first
        if retry:
            assert wecom.text(userid, text, msg_id=msg_id).text == first


def contest_answer(runtime, userid) -> str:
    with runtime.factory() as s:
        attempt = s.scalar(select(ContestAttempt).where(ContestAttempt.userid == userid))
        q = s.get(Question, attempt.question_ids[0])
        return _typed(q, to_shown(q.answer, attempt.permutations[0], q.type))


# -- (a) a campaign through the chat path --------------------------------------------------------
def test_a_campaign_through_chat_leaves_exact_counters_and_no_drift(
    wecom, runtime, clock, cli_runtime, capsys
):
    # Day 1. Quiz: 刘洋 (dept 3) all right, his answers retried; 陈静 (3) one wrong;
    # 赵磊 (4) two wrong, and a stray letter after finishing counts nothing.
    answer_quiz(wecom, runtime, "liuyang", "RRR", retry=True)
    answer_quiz(wecom, runtime, "chenjing", "WRR")
    answer_quiz(wecom, runtime, "zhaolei", "RWW")
    assert "没有看懂" in wecom.text("zhaolei", "A").text
    # Check-ins: 刘洋 twice (counts once), 孙宇 (6) once, retried with the same MsgId.
    assert "打卡成功" in wecom.text("liuyang", "打卡").text
    assert "已经打过卡" in wecom.text("liuyang", "打卡").text
    first = wecom.text("sunyu", "打卡", msg_id="sunyu-checkin").text
    assert wecom.text("sunyu", "打卡", msg_id="sunyu-checkin").text == first
    # Taking part without the quiz: a pledge, a hazard, a suggestion, an event sign-in,
    # a contest answer, a learning task, an essay.
    wecom.text("wuxia", "责任书")
    assert "签署成功" in wecom.text("wuxia", "确认签署").text
    assert "照片" in wecom.text("huangli", "隐患 二车间消防通道堆放纸箱").text
    wecom.text("huangli", "跳过")
    wecom.text("huangli", "跳过")
    assert "YH-" in wecom.text("huangli", "1").text
    assert "JY-" in wecom.text("xuhao", "建议 仓库门口增设减速带").text
    created = wecom.text("wangfang", "活动 创建 应急演练 2026-06-05 09:00-12:00").text
    code = CODE.search(created).group(1)
    assert "签到成功" in wecom.text("yangmin", f"签到 {code}").text
    assert "无需重复签到" in wecom.text("yangmin", f"签到 {code}").text
    wecom.text(
        "wangfang",
        "竞赛 创建 安全月知识竞赛 题数=3 时限=600 开始=2026-06-05T08:00 结束=2026-06-05T18:00",
    )
    wecom.text("zhoujie", "竞赛")
    assert "正确" in wecom.text("zhoujie", contest_answer(runtime, "zhoujie")).text
    with transaction(runtime.factory) as s:
        assign(
            s,
            title="学习全员安全生产责任制",
            url="https://anquan.example.cn/duty",
            due=date(2026, 6, 12),
            departments=[2],
            created_by="wangfang",
            now=clock(),
            tz=runtime.settings.tz,
            public_url="https://anquan.example.cn",
        )
    assert "已确认学习" in wecom.text("zhangwei", "已学习").text
    assert "已发起" in wecom.text("wangfang", "征集 发起 我身边的安全 征文 6月20日").text
    assert "征文已收到" in wecom.text("liqiang", "征文 " + ESSAY).text
    # Sending 帮助 or 积分 is not taking part.
    wecom.text("xuhao", "帮助")
    wecom.text("sunyu", "积分")

    # Day 2: 刘洋 again, 陈静 checks in.
    clock.advance(days=1)
    answer_quiz(wecom, runtime, "liuyang", "RWR")
    assert "打卡成功" in wecom.text("chenjing", "打卡").text

    # Worked out by hand: 10 points per right answer.
    took_part = {"wuxia", "huangli", "xuhao", "yangmin", "zhoujie", "zhangwei", "liqiang"}
    assert people(runtime) == {
        "liuyang": (50, 6, 5, True),
        "chenjing": (20, 3, 2, True),
        "zhaolei": (10, 3, 1, True),
        "sunyu": (0, 0, 0, True),
        **{u: (0, 0, 0, True) for u in took_part},
    }
    assert department_days(runtime) == {
        (3, DAY1): (6, 5, 50, 1),
        (4, DAY1): (3, 1, 10, 0),
        (6, DAY1): (0, 0, 0, 1),
        (3, DAY2): (3, 2, 20, 1),
    }
    # Per department and question: every answer once, the retried ones too.
    assert question_totals(runtime) == {3: (9, 7), 4: (3, 1)}
    with runtime.factory() as s:
        # The answer carries the department it was counted for; the contest answer exists.
        assert set(s.scalars(select(QuizAnswer.department_id))) == {3, 4}
        assert s.scalar(select(ContestAnswer.id)) is not None
        assert s.scalar(select(ContestAttempt.userid)) == "zhoujie"

    code, out = run_check(runtime, cli_runtime, capsys)
    assert code == 0 and out.strip() == "计数与原始记录一致"


# -- (b) answers at once --------------------------------------------------------------------------
MEMBERS = ["liuyang", "chenjing", "liqiang", "zhaolei", "huangli", "yangmin", "wuxia", "sunyu"]


def test_members_answering_at_once_lose_no_count(wecom, runtime, cli_runtime, capsys):
    """Eight members answer their quiz at the same moment, every answer delivered twice at
    once (WeCom's retry racing the first delivery): each answer counts exactly once."""
    for userid in MEMBERS:
        wecom.text(userid, "答题")
    plans = {}
    for userid in MEMBERS:
        with runtime.factory() as s:
            ds = s.scalar(select(QuizDailySet).where(QuizDailySet.userid == userid))
            questions = [s.get(Question, qid) for qid in ds.question_ids]
            plans[userid] = (
                [
                    to_shown(q.answer, perm, q.type)
                    for q, perm in zip(questions, ds.permutations, strict=True)
                ],
                questions,
            )
    barrier = threading.Barrier(len(MEMBERS) * 2)
    failures: list[str] = []

    def member(userid: str, copy: int) -> None:
        answers, questions = plans[userid]
        barrier.wait()
        for i, (right, q) in enumerate(zip(answers, questions, strict=True)):
            # Everyone gets the second question wrong.
            text = _typed(q, _wrong(q, right) if i == 1 else right)
            result = wecom.text(userid, text, msg_id=f"c-{userid}-{i}")
            if result.status != 200:
                failures.append(f"{userid} {i} copy {copy}: {result.status}")

    threads = [
        threading.Thread(target=member, args=(u, copy)) for u in MEMBERS for copy in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    totals = people(runtime)
    assert {u: totals[u] for u in MEMBERS} == {u: (20, 3, 2, True) for u in MEMBERS}
    by_department = {3: 3, 4: 3, 5: 1, 6: 1}  # members of MEMBERS in each department
    assert department_days(runtime) == {
        (d, DAY1): (3 * n, 2 * n, 20 * n, 0) for d, n in by_department.items()
    }
    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")


def test_concurrent_writers_on_one_counter_row_add_exactly(runtime):
    """Sixteen connections bump the same person's and department-day's rows 25 times each."""
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(25):
                with transaction(runtime.factory) as s:
                    counters.count_answer(
                        s, "liuyang", 3, DAY1, i % 2 == 0, 10 * (i % 2 == 0), "q1"
                    )
                    counters.count_checkin(s, f"p{n}", None, DAY1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # 16 × 25 answers, 13 of each 25 right.
    assert people(runtime)["liuyang"] == (16 * 13 * 10, 400, 16 * 13, True)
    days = department_days(runtime)
    assert days[(3, DAY1)] == (400, 16 * 13, 16 * 130, 0)
    assert days[(counters.NO_DEPARTMENT, DAY1)] == (0, 0, 0, 400)


# -- (c) tampering, reported and repaired ---------------------------------------------------------
def test_a_tampered_counter_is_reported_and_repaired(wecom, runtime, cli_runtime, capsys):
    answer_quiz(wecom, runtime, "liuyang", "RWR")
    wecom.text("sunyu", "打卡")
    wecom.text("wuxia", "建议 楼道增设应急照明")
    with transaction(runtime.factory) as s:
        s.execute(update(PersonTotals).where(PersonTotals.userid == "liuyang").values(points=99))
        s.execute(
            update(DepartmentDayCounts)
            .where(DepartmentDayCounts.department_id == 6)
            .values(checkins=0)
        )
        s.execute(
            update(PersonTotals).where(PersonTotals.userid == "wuxia").values(took_part_on=None)
        )
        # Someone counted who never did anything.
        s.add(PersonTotals(userid="zhoujie", points=0, answers=0, correct=0, took_part_on=DAY1))
        # A question answered from a department that never answered it.
        s.add(QuestionCounts(department_id=5, question_id="nosuch", answers=2, correct=1))

    code, out = run_check(runtime, cli_runtime, capsys)
    assert code == 1
    lines = out.strip().splitlines()
    assert lines == [
        "个人累计「liuyang」积分：应为 20，记录为 99",
        "个人累计「wuxia」已参与：应为 是，记录为 否",
        "个人累计「zhoujie」已参与：应为 否，记录为 是",
        "部门 6 · 2026-06-05 打卡数：应为 1，记录为 0",
        "部门 5 · 题目 nosuch 答题数：应为 0，记录为 2",
        "部门 5 · 题目 nosuch 答对数：应为 0，记录为 1",
        "共 6 处不一致（3 人、1 个部门日），可加修复选项按原始记录重算",
    ]

    code, out = run_check(runtime, cli_runtime, capsys, "--repair")
    assert code == 0
    assert out.strip().splitlines()[-1] == "已按原始记录修复 6 处不一致（3 人、1 个部门日）"
    assert question_totals(runtime) == {3: (3, 2)}
    assert people(runtime)["liuyang"] == (20, 3, 2, True)
    assert "zhoujie" not in people(runtime) and people(runtime)["wuxia"][3] is True
    assert department_days(runtime)[(6, DAY1)] == (0, 0, 0, 1)

    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")
    # And the counters go on from the repaired values.
    answer_quiz(wecom, runtime, "chenjing", "RRR")
    assert department_days(runtime)[(3, DAY1)] == (6, 5, 50, 0)
    assert run_check(runtime, cli_runtime, capsys)[0] == 0


def test_a_repair_covering_every_member_is_not_one_oversized_statement(
    runtime, cli_runtime, capsys
):
    """70,000 people counted who never did anything (a bad restore, say): more than one
    PostgreSQL statement can carry as parameters. The repair removes them all."""
    from sqlalchemy import func, insert

    rows = [
        {"userid": f"ghost{i:05d}", "points": 0, "answers": 0, "correct": 0, "took_part_on": DAY1}
        for i in range(70_000)
    ]
    with transaction(runtime.factory) as s:
        s.execute(insert(PersonTotals.__table__), rows)
    code, out = run_check(runtime, cli_runtime, capsys, "--repair")
    assert code == 0, out[-500:]
    assert out.strip().splitlines()[-1] == "已按原始记录修复 70000 处不一致（70000 人、0 个部门日）"
    with runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(PersonTotals)) == 0


# -- (d) the migration fills the counters from older rows -----------------------------------------
def test_migration_0023_fills_the_counters_from_rows_stored_before_it(
    wecom, runtime, cli_runtime, capsys
):
    answer_quiz(wecom, runtime, "liuyang", "RRW")
    answer_quiz(wecom, runtime, "zhaolei", "WWR")
    wecom.text("liuyang", "打卡")
    wecom.text("sunyu", "打卡")
    wecom.text("wuxia", "建议 楼道增设应急照明")
    downgrade_to(runtime, "0022_suggestion_adoption")
    # Rows change while there are no counters (and no department on the answers): the
    # migration counts what is stored when it runs.
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM quiz_answers WHERE userid = 'zhaolei' AND correct")
    upgrade_to_head(runtime.engine)

    assert people(runtime) == {
        "liuyang": (20, 3, 2, True),
        "zhaolei": (0, 2, 0, True),
        "sunyu": (0, 0, 0, True),
        "wuxia": (0, 0, 0, True),
    }
    assert department_days(runtime) == {
        (3, DAY1): (3, 2, 20, 1),
        (4, DAY1): (2, 0, 0, 0),
        (6, DAY1): (0, 0, 0, 1),
    }
    # 0024 (run by the same upgrade) counts the answers per department and question.
    with runtime.factory() as s:
        totals: dict[int, tuple] = {}
        for r in s.scalars(select(QuestionCounts)):
            n, c = totals.get(r.department_id, (0, 0))
            totals[r.department_id] = (n + r.answers, c + r.correct)
    assert totals == {3: (3, 2), 4: (2, 0)}
    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")

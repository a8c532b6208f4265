"""pledge_counts: 责任书 signatures per department and text, kept by signing and by the
directory sync, proved by `safetybot counters check`; the pledge figures read from it.

A campaign (signatures by chat and on paper, roles granted after signing, a new version of
the staff text becoming current, members moving department, leaving and coming back) leaves
the counters equal to their recomputation and pledge completion equal to the rule applied
member by member; so does signing from many threads while the directory moves some of the
signers. The console's 责任书 page and `stats --json` show the figures an officer expects, and
a long 尚未签署 list is folded to counts with a link.
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict

import pytest
from sqlalchemy import select, update
from test_counters import downgrade_to, run_check
from test_pledge import new_staff_version

from bot import counters_check
from bot.cli import build_parser
from bot.console import reminders
from bot.console.testing import add_account, login
from bot.db import transaction
from bot.directory import grant, sync_directory
from bot.migrate import upgrade as upgrade_to_head
from bot.models import PledgeCounts, PledgeSignature, User
from bot.pledge.completion import completion_counts
from bot.pledge.members import text_keys_for_members
from bot.pledge.signing import sign_on_paper
from bot.pledge.texts import current_texts


# -- the rule, member by member (what the counters must agree with) ------------------------------
def by_rule(runtime) -> list[tuple]:
    """(department, active members, signed the current text that applies) per department,
    worked out one member at a time with bot.pledge.members.text_keys_for_members."""
    texts = current_texts()
    with runtime.factory() as s:
        users = list(s.scalars(select(User).where(User.status == 1)))
        keys = text_keys_for_members(s, users)
        signed = set(s.execute(select(PledgeSignature.userid, PledgeSignature.text_hash)).all())
    out: dict = defaultdict(lambda: [0, 0])
    for u in users:
        out[u.department_id][0] += 1
        key = keys[u.userid]
        out[u.department_id][1] += key in texts and (u.userid, texts[key].hash) in signed
    return sorted((d, n, k) for d, (n, k) in out.items())


def figures(runtime, departments=None) -> list[tuple]:
    with runtime.factory() as s:
        return sorted(completion_counts(s, departments))


def assert_exact(runtime) -> None:
    """No drift, and completion from the counters equals the rule member by member."""
    with runtime.factory() as s:
        assert counters_check.check(s) == []
    assert figures(runtime) == by_rule(runtime)
    # A branch (departments 3 and 4) reads the same rows.
    assert figures(runtime, {3, 4}) == [r for r in by_rule(runtime) if r[0] in (3, 4)]


def on_paper(runtime, clock, *userids) -> None:
    for userid in userids:
        with transaction(runtime.factory) as s:
            assert sign_on_paper(s, userid, clock()) is not None


def sync(runtime, clock) -> None:
    with transaction(runtime.factory) as s:
        sync_directory(s, runtime.client, clock())


# -- (a) a campaign --------------------------------------------------------------------------------
def test_a_campaign_keeps_pledge_counts_exact(
    wecom, runtime, fake, clock, tmp_path, monkeypatch, cli_runtime, capsys
):
    assert_exact(runtime)  # nobody signed: zeros
    for userid in ("liuyang", "liqiang"):  # by chat: the staff and the head text
        wecom.text(userid, "责任书")
        wecom.text(userid, "确认签署")
    on_paper(runtime, clock, "chenjing", "zhaolei", "sunyu", "zhoujie", "wuxia")
    assert figures(runtime)[:2] == [(2, 2, 0), (3, 3, 3)]
    assert_exact(runtime)

    # Roles granted after signing: 周杰 signed the head text, now the leader text applies;
    # 刘洋 signed the staff text, now (a granted head) the head text applies.
    with transaction(runtime.factory) as s:
        grant(s, "zhoujie", "leader")
        grant(s, "liuyang", "department_head", 3)
    assert (3, 3, 2) in figures(runtime) and (5, 2, 1) in figures(runtime)
    assert_exact(runtime)

    # Members move and leave (the directory sync): 陈静 to 生产二车间, 孙宇 left, 赵磊 disabled.
    fake.add_user("chenjing", "陈静", [4], position="质检员")
    del fake.state.users["sunyu"]
    fake.add_user("zhaolei", "赵磊", [4], position="电工", status=2)
    sync(runtime, clock)
    assert (3, 2, 1) in figures(runtime) and (4, 3, 1) in figures(runtime)
    assert_exact(runtime)
    # A member who left comes back: their signature counts again, where they are now.
    fake.add_user("sunyu", "孙宇", [5], position="叉车司机")
    sync(runtime, clock)
    assert (5, 3, 2) in figures(runtime)
    assert_exact(runtime)

    # A new version of the staff text becomes current: staff signatures no longer count,
    # the counters need no rewrite (the new text's rows start at zero).
    new_staff_version(tmp_path, monkeypatch)
    assert sum(k for _, _, k in figures(runtime)) == 1  # 李强: the head text is unchanged
    assert_exact(runtime)
    on_paper(runtime, clock, "chenjing", "wuxia", "liuyang")
    assert_exact(runtime)
    with runtime.factory() as s:
        new = current_texts()["staff"].hash
        assert s.get(PledgeCounts, (4, new)).signed == 1  # 陈静, in her new department
    code, out = run_check(runtime, cli_runtime, capsys)
    assert (code, out.strip()) == (0, "计数与原始记录一致")


def test_a_tampered_pledge_counter_is_reported_and_repaired(
    wecom, runtime, clock, cli_runtime, capsys
):
    on_paper(runtime, clock, "liuyang", "chenjing")
    staff = current_texts()["staff"]
    with transaction(runtime.factory) as s:
        s.execute(update(PledgeCounts).values(signed=7))
    code, out = run_check(runtime, cli_runtime, capsys)
    assert code == 1
    assert out.strip().splitlines()[0] == (
        f"部门 3 · 责任书 {staff.short_hash} 已签人数：应为 2，记录为 7"
    )
    assert run_check(runtime, cli_runtime, capsys, "--repair")[0] == 0
    assert run_check(runtime, cli_runtime, capsys)[0] == 0
    assert_exact(runtime)


def test_migration_0027_counts_signatures_stored_before_it(runtime, clock):
    on_paper(runtime, clock, "liuyang", "chenjing", "liqiang", "sunyu")
    downgrade_to(runtime, "0024_question_counts")
    # Members move and leave while there is no counter table.
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE users SET department_id = 4 WHERE userid = 'chenjing'")
        conn.exec_driver_sql("UPDATE users SET status = 5 WHERE userid = 'sunyu'")
    upgrade_to_head(runtime.engine)
    assert_exact(runtime)
    staff = current_texts()["staff"].hash
    with runtime.factory() as s:
        rows = {(r.department_id, r.text_hash): r.signed for r in s.scalars(select(PledgeCounts))}
    assert rows[(3, staff)] == 1 and rows[(4, staff)] == 1 and len(rows) == 3


# -- (b) at once -----------------------------------------------------------------------------------
def test_signing_at_once_while_the_directory_moves_signers(runtime, fake, clock):
    """Twenty-four members sign on paper from eight threads at the same moment while the
    directory sync moves half of them to another department: every signature is counted
    once, in the department the member is in at the end."""
    people = [f"m{i:02d}" for i in range(24)]
    for userid in people:
        fake.add_user(userid, userid, [3])
    sync(runtime, clock)
    for userid in people[::2]:
        fake.add_user(userid, userid, [4])
    barrier = threading.Barrier(9)
    errors: list[BaseException] = []

    def signer(n: int) -> None:
        try:
            barrier.wait()
            on_paper(runtime, clock, *people[n::8])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def mover() -> None:
        try:
            barrier.wait()
            sync(runtime, clock)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=signer, args=(n,)) for n in range(8)]
    threads.append(threading.Thread(target=mover))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    staff = current_texts()["staff"].hash
    with runtime.factory() as s:
        assert s.get(PledgeCounts, (3, staff)).signed == 12
        assert s.get(PledgeCounts, (4, staff)).signed == 12
    assert_exact(runtime)


# -- (c) what an officer meets -----------------------------------------------------------------------
@pytest.fixture
def boss(app, runtime, clock):
    add_account(runtime.factory, "boss", role="safety_officer", now=clock())
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    return client


def _rows(html: str) -> list[list[str]]:
    table = html.split('id="pledge-completion"')[1].split("</table>")[0]
    return [
        re.findall(r"<td>(.*?)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table)
        if "<td>" in row
    ]


def test_the_pledge_page_and_stats_as_an_officer_meets_them(
    boss, wecom, runtime, clock, cli_runtime, capsys, monkeypatch
):
    on_paper(runtime, clock, "liuyang", "liqiang", "zhaolei")
    html = boss.get("/admin/pledges").get_data(as_text=True)
    assert _rows(html)[:3] == [
        ["安全环保部", "2", "0", "0.0%"],
        ["生产一车间", "3", "2", "66.7%"],
        ["生产二车间", "3", "1", "33.3%"],
    ]
    pending = html.split('id="pending"')[1]
    assert "生产一车间（1 人）" in pending and "陈静" in pending
    assert "生产二车间（2 人）" in pending and "杨敏" in pending and "黄丽" in pending
    assert "刘洋" not in pending and "名单较长" not in pending

    # A long list: names for the departments that fit, the others folded to their count
    # with a link to their own list and to the export.
    monkeypatch.setattr(reminders, "PLEDGE_NAMES_SHOWN", 3)
    pending = boss.get("/admin/pledges").get_data(as_text=True).split('id="pending"')[1]
    assert "安全环保部（2 人）" in pending and "张伟" in pending and "王芳" in pending
    assert "生产一车间（1 人）" in pending and "陈静" in pending
    section = pending.split('id="pending-4"')[1].split("</section>")[0]
    assert "生产二车间（2 人）" in section and "名单较长" in section
    assert "黄丽" not in section and "?department=4" in section and "pledges.xlsx" in section
    assert "提醒他们" in section  # the reminder still goes to all of them
    pending = boss.get("/admin/pledges?department=4").get_data(as_text=True)
    section = pending.split('id="pending-4"')[1].split("</section>")[0]
    assert "杨敏" in section and "黄丽" in section and "名单较长" not in section

    args = build_parser().parse_args(["stats", "--json"])
    args.settings = runtime.settings
    cli_runtime(runtime)
    assert args.func(args) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["pledges_signed"] == 3
    assert stats["pledges_by_department"]["生产一车间"] == {"signed": 2, "in_scope": 3}
    assert stats["pledges_by_department"]["安全环保部"] == {"signed": 0, "in_scope": 2}
    assert sum(v["in_scope"] for v in stats["pledges_by_department"].values()) == 12

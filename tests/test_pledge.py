"""安全生产责任书: which text, signing by text and card, versions, rounds, reminders, exports."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.db import transaction
from bot.directory import grant
from bot.models import OutboxDelivery, PledgeSignature, PledgeText
from bot.outbox import counts, enqueue
from bot.pledge.members import text_keys_for_members
from bot.pledge.reminders import pledge_reminders
from bot.pledge.texts import current_texts, text_hash
from bot.stats import compute_stats


def _signatures(runtime, userid=None):
    with runtime.factory() as s:
        q = select(PledgeSignature)
        if userid:
            q = q.where(PledgeSignature.userid == userid)
        return list(s.scalars(q))


def _texts_after_drain(runtime, fake, userid):
    runtime.sender.drain()
    return fake.texts_for(userid)


def test_text_applies_by_role(runtime):
    with transaction(runtime.factory) as s:
        grant(s, "zhoujie", "leader")
        from bot.models import User

        users = list(s.scalars(select(User)))
        keys = text_keys_for_members(s, users)
    assert keys["liuyang"] == "staff"
    assert keys["liqiang"] == "department_head"  # WeCom leader of dept 3
    assert keys["zhoujie"] == "leader"  # the leader role wins over department head


def test_hash_ignores_whitespace_but_not_wording():
    assert text_hash("T", "一\r\n二  ") == text_hash("T", "一\n二")
    assert text_hash("T", "一\n二") != text_hash("T", "一\n三")


def test_show_text_is_split_and_card_offered(wecom, runtime, fake):
    result = wecom.text("liuyang", "责任书")
    assert result.text is None  # several messages: sent through the API
    runtime.sender.drain()
    msgs = fake.messages_for("liuyang")
    texts = [m["text"]["content"] for m in msgs if m["msgtype"] == "text"]
    assert all(len(t.encode()) <= 2048 for t in texts)
    staff = current_texts()["staff"]
    joined = "".join(texts)
    assert "员工安全生产责任书" in joined and "十二、" in joined and staff.short_hash in joined
    cards = [m["template_card"] for m in msgs if m["msgtype"] == "template_card"]
    assert len(cards) == 1
    assert cards[0]["button_list"][0]["key"] == "pledge:sign:" + staff.hash
    assert len(texts) >= 3  # the body over 2048 bytes is split, plus the how-to-sign line


def test_sign_by_text_records_snapshot_and_twice_says_when(wecom, runtime, clock):
    clock.set_local("2026-06-05 09:12")
    wecom.text("liuyang", "责任书")  # shown first: a typed 确认 signs only a text seen
    first = wecom.text("liuyang", "确认签署").text
    assert "签署成功" in first and "6月5日 09:12" in first
    clock.advance(hours=2)
    again = wecom.text("liuyang", "我承诺").text
    assert "您已于 6月5日 09:12 签署" in again
    [sig] = _signatures(runtime, "liuyang")
    staff = current_texts()["staff"]
    assert (sig.name, sig.department_id, sig.department_name) == ("刘洋", 3, "生产一车间")
    assert (sig.text_key, sig.text_version, sig.text_hash, sig.channel) == (
        "staff",
        staff.version,
        staff.hash,
        "text",
    )
    with runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(PledgeText)) == 3


def test_sign_by_card_button_updates_card(wecom, runtime, fake):
    head = current_texts()["department_head"]
    res = wecom.card_event(
        "liqiang",
        "pledge:sign:" + head.hash,
        "pledge_task1",
        card_type="button_interaction",
        response_code="rc-1",
    )
    assert "签署成功" in res.text
    [sig] = _signatures(runtime, "liqiang")
    assert sig.channel == "card" and sig.text_key == "department_head"
    runtime.sender.drain()
    [update] = fake.updated_cards
    assert update["response_code"] == "rc-1"
    assert update["template_card"]["button_list"][0]["text"] == "已签署"
    # A card for a text that does not apply (or an old version) signs nothing.
    res = wecom.card_event(
        "liuyang", "pledge:sign:" + head.hash, "pledge_task2", card_type="button_interaction"
    )
    assert "已更新或不适用" in res.text
    assert _signatures(runtime, "liuyang") == []


def new_staff_version(tmp_path, monkeypatch) -> None:
    """Edit the staff text (as an administrator does): a new version becomes current."""
    import shutil

    from bot.content import content_dir

    copy = tmp_path / "content"
    shutil.copytree(content_dir(), copy)
    staff = (copy / "pledges" / "staff.yaml").read_text(encoding="utf-8")
    (copy / "pledges" / "staff.yaml").write_text(
        staff.replace('version: "2026.1"', 'version: "2026.2"').replace("十二、", "十二、（修订）"),
        encoding="utf-8",
    )
    monkeypatch.setenv("SAFETYBOT_CONTENT_DIR", str(copy))


def test_new_version_means_signing_again(wecom, runtime, tmp_path, monkeypatch):
    wecom.text("liuyang", "责任书")
    assert "签署成功" in wecom.text("liuyang", "签署").text
    new_staff_version(tmp_path, monkeypatch)
    status = wecom.text("liuyang", "我的签署").text
    assert "2026.2" in status and "尚未签署" in status and "历史签署记录" in status
    assert wecom.text("liuyang", "确认签署").text is None  # the new text is shown first
    assert "签署成功" in wecom.text("liuyang", "确认签署").text
    sigs = sorted(_signatures(runtime, "liuyang"), key=lambda s: s.id)
    assert [s.text_version for s in sigs] == ["2026.1", "2026.2"]
    assert sigs[0].text_hash != sigs[1].text_hash


def test_launch_is_admin_only(wecom, runtime, fake):
    assert "仅限管理员" in wecom.text("liuyang", "责任书 发起").text
    reply = wecom.text("wangfang", "责任书 发起 不存在的部门")
    assert reply.text is None  # two messages: the problem and the usage
    runtime.sender.drain()
    texts = fake.texts_for("wangfang")
    assert any("没有找到部门「不存在的部门」" in t for t in texts)
    assert any("责任书 发起 3,4" in t for t in texts)


def _deliveries(runtime, source):
    from bot.models import OutboundMessage

    with runtime.factory() as s:
        return [
            (d.userid, d.status, m.dedup_key)
            for d, m in s.execute(
                select(OutboxDelivery, OutboundMessage)
                .join(OutboundMessage)
                .where(OutboundMessage.source == source)
            )
        ]


def test_round_reminder_schedule(wecom, runtime, fake, clock):
    clock.set_local("2026-06-05 09:00")
    wecom.text("liuyang", "责任书")
    wecom.text("liuyang", "确认签署")  # signed before the round: not asked again
    reply = wecom.text("wangfang", "责任书 发起 3,4").text
    assert "第 1 轮" in reply and "范围内 6 人" in reply and "5 人待签署" in reply
    runtime.sender.drain()
    assert any("请您阅读并签署《员工安全生产责任书》" in t for t in fake.texts_for("chenjing"))
    assert not any("请您阅读并签署" in t for t in fake.texts_for("liuyang"))
    assert not any("请您阅读并签署" in t for t in fake.texts_for("sunyu"))  # dept 6: out of scope
    cards = [m for m in fake.messages_for("yangmin") if m["msgtype"] == "template_card"]
    assert len(cards) == 1
    assert (
        cards[0]["template_card"]["main_title"]["title"] == current_texts()["department_head"].title
    )

    def run_job():
        with transaction(runtime.factory) as s:
            return pledge_reminders(s, runtime, clock())

    # Day 0: nothing.
    clock.set_local("2026-06-05 20:00")
    assert run_job() == "nothing due"
    # Day 1: the four unsigned get one reminder, however often the hourly job runs.
    clock.set_local("2026-06-06 09:07")
    run_job()
    clock.set_local("2026-06-06 10:07")
    run_job()
    day1 = _deliveries(runtime, "pledge:remind")
    assert sorted(u for u, _, _ in day1) == ["chenjing", "huangli", "liqiang", "yangmin", "zhaolei"]
    # chenjing signs before the reminder is delivered: it is cancelled at once.
    assert "签署成功" in wecom.text("chenjing", "确认签署").text
    runtime.sender.drain()
    assert not any("签署提醒" in t for t in fake.texts_for("chenjing"))
    assert any("签署提醒" in t for t in fake.texts_for("zhaolei"))
    # Day 2: only those still unsigned.
    wecom.text("liqiang", "确认签署")
    clock.set_local("2026-06-07 09:07")
    run_job()
    day2 = [u for u, _, k in _deliveries(runtime, "pledge:remind") if ":2:" in k]
    assert sorted(day2) == ["huangli", "yangmin", "zhaolei"]
    # Day 3: heads get the list of their unsigned people; no more member reminders.
    clock.set_local("2026-06-08 09:07")
    run_job()
    run_job()
    assert not [k for _, _, k in _deliveries(runtime, "pledge:remind") if ":3:" in k]
    esc = _deliveries(runtime, "pledge:escalate")
    assert sorted(u for u, _, _ in esc) == ["yangmin"]  # dept 3 is complete now
    runtime.sender.drain()
    [text] = [t for t in fake.texts_for("yangmin") if "责任书签署情况" in t]
    assert "生产二车间还有 3 人未签署" in text
    assert "杨敏、赵磊、黄丽" in text or sorted(text.split("\n")[1].split("、")) == sorted(
        ["杨敏", "赵磊", "黄丽"]
    )
    assert not any("责任书签署情况" in t for t in fake.texts_for("liqiang"))
    with runtime.factory() as s:
        c = counts(s)
    assert c["enqueued"] == c["sent"] + c["pending"] + c["dead"]


def test_member_rate_limit_defers_not_drops(runtime, fake, clock):
    with transaction(runtime.factory) as s:
        for i in range(40):
            enqueue(
                s,
                ["liuyang"],
                {"msgtype": "text", "text": {"content": f"第{i}条"}},
                source="test",
                now=clock(),
                dedup_key=f"t:{i}",
            )
    first = runtime.sender.drain()
    assert len(fake.messages_for("liuyang")) == 30
    assert not fake.dropped and first.deferred >= 10
    with runtime.factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxDelivery)
                .where(OutboxDelivery.status == "pending")
            )
            == 10
        )
    fake.reset()  # the fake's own per-minute window runs on wall time
    clock.advance(minutes=1)
    runtime.sender.drain()
    assert len(fake.messages_for("liuyang")) == 10
    with runtime.factory() as s:
        c = counts(s)
    assert c["sent"] == 40 and c["pending"] == 0 and c["dead"] == 0


def test_stats_and_export(wecom, runtime, tmp_path, clock, cli_runtime):
    clock.set_local("2026-06-05 09:12")
    for userid in ("liuyang", "liqiang"):
        wecom.text(userid, "责任书")
        wecom.text(userid, "确认签署")
    with runtime.factory() as s:
        stats = compute_stats(s, clock())
    assert stats["pledges_signed"] == 2
    assert stats["pledges_by_department"]["生产一车间"] == {"signed": 2, "in_scope": 3}
    assert stats["pledges_by_department"]["生产二车间"] == {"signed": 0, "in_scope": 3}

    from bot.cli import build_parser

    out = tmp_path / "pledges.xlsx"
    args = build_parser().parse_args(["export", "pledges", str(out)])
    args.settings = runtime.settings
    cli_runtime(runtime)
    assert args.func(args) == 0
    wb = load_workbook(out)
    ws = wb["签署明细"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0][:4] == ["部门", "姓名", "账号", "是否签署"]
    by_user = {r[2]: r for r in rows[1:]}
    assert len(by_user) == 12
    assert by_user["liuyang"][0] == "生产一车间" and by_user["liuyang"][3] == "是"
    assert by_user["liuyang"][4].strftime("%m-%d %H:%M") == "06-05 09:12"
    assert by_user["liuyang"][5:] == [
        "员工",
        "2026.1",
        current_texts()["staff"].short_hash,
        "回复「确认签署」",
    ]
    assert by_user["liqiang"][5] == "部门负责人"
    assert by_user["chenjing"][3] == "否" and by_user["chenjing"][4] is None
    summary = {r[0].value: [c.value for c in r] for r in wb["部门汇总"].iter_rows(min_row=2)}
    assert summary["生产一车间"][1:] == [3, 2, 1, pytest.approx(66.7)]


def test_reminders_skip_rounds_older_than_window(runtime, clock):
    from bot.pledge.rounds import launch

    with transaction(runtime.factory) as s:
        launch(s, "cli", clock(), None, runtime.settings.tz)
    clock.advance(days=10)
    with transaction(runtime.factory) as s:
        assert pledge_reminders(s, runtime, clock()) == "nothing due"

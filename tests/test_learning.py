"""学习任务 in chat: a task assigned to a department, done by two people (one through the link,
已学习 and the check questions; one through the card button without opening), the export,
retried callbacks, several open tasks, and the figures."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.db import transaction
from bot.exports import write_xlsx
from bot.learning import content as learning_content
from bot.learning.export import export_sheets
from bot.learning.tasks import assign
from bot.models import AuditLog, LearningAssignment
from bot.stats import compute_stats

DATA = Path(__file__).resolve().parent / "data" / "learning"
PUBLIC = "https://anquan.example.cn"


@pytest.fixture(autouse=True)
def fixture_items(monkeypatch):
    monkeypatch.setattr(learning_content, "learning_dir", lambda: DATA)


@pytest.fixture
def settings(db_url, fake, make_settings_for):
    return make_settings_for(db_url, fake, public_url=PUBLIC)


def assign_task(runtime, clock, **kw):
    values = dict(
        title="学习全员安全生产责任制",
        item_id="test-duty",
        departments=[3],
        due=date(2026, 6, 12),
        created_by="wangfang",
    )
    values.update(kw)
    with transaction(runtime.factory) as s:
        done = assign(s, now=clock(), tz=runtime.settings.tz, public_url=PUBLIC, **values)
        task_id = done.task.id
    runtime.sender.drain()
    return task_id


def cards_for(fake, userid):
    return [
        m["template_card"] for m in fake.messages_for(userid) if m["msgtype"] == "template_card"
    ]


def assignment(runtime, task_id, userid) -> LearningAssignment:
    with runtime.factory() as s:
        return s.scalar(
            select(LearningAssignment).where(
                LearningAssignment.task_id == task_id, LearningAssignment.userid == userid
            )
        )


def test_two_people_do_a_task_one_by_link_one_by_card(wecom, runtime, fake, clock, app, tmp_path):
    task_id = assign_task(runtime, clock)
    # Everyone of 生产一车间 (and nobody else) has a card of their own.
    assert cards_for(fake, "zhaolei") == []
    [card] = cards_for(fake, "liuyang")
    assert card["main_title"]["title"] == "学习全员安全生产责任制"
    assert "6月12日前完成" in card["main_title"]["desc"]
    link = card["card_action"]["url"]
    assert link.startswith(PUBLIC + "/l/")
    assert cards_for(fake, "chenjing")[0]["card_action"]["url"] != link

    # 刘洋 opens the link: it records the opening and shows the article on the bot's page.
    client = app.test_client()
    path = urlsplit(link).path
    first = client.get(path)
    assert first.status_code == 302 and "/learn/" in first.headers["Location"]
    page = client.get(first.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "width=device-width" in html
    assert "全员安全生产责任制" in html and "第五十七条" in html and "已学习" in html
    opened = assignment(runtime, task_id, "liuyang").opened_at
    assert opened is not None
    clock.advance(minutes=5)
    client.get(path)  # a second opening keeps the first time
    assert assignment(runtime, task_id, "liuyang").opened_at == opened

    # 学习 lists the open task.
    listing = wecom.text("liuyang", "学习").text
    assert "待完成" in listing and "《学习全员安全生产责任制》" in listing and "已打开" in listing

    # 已学习: confirmed, then the two check questions (a judge question from the bank, then
    # the article's own single-choice one).
    reply = wecom.text("liuyang", "已学习").text
    assert "已确认学习《学习全员安全生产责任制》" in reply
    assert "请回答 2 道检查题" in reply and "第1/2题（判断）" in reply
    assert "还没有打开" not in reply
    assert "正确答案：错" not in (wecom.text("liuyang", "错").text or "")
    reply = wecom.text("liuyang", "Z").text  # not an option: a hint, the question stays
    assert "没看懂您的答案" in reply and "A、B、C" in reply
    reply = wecom.text("liuyang", "选B").text
    assert "回答正确" in reply and "您已完成学习任务" in reply and "答对 2/2 题" in reply
    assert assignment(runtime, task_id, "liuyang").completed_at is not None
    assert "已完成" in wecom.text("liuyang", "学习").text

    # 陈静 confirms with the card button without opening the link: allowed, and recorded.
    mine = assignment(runtime, task_id, "chenjing")
    click = wecom.card_event(
        "chenjing",
        f"learn:done:{mine.id}",
        cards_for(fake, "chenjing")[0]["task_id"],
        card_type="button_interaction",
    )
    assert "已确认学习" in click.text and "还没有打开过学习内容" in click.text
    assert "第1/2题" in click.text
    [update] = fake.updated_cards
    assert update["template_card"]["button_list"][0]["text"] == "已确认学习"
    assert "回答错误，正确答案：错" in wecom.text("chenjing", "对").text
    assert "您已完成学习任务" in wecom.text("chenjing", "2").text
    # Someone else's card button confirms nothing for them.
    other = wecom.card_event(
        "liqiang", f"learn:done:{mine.id}", "learn_x", card_type="button_interaction"
    )
    assert "不是您的学习任务" in other.text

    # The export, opened as an officer would.
    with runtime.factory() as s:
        sheets = export_sheets(s, runtime.settings.tz)
    write_xlsx(tmp_path / "learning.xlsx", sheets)
    wb = load_workbook(tmp_path / "learning.xlsx")
    rows = list(wb["学习明细"].iter_rows(values_only=True))
    header = rows[0]
    by_user = {r[header.index("账号")]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by_user) == {"liqiang", "liuyang", "chenjing"}
    liu, chen, li = by_user["liuyang"], by_user["chenjing"], by_user["liqiang"]
    assert (liu["已打开"], liu["已确认"], liu["已答题"], liu["答对题数"]) == ("是", "是", "是", 2)
    assert liu["确认方式"] == "回复已学习" and liu["完成时间"] is not None
    assert (chen["已打开"], chen["已确认"], chen["已答题"], chen["答对题数"]) == (
        "否",
        "是",
        "是",
        1,
    )
    assert chen["确认方式"] == "卡片按钮"
    assert (li["已打开"], li["已确认"], li["已答题"], li["完成时间"]) == ("否", "否", "否", None)
    summary = list(wb["部门汇总"].iter_rows(values_only=True))
    assert summary[1][2:] == ("生产一车间", 3, 1, 2, 2, 66.7)

    # Figures, participation and points.
    with runtime.factory() as s:
        stats = compute_stats(s, clock())
    assert stats["learning_assigned"] == 3 and stats["learning_completed"] == 2
    points = wecom.text("chenjing", "积分").text
    assert "学习任务（完成）：5 分" in points


def test_retried_callback_confirms_once(wecom, runtime, clock):
    task_id = assign_task(
        runtime, clock, item_id="test-hospital-fire", title="警示教育：长峰医院火灾"
    )
    first = wecom.text("liuyang", "已学习", msg_id="9000001").text
    again = wecom.text("liuyang", "已学习", msg_id="9000001").text
    assert first == again and "已确认学习" in first and "您已完成学习任务" in first
    with runtime.factory() as s:
        confirms = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "learning:confirm")
        )
    assert confirms == 1
    a = assignment(runtime, task_id, "liuyang")
    assert a.confirm_channel == "text" and a.completed_at == a.confirmed_at
    # A second 已学习 (a new message) finds nothing open.
    assert "没有待完成的学习任务" in wecom.text("liuyang", "已学习").text


def test_several_open_tasks_ask_for_a_number(wecom, runtime, clock):
    assign_task(runtime, clock, item_id="test-hospital-fire", title="警示教育：长峰医院火灾")
    assign_task(
        runtime, clock, item_id=None, url="https://pan.example.cn/v/abc", title="观看消防演练视频"
    )
    reply = wecom.text("liuyang", "已学习").text
    assert "2 项学习任务待完成" in reply and "1. 《" in reply and "2. 《" in reply
    assert "请回复 1 到 2" in wecom.text("liuyang", "7").text
    reply = wecom.text("liuyang", "2").text
    assert "已确认学习《观看消防演练视频》" in reply and "还没有打开" in reply
    listing = wecom.text("liuyang", "学习").text
    assert "警示教育：长峰医院火灾" in listing.split("已完成")[0]
    assert "观看消防演练视频" in listing.split("已完成")[1]


def test_link_task_redirects_to_the_organisations_page(runtime, fake, clock, app):
    task_id = assign_task(
        runtime, clock, item_id=None, url="https://weixin.example.cn/s/video", title="观看视频"
    )
    link = cards_for(fake, "chenjing")[0]["card_action"]["url"]
    response = app.test_client().get(urlsplit(link).path)
    assert response.status_code == 302
    assert response.headers["Location"] == "https://weixin.example.cn/s/video"
    assert assignment(runtime, task_id, "chenjing").opened_at is not None
    missing = app.test_client().get("/l/not-a-token")
    assert missing.status_code == 404 and "学习链接无效" in missing.get_data(as_text=True)

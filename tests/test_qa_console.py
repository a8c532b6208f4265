"""The console's 员工提问 page: unanswered questions and WT tickets (open first), answering a
ticket from the console (same effect as chat 回复), CSRF and the audit log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.console.testing import add_account, csrf_from, login
from bot.models import AuditLog, QuestionTicket

SAMPLE = Path(__file__).parent / "data" / "knowledge_sample"
WT = re.compile(r"WT-\d{8}-\d{4}")


@pytest.fixture(autouse=True)
def sample_knowledge(monkeypatch):
    monkeypatch.setenv("SAFETYBOT_KNOWLEDGE_DIR", str(SAMPLE))


@pytest.fixture
def boss(app, runtime, clock):
    add_account(runtime.factory, "boss", now=clock())
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    return client


def test_asked_page_lists_and_answers_tickets(wecom, boss, runtime, fake, app, clock):
    wecom.text("liuyang", "货架倒了压到脚了怎么办，安全帽要换吗")
    first = WT.search(wecom.text("liuyang", "转人工").text).group(0)
    done = WT.search(wecom.text("chenjing", "转人工 叉车电池能在仓库里充电吗").text).group(0)
    wecom.text("wangfang", f"回复 {done} 不能，到充电间充。")
    page = boss.get("/admin/asked").get_data(as_text=True)
    assert "员工提问" in page and "货架倒了压到脚了" in page and "刘洋" in page
    assert page.index(first) < page.index(done)  # open first
    assert "待答复" in page and "已答复" in page and "不能，到充电间充。" in page
    with runtime.factory() as s:
        t = s.scalar(select(QuestionTicket).where(QuestionTicket.ticket == first))
    # Without the CSRF token nothing happens.
    r = boss.post(f"/admin/asked/{t.id}/reply", data={"content": "先冷敷"})
    assert r.status_code in (400, 403)
    token = csrf_from(page)
    r = boss.post(
        f"/admin/asked/{t.id}/reply", data={"content": "先冷敷，再去医务室。", "csrf_token": token}
    )
    assert r.status_code == 302
    runtime.sender.drain()
    told = [m for m in fake.texts_for("liuyang") if first in m]
    assert told == [f"关于您的问题 {first}：\n先冷敷，再去医务室。\n（安全管理部门）"]
    with runtime.factory() as s:
        t = s.get(QuestionTicket, t.id)
        assert (t.status, t.answered_by) == ("answered", "console:boss")
        assert s.scalar(select(AuditLog).where(AuditLog.action == "console:question-reply"))
    assert boss.get("/admin/asked/999999/reply").status_code in (404, 405)


def test_department_heads_do_not_see_the_page(app, runtime, clock):
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    client = app.test_client()
    login(client, "head3")
    assert client.get("/admin/asked").status_code == 403

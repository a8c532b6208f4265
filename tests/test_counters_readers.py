"""Figures read from the counters (person_totals, department_day_counts) after answers given
in chat: a department head's dashboard, 积分's rank line and 排行."""

from __future__ import annotations

from sqlalchemy import update
from test_quiz_flow import _answer_all

from bot.console.testing import add_account, login
from bot.db import transaction
from bot.models import User


def test_branch_dashboard_counts_answers_where_they_were_given(wecom, runtime, app, clock):
    _answer_all(wecom, runtime, "liuyang")  # department 3, all right
    _answer_all(wecom, runtime, "chenjing", correct=False)  # department 3, all wrong
    _answer_all(wecom, runtime, "zhaolei")  # department 4
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    client = app.test_client()
    assert login(client, "head3").status_code == 302
    page = client.get("/admin/").get_data(as_text=True)
    assert "<b>2</b><span>参与人数 / 3 人" in page
    assert "<b>50.0%</b><span>答题正确率（6 题次）" in page
    # Answers stay with the department they were given in when the person moves on.
    with transaction(runtime.factory) as s:
        s.execute(update(User).where(User.userid == "liuyang").values(department_id=4))
    page = client.get("/admin/").get_data(as_text=True)
    assert "答题正确率（6 题次）" in page
    assert "<b>1</b><span>参与人数 / 2 人" in page


def test_points_and_ranking_after_chat_answers(wecom, runtime):
    _answer_all(wecom, runtime, "liuyang")  # 30 points
    _answer_all(wecom, runtime, "chenjing", correct=False)  # 0 points
    _answer_all(wecom, runtime, "zhaolei")  # 30 points
    assert "排名：第 1 名（共 3 人参与）" in wecom.text("liuyang", "积分").text
    assert "排名：第 1 名（共 3 人参与）" in wecom.text("zhaolei", "积分").text
    assert "排名：第 3 名（共 3 人参与）" in wecom.text("chenjing", "积分").text
    reply = wecom.text("wuxia", "排行").text
    assert "共 3 人参与活动" in reply
    assert "1. 刘洋  30 分" in reply and "1. 赵磊  30 分" in reply
    assert "生产一车间  67%（2/3 人）" in reply

"""Issue 13, point 1: adopted suggestions (建议采纳) and completed inspections earn points, each
with its own line in 积分, counted in 排行, the console's 积分排行 and the points export.

Adopting: an officer types 建议 采纳 JY-… [说明] or presses 采纳 on the console's suggestions
page; a second adoption is refused, a retried callback adopts once.
"""

from __future__ import annotations

import re
from io import BytesIO

from inspection_helpers import start, test_checklists  # noqa: F401
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.console.testing import add_account, csrf_from, login
from bot.db import transaction
from bot.models import AuditLog, OutboundMessage, Suggestion, SuggestionReply
from bot.suggestion import adopt

JY = re.compile(r"JY-\d{8}-\d{4}")
OFFICER = "wangfang"


def propose(wecom, userid="liuyang", text="建议 车间门口增设洗眼器"):
    return JY.search(wecom.text(userid, text).text).group(0)


def count(runtime, model, *where):
    with runtime.factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def complete_inspection(wecom):
    """刘洋 inspects 生产一车间 with the 4-item test checklist, every item 合格."""
    assert "已发起第 1 轮" in start(wecom)
    assert "第1/4项" in wecom.text("liuyang", "检查").text
    for _ in range(3):
        wecom.text("liuyang", "合格")
    assert "检查完成" in wecom.text("liuyang", "合格").text


def test_an_adopted_suggestion_earns_points_once(wecom, runtime, fake):
    ticket = propose(wecom)
    # Only officers adopt; a staff member's 建议 采纳 JY-… is refused and records nothing.
    assert "仅限安全管理员" in wecom.text("chenjing", f"建议 采纳 {ticket}").text
    assert count(runtime, Suggestion) == 1
    assert "没有找到" in wecom.text(OFFICER, "建议 采纳 JY-20200101-0009").text

    first = wecom.text(OFFICER, f"建议 采纳 {ticket} 本周安装", msg_id="adopt-1").text
    again = wecom.text(OFFICER, f"建议 采纳 {ticket} 本周安装", msg_id="adopt-1").text
    assert first == again and f"已采纳 {ticket}" in first and "刘洋" in first and "10" in first
    once_more = wecom.text(OFFICER, f"建议 采纳 {ticket}").text
    assert once_more == f"建议 {ticket} 已经采纳过了，不再重复加分。"
    # A retried adoption that got past the message log still finds the column set.
    with transaction(runtime.factory) as s:
        sug = s.scalar(select(Suggestion))
        assert not adopt(s, sug, adopter=OFFICER, adopter_name="王芳", now=sug.adopted_at)
        assert (sug.adopted_by, sug.adopted_at is not None) == (OFFICER, True)
    assert count(runtime, SuggestionReply) == 1  # the note, once
    assert count(runtime, AuditLog, AuditLog.action == "suggestion:adopt") == 1
    assert count(runtime, OutboundMessage, OutboundMessage.source == "suggestion:adopt") == 1
    runtime.sender.drain()
    [notice] = [t for t in fake.texts_for("liuyang") if "已被采纳" in t]
    assert ticket in notice and "获得 10 积分" in notice and "本周安装" in notice
    assert "王芳" in notice

    mine = wecom.text("liuyang", "积分").text
    assert "累计积分：10 分" in mine
    assert "· 建议被采纳：10 分" in mine and "· 完成安全检查：0 分" in mine
    assert "安全建议被采纳，提出人得 10 分" in mine
    assert "已采纳，获得 10 积分" in wecom.text("liuyang", "我的建议").text
    ranking = wecom.text("wuxia", "排行").text
    assert "1. 刘洋  10 分" in ranking


def test_a_completed_inspection_earns_points(wecom, runtime):
    complete_inspection(wecom)
    propose(wecom, "chenjing", "建议 楼梯加装扶手")
    wecom.text(OFFICER, f"建议 采纳 {propose(wecom, 'chenjing', '建议 仓库加装烟感')}")
    mine = wecom.text("liuyang", "积分").text
    assert "累计积分：10 分" in mine
    assert "· 完成安全检查：10 分" in mine and "· 建议被采纳：0 分" in mine
    assert "完成一个部门的安全检查" in mine
    ranking = wecom.text("wuxia", "排行").text
    assert "刘洋  10 分" in ranking and "陈静  10 分" in ranking
    # An unfinished checklist earns nothing: 检查 again finds nothing left, the points stay.
    assert "没有需要完成的安全检查" in wecom.text("liuyang", "检查").text
    assert "累计积分：10 分" in wecom.text("liuyang", "积分").text


def test_console_adopt_button(wecom, runtime, app, clock, fake):
    ticket = propose(wecom)
    add_account(runtime.factory, "boss", now=clock())
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    head = app.test_client()
    assert login(head, "head3").status_code == 302
    head_page = head.get("/admin/suggestions").get_data(as_text=True)
    assert ticket in head_page and ">采纳<" not in head_page
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    page = client.get("/admin/suggestions").get_data(as_text=True)
    assert ">采纳<" in page
    token = csrf_from(page)
    with runtime.factory() as s:
        sid = s.scalar(select(Suggestion.id))
    url = f"/admin/suggestions/{sid}/adopt"
    assert head.post(url, data={"csrf_token": csrf_from(head_page)}).status_code == 403
    assert client.post(url, data={"csrf_token": "x"}).status_code == 400
    assert count(runtime, Suggestion, Suggestion.adopted_at.is_not(None)) == 0
    done = client.post(url, data={"csrf_token": token, "note": "已列入下月计划"})
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"已采纳 {ticket}" in page and ">采纳<" not in page and "已列入下月计划" in page
    again = client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "已经采纳过了" in again.get_data(as_text=True)
    assert count(runtime, AuditLog, AuditLog.action == "console:suggestion-adopt") == 1
    runtime.sender.drain()
    assert [t for t in fake.texts_for("liuyang") if "已被采纳" in t and "已列入下月计划" in t]
    audit_page = client.get("/admin/audit").get_data(as_text=True)
    assert "后台采纳建议" in audit_page
    assert "· 建议被采纳：10 分" in wecom.text("liuyang", "积分").text


def test_points_exports_include_both_sources(wecom, runtime, app, clock, cli_runtime, tmp_path):
    from bot.cli import build_parser

    complete_inspection(wecom)
    wecom.text(OFFICER, f"建议 采纳 {propose(wecom, 'chenjing')}")
    wecom.text(OFFICER, f"建议 采纳 {propose(wecom, 'liuyang', '建议 走廊加装应急灯')}")

    def people(wb):
        rows = list(wb["个人积分"].iter_rows(values_only=True))
        header = list(rows[0])
        return header, {r[1]: dict(zip(header, r, strict=True)) for r in rows[1:]}

    path = tmp_path / "points.xlsx"
    args = build_parser().parse_args(["export", "points", str(path)])
    args.settings = runtime.settings
    cli_runtime(runtime)
    assert args.func(args) == 0
    header, rows = people(load_workbook(path))
    assert "建议被采纳" in header and "完成安全检查" in header
    assert rows["刘洋"]["建议被采纳"] == 10 and rows["刘洋"]["完成安全检查"] == 10
    assert rows["刘洋"]["合计"] == 20 and rows["刘洋"]["名次"] == 1
    assert (rows["陈静"]["建议被采纳"], rows["陈静"]["完成安全检查"], rows["陈静"]["合计"]) == (
        10,
        0,
        10,
    )

    add_account(runtime.factory, "boss", now=clock())
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    html = client.get("/admin/points").get_data(as_text=True)
    assert "建议被采纳" in html and "完成安全检查" in html
    got = client.get("/admin/points.xlsx")
    assert got.status_code == 200
    assert people(load_workbook(BytesIO(got.data))) == (header, rows)

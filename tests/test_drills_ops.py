"""Issue 15: emergency supplies (inspection in chat, reminders once, quantities never negative,
the workbook), the console pages for drills, plans and supplies, the figures and the summary."""

from __future__ import annotations

import json
from datetime import date

import pytest
from cli_helpers import run_cli
from drill_helpers import OFFICER, test_scenarios  # noqa: F401
from openpyxl import load_workbook
from sqlalchemy import select

from bot.console.report import build_summary, write_xlsx
from bot.console.testing import add_account, csrf_from, login
from bot.db import transaction
from bot.drills import supplies
from bot.drills.common import DrillRefused
from bot.models import AuditLog, EmergencyPlan, EmergencySupply, SupplyCheck


def add_supplies(runtime, clock):
    with transaction(runtime.factory) as s:
        for name, n, expires in (("灭火器", 12, date(2026, 6, 20)), ("急救箱", 2, None)):
            supplies.save_supply(
                s,
                name=name,
                quantity_value=n,
                min_quantity=5,
                location="一楼大厅",
                keeper="liuyang",
                interval_days=30,
                expires_on=expires,
                now=clock(),
            )


def test_supplies_inspection_in_chat(wecom, runtime, clock):
    add_supplies(runtime, clock)
    assert "不需要检查" in wecom.text("chenjing", "物资检查").text
    first = wecom.text("liuyang", "物资检查").text
    assert "共 2 项" in first and "第1/2项：灭火器" in first and "登记数量 12" in first
    assert "请回复「正常」「数量 12」" in wecom.text("liuyang", "还行").text
    negative = wecom.text("liuyang", "数量 -3").text
    assert "数量须为不小于 0 的整数" in negative and "第1/2项" in negative
    assert "「灭火器」数量已更新" in wecom.text("liuyang", "数量 10", msg_id="s-1").text
    wecom.text("liuyang", "数量 10", msg_id="s-1")  # a retried callback
    end = wecom.text("liuyang", "损坏").text
    assert "「急救箱」已记为损坏" in end and "物资检查完成，共 2 项" in end
    with runtime.factory() as s:
        assert len(s.scalars(select(SupplyCheck)).all()) == 2
        kit = s.scalar(select(EmergencySupply).where(EmergencySupply.name == "急救箱"))
        assert kit.condition == "damaged"
        assert s.scalar(select(EmergencySupply.quantity).where(EmergencySupply.id == 1)) == 10
    assert "不需要检查" in wecom.text("liuyang", "物资检查").text


def test_supply_reminders_once_and_negative_quantities_refused(runtime, session, clock):
    add_supplies(runtime, clock)
    first = supplies.supply_reminders(session, runtime, clock())
    # expiry (灭火器), low stock (急救箱 2 < 5), inspection due (both, to the keeper)
    assert first == "supply reminders 4"
    assert supplies.supply_reminders(session, runtime, clock()) == "supply reminders 0"
    with pytest.raises(DrillRefused) as exc:
        supplies.save_supply(
            session,
            name="沙袋",
            quantity_value=-1,
            location="",
            keeper=None,
            interval_days=30,
            expires_on=None,
            now=clock(),
        )
    assert "数量须为不小于 0 的整数" in exc.value.text()
    with pytest.raises(DrillRefused):
        supplies.save_supply(
            session,
            name="沙袋",
            quantity_value="2.5",
            location="",
            keeper=None,
            interval_days=30,
            expires_on=None,
            now=clock(),
        )


def test_cli_plans_supplies_export_and_stats(runtime, cli_runtime, tmp_path, capsys, clock):
    assert (
        run_cli(
            runtime,
            cli_runtime,
            "supply",
            "add",
            "灭火器",
            "--quantity",
            "8",
            "--keeper",
            "liuyang",
            "--expires",
            "2026-06-30",
            "--location",
            "=SUM(A1)",
        )
        == 0
    )
    assert run_cli(runtime, cli_runtime, "supply", "add", "沙袋", "--quantity", "-2") == 1
    assert "whole numbers >= 0" in capsys.readouterr().err
    assert (
        run_cli(
            runtime,
            cli_runtime,
            "plan",
            "add",
            "综合应急预案",
            "--kind",
            "综合应急预案",
            "--last-review",
            "2024-05-01",
            "--url",
            "https://pan.example.cn/p.pdf",
        )
        == 0
    )
    assert "next review 2027-05-01" in capsys.readouterr().out
    assert (
        run_cli(
            runtime,
            cli_runtime,
            "plan",
            "add",
            "x",
            "--kind",
            "special",
            "--url",
            "file:///etc/passwd",
        )
        == 1
    )
    assert run_cli(runtime, cli_runtime, "drill", "scenarios") == 0
    assert "office-fire\tfire\t办公楼火灾疏散演练\t4 items" in capsys.readouterr().out
    assert (
        run_cli(
            runtime, cli_runtime, "drill", "desk", "office-fire", "--department", "3", "--no-send"
        )
        == 0
    )
    assert run_cli(runtime, cli_runtime, "drill", "desk", "nope", "--department", "3") == 1
    assert "valid: office-fire, warehouse-flood" in capsys.readouterr().err
    assert (
        run_cli(
            runtime,
            cli_runtime,
            "drill",
            "live",
            "office-fire",
            "--at",
            "2026-06-10 15:00",
            "--place",
            "办公楼",
            "--department",
            "5",
            "--role",
            "command=zhoujie",
            "--plan",
            "1",
            "--no-send",
        )
        == 0
    )
    assert "live drill 2" in capsys.readouterr().out
    out = tmp_path / "supplies.xlsx"
    assert run_cli(runtime, cli_runtime, "export", "supplies", str(out)) == 0
    ws = load_workbook(out)["应急物资"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "物资名称", "数量") and rows[1][1:3] == ("灭火器", 8)
    assert rows[1][4] == "=SUM(A1)" and ws.cell(row=2, column=5).data_type == "s"
    capsys.readouterr()
    assert run_cli(runtime, cli_runtime, "stats", "--json") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["drills"] == 2 and figures["drill_findings"] == 0
    assert figures["plans_due"] == 1 and figures["supplies_expiring"] == 1


def test_console_pages_and_summary(app, wecom, runtime, clock, tmp_path):
    wecom.text(OFFICER, "演练 创建 office-fire 2026-06-05 09:00 办公楼 综合办公室")
    wecom.text(OFFICER, "演练 开始")
    clock.advance(minutes=4)
    wecom.text(OFFICER, "演练 疏散完成")
    wecom.text("zhoujie", "演练 评估")
    for answer in ("5", "4", "二楼灭火器过期"):
        wecom.text("zhoujie", answer)
    add_account(runtime.factory, OFFICER, now=clock())
    client = app.test_client()
    assert login(client, OFFICER).status_code == 302
    page = client.get("/admin/drills").get_data(as_text=True)
    assert "办公楼火灾疏散演练" in page and "4 分 0 秒" in page and "实战演练" in page
    detail = client.get("/admin/drills/1").get_data(as_text=True)
    assert "疏散用时：4 分 0 秒" in detail and "二楼灭火器过期" in detail
    assert "报警是否及时" in detail and "待处理" in detail
    token = csrf_from(detail)
    r = client.post(
        "/admin/drills/findings/1/ticket",
        data={"csrf_token": token, "owner": "zhoujie", "deadline": "2026-06-30"},
    )
    assert r.status_code == 302
    detail = client.get("/admin/drills/1").get_data(as_text=True)
    assert "YH-20260605-0001 已指派" in detail or "YH-20260605-0001" in detail
    # Plans and supplies: create, edit, refusals with a hint, CSRF, audit.
    r = client.post(
        "/admin/plans",
        data={
            "csrf_token": token,
            "title": "火灾专项应急预案",
            "kind": "special",
            "url": "javascript:alert(1)",
        },
    )
    assert "以 http:// 或 https:// 开头" in client.get("/admin/plans").get_data(as_text=True)
    client.post(
        "/admin/plans",
        data={
            "csrf_token": token,
            "title": "火灾专项应急预案",
            "kind": "special",
            "url": "https://pan.example.cn/f.pdf",
        },
    )
    plans_page = client.get("/admin/plans").get_data(as_text=True)
    assert "火灾专项应急预案" in plans_page and "待演练" in plans_page
    client.post(
        "/admin/plans/1",
        data={
            "csrf_token": token,
            "title": "火灾专项应急预案",
            "kind": "special",
            "version": "2026版",
        },
    )
    assert "2026版" in client.get("/admin/plans").get_data(as_text=True)
    assert (
        client.post("/admin/plans", data={"title": "无令牌", "kind": "special"}).status_code == 400
    )
    client.post("/admin/supplies", data={"csrf_token": token, "name": "灭火器", "quantity": "-1"})
    assert "数量须为不小于 0 的整数" in client.get("/admin/supplies").get_data(as_text=True)
    client.post(
        "/admin/supplies",
        data={
            "csrf_token": token,
            "name": "灭火器",
            "quantity": "6",
            "keeper": "liuyang",
            "expires_on": "2026-06-20",
        },
    )
    supplies_page = client.get("/admin/supplies").get_data(as_text=True)
    assert "灭火器" in supplies_page and "即将到期" in supplies_page
    client.post("/admin/supplies/1", data={"csrf_token": token, "name": "灭火器", "quantity": "9"})
    assert client.get("/admin/supplies/1").status_code == 200
    assert client.get("/admin/supplies.xlsx").status_code == 200
    with runtime.factory() as s:
        actions = set(s.scalars(select(AuditLog.action)))
        assert {
            "console:plan-create",
            "console:plan-edit",
            "console:supply-create",
            "console:drill-finding-ticket",
        } <= actions
        assert s.scalar(select(EmergencyPlan.version)) == "2026版"
    # The campaign summary: a drills section in the workbook and on the page.
    with runtime.factory() as s:
        summary = build_summary(s, runtime.settings, clock())
    assert summary["drills"][0]["evacuation"] == "4 分 0 秒"
    path = tmp_path / "summary.xlsx"
    write_xlsx(summary, path)
    ws = load_workbook(path)["应急演练"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][1] == "演练" and rows[1][1] == "办公楼火灾疏散演练"
    assert rows[1][2] == "火灾" and rows[1][6] == "4 分 0 秒" and "二楼灭火器过期" in rows[1][8]
    report = client.get("/admin/report").get_data(as_text=True)
    assert "应急演练" in report and "二楼灭火器过期" in report

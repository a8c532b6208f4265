"""Issue 18, point 1: every console list has 「导出 Excel」, and the workbook holds exactly the
rows the page shows (its filters, the account's departments), built by the same row builder
as `safetybot export …`. The hazard ledger has search, department, status and date filters
and 50 rows a page; its download ignores the paging and keeps the filters."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from console_pages import (
    BULK,
    HEAD,
    HEAD_DEPARTMENT,
    OFFICER,
    client_for,
    download,
    export_url,
    seed_console,
    sheet_rows,
    table_rows,
)
from sqlalchemy import select

from bot.cli import build_parser
from bot.models import AuditLog, HazardReport

TICKET = re.compile(r"YH-\d{8}-\d{4}")


def ledger_pages(client, **filters) -> tuple[list[str], str]:
    """Every ticket the ledger lists with these filters (following the page links), and the
    page's download link."""
    query = urlencode({k: v for k, v in filters.items() if v})
    first = client.get(f"/admin/hazards?{query}").get_data(as_text=True)
    tickets, page, n = [], first, 1
    while True:
        tickets += [row[0] for row in table_rows(page, "hazard-table")]
        n += 1
        if f"page={n}" not in page:
            break
        page = client.get(f"/admin/hazards?{query}&page={n}").get_data(as_text=True)
    return tickets, export_url(first)


def norm(row) -> list:
    """Cells compared as numbers when they are numbers (a workbook reads 40.0 back as 40)."""
    out = []
    for v in row:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(str(v))
    return out


def workbook_tickets(client, url: str) -> list[str]:
    return [row[1] for row in sheet_rows(download(client, url), "隐患台账")]


def test_hazard_ledger_filters_pages_and_downloads_what_it_lists(app, runtime, clock):
    seed_console(runtime, clock)
    tz = runtime.settings.tz
    with runtime.factory() as s:
        hazards = list(s.scalars(select(HazardReport)))
    officer = client_for(app, OFFICER)

    # 58 hazards: 50 on the first page, 8 on the second, page links; the download has all.
    page = officer.get("/admin/hazards").get_data(as_text=True)
    assert len(table_rows(page, "hazard-table")) == 50 and "第 1 / 2 页" in page
    assert 'href="/admin/hazards?page=2"' in page
    second = officer.get("/admin/hazards?page=2").get_data(as_text=True)
    assert len(table_rows(second, "hazard-table")) == len(hazards) - 50 == BULK + 3 - 50
    tickets, url = ledger_pages(officer)
    assert sorted(tickets) == sorted(h.ticket for h in hazards)
    assert sorted(workbook_tickets(officer, url)) == sorted(tickets)

    def local_day(h):
        return h.reported_at.astimezone(tz).date()

    today = clock().astimezone(tz).date()
    one = hazards[10]
    cases = [
        ({"q": "批量隐患1"}, lambda h: "批量隐患1" in h.description),
        ({"q": one.ticket.lower()}, lambda h: h.ticket == one.ticket),
        ({"department": "3"}, lambda h: h.department_id == 3),
        ({"status": hazards[1].status}, lambda h: h.status == hazards[1].status),
        (
            {"since": (today - timedelta(days=3)).isoformat(), "until": today.isoformat()},
            lambda h: today - timedelta(days=3) <= local_day(h) <= today,
        ),
        (
            {"department": "4", "status": "reported", "until": (today - timedelta(2)).isoformat()},
            lambda h: (
                h.department_id == 4
                and h.status == "reported"
                and local_day(h) <= today - timedelta(2)
            ),
        ),
        ({"q": "没有这样的隐患"}, lambda h: False),
    ]
    for filters, wanted in cases:
        expected = sorted(h.ticket for h in hazards if wanted(h))
        listed, url = ledger_pages(officer, **filters)
        assert sorted(listed) == expected, filters
        assert all(f"{k}=" in url for k in filters), url
        assert sorted(workbook_tickets(officer, url)) == expected, filters
    assert len([h for h in hazards if "批量隐患1" in h.description]) == 11

    # The page keeps the filters in its form and its page links.
    page = officer.get("/admin/hazards?department=4&q=批量").get_data(as_text=True)
    assert 'value="批量"' in page and '<option value="4" selected>' in page
    assert "page=2&amp;q=" in page or "q=%E6%89%B9%E9%87%8F&amp;department=4&amp;page=2" in page

    # Downloads are audit-logged, with the filters in words.
    with runtime.factory() as s:
        details = [
            a.detail
            for a in s.scalars(select(AuditLog).where(AuditLog.action == "console:hazard-export"))
        ]
    assert len(details) == 1 + len(cases)
    assert any("含「批量隐患1」" in d for d in details)
    assert any("部门 生产二车间" in d and "状态 " in d for d in details)

    # A department head: only their department, on the page and in the download, whatever
    # the filter asks for.
    head = client_for(app, HEAD)
    listed, url = ledger_pages(head)
    assert sorted(listed) == sorted(h.ticket for h in hazards if h.department_id == 3)
    assert workbook_tickets(head, url) == listed
    assert ledger_pages(head, department="4")[0] == []
    assert workbook_tickets(head, "/admin/hazards.xlsx?department=4") == []
    assert {r[4] for r in sheet_rows(download(head, url), "隐患台账")} == {HEAD_DEPARTMENT}


def test_hazard_export_command_takes_the_same_filters(app, runtime, clock, cli_runtime, tmp_path):
    seed_console(runtime, clock)
    officer = client_for(app, OFFICER)
    listed, _ = ledger_pages(officer, q="批量隐患2", department="4")
    path = tmp_path / "h.xlsx"
    args = build_parser().parse_args(
        ["export", "hazards", str(path), "--search", "批量隐患2", "--department", "4"]
    )
    args.settings = runtime.settings
    cli_runtime(runtime)
    assert args.func(args) == 0
    from openpyxl import load_workbook

    rows = [r[1] for r in load_workbook(path)["隐患台账"].iter_rows(min_row=2, values_only=True)]
    assert sorted(rows) == sorted(listed) and len(rows) == 11


@pytest.mark.parametrize("who", [OFFICER, HEAD])
def test_every_list_page_downloads_the_rows_it_shows(app, runtime, clock, who):
    seeded = seed_console(runtime, clock)
    client = client_for(app, who)
    head = who == HEAD

    def page(url):
        response = client.get(url)
        assert response.status_code == 200, url
        return response.get_data(as_text=True)

    def in_scope(departments):
        if head:
            assert set(departments) <= {HEAD_DEPARTMENT}, departments

    # 责任书: a row per member (signed or not), the summary as the page's completion table.
    html = page("/admin/pledges")
    wb = download(client, export_url(html))
    people, summary = sheet_rows(wb, "签署明细"), sheet_rows(wb, "部门汇总")
    shown = table_rows(html, "pledge-completion")
    assert [[r[0], int(r[1]), int(r[2])] for r in shown] == [
        [d, n, s] for d, n, s, *_ in summary
    ] or sorted((r[0], int(r[1]), int(r[2])) for r in shown) == sorted(
        (d, n, s) for d, n, s, *_ in summary
    )
    assert sum(int(r[1]) for r in shown) == len(people)
    assert sum(1 for p in people if p[3] == "是") == sum(int(r[2]) for r in shown)
    in_scope({p[0] for p in people})
    if head:
        assert sorted(p[1] for p in people) == ["刘洋", "李强", "陈静"]

    # 活动签到: attendance and absentees of the event, each with its own button.
    html = page(f"/admin/events/{seeded['event_id']}")
    came = sheet_rows(download(client, export_url(html)), "签到明细")
    assert sorted(r[1] for r in came) == sorted(r[0] for r in table_rows(html, "attendance-table"))
    in_scope({r[0] for r in came})
    absent = sheet_rows(download(client, export_url(html, "absentees-xlsx")), "未到名单")
    assert sorted(r[1] for r in absent) == sorted(r[0] for r in table_rows(html, "absentee-table"))
    in_scope({r[0] for r in absent})
    assert (len(came), len(absent)) == ((1, 2) if head else (3, 9))

    # 安全建议.
    html = page("/admin/suggestions")
    rows = sheet_rows(download(client, export_url(html)), "安全建议")
    assert sorted(r[0] for r in rows) == sorted(set(re.findall(r"JY-\d{8}-\d{4}", html)))
    in_scope({r[3] for r in rows})
    assert len(rows) == (1 if head else 2)

    # 积分排行: people and departments, as the page's two tables.
    html = page("/admin/points")
    wb = download(client, export_url(html))
    people = sheet_rows(wb, "个人积分")
    assert [norm(r) for r in people] == [norm(r) for r in table_rows(html, "points-people")]
    depts = sheet_rows(wb, "部门排行")
    assert [norm(r) for r in depts] == [norm(r) for r in table_rows(html, "points-departments")]
    in_scope({r[2] for r in people} | {r[1] for r in depts})
    liuyang = next(r for r in people if r[1] == "刘洋")
    # 答题 60, 隐患 20, 学习 0, 建议采纳 0, 完成检查 0, 合计
    assert liuyang[3:9] == [60, 20, 0, 0, 0, 80]
    totals = [r[8] for r in people]
    assert totals == sorted(totals, reverse=True)

    if head:
        # The officers' pages and their downloads refuse a department head.
        for url in ("/admin/audit.xlsx", "/admin/asked.xlsx", "/admin/inspections.xlsx"):
            assert client.get(url).status_code == 403, url
        assert client.get("/admin/learning/export.xlsx").status_code == 403
        return

    # 隐患排查: a row per round and department.
    html = page("/admin/inspections")
    rows = sheet_rows(download(client, export_url(html)), "排查轮次")
    rounds = {int(r[0].lstrip("#")) for r in table_rows(html, "rounds")}
    assert {r[0] for r in rows} == rounds and len(rows) == 3
    assert {r[3] for r in rows} == {"生产一车间", "生产二车间", "综合办公室"}

    # 学习任务: every task, and one task from its own page.
    html = page("/admin/learning")
    rows = sheet_rows(download(client, export_url(html)), "学习明细")
    assert len(rows) == 12 and {r[1] for r in rows} == {"观看消防演练视频"}
    task_id = rows[0][0]
    detail = page(f"/admin/learning/{task_id}")
    assert f"task={task_id}" in export_url(detail)
    assert len(sheet_rows(download(client, export_url(detail)), "学习明细")) == 12

    # 员工提问: both lists; the question typed with a leading = stays text.
    html = page("/admin/asked")
    wb = download(client, export_url(html))
    tickets = sheet_rows(wb, "转人工的提问")
    assert [r[0] for r in tickets] == re.findall(r"<b>(WT-\d{8}-\d{4})</b>", html)
    assert tickets[0][2:4] == ["赵磊", "生产二车间"]
    unanswered = sheet_rows(wb, "没有答上的提问")
    assert [r[2] for r in unanswered] == [r[2] for r in table_rows(html, "unanswered-table")]
    assert unanswered[0][1:3] == ["陈静（生产一车间）", "=叉车能载人吗"]
    assert wb["没有答上的提问"]["C2"].data_type == "s"

    # 操作日志: the whole log (the page shows 50 at a time), newest first, as on the page.
    html = page("/admin/audit")
    rows = sheet_rows(download(client, export_url(html)), "操作日志")
    shown = table_rows(html, "audit-table")
    with runtime.factory() as s:
        total = len(list(s.scalars(select(AuditLog))))
    assert len(rows) == total - 1  # the audit log's own download is recorded after it
    assert len(shown) == min(50, len(rows)) and len(rows) >= 10
    assert [r[1:] for r in rows[:50]] == [r[1:] for r in shown]
    assert [r[0].strftime("%Y-%m-%d %H:%M") for r in rows[:50]] == [r[0] for r in shown]

    # Every download is in the audit log.
    with runtime.factory() as s:
        actions = {a.action for a in s.scalars(select(AuditLog))}
    assert {
        "console:pledge-export",
        "console:event-export",
        "console:event-absentees",
        "console:suggestion-export",
        "console:points-export",
        "console:inspection-export-all",
        "console:learning-export",
        "console:asked-export",
        "console:audit-export",
    } <= actions


def test_new_export_commands_write_the_console_rows(app, runtime, clock, cli_runtime, tmp_path):
    """`safetybot export suggestions|inspections|audit|points|asked` write the same rows as
    the officer's downloads (the same builders)."""
    from openpyxl import load_workbook

    seed_console(runtime, clock)
    officer = client_for(app, OFFICER)
    cli_runtime(runtime)
    pages = {
        "suggestions": ("/admin/suggestions", "安全建议"),
        "inspections": ("/admin/inspections", "排查轮次"),
        "points": ("/admin/points", "个人积分"),
        "asked": ("/admin/asked", "转人工的提问"),
    }
    for what, (url, sheet) in pages.items():
        console = sheet_rows(
            download(officer, export_url(officer.get(url).get_data(as_text=True))), sheet
        )
        path = tmp_path / f"{what}.xlsx"
        args = build_parser().parse_args(["export", what, str(path)])
        args.settings = runtime.settings
        assert args.func(args) == 0, what
        cli = [list(r) for r in load_workbook(path)[sheet].iter_rows(min_row=2, values_only=True)]
        assert cli == console, what
    path = tmp_path / "audit.xlsx"
    args = build_parser().parse_args(["export", "audit", str(path)])
    args.settings = runtime.settings
    assert args.func(args) == 0
    rows = list(load_workbook(path)["操作日志"].iter_rows(min_row=2, values_only=True))
    assert rows and all(not str(r[2]).startswith("console:") for r in rows)

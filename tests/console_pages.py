"""Shared by tests/test_console_exports.py and tests/test_console_names.py: a console with
something on every list page, and reading a page's tables and its 「导出 Excel」 download."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.console.testing import add_account, login, seed_campaign
from bot.db import transaction
from bot.hazard import ledger
from bot.inspection.rounds import start_round
from bot.inspection.templates import templates
from bot.learning.tasks import assign
from bot.models import HazardPoints, HazardReport, QuestionAsked, QuestionTicket

OFFICER = "wangfang"  # a safety officer, console admin
HEAD = "liqiang"  # head of 生产一车间 (department 3), a department-head account
HEAD_DEPARTMENT = "生产一车间"
BULK = 55  # extra hazards in 生产二车间, so the ledger has two pages


def seed_console(runtime, clock) -> dict:
    """The sample campaign plus: 55 more hazards over five days, a learning task for everyone,
    an inspection round in two departments, asked questions, hazard points; both accounts."""
    now = clock()
    with transaction(runtime.factory) as s:
        seeded = seed_campaign(s, runtime.settings, now)
        for i in range(BULK):
            ledger.create_report(
                s,
                runtime.settings,
                reporter="huangli",
                department_id=4,
                description=f"批量隐患{i}：货架歪斜",
                category="fire",
                location="",
                latitude=None,
                longitude=None,
                photos=[],
                now=now - timedelta(days=i % 5),
            )
        assign(
            s,
            title="观看消防演练视频",
            due=seeded["today"] + timedelta(days=7),
            created_by="console:wangfang",
            now=now,
            tz=runtime.settings.tz,
            public_url=runtime.settings.public_url or "http://127.0.0.1",
            url="https://pan.example.cn/v",
        )
        template = next(iter(templates()))
        start_round(
            s,
            template_id=template,
            assignments=[(3, "liuyang"), (4, "zhaolei")],
            due=seeded["today"] + timedelta(days=5),
            actor="console:wangfang",
            now=now,
            today=seeded["today"],
        )
        start_round(
            s,
            template_id=template,
            assignments=[(5, "wuxia")],
            due=seeded["today"] + timedelta(days=6),
            actor="console:wangfang",
            now=now,
            today=seeded["today"],
        )
        s.add(
            QuestionAsked(
                userid="chenjing",
                asked_at=now,
                text="=叉车能载人吗",
                best_id=None,
                score=0.1,
                outcome="unsure",
            )
        )
        s.add(
            QuestionTicket(
                ticket=f"WT-{seeded['today']:%Y%m%d}-0001",
                asker="zhaolei",
                department_id=4,
                question="配电箱多久检查一次",
                best_id=None,
                score=0.2,
                created_at=now,
            )
        )
        s.flush()
        first = s.scalar(select(func.min(HazardReport.id)))
        s.add(
            HazardPoints(
                userid="liuyang", hazard_id=first, reason="verified", points=20, awarded_at=now
            )
        )
    add_account(runtime.factory, OFFICER, now=now)
    add_account(runtime.factory, HEAD, role="department_head", departments=[3], now=now)
    return seeded


def client_for(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


_TAG = re.compile(r"<[^>]+>")


def cell_text(fragment: str) -> str:
    return html.unescape(_TAG.sub("", fragment)).strip()


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The body rows of the table with this id, as cell texts (empty-list rows left out)."""
    m = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', page, re.S)
    assert m, f"no table #{table_id}"
    body = m.group(1).split("</thead>")[-1]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        if 'class="empty"' in row:
            continue
        rows.append([cell_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)])
    return rows


def export_url(page: str, link_id: str = "export-xlsx") -> str:
    """The href of the page's 「导出 Excel」 button."""
    m = re.search(rf'<a href="([^"]+)" id="{link_id}"[^>]*>导出 Excel</a>', page)
    assert m, f"no 导出 Excel button #{link_id}"
    return html.unescape(m.group(1))


def download(client, url: str):
    """The workbook behind a download link (status and content type checked)."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert "spreadsheetml" in response.content_type, url
    assert "attachment" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.get_data()))


def sheet_rows(wb, title: str) -> list[list]:
    """The rows under the header of a sheet."""
    return [list(r) for r in wb[title].iter_rows(min_row=2, values_only=True)]

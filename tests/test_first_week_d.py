"""Issue 13, item 6: no English in the Chinese interface (items 16 and 17 are in
tests/test_question_forms.py and tests/test_hazard_export_photos.py).

Item 6 scans every surface a person reads (reply templates, every console page found through
the Flask url_map, the exports, a chat transcript) for ASCII words outside a small allow list
(tests/ascii_words.py), so pages and replies added later are covered without editing this file.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from ascii_words import english_words, template_strings, visible_text, without_placeholders
from cli_helpers import run_cli
from flask import url_for
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from bot.console.testing import add_account, csrf_from, login, seed_campaign
from bot.content import texts
from bot.db import transaction
from bot.models import CapAlert, HazardReport, Question

TICKET = re.compile(r"YH-\d{8}-\d{4}")
PNG = b"\x89PNG\r\n\x1a\n" + b"first-week-d" * 10
OFFICER = "wangfang"  # a safety officer in the seeded directory, and the console admin here
HEAD = "liqiang"  # head of 生产一车间, a department-head console account
# Reply-template keys that are lists of keys for code, not text for people.
NOT_TEXT = {"warning.stats_order"}
# Messages of `safetybot knowledge check` for whoever edits content/knowledge: they name the
# YAML fields to fix (theme, entries, alternatives), which are English in the file itself.
FOR_CONTENT_EDITORS = ("knowledge.check.",)


# -- item 6 (a): reply templates ------------------------------------------------------------------
def test_no_reply_template_has_english_words():
    found = {}
    for key, template in template_strings(texts.data):
        if key.split("[")[0] in NOT_TEXT or key.startswith(FOR_CONTENT_EDITORS):
            continue
        words = english_words(without_placeholders(template))
        if words:
            found[key] = words

    assert found == {}


# -- item 6 (b): every console page --------------------------------------------------------------
def seeded_console(app, runtime, wecom, fake, clock):
    """A console with something on every page: the sample campaign, a hazard with photos that
    the console assigned, a CAP alert waiting, a broadcast, audit rows; logged in as admin."""
    with transaction(runtime.factory) as s:
        seeded = seed_campaign(s, runtime.settings, clock())
        s.add(
            CapAlert(
                identifier="cap-1",
                sender="cma",
                received_at=clock(),
                event="暴雨",
                severity="Moderate",
                urgency="Expected",
                certainty="Likely",
                headline="市气象台发布暴雨黄色预警",
                area_desc="本市",
                hazard="rainstorm",
                level="yellow",
                status="pending",
            )
        )
    fake.add_media("scan-1", PNG)
    fake.add_media("scan-2", PNG + b"2")
    wecom.text("liuyang", "隐患 配电房门口堆放纸箱")
    wecom.image("liuyang", "scan-1")
    wecom.image("liuyang", "scan-2")
    wecom.text("liuyang", "好了")
    wecom.text("liuyang", "跳过")
    ticket = TICKET.search(wecom.text("liuyang", "2").text).group(0)
    add_account(runtime.factory, OFFICER, now=clock())
    add_account(runtime.factory, HEAD, role="department_head", departments=[3], now=clock())
    client = app.test_client()
    assert login(client, OFFICER).status_code == 302
    token = csrf_from(client.get("/admin/").get_data(as_text=True))
    deadline = (clock() + timedelta(days=7)).date().isoformat()
    client.post(
        f"/admin/hazards/{ticket}/assign",
        data={"csrf_token": token, "owner": "xuhao", "deadline": deadline},
    )
    wecom.text(OFFICER, "广播 本周五下午三点消防疏散演练")
    wecom.text(OFFICER, "确认")
    wecom.text(OFFICER, "预警 暴雨 橙色 注意防范")
    wecom.text(OFFICER, "确认")
    wecom.text(OFFICER, f"征集 发起 我身边的安全 都 {deadline}")
    wecom.text("chenjing", "征文 " + "班前讲安全，班中查隐患，班后做总结，安全生产人人有责。" * 2)
    wecom.text("zhaolei", "随手拍 配电箱上锁挂牌")
    with runtime.factory() as s:
        photo_id = s.scalar(select(HazardReport).where(HazardReport.ticket == ticket)).photos[0].id
        qid = s.scalars(select(Question.id).order_by(Question.id)).first()
    values = {
        "ticket": ticket,
        "event_id": seeded["event_id"],
        "qid": qid,
        "photo_id": photo_id,
    }
    return client, values


def console_gets(app, values):
    """(endpoint, url) of every console GET page: those without parameters, and those whose
    parameters the seeded console has a value for. A new page is scanned the day it exists."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("console.") or "GET" not in rule.methods:
            continue
        if rule.endpoint == "console.static" or rule.endpoint == "console.logout":
            continue
        args = {}
        for name in rule.arguments:
            if name in values:
                args[name] = values[name]
            elif isinstance(rule._converters[name], IntegerConverter):
                args[name] = 1  # the first row of whatever a new page shows
            else:
                break
        else:
            with app.test_request_context():
                yield rule.endpoint, url_for(rule.endpoint, **args)


def scan_response(response) -> list[str]:
    kind = response.content_type or ""
    if kind.startswith("text/html") or kind.startswith("text/plain"):
        return english_words(visible_text(response.get_data(as_text=True)))
    if "spreadsheetml" in kind:
        return workbook_words(io.BytesIO(response.get_data()))
    if kind.startswith("text/csv"):
        return csv_words(response.get_data(as_text=True))
    return []  # photos, QR images


def workbook_words(source) -> list[str]:
    wb = load_workbook(source)
    words = []
    for ws in wb.worksheets:
        words += english_words(ws.title)
        for row in ws.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    words += english_words(value)
    return words


def csv_words(text: str) -> list[str]:
    return [w for row in csv.reader(io.StringIO(text)) for cell in row for w in english_words(cell)]


def test_no_console_page_has_english_words(app, runtime, wecom, fake, clock):
    client, values = seeded_console(app, runtime, wecom, fake, clock)
    found, seen = {}, set()
    for endpoint, url in console_gets(app, values):
        response = client.get(url)
        assert response.status_code < 500, url
        seen.add(endpoint)
        if words := scan_response(response):
            found[url] = words
    assert {"console.dashboard", "console.hazard_detail", "console.audit_log"} <= seen
    assert {"console.event_detail", "console.question_edit", "console.broadcast"} <= seen

    # The error pages: not found, refused (a department head on an officer's page), CSRF.
    errors = {
        "404 record": client.get("/admin/hazards/YH-20990101-9999"),
        "404 page": client.get("/admin/no-such-page"),
        "400 csrf": client.post("/admin/broadcast", data={"text": "无令牌"}),
    }
    head = app.test_client()
    assert login(head, HEAD).status_code == 302
    errors["403"] = head.get("/admin/audit")
    for name, response in errors.items():
        assert response.status_code == int(name[:3]), name
        assert "出错了" in response.get_data(as_text=True), name
        if words := scan_response(response):
            found[name] = words
    assert "请刷新页面" in errors["400 csrf"].get_data(as_text=True)
    assert found == {}


# -- item 6 (c): the exports ----------------------------------------------------------------------
def test_no_export_has_english_words(app, runtime, wecom, fake, clock, cli_runtime, tmp_path):
    seeded_console(app, runtime, wecom, fake, clock)
    files = {
        "hazards": ("export", "hazards", tmp_path / "h.xlsx"),
        "pledges": ("export", "pledges", tmp_path / "p.xlsx"),
        "attendance": ("export", "attendance", "246810", tmp_path / "a.xlsx"),
        "questions.xlsx": ("questions", "export", tmp_path / "q.xlsx"),
        "questions.csv": ("questions", "export", tmp_path / "q.csv"),
        "template": ("questions", "template", tmp_path / "t.xlsx"),
        "report": ("report", tmp_path / "r.xlsx"),
        "submissions": ("export", "submissions", tmp_path / "s.xlsx"),
    }
    found = {}
    for name, argv in files.items():
        assert run_cli(runtime, cli_runtime, *map(str, argv)) == 0, name
        path = argv[-1]
        words = csv_words(path.read_text("utf-8-sig")) if path.suffix == ".csv" else None
        words = words if words is not None else workbook_words(path)
        if words:
            found[name] = words
    assert found == {}


# -- item 6 (d): a chat transcript of the main commands -----------------------------------------------
CARD_TEXT = {"content", "title", "desc", "text", "sub_title_text", "keyname", "value"}


def visible_strings(node, key: str = ""):
    """The strings of a message body a person sees (texts, card titles, buttons, options)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from visible_strings(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from visible_strings(v, key)
    elif isinstance(node, str) and key in CARD_TEXT:
        yield node


STAFF_WALK = [
    "帮助",
    "你好",
    "答题",
    "A",
    "结束",
    "积分",
    "排行",
    "练习",
    "结束",
    "练习 危险化学品",
    "结束",
    "错题",
    "责任书",
    "确认签署",
    "我的签署",
    "打卡",
    "活动",
    "签到 246810",
    "隐患",
    "楼梯扶手松动",
    "跳过",
    "跳过",
    "3",
    "我的隐患",
    "建议 叉车通道加装凸面镜",
    "我的建议",
    "竞赛",
    "问卷",
    "随便说点什么",
    "预警",
    "征集",
    "征文 太短",
    "随手拍 楼道整洁",
    "好了",
    "我的投稿",
    "投票",
]
OFFICER_WALK = [
    "统计",
    "隐患 列表",
    "隐患",
    "活动 创建",
    "竞赛 创建",
    "预警",
    "预警 暴雨 橙色 注意防范",
    "确认",
    "广播 本周五下午三点消防疏散演练",
    "确认",
    "预警 待审",
    "撤回",
    "回复",
    "征集 发起 我身边的安全 都 6月20日",
    "征集 发起",
]


def test_no_chat_reply_has_english_words(app, runtime, wecom, fake, clock):
    with transaction(runtime.factory) as s:
        seed_campaign(s, runtime.settings, clock())
    replies = []
    for userid, walk in (("liuyang", STAFF_WALK), (OFFICER, OFFICER_WALK)):
        for text in walk:
            replies.append((text, wecom.text(userid, text).text or ""))
    runtime.sender.drain()
    found = {}
    for said, reply in replies:
        if words := english_words(reply):
            found[f"reply to {said}"] = words
    for userid in ("liuyang", OFFICER, "chenjing", "zhaolei"):
        for body in fake.messages_for(userid):
            for text in visible_strings(body):
                if words := english_words(text):
                    found.setdefault(f"pushed to {userid}", []).extend(words)
    assert len(replies) == len(STAFF_WALK) + len(OFFICER_WALK)
    assert sum(bool(r) for _, r in replies) > 30  # the walk was answered, not silent
    assert found == {}


# -- item 6: the places named in the issue ------------------------------------------------------------
def test_history_audit_and_cap_show_names_local_times_and_chinese(app, runtime, wecom, fake, clock):
    client, values = seeded_console(app, runtime, wecom, fake, clock)
    page = visible_text(client.get(f"/admin/hazards/{values['ticket']}").get_data(as_text=True))
    assert "王芳（安全环保部，管理后台）" in page and "责任人：徐浩" in page
    assert "console:" not in page and "xuhao" not in page
    # Logged in at 09:00 Shanghai (01:00 UTC): the audit log reads 09:00.
    audit = visible_text(client.get("/admin/audit").get_data(as_text=True))
    assert f"{clock().astimezone(runtime.settings.tz):%Y-%m-%d %H:%M}" in audit
    assert "01:00" not in audit and "登录后台" in audit and "后台指派隐患" in audit
    broadcast = visible_text(client.get("/admin/broadcast").get_data(as_text=True))
    assert "较重" in broadcast and "Moderate" not in broadcast
    assert "【较重】" in wecom.text(OFFICER, "预警 待审").text
    practice = wecom.text("liuyang", "练习 危险化学品").text
    assert "危险化学品安全" in practice and "chemicals" not in practice

"""征文 / 随手拍 for the officer: the CLI (open, list, export, stats --json), the console pages
(open, review with photo thumbnails, reject with a reason, results, export, dashboard and the
campaign summary), and the demo's open contest."""

from __future__ import annotations

import json
import threading
import time

from openpyxl import load_workbook
from sqlalchemy import select

from bot.cli import main
from bot.console.testing import add_account, csrf_from, login
from bot.db import transaction
from bot.models import AuditLog, Submission
from bot.submissions.voting import tick

ESSAY = (
    "征文 安全生产人人有责，我们班组坚持每天班前讲安全、班中查隐患、班后做总结，三年没有发生事故。"
)


def run(argv, capsys) -> tuple[int, list[str]]:
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, [line for line in (out + err).splitlines() if line.strip()]


def test_cli_open_list_export_and_stats(
    runtime, cli_runtime, capsys, tmp_path, wecom, fake, monkeypatch
):
    cli_runtime(runtime)
    # Read-only commands check that the configured database exists: point it at the test's.
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    status, lines = run(
        ["submissions", "open", "我身边的安全", "--kind", "both", "--until", "2026-06-10"], capsys
    )
    assert status == 0
    assert (
        lines[0]
        == "contest 1: both, entries until 2026-06-10, votes until 2026-06-13; 12 members told"
    )
    assert any("活动开始啦" in t for t in fake.texts_for("sunyu"))
    wecom.text("liuyang", ESSAY)
    wecom.text("chenjing", "征文 =1+1 " + ESSAY[3:])
    status, lines = run(["submissions", "list"], capsys)
    assert status == 0 and "2 entries, 0 accepted, 0 votes" in lines[0]
    status, lines = run(["stats", "--json"], capsys)
    figures = json.loads("\n".join(lines))
    assert (figures["submissions"], figures["votes"]) == (2, 0)
    status, lines = run(["export", "submissions", str(tmp_path / "s.xlsx")], capsys)
    assert status == 0 and lines == [f"wrote 2 entries to {tmp_path / 's.xlsx'}"]
    sheet = load_workbook(tmp_path / "s.xlsx")["投稿明细"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=3, column=header.index("内容") + 1)
    assert cell.value.startswith("=1+1") and cell.data_type == "s"
    # 统计 shows the figures with Chinese labels.
    text = wecom.text("wangfang", "统计").text
    assert "征文和随手拍投稿：2 件" in text and "征集活动投票：0 票" in text


def test_console_opens_reviews_rejects_and_shows_results(
    app, runtime, clock, fake, wecom, tmp_path
):
    add_account(runtime.factory, "boss", now=clock())
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    page = client.get("/admin/submissions").get_data(as_text=True)
    assert "发起征集活动" in page and "尚未发起征集活动" in page
    token = csrf_from(page)
    form = {"csrf_token": token, "theme": "安全随手拍", "kind": "photo", "until": "2026-06-10"}
    assert (
        client.post("/admin/submissions/open", data={**form, "csrf_token": "x"}).status_code == 400
    )
    bad = client.post("/admin/submissions/open", data={**form, "until": "2026-06-01"})
    assert "已经过去" in client.get(bad.headers["Location"]).get_data(as_text=True)
    created = client.post("/admin/submissions/open", data=form)
    assert created.status_code == 302
    detail_url = created.headers["Location"]
    assert "已通知 12 人" in client.get(detail_url).get_data(as_text=True)

    fake.add_media("p1", b"\x89PNG-p1", "image/png")
    wecom.text("liuyang", "随手拍 班组安全角")
    wecom.image("liuyang", "p1")
    wecom.text("zhaolei", "随手拍 消防通道畅通")
    detail = client.get(detail_url).get_data(as_text=True)
    assert "班组安全角" in detail and "消防通道畅通" in detail and "待审核" in detail
    assert "/admin/submissions/photos/" in detail
    photo_url = detail.split('src="')[1].split('"')[0]
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo.data == b"\x89PNG-p1"
    with runtime.factory() as s:
        liu, zhao = list(s.scalars(select(Submission).order_by(Submission.id)))
    review = f"/admin/submissions/entries/{zhao.id}/review"
    nothing = client.post(review, data={"csrf_token": token, "decision": "reject"})
    assert "请填写原因" in client.get(nothing.headers["Location"]).get_data(as_text=True)
    client.post(
        review, data={"csrf_token": token, "decision": "reject", "reason": "照片没有发上来"}
    )
    client.post(
        f"/admin/submissions/entries/{liu.id}/review",
        data={"csrf_token": token, "decision": "accept"},
    )
    runtime.sender.drain()
    [notice] = [t for t in fake.texts_for("zhaolei") if "未通过审核" in t]
    assert "原因：照片没有发上来" in notice
    detail = client.get(detail_url).get_data(as_text=True)
    assert "已入围" in detail and "未通过（照片没有发上来）" in detail

    # Voting, results on the page, the dashboard and the summary.
    clock.set_local("2026-06-11 08:00")
    with transaction(runtime.factory) as s:
        tick(s, runtime, clock())
    wecom.text("sunyu", "投票 1")
    clock.set_local("2026-06-14 08:00")
    with transaction(runtime.factory) as s:
        assert "results for 1" in tick(s, runtime, clock())
    login(client, "boss")  # three days later: a new console session
    detail = client.get(detail_url).get_data(as_text=True)
    assert "评选结果" in detail and "结果已于" in detail and "刘洋" in detail
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "征文和随手拍评选" in dashboard and "第1名 刘洋（生产一车间）1票" in dashboard
    report = client.get("/admin/report").get_data(as_text=True)
    assert "九、安全征文与安全随手拍" in report and "第1名 刘洋（生产一车间）1票" in report
    (tmp_path / "r.xlsx").write_bytes(client.get("/admin/report.xlsx").data)
    row = [c.value for c in load_workbook(tmp_path / "r.xlsx")["征文和随手拍"][2]]
    assert row[0] == "安全随手拍" and row[4:] == [2, 1, 1, "第1名 刘洋（生产一车间）1票"]
    download = client.get("/admin/submissions/export.xlsx?contest=1")
    (tmp_path / "c.xlsx").write_bytes(download.data)
    assert load_workbook(tmp_path / "c.xlsx")["评选结果"].max_row == 2
    with runtime.factory() as s:
        actions = {a.action for a in s.scalars(select(AuditLog))}
    assert {
        "console:submissions-open",
        "console:submissions-accept",
        "console:submissions-reject",
        "console:submissions-export",
    } <= actions
    head = app.test_client()
    login(head, "head3")
    assert head.get("/admin/submissions").status_code == 403
    assert head.get(photo_url).status_code == 403


def test_demo_has_an_open_contest(tmp_path):
    import requests

    from bot.demo.run import start_demo

    demo = start_demo(port=0, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    thread = threading.Thread(target=demo.server.run, daemon=True)
    thread.start()
    try:
        with demo.runtime.factory() as s:
            from bot.submissions.contests import current

            now = demo.runtime.clock()
            running = current(s, now, demo.runtime.settings.tz, "submitting")
        assert running and running[0].kind == "both"
        # The demo's people were told, and an essay is taken.
        told = False
        for _ in range(50):
            msgs = requests.get(
                demo.base_url + "/demo/api/messages", params={"user": "liuyang"}, timeout=5
            ).json()
            told = any(
                "活动开始啦" in (m["body"].get("text") or {}).get("content", "") for m in msgs
            )
            if told:
                break
            time.sleep(0.1)
        assert told
    finally:
        demo.stop()
        thread.join(timeout=5)

"""The admin console in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Skipped when Chromium or Playwright is missing, unless SAFETYBOT_REQUIRE_BROWSER=1 (CI),
when that is a failure. A screenshot of each page is kept in test-artifacts/.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.console.testing import PASSWORD, add_account, seed_campaign
from bot.db import transaction
from bot.models import HazardReport, Question

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


@pytest.fixture
def db_url(sqlite_url):
    """One database is enough here: the console's SQL runs on both in tests/test_console.py."""
    return sqlite_url


@pytest.fixture
def browser():
    reason = _browser_missing()
    if reason:
        if os.environ.get("SAFETYBOT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser required but unavailable: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def server(runtime, clock):
    from werkzeug.serving import make_server

    with transaction(runtime.factory) as s:
        seed = seed_campaign(s, runtime.settings, clock())
    add_account(runtime.factory, "officer", role="safety_officer", now=clock())
    app = create_app(runtime=runtime)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}", seed
    srv.shutdown()
    thread.join(timeout=5)


def test_console_in_a_real_browser(browser, server, runtime, tmp_path):
    base, seed = server
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.set_default_timeout(15000)

    # Not logged in: the console sends us to the login page.
    page.goto(base + "/admin/")
    assert "/admin/login" in page.url
    page.fill("#username", "officer")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(base + "/admin/")

    # The dashboard's charts are drawn, with local assets only, and have a size.
    for chart in (
        "chart-participation",
        "chart-checkins",
        "chart-pledges",
        "chart-quiz",
        "chart-hazards",
    ):
        box = page.locator(f"#{chart}").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, chart
    bars = page.locator("#chart-quiz rect.bar")
    assert bars.count() >= 2
    assert max(bars.nth(i).bounding_box()["width"] for i in range(bars.count())) > 10
    assert page.locator("#hazard-table tr.overdue").count() == 1
    page.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)

    # Assign a hazard and move it through every status to closed.
    ticket = seed["hazards"][0]
    page.goto(f"{base}/admin/hazards/{ticket}")
    page.select_option("#owner", "chenjing")
    page.fill("#deadline", (seed["today"] + timedelta(days=5)).isoformat())
    page.click("#assign")
    page.wait_for_selector("text=已指派给 陈静（生产一车间）")
    assert page.inner_text("#hazard-owner").startswith("陈静")
    page.click("#action-start")
    page.wait_for_selector("#action-finish")
    page.fill("#note-finish", "纸箱已清理，通道畅通")
    page.click("#action-finish")
    page.wait_for_selector("#action-verify").click()
    page.wait_for_selector("#action-close").click()
    page.wait_for_selector("text=状态已更新为「已销号」")
    assert page.inner_text("#hazard-status") == "已销号"
    page.screenshot(path=str(ARTIFACTS / "console-hazard.png"), full_page=True)
    with runtime.factory() as s:
        h = s.scalar(select(HazardReport).where(HazardReport.ticket == ticket))
        assert (h.status, h.owner) == ("closed", "chenjing")

    # Import a question file with one bad row: the error is shown, nothing is imported.
    csv = tmp_path / "questions.csv"
    csv.write_text(
        "id,theme,type,stem,option_a,option_b,option_c,option_d,option_e,option_f,answer,"
        "explanation,source\n"
        "br-001,fire,single,浏览器导入测试题：灭火器压力表指针应在？,红区,绿区,,,,,B,,GB 4351\n"
        "br-002,fire,judge,浏览器导入测试题：这行答案无效,,,,,,,也许,,GB 4351\n",
        encoding="utf-8",
    )
    page.goto(base + "/admin/questions")
    page.set_input_files("#import-file", str(csv))
    page.click("#import")
    errors = page.wait_for_selector("#import-errors")
    assert "第3行" in errors.inner_text() and "判断题答案" in errors.inner_text()
    page.screenshot(path=str(ARTIFACTS / "console-import.png"), full_page=True)
    with runtime.factory() as s:
        assert s.get(Question, "br-001") is None

    # The printable summary draws its charts too.
    page.goto(base + "/admin/report")
    assert page.locator("svg.chart").count() == 5
    page.screenshot(path=str(ARTIFACTS / "console-report.png"), full_page=True)

    # Log out: the console is closed again.
    page.goto(base + "/admin/")
    page.click("#logout")
    page.wait_for_url("**/admin/login")
    page.goto(base + "/admin/hazards")
    assert "/admin/login" in page.url

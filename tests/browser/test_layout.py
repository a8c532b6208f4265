"""Issue 18, items 3 and 4: the console and the demo as people use them in a browser.

At a phone's width (WeCom's in-app browser is about 390×844) and a laptop's (1366×768), no
console page and not the demo page may scroll sideways: charts scale to the width, tables scroll
inside their own box, the demo's member list becomes a drop-down. Every checkbox and radio
button sits on the same line as its own label text, right before it, so a warning cannot go to
the wrong departments because the boxes and the names did not line up.

Every console GET page is found through the Flask url_map (as tests/test_first_week_d.py scans
them for English words, with its seeding), so a page added later is checked the day it exists.
Screenshots go to $SAFETYBOT_SCREENSHOTS (default: <tmp>/safetybot-layout), one per page and
width, for a person to look at.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import pytest
from test_console_browser import ARGS, CHROMIUM, _browser_missing
from test_first_week_d import OFFICER, console_gets, seeded_console

from bot.console.testing import PASSWORD
from bot.db import transaction
from bot.demo.run import demo_learning_task, seed_demo_round

VIEWPORTS = {"phone": (390, 844), "desktop": (1366, 768)}
SHOTS = Path(os.environ.get("SAFETYBOT_SCREENSHOTS", tempfile.gettempdir())) / "safetybot-layout"
# The forms of issue 18 item 4 whose checkboxes pick who receives something.
CHECKBOX_FORMS = {
    "console.broadcast",
    "console.events",
    "console.contests_list",
    "console.learning",
    "console.pledges",
}

# Sideways overflow: the page's width and, to say which element is too wide, the widest
# elements that stick out on the right (elements inside a scrolling box are not counted).
OVERFLOW_JS = """() => {
  const inner = window.innerWidth;
  const clipped = (e) => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > inner + 1 && !clipped(e))
    .slice(0, 5)
    .map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className && e.className.baseVal === undefined
      ? e.className : ''} right=${Math.round(e.getBoundingClientRect().right)}`);
  return {scroll: document.documentElement.scrollWidth, inner, wide};
}"""

# Each visible checkbox or radio button: its box, and the first line of the first text that
# follows it inside its <label> (null when it has no label or no text after it).
CHECKS_JS = """() => [...document.querySelectorAll('input[type=checkbox], input[type=radio]')]
  .filter(i => i.getBoundingClientRect().width > 0)
  .map(i => {
    const rect = (r) => r && {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
    const label = i.closest('label');
    let first = null, text = '';
    if (label) {
      const walk = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        if (!(i.compareDocumentPosition(n) & Node.DOCUMENT_POSITION_FOLLOWING)) continue;
        if (!n.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        const lines = [...range.getClientRects()].filter(r => r.width > 0);
        if (lines.length) { first = lines[0]; text = n.textContent.trim(); break; }
      }
    }
    return {name: i.name, value: i.value, text, box: rect(i.getBoundingClientRect()),
            first: rect(first)};
  })"""


# Table headers that wrap: a column squeezed below the width of its own title (the sign of a
# table forced into a phone's width, one character per line).
SQUEEZED_JS = """() => [...document.querySelectorAll('th')]
  .filter(th => th.getBoundingClientRect().width > 0 && th.textContent.trim())
  .filter(th => {
    const range = document.createRange();
    range.selectNodeContents(th);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
      .map(r => Math.round(r.top)));
    return tops.size > 1;
  })
  .map(th => th.textContent.trim())"""


def misplaced_checks(page) -> list[str]:
    """Checkboxes whose label text is missing, on another line, or not right after the box."""
    bad = []
    for c in page.evaluate(CHECKS_JS):
        where = f"{c['name']}={c['value']}"
        box, first = c["box"], c["first"]
        if first is None:
            bad.append(f"{where}: no label text after the box")
            continue
        box_mid = (box["top"] + box["bottom"]) / 2
        text_mid = (first["top"] + first["bottom"]) / 2
        gap = first["left"] - box["right"]
        if abs(box_mid - text_mid) > 4 or not -1 <= gap <= 14:
            bad.append(
                f"{where} ({c['text']}): centres {box_mid - text_mid:+.0f}px, gap {gap:.0f}px"
            )
    return bad


def overflow(page) -> str | None:
    found = page.evaluate(OVERFLOW_JS)
    if found["scroll"] <= found["inner"]:
        return None
    return f"scrollWidth {found['scroll']} > {found['inner']}: {found['wide']}"


def shot(page, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def db_url(sqlite_url):
    """Layout does not depend on the database: SQLite only."""
    return sqlite_url


@pytest.fixture(scope="module")
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


def serve(app):
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    return srv, thread


def new_page(browser, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
    page.set_default_timeout(15000)
    return page


def test_every_console_page_fits_both_widths_and_checkboxes_sit_by_their_names(
    browser, app, runtime, wecom, fake, clock
):
    client, values = seeded_console(app, runtime, wecom, fake, clock)
    with transaction(runtime.factory) as s:  # the first inspection round and learning task
        seed_demo_round(s, clock(), runtime.settings.tz)
        demo_learning_task(s, runtime)
    pages = []
    for endpoint, url in console_gets(app, values):
        response = client.get(url)
        if response.status_code == 200 and response.content_type.startswith("text/html"):
            pages.append((endpoint, url))
    srv, thread = serve(app)
    base = f"http://127.0.0.1:{srv.server_port}"
    problems: dict[str, str] = {}
    checked: dict[str, set[str]] = {}
    try:
        for size, (width, height) in VIEWPORTS.items():
            page = new_page(browser, width, height)
            # The login page, as everyone meets the console first.
            page.goto(base + "/admin/login")
            if found := overflow(page):
                problems[f"{size} login"] = found
            shot(page, f"{size}-console.login")
            page.fill("#username", OFFICER)
            page.fill("#password", PASSWORD)
            page.click("#login")
            page.wait_for_url(base + "/admin/")
            for endpoint, url in pages + [("console.error", "/admin/no-such-page")]:
                page.goto(base + url)
                if found := overflow(page):
                    problems[f"{size} {url}"] = found
                if squeezed := page.evaluate(SQUEEZED_JS):
                    problems[f"{size} {url} headers wrap"] = "、".join(squeezed)
                if bad := misplaced_checks(page):
                    problems[f"{size} {url} checkboxes"] = "; ".join(bad)
                boxes = page.locator("main input[type=checkbox]:visible").count()
                if boxes:
                    checked.setdefault(size, set()).add(endpoint)
                shot(page, f"{size}-{endpoint}")
            page.close()
    finally:
        srv.shutdown()
        thread.join(timeout=5)

    assert {
        "console.dashboard",
        "console.hazard_detail",
        "console.event_detail",
        "console.inspection_detail",
        "console.learning_detail",
        "console.question_edit",
        "console.report_page",
    } <= {e for e, _ in pages}
    for size in VIEWPORTS:  # the check above was not vacuous for the forms of item 4
        assert checked.get(size, set()) >= CHECKBOX_FORMS, size
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in sorted(problems.items()))


def test_demo_fits_a_phone_and_a_laptop(browser, tmp_path):
    from bot.demo.run import start_demo

    demo = start_demo(port=0, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    thread = threading.Thread(target=demo.server.run, daemon=True)
    thread.start()
    try:
        for size, (width, height) in VIEWPORTS.items():
            page = new_page(browser, width, height)
            page.goto(demo.base_url + "/")
            page.wait_for_selector(".person", state="attached")
            phone = size == "phone"
            # A phone picks the member from a drop-down; a laptop from the list on the left.
            assert page.locator("#people-select").is_visible() == phone
            assert page.locator(".person").first.is_visible() != phone
            if phone:
                page.select_option("#people-select", "liuyang")
            else:
                page.click(".person[data-user=liuyang]")
            assert "刘洋" in page.inner_text("#title")
            page.fill("#text", "帮助")
            page.click("#send")
            # The help reply reads in lines, not one character per line (the log is redrawn
            # every second, so it is measured in one go).
            reply = page.wait_for_function(
                """() => [...document.querySelectorAll('.row.bot .bubble')]
                  .filter(b => b.textContent.includes('答题'))
                  .map(b => b.getBoundingClientRect().width)[0]"""
            ).json_value()
            assert reply > min(0.6 * width, 300), (size, reply)
            page.click("#quick a:text-is('答题')")
            page.wait_for_selector(".card", timeout=15000)
            time.sleep(1.2)  # one polling round, so the page shows what it will show
            assert overflow(page) is None, size
            # The chat scrolls inside its box: the page itself fits the screen's height, so
            # the box to type in stays in view.
            assert page.evaluate("document.documentElement.scrollHeight") <= height, size
            assert page.locator("#text").bounding_box()["y"] < height
            assert misplaced_checks(page) == [], size
            shot(page, f"{size}-demo", full_page=False)  # the chat scrolls, not the page
            page.close()
    finally:
        demo.stop()
        thread.join(timeout=5)

"""Issue 18, points 5, 6 and 1 in Chromium, at a phone's width and a laptop's.

- Point 5: the console's 「用企业微信登录」 goes through WeCom's authorize page (the fake's page
  to pick a member) and back: a department head lands on the dashboard seeing only their
  department; a member without a role gets the Chinese no-access page.
- Point 6: the event's link /checkin/<code> signs the person in silently through WeCom, shows
  the event and one 「签到」 button; the tap records the attendance. An event with a place asks
  the browser's position (granted here) and the distance decides. The poster prints the QR.
- Point 1: the hazard ledger's 「导出 Excel」, with a filter, downloads the filtered rows.

The server is a real thread; SAFETYBOT_PUBLIC_URL is its own address (the socket is bound
before the settings are made, so the links point back at it). Screenshots go where
test_layout.py puts them.
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
import test_layout
from openpyxl import load_workbook
from sqlalchemy import select
from test_layout import VIEWPORTS, overflow, shot

from bot.checkin import events as core
from bot.console.testing import PASSWORD, add_account, seed_campaign
from bot.db import transaction
from bot.models import EventAttendance

SITE = (31.2304, 121.4737)
NEAR = {"latitude": SITE[0] + 0.0005, "longitude": SITE[1]}  # about 56 m north
FAR = {"latitude": SITE[0] + 0.01, "longitude": SITE[1]}  # about 1.1 km north
browser = test_layout.browser  # one Chromium for the module, as test_layout starts it


@pytest.fixture
def db_url(sqlite_url):
    """The pages' SQL runs on both databases in tests/test_wecom_sso.py and friends."""
    return sqlite_url


@pytest.fixture
def listener():
    """The server's socket, bound first so that the settings can name its address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock
    sock.close()


@pytest.fixture
def settings(db_url, fake, make_settings_for, listener):
    public = f"http://127.0.0.1:{listener.getsockname()[1]}"
    return make_settings_for(db_url, fake, oauth_base=fake.url, public_url=public)


@pytest.fixture
def base(app, listener, runtime):
    from werkzeug.serving import make_server

    port = listener.getsockname()[1]
    srv = make_server("127.0.0.1", port, app, threaded=True, fd=listener.fileno())
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield runtime.settings.public_url
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def new_context(browser, size: str, **options):
    width, height = VIEWPORTS[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", **options
    )
    context.set_default_timeout(15000)
    return context


def make_event(runtime, clock, *, on_site: bool, title: str):
    with transaction(runtime.factory) as s:
        event = core.create_event(
            s,
            kind="drill",
            title=title,
            starts_at=clock() - timedelta(minutes=10),
            ends_at=clock() + timedelta(hours=2),
            created_by="wangfang",
            now=clock(),
            latitude=SITE[0] if on_site else None,
            longitude=SITE[1] if on_site else None,
            radius_m=200 if on_site else None,
            place="一号厂房东侧空地",
        )
        return event.id, event.code


def attendance(runtime, event_id):
    with runtime.factory() as s:
        rows = s.scalars(select(EventAttendance).where(EventAttendance.event_id == event_id))
        return [(r.userid, r.method, r.distance_m) for r in rows]


def sign_in_with_wecom(page, base: str, member: str) -> None:
    """The console's login page → WeCom's authorize page (pick `member`) → back."""
    page.goto(base + "/admin/login")
    page.get_by_role("link", name="用企业微信登录").click()
    page.wait_for_selector("text=以哪位成员的身份打开？")
    assert page.url.startswith(page.url.split("/connect/")[0])  # on the fake WeCom
    page.get_by_role("link", name=member).click()
    page.wait_for_load_state()


def test_sign_in_with_wecom_at_both_widths(browser, base, runtime, clock):
    with transaction(runtime.factory) as s:
        seed_campaign(s, runtime.settings, clock())
    for size in VIEWPORTS:
        context = new_context(browser, size)
        page = context.new_page()
        sign_in_with_wecom(page, base, "李强（liqiang）")
        assert page.url == base + "/admin/"
        assert "李强（部门负责人）" in page.inner_text("header.top")
        hazards = page.inner_text("main")
        assert "一车间消防通道堆放纸箱" in hazards  # department 3, his
        assert "二车间配电箱门未关闭" not in hazards and "仓库叉车通道无反光镜" not in hazards
        assert page.locator("header.top a", has_text="操作日志").count() == 0
        assert overflow(page) is None, size
        shot(page, f"{size}-wecom-signin-dashboard")
        page.goto(base + "/admin/hazards")
        assert "二车间配电箱门未关闭" not in page.inner_text("main")
        context.close()

        # A member without a console role: the Chinese no-access page, not signed in.
        context = new_context(browser, size)
        page = context.new_page()
        sign_in_with_wecom(page, base, "刘洋（liuyang）")
        text = page.inner_text("body")
        assert "没有管理后台权限" in text and "刘洋" in text
        assert page.locator("header.top").count() == 0
        assert overflow(page) is None, size
        shot(page, f"{size}-wecom-signin-refused")
        page.goto(base + "/admin/")
        assert "/admin/login" in page.url
        context.close()


def test_one_scan_checkin_at_both_widths(browser, base, runtime, clock, fake):
    plain_id, plain = make_event(runtime, clock, on_site=False, title="消防应急疏散演练")
    site_id, on_site = make_event(runtime, clock, on_site=True, title="危化品泄漏处置演练")
    who = {"phone": ("liuyang", "刘洋"), "desktop": ("chenjing", "陈静")}
    for size in VIEWPORTS:
        userid, name = who[size]
        fake.state.web.oauth_user = userid  # WeCom knows who opens the link in the app
        context = new_context(browser, size)
        page = context.new_page()

        # The QR's link: off to WeCom and back, silently, to the event and its button.
        page.goto(f"{base}/checkin/{plain}")
        # (The authorize link's #wechat_redirect stays on the address across the redirects.)
        assert page.url.split("#")[0] == f"{base}/checkin/{plain}"
        assert page.inner_text("#title") == "消防应急疏散演练"
        assert page.inner_text("#when") == "6月5日 08:50—11:00"
        assert page.inner_text("#place") == "一号厂房东侧空地"
        assert f"签到人：{name}" in page.inner_text("body")
        button = page.locator("#checkin-button")
        assert button.is_visible() and button.inner_text() == "签到"
        assert overflow(page) is None, size
        shot(page, f"{size}-checkin-page")
        button.click()
        message = page.wait_for_selector("#message.ok").inner_text()
        assert "签到成功！您已于 6月5日 09:00 签到「消防应急疏散演练」" in message
        assert overflow(page) is None, size
        shot(page, f"{size}-checkin-done")
        assert (userid, "scan", None) in attendance(runtime, plain_id)

        # On site: the browser's position, first too far, then near.
        context.grant_permissions(["geolocation"], origin=base)
        context.set_geolocation(FAR)
        page.goto(f"{base}/checkin/{on_site}")
        assert "200 米范围内签到" in page.inner_text("#location-note")
        page.click("#checkin-button")
        far = page.wait_for_selector("#message.error").inner_text()
        assert "超出了 200 米的签到范围" in far, far
        assert page.locator("#checkin-button").is_enabled()
        assert overflow(page) is None, size
        shot(page, f"{size}-checkin-far")
        assert userid not in {r[0] for r in attendance(runtime, site_id)}

        context.set_geolocation(NEAR)
        page.click("#checkin-button")
        done = page.wait_for_selector("#message.ok").inner_text()
        assert "签到成功" in done and "距活动地点约 56 米" in done, done
        [(distance,)] = [(r[2],) for r in attendance(runtime, site_id) if r[0] == userid]
        assert round(distance) == 56
        context.close()
    assert sorted(r[0] for r in attendance(runtime, plain_id)) == ["chenjing", "liuyang"]

    # The printable poster: the QR (of the link) and the code in large print.
    add_account(runtime.factory, "officer", role="safety_officer", now=clock())
    for size in VIEWPORTS:
        context = new_context(browser, size)
        page = context.new_page()
        page.goto(base + "/admin/login")
        page.fill("#username", "officer")
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_url(base + "/admin/")
        page.goto(f"{base}/admin/events/{site_id}/poster")
        qr = page.locator(".qr-wrap svg").bounding_box()
        assert qr and qr["width"] > 150 and abs(qr["width"] - qr["height"]) < 1, qr
        assert page.inner_text("#poster-code") == on_site
        assert page.inner_text("#poster-title") == "危化品泄漏处置演练"
        assert overflow(page) is None, size
        shot(page, f"{size}-checkin-poster")
        context.close()


def test_hazard_export_button_downloads_the_filtered_rows(browser, base, runtime, clock, tmp_path):
    with transaction(runtime.factory) as s:
        seed_campaign(s, runtime.settings, clock())
    add_account(runtime.factory, "officer", role="safety_officer", now=clock())
    for size in VIEWPORTS:
        context = new_context(browser, size, accept_downloads=True)
        page = context.new_page()
        page.goto(base + "/admin/login")
        page.fill("#username", "officer")
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_url(base + "/admin/")
        page.goto(base + "/admin/hazards")
        page.select_option("#hazard-filter select[name=department]", label="生产二车间")
        page.click("#hazard-filter button[type=submit]")
        page.wait_for_url("**department=4**")
        assert page.inner_text("#hazard-count").startswith("共 1 条")
        with page.expect_download() as info:
            page.click("#export-xlsx")
        download = info.value
        assert download.suggested_filename.startswith("hazards-")
        assert download.suggested_filename.endswith(".xlsx")
        saved = tmp_path / f"{size}-{download.suggested_filename}"
        download.save_as(saved)
        ws = load_workbook(saved).active
        rows = [list(row) for row in ws.iter_rows(values_only=True)]
        assert rows[0][:2] == ["序号", "隐患编号"]
        assert len(rows) == 2, rows
        assert "二车间配电箱门未关闭" in rows[1]
        context.close()

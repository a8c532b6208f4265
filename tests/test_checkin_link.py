"""Issue 18, point 6: one-scan check-in. The event's QR code is a link to the bot; opened in
WeCom it signs the person in (web authorisation) and one tap on 「签到」 records them, with the
rules of 「签到 123456」 (open window, once, on site where the event has a place)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from bot.checkin import events as core
from bot.console.qr import checkin_qr
from bot.console.testing import add_account, login
from bot.db import transaction
from bot.models import EventAttendance

PUBLIC = "http://localhost"
SITE = (31.2304, 121.4737)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(db_url, fake, make_settings_for):
    return make_settings_for(db_url, fake, oauth_base=fake.url, public_url=PUBLIC)


def make_event(runtime, clock, *, on_site: bool = False, starts_in=timedelta(minutes=-10)):
    with transaction(runtime.factory) as s:
        event = core.create_event(
            s,
            kind="drill",
            title="消防应急疏散演练",
            starts_at=clock() + starts_in,
            ends_at=clock() + starts_in + timedelta(hours=2),
            created_by="wangfang",
            now=clock(),
            latitude=SITE[0] if on_site else None,
            longitude=SITE[1] if on_site else None,
            radius_m=200 if on_site else None,
            place="一号厂房东侧空地",
        )
        return event.id, event.code


def scan(client, fake, code: str, userid: str):
    """What a phone does after WeCom's scanner opens the QR link: the bot sends it to WeCom's
    authorize link, WeCom comes back with a code, the bot shows the page."""
    response = client.get(f"/checkin/{code}")
    assert response.status_code == 302
    link = response.headers["Location"]
    assert link.startswith(fake.url + "/connect/oauth2/authorize?")
    query = parse_qs(urlsplit(link).query)
    assert query["scope"] == ["snsapi_base"]
    assert query["redirect_uri"] == [f"{PUBLIC}/checkin/signed-in"]
    back = requests.get(
        link.split("#")[0] + f"&userid={userid}", allow_redirects=False, timeout=5
    ).headers["Location"]
    response = client.get(back)
    assert response.status_code == 302 and response.headers["Location"] == f"/checkin/{code}"
    return client.get(f"/checkin/{code}")


def tap(client, code: str, page, **position):
    token = _CSRF.search(page.get_data(as_text=True)).group(1)
    return client.post(f"/checkin/{code}", data={"csrf_token": token, **position})


def rows(runtime, event_id):
    with runtime.factory() as s:
        return list(s.scalars(select(EventAttendance).where(EventAttendance.event_id == event_id)))


def test_one_tap_records_attendance_once(app, runtime, clock, fake):
    event_id, code = make_event(runtime, clock)
    client = app.test_client()
    page = scan(client, fake, code, "liuyang")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "消防应急疏散演练" in text and "一号厂房东侧空地" in text and "6月5日 08:50" in text
    assert 'id="checkin-button"' in text and "签到人：刘洋" in text
    assert "script-src 'nonce-" in page.headers["Content-Security-Policy"]

    done = tap(client, code, page)
    assert done.status_code == 200
    assert "签到成功！您已于 6月5日 09:00 签到「消防应急疏散演练」" in done.get_data(as_text=True)
    # The same form sent again (a double tap, a retried POST): still one row.
    again = tap(client, code, page)
    assert "无需重复签到" in again.get_data(as_text=True)
    assert [(r.userid, r.method) for r in rows(runtime, event_id)] == [("liuyang", "scan")]
    # Opening the link later says so.
    later = client.get(f"/checkin/{code}").get_data(as_text=True)
    assert "您已于 6月5日 09:00 签到「消防应急疏散演练」，无需重复签到" in later
    assert 'id="checkin-button"' not in later


def test_an_event_on_site_checks_the_position(app, runtime, clock, fake):
    event_id, code = make_event(runtime, clock, on_site=True)
    client = app.test_client()
    page = scan(client, fake, code, "zhaolei")
    assert "200 米范围内签到" in page.get_data(as_text=True)

    no_position = tap(client, code, page)
    assert no_position.status_code == 400
    assert "请允许获取位置" in no_position.get_data(as_text=True)
    far = tap(client, code, page, latitude=str(SITE[0] + 0.01), longitude=str(SITE[1]))
    assert "超出了 200 米的签到范围" in far.get_data(as_text=True)
    assert rows(runtime, event_id) == []

    near = tap(client, code, page, latitude=str(SITE[0] + 0.0005), longitude=str(SITE[1]))
    assert "签到成功" in near.get_data(as_text=True) and "距活动地点约 56 米" in near.get_data(
        as_text=True
    )
    [row] = rows(runtime, event_id)
    assert (row.userid, row.method, round(row.distance_m)) == ("zhaolei", "scan", 56)


def test_wrong_closed_and_forged_requests(app, runtime, clock, fake):
    _, later_code = make_event(runtime, clock, starts_in=timedelta(hours=5))
    event_id, code = make_event(runtime, clock)
    client = app.test_client()
    page = scan(client, fake, later_code, "chenjing")
    assert page.status_code == 404
    assert "签到码不正确或当前不在签到时间内" in page.get_data(as_text=True)
    assert "消防应急疏散演练" not in page.get_data(as_text=True)  # guessing reveals no title

    assert client.post(f"/checkin/{code}", data={"csrf_token": "forged"}).status_code == 400
    stranger = app.test_client()  # not signed in: back to the page (and so to WeCom)
    assert stranger.post(f"/checkin/{code}", data={}).status_code == 303
    assert rows(runtime, event_id) == []


def test_the_typed_code_keeps_working(app, runtime, clock, fake, wecom):
    event_id, code = make_event(runtime, clock)
    assert "签到" in wecom.text("huangli", f"签到 {code}").text
    assert [(r.userid, r.method) for r in rows(runtime, event_id)] == [("huangli", "code")]


def test_console_qr_holds_the_link_and_the_poster_prints(app, runtime, clock, fake):
    event_id, code = make_event(runtime, clock)
    add_account(runtime.factory, "boss", now=clock())
    client = app.test_client()
    login(client, "boss")
    detail = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert str(checkin_qr(code, PUBLIC)) in detail  # the QR of {public}/checkin/<code>
    assert str(checkin_qr(code)) not in detail  # not the typed text any more
    assert "打印签到海报" in detail

    poster = client.get(f"/admin/events/{event_id}/poster")
    text = poster.get_data(as_text=True)
    assert poster.status_code == 200
    for part in ("消防应急疏散演练", "一号厂房东侧空地", "6月5日 08:50—10:50", code, "<svg"):
        assert part in text, part
    assert "poster.css" in text
    css = client.get("/admin/static/poster.css").get_data(as_text=True)
    assert "@page { size: A4" in css and "@media print" in css

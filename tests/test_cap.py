"""The CAP 1.2 parser (valid, malformed, hostile) and the feed poller against a local server."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot.db import transaction
from bot.fake_wecom.seed import USERS
from bot.migrate import upgrade
from bot.models import CapAlert as CapAlertRow
from bot.models import RiskWarning
from bot.runtime import build_runtime
from bot.warnings import cap
from bot.warnings.cap_alerts import map_hazard
from bot.warnings.feed import fetch_feed
from scheduler.registry import job_specs, previous_fire_time, run_job

ALL = [u[0] for u in USERS]


def alert_xml(
    identifier="CN-SH-2026-0605-001",
    *,
    event="暴雨",
    severity="Severe",
    headline="上海市气象台发布暴雨橙色预警信号",
    status="Actual",
    msg_type="Alert",
    geocode="310000",
    area="上海市",
    expires=None,
    ns=cap.CAP_NS,
    drop=None,
    sender="sh-meteo@example.cn",
    description="预计未来3小时内本市将出现50毫米以上降水。",
    declaration="",
) -> str:
    fields = {
        "identifier": identifier,
        "sender": sender,
        "sent": "2026-06-05T09:00:00+08:00",
        "status": status,
        "msgType": msg_type,
        "scope": "Public",
    }
    head = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items() if k != drop)
    expires_el = f"<expires>{expires}</expires>" if expires else ""
    info = (
        f"<info><language>zh-CN</language><category>Met</category><event>{event}</event>"
        f"<urgency>Immediate</urgency><severity>{severity}</severity>"
        f"<certainty>Likely</certainty>{expires_el}<headline>{headline}</headline>"
        f"<description>{description}</description><instruction>停止户外作业。</instruction>"
        f"<area><areaDesc>{area}</areaDesc><geocode><valueName>GB/T 2260</valueName>"
        f"<value>{geocode}</value></geocode></area></info>"
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>{declaration}<alert xmlns="{ns}">{head}{info}</alert>'


def atom_feed(*alerts: str, links: tuple[str, ...] = ()) -> str:
    entries = "".join(
        f"<entry><id>urn:e{i}</id><title>t</title><updated>2026-06-05T01:00:00Z</updated>"
        f'<content type="text/xml">{a.split("?>", 1)[1]}</content></entry>'
        for i, a in enumerate(alerts)
    )
    entries += "".join(
        f'<entry><id>urn:l{i}</id><title>t</title><link type="application/cap+xml" href="{href}"/></entry>'
        for i, href in enumerate(links)
    )
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>CAP</title>{entries}</feed>'


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol4;</identifier></alert>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""


# -- parser -------------------------------------------------------------------------------------
def test_parses_a_valid_alert():
    alert = cap.parse_alert(alert_xml())
    assert (alert.identifier, alert.sender, alert.status, alert.msg_type, alert.scope) == (
        "CN-SH-2026-0605-001",
        "sh-meteo@example.cn",
        "Actual",
        "Alert",
        "Public",
    )
    info = alert.best_info()
    assert (info.event, info.severity, info.urgency, info.certainty) == (
        "暴雨",
        "Severe",
        "Immediate",
        "Likely",
    )
    assert info.categories == ["Met"] and info.area_descs == ["上海市"]
    assert info.geocodes == [("GB/T 2260", "310000")]
    assert info.headline.startswith("上海市气象台")


def test_parses_an_atom_feed_with_embedded_alerts_and_links():
    feed = cap.parse_feed(atom_feed(alert_xml("a1"), alert_xml("a2"), links=("/alerts/3.xml",)))
    assert [a.identifier for a in feed.alerts] == ["a1", "a2"]
    assert feed.links == ["/alerts/3.xml"]


@pytest.mark.parametrize(
    "document, message",
    [
        (BILLION_LAUGHS, "forbidden"),
        (XXE, "forbidden"),
        (alert_xml(declaration='<!DOCTYPE alert SYSTEM "http://evil.example/x.dtd">'), "forbidden"),
        ("<alert", "not well-formed"),
        ("", "not well-formed"),
        (alert_xml(ns="urn:oasis:names:tc:emergency:cap:1.1"), "neither"),
        (alert_xml(drop="identifier"), "identifier"),
        (alert_xml(drop="sender"), "sender"),
        (alert_xml(severity="Catastrophic"), "severity"),
        ("<rss><channel/></rss>", "neither"),
    ],
)
def test_rejects_malformed_and_hostile_documents(document, message):
    with pytest.raises(cap.CapError, match=message):
        cap.parse_feed(document)


def test_a_bad_entry_in_a_feed_is_skipped_not_fatal():
    feed = cap.parse_feed(atom_feed(alert_xml("good"), alert_xml("bad", drop="sent")))
    assert [a.identifier for a in feed.alerts] == ["good"]
    assert len(feed.errors) == 1 and "sent" in feed.errors[0]


@pytest.mark.parametrize(
    "event, headline, hazard",
    [
        ("暴雨", "", "rainstorm"),
        ("Rainstorm", "", "rainstorm"),
        ("台风", "", "typhoon"),
        ("Typhoon", "", "typhoon"),
        ("Severe Thunderstorm", "", "lightning"),
        ("高温", "", "heat"),
        ("气象灾害", "市气象台发布大风蓝色预警信号", "strong_wind"),
        ("Tsunami", "", None),
    ],
)
def test_maps_cap_events_to_templates(event, headline, hazard):
    assert map_hazard(event, headline) == hazard


# -- the poller against a local HTTP server ------------------------------------------------------
class CapServer:
    """Serves documents by path on 127.0.0.1 (like bot/fake_wecom/server.py)."""

    def __init__(self) -> None:
        self.documents: dict[str, str | bytes] = {}
        self.delay = 0.0
        self.hits: list[str] = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        self.hits.append(request.path)
        if self.delay:
            time.sleep(self.delay)
        doc = self.documents.get(request.path)
        res = (
            Response("not found", status=404)
            if doc is None
            else Response(doc, content_type="application/xml")
        )
        return res(environ, start_response)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def cap_server():
    with CapServer() as server:
        yield server


@pytest.fixture
def cap_runtime(settings, clock, fake, cap_server):
    from bot.directory import sync_directory

    settings = settings.replace(
        cap_url=cap_server.url("/feed"),
        cap_areas=("310000",),
        cap_min_severity="Moderate",
        api_timeout=1.0,
    )
    rt = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, clock())
    fake.reset()
    yield rt
    rt.close()


def _poll(rt, clock) -> bool:
    spec = next(s for s in job_specs(rt.settings) if s.id == "cap_feed")
    fire = previous_fire_time(spec, rt.settings.tz, clock())
    ran = run_job(rt, spec, fire)
    rt.sender.drain()
    return ran


def _rows(rt) -> dict[str, CapAlertRow]:
    with rt.factory() as s:
        return {r.identifier: r for r in s.scalars(select(CapAlertRow))}


def test_fetch_feed_follows_links_and_survives_timeouts(cap_server):
    cap_server.documents["/feed"] = atom_feed(alert_xml("a1"), links=("/a2.xml", "/missing.xml"))
    cap_server.documents["/a2.xml"] = alert_xml("a2")
    result = fetch_feed(cap_server.url("/feed"), timeout=2)
    assert [a.identifier for a in result.alerts] == ["a1", "a2"]
    assert len(result.errors) == 1 and "missing.xml" in result.errors[0]
    cap_server.delay = 0.5
    result = fetch_feed(cap_server.url("/feed"), timeout=0.1)
    assert result.alerts == [] and "timed out" in result.errors[0].lower()


def test_poll_sends_severe_at_once_queues_moderate_filters_the_rest(
    cap_runtime, cap_server, fake, clock, wecom_for_cap
):
    future = (clock() + timedelta(hours=6)).isoformat()
    past = (clock() - timedelta(hours=1)).isoformat()
    cap_server.documents["/feed"] = atom_feed(
        alert_xml("severe", severity="Severe", expires=future),
        alert_xml(
            "moderate",
            event="高温",
            severity="Moderate",
            headline="上海市气象台发布高温黄色预警信号",
        ),
        alert_xml("elsewhere", severity="Extreme", geocode="110000", area="北京市"),
        alert_xml(
            "district",
            event="Typhoon",
            severity="Extreme",
            geocode="310115",
            area="浦东新区",
            headline="Typhoon warning",
        ),
        alert_xml("minor", severity="Minor"),
        alert_xml("test", severity="Extreme", status="Test"),
        alert_xml("expired", severity="Extreme", expires=past),
    )
    assert _poll(cap_runtime, clock)
    rows = _rows(cap_runtime)
    assert {k: r.status for k, r in rows.items()} == {
        "severe": "sent",
        "district": "sent",
        "moderate": "pending",
        "elsewhere": "filtered",
        "minor": "filtered",
        "test": "filtered",
        "expired": "filtered",
    }
    assert (rows["severe"].hazard, rows["severe"].level) == ("rainstorm", "orange")
    assert (rows["district"].hazard, rows["district"].level) == ("typhoon", "red")
    texts = fake.texts_for("sunyu")
    assert len(texts) == 2
    assert any(
        t.startswith("【风险预警】暴雨橙色预警") and "sh-meteo@example.cn" in t for t in texts
    )
    assert any("台风红色预警" in t for t in texts)
    # Admins hear about the queued one.
    notice = [t for t in fake.texts_for("wangfang") if "待审预警" in t]
    assert len(notice) == 1 and f"预警 批准 {rows['moderate'].id}" in notice[0]

    # Next poll (5 minutes later): the same feed brings nothing new.
    fake.reset()
    clock.advance(minutes=5)
    assert _poll(cap_runtime, clock)
    assert fake.count("message/send") == 0
    assert len(_rows(cap_runtime)) == 7

    # An admin lists, approves; approving twice does nothing more.
    n = rows["moderate"].id
    listing = wecom_for_cap.text("wangfang", "预警 待审").text
    assert f"{n}. 【较重】" in listing and "高温黄色预警" in listing
    assert "已批准" in wecom_for_cap.text("wangfang", f"预警 批准 {n}").text
    assert "不是等待审核" in wecom_for_cap.text("wangfang", f"预警 批准 {n}").text
    assert "目前没有" in wecom_for_cap.text("wangfang", "预警 待审").text
    cap_runtime.sender.drain()
    assert any(t.startswith("【风险预警】高温黄色预警") for t in fake.texts_for("sunyu"))
    with cap_runtime.factory() as s:
        assert s.scalar(select(CapAlertRow.status).where(CapAlertRow.id == n)) == "approved"
        assert len(s.scalars(select(RiskWarning)).all()) == 3


def test_ignore_a_queued_alert(cap_runtime, cap_server, fake, clock, wecom_for_cap):
    cap_server.documents["/feed"] = alert_xml("m1", severity="Moderate")
    _poll(cap_runtime, clock)
    n = _rows(cap_runtime)["m1"].id
    fake.reset()
    assert "已忽略" in wecom_for_cap.text("wangfang", f"预警 忽略 {n}").text
    cap_runtime.sender.drain()
    assert fake.texts_for("sunyu") == []
    assert _rows(cap_runtime)["m1"].status == "ignored"


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, XXE, "<<<garbage", "", alert_xml(ns="urn:wrong"), alert_xml(drop="status")],
)
def test_hostile_or_broken_feed_never_crashes_the_job(
    cap_runtime, cap_server, fake, clock, document
):
    cap_server.documents["/feed"] = document
    assert _poll(cap_runtime, clock)  # the run is recorded as done, nothing raised
    assert _rows(cap_runtime) == {}
    assert fake.count("message/send") == 0
    # The next poll works again once the feed is fixed.
    cap_server.documents["/feed"] = alert_xml("ok", severity="Extreme")
    clock.advance(minutes=5)
    assert _poll(cap_runtime, clock)
    assert _rows(cap_runtime)["ok"].status == "sent"


def test_unreachable_or_slow_feed_is_skipped(cap_runtime, cap_server, clock, fake):
    cap_server.documents.clear()  # 404
    assert _poll(cap_runtime, clock)
    cap_server.documents["/feed"] = alert_xml("slow", severity="Extreme")
    cap_server.delay = 1.5  # over the 1 s timeout
    clock.advance(minutes=5)
    assert _poll(cap_runtime, clock)
    assert _rows(cap_runtime) == {}
    cap_server.delay = 0
    clock.advance(minutes=5)
    assert _poll(cap_runtime, clock)
    assert _rows(cap_runtime)["slow"].status == "sent"


def test_no_fetch_for_an_occurrence_already_run(cap_runtime, cap_server, clock):
    cap_server.documents["/feed"] = alert_xml("x", severity="Minor")
    assert _poll(cap_runtime, clock)
    hits = len(cap_server.hits)
    assert not _poll(cap_runtime, clock)  # another process (or catch_up) for the same 5 minutes
    assert len(cap_server.hits) == hits


def test_cap_job_only_when_configured(settings):
    assert [s.id for s in job_specs(settings) if s.id == "cap_feed"] == []
    assert [
        s.id for s in job_specs(settings.replace(cap_url="http://x/feed")) if s.id == "cap_feed"
    ] == ["cap_feed"]


def test_settings_from_env():
    from bot.settings import Settings

    s = Settings.from_env(
        {
            "SAFETYBOT_CAP_URL": "http://x/feed",
            "SAFETYBOT_CAP_AREAS": "310000, 310115",
            "SAFETYBOT_CAP_MIN_SEVERITY": "severe",
        },
        dotenv=False,
    )
    assert (s.cap_url, s.cap_areas, s.cap_min_severity) == (
        "http://x/feed",
        ("310000", "310115"),
        "Severe",
    )
    with pytest.raises(ValueError):
        Settings.from_env({"SAFETYBOT_CAP_MIN_SEVERITY": "huge"}, dotenv=False)


@pytest.fixture
def wecom_for_cap(cap_runtime):
    from bot.app import create_app
    from bot.fake_wecom.driver import CallbackDriver, flask_post

    app = create_app(runtime=cap_runtime)
    return CallbackDriver(
        cap_runtime.crypto, flask_post(app.test_client()), agent_id=cap_runtime.settings.agent_id
    )


def test_timezone_of_expiry_is_respected():
    from bot.settings import Settings
    from bot.warnings.cap_alerts import classify

    now = datetime(2026, 6, 5, 1, 0, tzinfo=timezone.utc)
    alert = cap.parse_alert(alert_xml(expires="2026-06-05T09:30:00+08:00"))  # 01:30 UTC
    assert classify(alert, Settings(), now)[0] == "sent"
    assert classify(alert, Settings(), now + timedelta(hours=1))[1] == "expired"

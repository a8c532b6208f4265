"""The admin console: login, CSRF, the shared login rate limit, scopes, escaping, actions."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.console.testing import PASSWORD, add_account, csrf_from, login, seed_campaign
from bot.db import transaction
from bot.hazard import ledger
from bot.models import (
    AuditLog,
    CheckinEvent,
    HazardPhoto,
    HazardReport,
    HazardTransition,
    OutboxDelivery,
    Question,
    RiskWarning,
    SuggestionReply,
)
from bot.runtime import build_runtime


@pytest.fixture
def seeded(runtime, clock):
    with transaction(runtime.factory) as s:
        seed = seed_campaign(s, runtime.settings, clock())
    add_account(runtime.factory, "boss", now=clock())
    add_account(runtime.factory, "head3", role="department_head", departments=[3], now=clock())
    return seed


@pytest.fixture
def boss(app, seeded):
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    return client


def report_hazard(runtime, clock, description, department_id=3, reporter="liuyang"):
    with transaction(runtime.factory) as s:
        h = ledger.create_report(
            s,
            runtime.settings,
            reporter=reporter,
            department_id=department_id,
            description=description,
            category="other",
            location="",
            latitude=None,
            longitude=None,
            photos=[],
            now=clock(),
        )
        return h.ticket


def test_pages_need_a_login(app, seeded):
    client = app.test_client()
    for path in (
        "/admin/",
        "/admin/hazards",
        f"/admin/hazards/{seeded['hazards'][0]}",
        "/admin/questions",
        "/admin/report",
        "/admin/report.xlsx",
        "/admin/audit",
    ):
        r = client.get(path)
        assert r.status_code == 302, path
        assert r.headers["Location"].startswith("/admin/login")
    assert client.get("/admin/login").status_code == 200


def test_login_with_wrong_password_is_refused(app, seeded):
    client = app.test_client()
    r = login(client, "boss", "wrong-password")
    assert r.status_code == 401
    assert "用户名或密码不正确" in r.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_forms_without_csrf_token_are_refused(app, boss, seeded, runtime):
    ticket = seeded["hazards"][0]
    r = boss.post(f"/admin/hazards/{ticket}/action", data={"action": "accept"})
    assert r.status_code == 400
    r = boss.post(
        f"/admin/hazards/{ticket}/action", data={"action": "accept", "csrf_token": "forged"}
    )
    assert r.status_code == 400
    # A fresh client cannot even log in without the token.
    r = app.test_client().post("/admin/login", data={"username": "boss", "password": PASSWORD})
    assert r.status_code == 400
    with runtime.factory() as s:
        assert (
            s.scalar(select(HazardReport.status).where(HazardReport.ticket == ticket)) == "reported"
        )
    # With the token the same form works.
    token = csrf_from(boss.get(f"/admin/hazards/{ticket}").get_data(as_text=True))
    r = boss.post(f"/admin/hazards/{ticket}/action", data={"action": "accept", "csrf_token": token})
    assert r.status_code == 302


def test_sixth_wrong_login_in_a_minute_is_refused_across_two_workers(
    settings, clock, fake, seeded, runtime
):
    # Two workers: separate runtimes (engines, pools) and apps on one database.
    other = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    try:
        apps = [create_app(runtime=runtime), create_app(runtime=other)]
        clients = [a.test_client() for a in apps]
        for i in range(5):
            assert login(clients[i % 2], "boss", f"wrong-{i}").status_code == 401
        # The sixth attempt — even with the right password — is refused by the other worker.
        r = login(clients[1], "boss")
        assert r.status_code == 429
        assert "一分钟后再试" in r.get_data(as_text=True)
        r = login(clients[0], "boss")
        assert r.status_code == 429
        clock.advance(seconds=61)
        assert login(clients[0], "boss").status_code == 302
    finally:
        other.close()


def test_login_rotates_the_session_and_logout_ends_it(app, seeded):
    client = app.test_client()
    client.get("/admin/login")
    before = client.get_cookie("safetybot_console").value
    login(client, "boss")
    cookie = client.get_cookie("safetybot_console")
    assert cookie.value != before
    assert cookie.http_only and cookie.same_site == "Lax"
    assert client.get("/admin/").status_code == 200
    token = csrf_from(client.get("/admin/").get_data(as_text=True))
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302
    # Replaying the old cookie does not bring the session back: the server-side row is gone.
    replay = app.test_client()
    replay.set_cookie("safetybot_console", cookie.value, domain="localhost")
    assert replay.get("/admin/").status_code == 302


def test_department_head_sees_only_their_departments(app, seeded, runtime, clock):
    ticket4 = seeded["hazards"][1]  # department 4
    ticket3 = seeded["hazards"][0]  # department 3
    client = app.test_client()
    assert login(client, "head3").status_code == 302
    page = client.get("/admin/hazards").get_data(as_text=True)
    assert ticket3 in page and ticket4 not in page
    assert client.get(f"/admin/hazards/{ticket4}").status_code == 404
    assert client.get(f"/admin/hazards/{ticket3}").status_code == 200
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert ticket4 not in dashboard and "二车间配电箱" not in dashboard
    suggestions = client.get("/admin/suggestions").get_data(as_text=True)
    assert "洗眼器" in suggestions and "疏散演练" not in suggestions
    # Acting is for safety officers and admins.
    assert client.get("/admin/questions").status_code == 403
    assert client.get("/admin/broadcast").status_code == 403
    token = csrf_from(client.get(f"/admin/hazards/{ticket3}").get_data(as_text=True))
    r = client.post(
        f"/admin/hazards/{ticket3}/action", data={"action": "accept", "csrf_token": token}
    )
    assert r.status_code == 403
    # The summary is limited too.
    report = client.get("/admin/report").get_data(as_text=True)
    assert ticket3 in report and ticket4 not in report
    with runtime.factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "console:denied", AuditLog.allowed.is_(False))
            )
            >= 1
        )


def test_injected_script_is_shown_as_text(app, boss, runtime, clock):
    evil = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
    ticket = report_hazard(runtime, clock, evil)
    for path in (f"/admin/hazards/{ticket}", "/admin/hazards", "/admin/", "/admin/report"):
        html = boss.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(" in html, path


def test_assign_a_hazard_and_move_it_to_closed(app, boss, seeded, runtime, clock):
    ticket = seeded["hazards"][0]
    page = boss.get(f"/admin/hazards/{ticket}").get_data(as_text=True)
    token = csrf_from(page)
    deadline = (seeded["today"] + timedelta(days=7)).isoformat()
    r = boss.post(
        f"/admin/hazards/{ticket}/assign",
        data={
            "owner": "chenjing",
            "deadline": deadline,
            "measure": "清理通道",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302
    # Starting twice is refused by the state machine, shown as a message, nothing changes.
    steps = [("start", ""), ("start", ""), ("finish", "已清理"), ("verify", ""), ("close", "")]
    for action, note in steps:
        boss.post(
            f"/admin/hazards/{ticket}/action",
            data={"action": action, "note": note, "csrf_token": token},
        )
    page = boss.get(f"/admin/hazards/{ticket}").get_data(as_text=True)
    assert "已销号" in page
    with runtime.factory() as s:
        h = s.scalar(select(HazardReport).where(HazardReport.ticket == ticket))
        assert (h.status, h.owner, h.deadline.isoformat()) == ("closed", "chenjing", deadline)
        actions = list(
            s.scalars(
                select(HazardTransition.action)
                .where(HazardTransition.hazard_id == h.id)
                .order_by(HazardTransition.id)
            )
        )
        assert actions == ["report", "accept", "assign", "start", "finish", "verify", "close"]
        assert all(
            a.startswith("console:boss")
            for a in s.scalars(
                select(HazardTransition.actor).where(
                    HazardTransition.hazard_id == h.id, HazardTransition.action != "report"
                )
            )
        )
        # The owner got their task through the outbox.
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxDelivery)
                .where(OutboxDelivery.userid == "chenjing")
            )
            >= 1
        )


def test_finish_without_proof_is_refused_with_a_message(app, boss, seeded, runtime):
    ticket = seeded["hazards"][1]  # assigned (accepted) in the seed
    token = csrf_from(boss.get(f"/admin/hazards/{ticket}").get_data(as_text=True))
    boss.post(f"/admin/hazards/{ticket}/action", data={"action": "start", "csrf_token": token})
    r = boss.post(
        f"/admin/hazards/{ticket}/action",
        data={"action": "finish", "note": "", "csrf_token": token},
        follow_redirects=True,
    )
    assert "完成整改需要填写整改说明" in r.get_data(as_text=True)
    with runtime.factory() as s:
        assert (
            s.scalar(select(HazardReport.status).where(HazardReport.ticket == ticket))
            == "rectifying"
        )


def test_question_import_with_a_bad_row_shows_the_error_and_imports_nothing(boss, runtime):
    header = (
        "id,theme,type,stem,option_a,option_b,option_c,option_d,option_e,option_f,answer,"
        "explanation,source\n"
    )
    good = (
        "imp-001,fire,single,灭火器压力表指针应在哪个区域？,红区,绿区,黄区,,,,B,绿区正常,GB 4351\n"
    )
    bad = "imp-002,fire,single,这一行的答案不在选项中,甲,乙,,,,,Z,,GB 4351\n"
    token = csrf_from(boss.get("/admin/questions").get_data(as_text=True))
    r = boss.post(
        "/admin/questions/import",
        data={"csrf_token": token, "file": (io.BytesIO((header + good + bad).encode()), "q.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = r.get_data(as_text=True)
    assert "第3行" in html and "不在选项" in html
    with runtime.factory() as s:
        assert s.get(Question, "imp-001") is None
    r = boss.post(
        "/admin/questions/import",
        data={"csrf_token": token, "file": (io.BytesIO((header + good).encode()), "q.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "已导入 1 道题" in r.get_data(as_text=True)
    with runtime.factory() as s:
        assert s.get(Question, "imp-001").answer == "B"
    assert "imp-001" in boss.get("/admin/questions?q=灭火器压力表").get_data(as_text=True)


def test_question_edit_validates_with_the_quiz_rules(boss, runtime):
    with runtime.factory() as s:
        q = s.scalars(select(Question).where(Question.type == "single")).first()
    token = csrf_from(boss.get(f"/admin/questions/{q.id}").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "theme": q.theme,
        "type": "single",
        "stem": q.stem + "（修订）",
        "answer": "Q",
        "explanation": "",
        "source": q.source,
        "active": "1",
    }
    form.update({f"option_{c}": o for c, o in zip("abcdef", q.options, strict=False)})
    r = boss.post(f"/admin/questions/{q.id}", data=form)
    assert r.status_code == 200 and "不在选项" in r.get_data(as_text=True)
    form["answer"] = "A"
    assert boss.post(f"/admin/questions/{q.id}", data=form).status_code == 302
    with runtime.factory() as s:
        assert s.get(Question, q.id).stem.endswith("（修订）")


def test_photos_are_served_from_files_dir_only(boss, runtime, clock, seeded, tmp_path):
    from pathlib import Path

    from bot.hazard.photos import store_bytes

    stored = store_bytes(runtime.settings.files_dir, b"\x89PNG fake", "image/png")
    secret = Path(runtime.settings.files_dir).resolve().parent / "secret.txt"
    secret.write_text("top secret")
    with transaction(runtime.factory) as s:
        h = s.scalar(select(HazardReport).where(HazardReport.ticket == seeded["hazards"][0]))
        good = HazardPhoto(
            hazard_id=h.id,
            media_id="m1",
            status="stored",
            path=stored.path,
            content_type="image/png",
            received_at=clock(),
        )
        evil = HazardPhoto(
            hazard_id=h.id,
            media_id="m2",
            status="stored",
            path="../secret.txt",
            received_at=clock(),
        )
        absolute = HazardPhoto(
            hazard_id=h.id, media_id="m3", status="stored", path=str(secret), received_at=clock()
        )
        s.add_all([good, evil, absolute])
        s.flush()
        ids = good.id, evil.id, absolute.id
    r = boss.get(f"/admin/photos/{ids[0]}")
    assert r.status_code == 200 and r.data == b"\x89PNG fake"
    assert boss.get(f"/admin/photos/{ids[1]}").status_code == 404
    assert boss.get(f"/admin/photos/{ids[2]}").status_code == 404
    assert boss.get("/admin/photos/..%2F..%2Fsecret.txt").status_code == 404
    page = boss.get(f"/admin/hazards/{seeded['hazards'][0]}").get_data(as_text=True)
    assert f"/admin/photos/{ids[0]}" in page


def test_suggestion_reply_reaches_the_proposer(boss, runtime, seeded):
    page = boss.get("/admin/suggestions").get_data(as_text=True)
    token = csrf_from(page)
    with runtime.factory() as s:
        from bot.models import Suggestion

        sug = s.scalar(select(Suggestion).where(Suggestion.proposer == "chenjing"))
    r = boss.post(
        f"/admin/suggestions/{sug.id}/reply",
        data={"content": "已采纳，下周安装", "csrf_token": token},
    )
    assert r.status_code == 302
    runtime.sender.drain()
    with runtime.factory() as s:
        assert s.scalar(select(SuggestionReply.content)) == "已采纳，下周安装"
    assert "已采纳，下周安装" in boss.get("/admin/suggestions").get_data(as_text=True)


def test_broadcast_preview_then_send_to_a_department(boss, runtime, fake):
    token = csrf_from(boss.get("/admin/broadcast").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "kind": "broadcast",
        "text": "今天下午三点全员消防演练",
        "departments": ["4"],
        "do": "preview",
    }
    html = boss.post("/admin/broadcast", data=form).get_data(as_text=True)
    assert 'id="preview"' in html and "3 人" in html and "今天下午三点全员消防演练" in html
    with runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(RiskWarning)) == 0
    form["do"] = "send"
    assert boss.post("/admin/broadcast", data=form).status_code == 302
    runtime.sender.drain()
    assert any("消防演练" in t for t in fake.texts_for("zhaolei"))
    assert not any("消防演练" in t for t in fake.texts_for("liuyang"))


def test_event_page_shows_the_check_in_code_as_a_qr_svg(boss, runtime, seeded):
    html = boss.get(f"/admin/events/{seeded['event_id']}").get_data(as_text=True)
    assert "<svg" in html and 'class="qr"' in html and "246810" in html
    token = csrf_from(html)
    r = boss.post(
        "/admin/events",
        data={
            "csrf_token": token,
            "title": "安全培训",
            "kind": "training",
            "starts_at": "2026-06-10T09:00",
            "ends_at": "2026-06-10T11:00",
        },
    )
    assert r.status_code == 302
    with runtime.factory() as s:
        event = s.scalar(select(CheckinEvent).where(CheckinEvent.title == "安全培训"))
        assert len(event.code) == 6 and event.code.isdigit()


def test_dashboard_draws_its_charts(boss):
    html = boss.get("/admin/").get_data(as_text=True)
    for chart in (
        "chart-participation",
        "chart-checkins",
        "chart-pledges",
        "chart-quiz",
        "chart-hazards",
    ):
        assert f'id="{chart}"' in html
    assert 'class="bar"' in html
    # The overdue hazard comes first in the ledger.
    table = html[html.index('id="hazard-table"') :]
    assert table.index("二车间配电箱") < table.index("一车间消防通道")
    assert "逾期 2 天" in table
    assert boss.get("/admin/static/console.css").status_code == 200


def test_cli_creates_accounts(monkeypatch, settings, runtime, tmp_path):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert (
        main(
            [
                "admin",
                "create",
                "officer1",
                "--role",
                "department_head",
                "--departments",
                "3,4",
                "--password-stdin",
            ]
        )
        == 0
    )
    app = create_app(runtime=runtime)
    client = app.test_client()
    assert login(client, "officer1", "a-long-password").status_code == 302
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["admin", "create", "x", "--password-stdin"]) == 2

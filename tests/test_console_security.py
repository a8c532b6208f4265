"""Console hardening: the login throttle, trusted proxies, the allow list, the session key,
security headers, weak passwords, and secrets kept out of the log."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re

import pytest
from sqlalchemy import select

from bot import logging_setup
from bot.app import create_app
from bot.console.testing import add_account, login
from bot.fake_wecom.driver import CallbackDriver, flask_post
from bot.models import AuditLog
from bot.models.console import ConsoleSecret
from bot.runtime import build_runtime
from bot.settings import Settings


def client_from(app, address: str, **headers):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    for name, value in headers.items():
        client.environ_base["HTTP_" + name.upper().replace("-", "_")] = value
    return client


def audit_rows(runtime, action: str) -> list[AuditLog]:
    with runtime.factory() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action)))


@pytest.fixture
def boss_account(runtime, clock):
    add_account(runtime.factory, "boss", now=clock())


def test_throttle_is_per_address_and_grows(app, runtime, clock, boss_account):
    attacker = client_from(app, "10.0.0.66")
    for i in range(5):
        assert login(attacker, "boss", f"wrong-{i}").status_code == 401
    # The attacker's address waits now, even with the right password …
    r = login(attacker, "boss")
    assert r.status_code == 429
    assert "一分钟后再试" in r.get_data(as_text=True)
    assert r.headers["Retry-After"] == "60"
    # … while the real admin signs in from another address.
    assert login(client_from(app, "10.0.0.7"), "boss").status_code == 302
    # The wait doubles with each further wrong password.
    clock.advance(seconds=61)
    assert login(attacker, "boss", "wrong-5").status_code == 401
    r = login(attacker, "boss")
    assert r.status_code == 429 and "2 分钟后再试" in r.get_data(as_text=True)
    clock.advance(seconds=121)
    assert login(attacker, "boss").status_code == 302
    # Every wrong password is in the audit log, with the address it came from.
    failed = audit_rows(runtime, "console:login-failed")
    assert len(failed) == 6
    assert all(not row.allowed and row.detail == "boss，地址 10.0.0.66" for row in failed)
    assert len(audit_rows(runtime, "console:login-limited")) == 2


def test_trusted_proxy_hops_give_the_real_client_address(
    settings, clock, fake, runtime, boss_account
):
    behind = build_runtime(
        settings.replace(trusted_proxies=1), clock=clock, client_sleep=lambda _s: None
    )
    try:
        app = create_app(runtime=behind)
        # Everyone comes through the proxy at 127.0.0.1; X-Forwarded-For tells them apart.
        attacker = client_from(app, "127.0.0.1", X_Forwarded_For="192.168.5.5")
        for i in range(6):
            login(attacker, "boss", f"wrong-{i}")
        assert login(attacker, "boss").status_code == 429
        admin = client_from(app, "127.0.0.1", X_Forwarded_For="192.168.9.9")
        assert login(admin, "boss").status_code == 302
        details = {row.detail for row in audit_rows(runtime, "console:login-failed")}
        assert details == {"boss，地址 192.168.5.5"}
    finally:
        behind.close()
    # Without trusted proxies the header is ignored (a client could write anything in it).
    app = create_app(runtime=runtime)
    forged = client_from(app, "10.0.0.3", X_Forwarded_For="192.168.1.1")
    assert login(forged, "boss", "wrong").status_code == 401
    assert "boss，地址 10.0.0.3" in {r.detail for r in audit_rows(runtime, "console:login-failed")}


def test_console_only_from_allowed_networks(app, runtime, wecom):
    outside = client_from(app, "203.0.113.5")
    for path in ("/admin/login", "/admin/", "/admin/static/console.css"):
        r = outside.get(path)
        assert r.status_code == 403, path
        assert "管理后台只允许从内部网络访问" in r.get_data(as_text=True)
    assert outside.post("/admin/login", data={"username": "boss"}).status_code == 403
    assert client_from(app, "2001:db8::1").get("/admin/login").status_code == 403
    # The callback and the health check stay reachable from anywhere.
    assert outside.get("/healthz").status_code == 200
    driver = CallbackDriver(runtime.crypto, flask_post(outside), agent_id=runtime.settings.agent_id)
    reply = driver.text("liuyang", "帮助")
    assert reply.status == 200 and reply.text
    # Loopback and the private ranges may use the console.
    for address in ("127.0.0.1", "::1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "fd00::5"):
        assert client_from(app, address).get("/admin/login").status_code == 200, address


def test_console_allow_list_is_a_setting(settings, clock, fake, runtime):
    parsed = Settings.from_env({"SAFETYBOT_CONSOLE_ALLOW": "203.0.113.0/24, 10.9.9.9"})
    assert parsed.console_allow == ("203.0.113.0/24", "10.9.9.9/32")
    with pytest.raises(ValueError, match="SAFETYBOT_CONSOLE_ALLOW"):
        Settings.from_env({"SAFETYBOT_CONSOLE_ALLOW": "not-a-network"})
    assert Settings.from_env({"SAFETYBOT_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    rt = build_runtime(
        settings.replace(console_allow=parsed.console_allow),
        clock=clock,
        client_sleep=lambda _s: None,
    )
    try:
        app = create_app(runtime=rt)
        assert client_from(app, "203.0.113.5").get("/admin/login").status_code == 200
        assert client_from(app, "10.9.9.9").get("/admin/login").status_code == 200
        assert client_from(app, "10.9.9.8").get("/admin/login").status_code == 403
    finally:
        rt.close()


def test_session_key_is_generated_once_and_shared(settings, clock, runtime, boss_account):
    assert Settings().secret_key == ""
    assert Settings.from_env({}).secret_key == ""
    other = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    try:
        first, second = create_app(runtime=runtime), create_app(runtime=other)
        # Neither the callback nor /healthz needs the key.
        assert first.test_client().get("/healthz").status_code == 200
        with runtime.factory() as s:
            assert s.scalar(select(ConsoleSecret)) is None
        client = first.test_client()
        assert login(client, "boss").status_code == 302
        with runtime.factory() as s:
            key = s.scalar(select(ConsoleSecret.value).where(ConsoleSecret.name == "session_key"))
        assert key and len(key) >= 32 and first.secret_key == key
        # The other process signs with the same key: the cookie is good there too.
        cookie = client.get_cookie("safetybot_console").value
        elsewhere = second.test_client()
        elsewhere.set_cookie("safetybot_console", cookie, domain="localhost")
        assert elsewhere.get("/admin/").status_code == 200
        assert second.secret_key == key
        # A cookie signed with the old built-in development key is worthless.
        forged = first.test_client()
        from itsdangerous import URLSafeTimedSerializer

        signer = URLSafeTimedSerializer(
            "dev-only-change-me",
            salt="cookie-session",
            serializer=first.session_interface.serializer,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
        )
        forged.set_cookie("safetybot_console", signer.dumps({"sid": "x"}), domain="localhost")
        assert forged.get("/admin/").status_code == 302
    finally:
        other.close()


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_security_headers(app, runtime, clock, boss_account):
    client = app.test_client()
    r = client.get("/admin/login")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert "Strict-Transport-Security" not in r.headers
    login(client, "boss")
    assert not client.get_cookie("safetybot_console").secure
    # The report's inline <style> block is allowed by its exact hash.
    page = client.get("/admin/report")
    html = page.get_data(as_text=True)
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert _sha256(style) in page.headers["Content-Security-Policy"]
    assert "<script" not in html


def test_https_by_setting_or_from_a_trusted_proxy(settings, clock, runtime, boss_account):
    for changes, headers in (
        ({"https": True}, {}),
        ({"trusted_proxies": 1}, {"X_Forwarded_Proto": "https"}),
    ):
        rt = build_runtime(settings.replace(**changes), clock=clock, client_sleep=lambda _s: None)
        try:
            client = client_from(create_app(runtime=rt), "127.0.0.1", **headers)
            r = client.get("/admin/login")
            assert r.headers["Strict-Transport-Security"].startswith("max-age="), changes
            assert login(client, "boss").status_code == 302
            assert client.get_cookie("safetybot_console").secure, changes
        finally:
            rt.close()
    # A forwarded scheme from an untrusted client changes nothing.
    client = client_from(create_app(runtime=runtime), "127.0.0.1", X_Forwarded_Proto="https")
    assert "Strict-Transport-Security" not in client.get("/admin/login").headers


def test_weak_passwords_are_refused_when_an_account_is_created(
    monkeypatch, settings, runtime, tmp_path, capsys
):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    for username, password in (("officer2", "nine-char"), ("safetyofficer", "SafetyOfficer")):
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        assert main(["admin", "create", username, "--password-stdin"]) == 2, password
    err = capsys.readouterr().err
    assert "at least 10 characters" in err and "must not be the user name" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("ten-chars!\n"))
    assert main(["admin", "create", "officer2", "--password-stdin"]) == 0
    app = create_app(runtime=runtime)
    assert login(app.test_client(), "officer2", "ten-chars!").status_code == 302


@pytest.fixture
def redaction():
    yield
    logging_setup.uninstall_redaction()


def test_no_secret_reaches_the_debug_log(
    monkeypatch, settings, runtime, fake, tmp_path, caplog, cli_runtime, redaction
):
    from bot.cli import main

    robot_key = "robotkey-0123456789abcdef"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WECOM_SECRET", settings.secret)
    monkeypatch.setenv("WECOM_ENCODING_AES_KEY", settings.encoding_aes_key)
    monkeypatch.setenv("SAFETYBOT_ROBOT_KEYS", robot_key)
    cli_runtime(runtime)
    # The CLI's logging set-up (-v: DEBUG), as `safetybot -v …` does it.
    assert main(["-v", "outbox"]) == 0
    caplog.set_level(logging.DEBUG)
    client = runtime.client
    token = client.fetch_access_token()["access_token"]  # gettoken
    client.send_message({"msgtype": "text", "text": {"content": "测试"}}, ["liuyang"])
    client.robot_send(robot_key, {"msgtype": "markdown", "markdown": {"content": "预警"}})
    logging.getLogger("test").debug("settings %s", settings)
    logging.getLogger("test").debug('answer {"access_token": "%s"}', token)
    try:
        raise RuntimeError(f"failed GET /cgi-bin/message/send?access_token={token}")
    except RuntimeError:
        logging.getLogger("test").exception("send failed")
    log = caplog.text
    # urllib3 did log the request lines, with the secrets masked.
    assert "corpsecret=***" in log and "access_token=***" in log and "key=***" in log
    for secret in (settings.secret, token, robot_key, settings.encoding_aes_key):
        assert secret not in log

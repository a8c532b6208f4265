"""A bad day in production: the database goes away or stays locked. WeCom must be told to
retry (5xx within its 5 s), nothing may be half-recorded, and the retry takes effect once."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select
from tcp_proxy import TcpProxy

from bot import db
from bot.app import create_app
from bot.db import transaction
from bot.directory import sync_directory
from bot.fake_wecom.driver import CallbackDriver, flask_post
from bot.migrate import upgrade
from bot.models import InboundMessage, Suggestion
from bot.runtime import build_runtime


def _suggestions(rt) -> int:
    with rt.factory() as s:
        return s.scalar(select(func.count()).select_from(Suggestion)) or 0


def _start(settings, clock):
    rt = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, clock())
    app = create_app(runtime=rt)
    driver = CallbackDriver(rt.crypto, flask_post(app.test_client()), agent_id=rt.settings.agent_id)
    return rt, app, driver


def test_postgres_outage_answers_503_fast_and_the_retry_takes_effect_once(
    pg_url, fake, clock, make_settings_for
):
    from sqlalchemy.engine import make_url

    target = make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    url = target.set(port=proxy.port).render_as_string(hide_password=False)
    rt, app, driver = _start(make_settings_for(url, fake), clock)
    try:
        assert driver.text("liuyang", "建议 一楼配电间门口堆放纸箱").status == 200
        proxy.cut()
        started = time.monotonic()
        down = driver.text("liuyang", "建议 二楼消防通道被占用", msg_id="90001")
        assert down.status == 503 and time.monotonic() - started < 5
        health = app.test_client().get("/healthz")
        assert health.status_code == 503
        proxy.restore()
        # WeCom retries the same MsgId: the first request after recovery succeeds, once.
        again = driver.text("liuyang", "建议 二楼消防通道被占用", msg_id="90001")
        assert again.status == 200 and "JY-" in (again.text or "")
        assert driver.text("liuyang", "建议 二楼消防通道被占用", msg_id="90001").status == 200
        assert _suggestions(rt) == 2
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        proxy.cut()
        rt.close()


def _behind_proxy(pg_url, fake, clock, make_settings_for):
    from sqlalchemy.engine import make_url

    target = make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    url = target.set(port=proxy.port).render_as_string(hide_password=False)
    return proxy, *_start(make_settings_for(url, fake), clock)


@pytest.mark.parametrize("idle", [False, True], ids=["used-a-moment-ago", "idle"])
def test_postgres_restarted_between_two_callbacks_the_next_one_still_succeeds(
    pg_url, fake, clock, make_settings_for, monkeypatch, caplog, idle
):
    """PostgreSQL restarts between two callbacks. A pooled connection idle for a while is
    checked before use; one used a moment ago is not, so its first statement fails and the
    callback runs once more on a new connection. Either way the person gets the answer, it
    takes effect once, and the pool's other dead connections are renewed too."""
    monkeypatch.setattr(db, "PG_PING_AFTER_IDLE", 0.0 if idle else 3600.0)
    proxy, rt, app, driver = _behind_proxy(pg_url, fake, clock, make_settings_for)
    try:
        # Two connections in the pool, both about to die.
        with rt.factory() as a, rt.factory() as b:
            a.execute(select(1))
            b.execute(select(1))
        assert driver.text("liuyang", "建议 一楼配电间门口堆放纸箱").status == 200
        proxy.cut()
        proxy.restore()  # the restart: every open connection is gone
        first = driver.text("liuyang", "建议 二楼消防通道被占用", msg_id="90011")
        assert first.status == 200 and "JY-" in (first.text or "")
        # Idle: the check before use found it dead. Used a moment ago: the second run did.
        runs_again = [r for r in caplog.records if "once more" in r.getMessage()]
        assert len(runs_again) == (0 if idle else 1)
        assert driver.text("liuyang", "积分", msg_id="90012").status == 200
        retry = driver.text("liuyang", "建议 二楼消防通道被占用", msg_id="90011")
        assert retry.status == 200 and retry.text == first.text
        assert _suggestions(rt) == 2
    finally:
        proxy.cut()
        rt.close()


def test_sqlite_locked_by_another_process_answers_503_then_the_retry_takes_effect_once(
    sqlite_url, fake, clock, make_settings_for
):
    rt, app, driver = _start(make_settings_for(sqlite_url, fake), clock)
    path = sqlite_url.split("///", 1)[1]
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        started = time.monotonic()
        locked = driver.text("chenjing", "建议 车间地面油污及时清理", msg_id="90002")
        elapsed = time.monotonic() - started
        assert locked.status == 503 and elapsed < 5
        other.execute("ROLLBACK")
        with rt.factory() as s:  # nothing was recorded for that MsgId
            assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0
        again = driver.text("chenjing", "建议 车间地面油污及时清理", msg_id="90002")
        assert again.status == 200 and "JY-" in (again.text or "")
        assert driver.text("chenjing", "建议 车间地面油污及时清理", msg_id="90002").status == 200
        assert _suggestions(rt) == 1
    finally:
        other.close()
        rt.close()


def test_sqlite_locked_by_another_safetybot_transaction_answers_503(
    sqlite_url, fake, clock, make_settings_for
):
    """Another worker of ours holds the write lock (our flock) for longer than WeCom waits."""
    rt, app, driver = _start(make_settings_for(sqlite_url, fake), clock)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction(rt.factory) as s:
            s.execute(select(1))
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert holding.wait(5)
        started = time.monotonic()
        assert driver.text("chenjing", "打卡", msg_id="90003").status == 503
        assert time.monotonic() - started < 5
    finally:
        release.set()
        worker.join()
    assert driver.text("chenjing", "打卡", msg_id="90003").status == 200
    rt.close()


def test_a_bug_in_a_handler_is_recorded_with_the_apology_so_retries_do_not_loop(
    runtime, wecom, monkeypatch
):
    def broken(msg, ctx, args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(runtime.router.commands[0], "handler", broken)
    keyword = runtime.router.commands[0].keywords[0]
    first = wecom.text("liuyang", keyword, msg_id="90004")
    assert first.status == 200 and first.text
    retry = wecom.text("liuyang", keyword, msg_id="90004")
    assert retry.status == 200 and retry.text == first.text


def test_healthz_answers_within_two_seconds(runtime, app):
    started = time.monotonic()
    assert app.test_client().get("/healthz").status_code == 200
    assert time.monotonic() - started < 2

"""Settings, schema, router, conversations, scheduler ledger, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from bot.context import Context
from bot.db import make_engine, transaction
from bot.messages import IncomingMessage, Reply, split_text
from bot.migrate import is_current, upgrade
from bot.models import Base, JobRun
from bot.router import Router
from bot.runtime import build_runtime
from bot.settings import Settings
from bot.text import normalize, split_command


# -- settings -------------------------------------------------------------------------------
def test_settings_from_env():
    s = Settings.from_env(
        {
            "WECOM_CORP_ID": "ww1",
            "WECOM_AGENT_ID": "1000002",
            "SAFETYBOT_ADMINS": "a, b，c",
            "WECOM_API_BASE": "http://x/",
            "WECOM_CALLBACK_MAX_AGE": "0",
        },
        dotenv=False,
    )
    assert s.corp_id == "ww1" and s.agent_id == 1000002
    assert s.admins == {"a", "b", "c"} and s.api_base == "http://x" and s.callback_max_age == 0
    assert s.timezone == "Asia/Shanghai"
    assert "WECOM_SECRET" in s.missing_wecom_settings()


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="WECOM_AGENT_ID"):
        Settings.from_env({"WECOM_AGENT_ID": "abc"}, dotenv=False)
    with pytest.raises(ValueError, match="43"):
        Settings.from_env({"WECOM_ENCODING_AES_KEY": "short"}, dotenv=False)


# -- schema ---------------------------------------------------------------------------------
def test_migrations_match_the_models(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


# -- text and router ------------------------------------------------------------------------
def test_normalize_full_width_and_spaces():
    assert normalize("  ＡＢ　 c\n") == "AB c"
    assert split_command("签到123456", "签到") == "123456"
    assert split_command("签到 123456", "签到") == "123456"
    assert split_command("helpful", "help") is None
    assert split_command("help me", "help") == "me"


def test_split_text_respects_the_byte_limit():
    parts = split_text("第一行\n" + "安" * 1000 + "\n" + "全" * 700)
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "") == ("第一行" + "安" * 1000 + "全" * 700)


def _msg(text: str) -> IncomingMessage:
    return IncomingMessage(msg_type="text", from_user="liuyang", create_time=1, content=text)


def test_longest_keyword_wins_and_admin_commands_are_refused(runtime, clock):
    router = Router()
    router.command("隐患")(lambda m, c, a: Reply.text("report:" + a))
    router.command("隐患列表", admin=True)(lambda m, c, a: Reply.text("list"))
    with transaction(runtime.factory) as s:
        ctx = Context(session=s, settings=runtime.settings, now=clock(), userid="liuyang")
        assert (
            router.dispatch(_msg("隐患 楼道堆物"), ctx).messages[0]["text"]["content"]
            == "report:楼道堆物"
        )
        refused = router.dispatch(_msg("隐患列表"), ctx).messages[0]["text"]["content"]
        assert "仅限管理员" in refused
        admin = Context(
            session=s,
            settings=runtime.settings,
            now=clock(),
            userid="wangfang",
            roles=frozenset({"admin"}),
        )
        assert router.dispatch(_msg("隐患列表"), admin).messages[0]["text"]["content"] == "list"


def test_conversation_state_survives_and_times_out(runtime, clock):
    router = Router()

    def start(m, c, a):
        c.start_flow("echo", "waiting")
        return Reply.text("say something")

    def flow(m, c):
        c.end_flow()
        return Reply.text("got " + m.content)

    router.command("开始")(start)
    router.flow("echo")(flow)
    router.set_fallback(lambda m, c: Reply.text("fallback"))

    def run(text):
        with transaction(runtime.factory) as s:
            ctx = Context(session=s, settings=runtime.settings, now=clock(), userid="liuyang")
            return router.dispatch(_msg(text), ctx).messages

    run("开始")
    assert run("hello")[0]["text"]["content"] == "got hello"  # a new transaction: state was stored
    run("开始")
    clock.advance(minutes=runtime.settings.conversation_timeout_minutes + 1)
    out = run("hello")
    # Issue 13 (item 11): the timed-out flow is paused and the text offered to it, not dropped.
    assert (
        len(out) == 1
        and "超时" in out[0]["text"]["content"]
        and "hello" in out[0]["text"]["content"]
    )
    assert run("继续")[0]["text"]["content"] == "got hello"
    assert run("hello")[0]["text"]["content"] == "fallback"


def test_conversation_changes_made_by_a_handler_are_kept(runtime, clock):
    """The conversation is written with Core after each message (no ORM flush): a handler that
    only moves the deadline, or changes its data in place, is remembered like a new step."""
    router = Router()

    def start(m, c, a):
        c.start_flow("count", "going", {"n": 0})
        return Reply.text("started")

    def flow(m, c):
        if m.content == "完":
            c.end_flow()
            return Reply.text("stopped")
        conv = c.conversation
        conv.data["n"] += 1  # in place, not a new dict
        conv.expires_at = c.now + timedelta(hours=5)  # more time, as drills and inspections give
        return Reply.text(f"n={conv.data['n']}")

    router.command("开始")(start)
    router.flow("count")(flow)
    router.set_fallback(lambda m, c: Reply.text("fallback"))

    def run(text):
        with transaction(runtime.factory) as s:
            ctx = Context(session=s, settings=runtime.settings, now=clock(), userid="liuyang")
            return router.dispatch(_msg(text), ctx).messages[0]["text"]["content"]

    assert run("开始") == "started"
    assert run("一") == "n=1"
    # Past the usual timeout, inside the five hours the handler gave: still counting.
    clock.advance(minutes=runtime.settings.conversation_timeout_minutes + 10)
    assert run("二") == "n=2"
    assert run("完") == "stopped"
    assert run("三") == "fallback"


# -- scheduler ------------------------------------------------------------------------------
def test_daily_push_runs_once_and_catches_up_after_a_late_start(runtime, clock, fake):
    from scheduler.registry import catch_up

    clock.set_local("2026-06-05 09:00:05")  # the process was down at 09:00 (and 08:30)
    assert {"daily_quiz", "daily_tip"} <= set(catch_up(runtime))
    assert catch_up(runtime) == []  # a second process, or the same minute again: nothing new
    runtime.sender.drain()
    texts = fake.texts_for("liuyang")
    assert sum("每日安全提示" in t for t in texts) == 1
    assert len(fake.messages_for("liuyang")) == 2  # the tip and the quiz, once each
    clock.set_local("2026-06-05 10:30:00")  # more than an hour after 09:00: not run again
    assert not {"daily_quiz", "daily_tip"} & set(catch_up(runtime))
    with runtime.factory() as s:
        runs = s.scalars(
            select(JobRun.job_id).where(JobRun.job_id.in_(["daily_tip", "daily_quiz"]))
        )
        assert sorted(runs) == ["daily_quiz", "daily_tip"]


def test_tip_exists_for_every_day_of_june():
    from datetime import datetime

    from scheduler.jobs import tip_message

    for day in range(1, 31):
        body = tip_message(datetime(2026, 6, day))
        assert body and len(body["text"]["content"].encode()) <= 2048
    assert "咨询日" in tip_message(datetime(2026, 6, 16))["text"]["content"]


# -- CLI ------------------------------------------------------------------------------------
def _cli(args, env_extra, cwd):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WECOM_", "SAFETYBOT_", "DATABASE_URL"))
    }
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def test_cli_serve_without_settings_names_what_is_missing(tmp_path):
    res = _cli(["serve"], {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, tmp_path)
    assert res.returncode == 2
    assert "WECOM_CORP_ID" in res.stderr and "WECOM_ENCODING_AES_KEY" in res.stderr


def settings_env(settings) -> dict[str, str]:
    """The environment a `safetybot` process needs to run as `settings` describes."""
    return {
        "DATABASE_URL": settings.database_url,
        "WECOM_CORP_ID": settings.corp_id,
        "WECOM_AGENT_ID": str(settings.agent_id),
        "WECOM_SECRET": settings.secret,
        "WECOM_TOKEN": settings.token,
        "WECOM_ENCODING_AES_KEY": settings.encoding_aes_key,
        "WECOM_API_BASE": settings.api_base,
    }


def test_cli_end_to_end(tmp_path, fake, settings):
    # Inside the campaign (content/campaign.yaml): outside it there is no tip (issue 13, item 4).
    clock_file = tmp_path / "clock"
    clock_file.write_text("2026-06-05T09:00:00+08:00")
    env = {**settings_env(settings), "SAFETYBOT_CLOCK_FILE": str(clock_file)}
    assert _cli(["init-db"], env, tmp_path).returncode == 0
    res = _cli(["sync-directory"], env, tmp_path)
    assert res.returncode == 0 and "12 members" in res.stdout
    res = _cli(["push", "tip"], env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "sent 12" in res.stdout
    again = _cli(["push", "tip"], env, tmp_path)
    assert "already" in again.stdout  # once a day, even from the CLI
    stats = json.loads(_cli(["stats", "--json"], env, tmp_path).stdout)
    for key in (
        "users",
        "departments",
        "pledges_signed",
        "checkins_today",
        "quiz_answers",
        "hazards",
        "suggestions",
    ):
        assert key in stats, key
    assert stats["users"] == 12 and stats["departments"] == 6
    out = _cli(["outbox"], env, tmp_path).stdout
    assert "enqueued 12 = sent 12 + pending 0 + dead 0" in out
    assert len(fake.texts_for("liuyang")) == 1


# -- directory and roles --------------------------------------------------------------------
def test_unknown_sender_is_looked_up_with_user_get(runtime, wecom, fake):
    from bot.models import User

    fake.add_user("newcomer", "新同事", [4])
    assert wecom.text("newcomer", "帮助").status == 200
    assert fake.count("user/get") == 1
    with runtime.factory() as s:
        user = s.get(User, "newcomer")
        assert user.name == "新同事" and user.department_id == 4
    wecom.text("newcomer", "帮助")
    assert fake.count("user/get") == 1  # known now


def test_unknown_sender_gets_an_answer_when_user_get_fails(runtime, wecom, fake):
    assert wecom.text("ghost-user", "帮助").status == 200  # user/get answers 60111
    assert "答题" in wecom.text("ghost-user", "帮助").text


def test_role_table_grants_admin(runtime, wecom):
    from bot.directory import grant

    assert "预警" not in wecom.text("zhaolei", "帮助").text
    with transaction(runtime.factory) as s:
        assert grant(s, "zhaolei", "safety_officer")
        assert not grant(s, "zhaolei", "safety_officer")
    assert "预警" in wecom.text("zhaolei", "帮助").text


def test_sync_directory_marks_departed_members(runtime, fake, clock):
    from bot.directory import sync_directory
    from bot.models import User

    del fake.state.users["sunyu"]
    with transaction(runtime.factory) as s:
        result = sync_directory(s, runtime.client, clock())
    assert result["users"] == 11
    with runtime.factory() as s:
        assert s.get(User, "sunyu").status == 5
        assert s.get(User, "liqiang").leader_of == [3]


def test_housekeeping_prunes_old_bookkeeping(runtime, wecom, clock):
    from bot.models import InboundMessage
    from scheduler.jobs import housekeeping
    from scheduler.ledger import run_once

    wecom.text("liuyang", "帮助")
    run_once(runtime.factory, "x", clock(), lambda s: "ok", clock())
    with transaction(runtime.factory) as s:
        assert housekeeping(s, runtime, clock()).startswith("job_runs 0, inbound 0")
    clock.advance(days=31)
    with transaction(runtime.factory) as s:
        housekeeping(s, runtime, clock())
    with runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(JobRun)) == 0
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_serve_runs_a_production_server_with_healthz(tmp_path, fake, settings):
    """`safetybot serve` (waitress) answers /healthz and a real encrypted callback."""
    import signal
    import socket
    import time

    import requests

    from bot.fake_wecom.driver import CallbackDriver, http_post
    from bot.wecom.crypto import CallbackCrypto

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "SAFETYBOT_"))}
    env.update(settings_env(settings), SAFETYBOT_ADMINS="wangfang")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Start-up migrates and imports the app: seconds alone, far more on a loaded CI box.
        res, deadline = None, time.monotonic() + 90
        while res is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                res = requests.get(base + "/healthz", timeout=1)
            except requests.RequestException:
                time.sleep(0.2)
        assert res is not None, "the server did not answer /healthz within 90 s"
        assert res.status_code == 200 and res.json()["database"] == "ok"
        crypto = CallbackCrypto(settings.token, settings.encoding_aes_key, settings.corp_id)
        driver = CallbackDriver(crypto, http_post(base), agent_id=settings.agent_id)
        assert (
            "答题" in driver.text("liuyang", "帮助").text
        )  # the sender is looked up with user/get
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, out
    assert "safetybot serving on" in out


def test_daily_activity_is_recorded_once_per_person_per_day(runtime, wecom, clock):
    from bot.models import DailyActivity

    for _ in range(3):
        wecom.text("liuyang", "帮助")
    wecom.text("zhaolei", "帮助")
    clock.advance(days=1)
    wecom.text("liuyang", "帮助")
    with runtime.factory() as s:
        rows = sorted(
            (a.day.isoformat(), a.userid, a.department_id) for a in s.scalars(select(DailyActivity))
        )
    assert rows == [
        ("2026-06-05", "liuyang", 3),
        ("2026-06-05", "zhaolei", 4),
        ("2026-06-06", "liuyang", 3),
    ]


def test_quiz_ranking_snapshot_is_reused_for_a_minute(runtime, wecom, clock):
    from bot.app import create_app
    from bot.fake_wecom.driver import CallbackDriver, flask_post

    cached_rt = build_runtime(runtime.settings.replace(ranking_cache_seconds=60), clock=clock)
    cached = CallbackDriver(
        cached_rt.crypto, flask_post(create_app(runtime=cached_rt).test_client())
    )
    for text in ("答题", "A", "B", "对"):
        cached.text("liuyang", text)
    first = cached.text("zhaolei", "排行").text
    assert "刘洋" in first and "陈静" not in first and "每分钟更新" in first
    for text in ("答题", "A", "B", "对"):
        wecom.text("chenjing", text)  # through the bot without the snapshot
    assert "陈静" in wecom.text("zhaolei", "排行").text
    assert cached.text("zhaolei", "排行").text == first  # under a minute old: reused
    clock.advance(seconds=61)
    assert "陈静" in cached.text("zhaolei", "排行").text  # recomputed
    cached_rt.close()

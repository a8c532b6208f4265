"""Shared fixtures: databases (SQLite and PostgreSQL), the fake WeCom API, a clock, the bot.

PostgreSQL: each test gets its own schema in DATABASE_URL_PG (default: the local `test`
database). Without a server those tests skip, unless SAFETYBOT_REQUIRE_PG=1 (CI), when they fail.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.app import create_app
from bot.db import transaction
from bot.directory import sync_directory
from bot.fake_wecom import FakeWeCom
from bot.fake_wecom.driver import CallbackDriver, flask_post
from bot.fake_wecom.seed import ADMINS, seed_directory
from bot.migrate import upgrade
from bot.runtime import build_runtime
from bot.settings import Settings

PG_URL = os.environ.get("DATABASE_URL_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TZ = "Asia/Shanghai"


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_reason() -> str | None:
    return _pg_available()


def _pg_schema_url(pg_reason):
    if pg_reason is not None:
        if os.environ.get("SAFETYBOT_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required but unavailable: {pg_reason}")
        pytest.skip(f"PostgreSQL unavailable: {pg_reason}")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    return url, admin, schema


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path, pg_reason):
    """A fresh empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    url, admin, schema = _pg_schema_url(pg_reason)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
def pg_url(pg_reason):
    url, admin, schema = _pg_schema_url(pg_reason)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


class FakeClock:
    """A controllable clock: `clock()` is now (aware UTC); `advance()` moves it."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set_local(self, value: str, tz: str = TZ) -> datetime:
        from zoneinfo import ZoneInfo

        self.current = (
            datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)
        )
        return self.current


@pytest.fixture
def clock() -> FakeClock:
    c = FakeClock(datetime(2026, 6, 5, 1, 0, tzinfo=timezone.utc))  # 09:00 in Shanghai
    return c


@pytest.fixture
def fake():
    with FakeWeCom(corp_id="wwtestcorp0001", secret="test-secret", agent_id=1000002) as f:
        seed_directory(f)
        yield f


def make_settings(db_url: str, fake: FakeWeCom, **overrides) -> Settings:
    aes_key = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    values = dict(
        corp_id=fake.state.corp_id,
        agent_id=fake.state.agent_id,
        secret=fake.state.secret,
        token="testtoken",
        encoding_aes_key=aes_key,
        api_base=fake.url,
        database_url=db_url,
        admins=frozenset(ADMINS),
        # Tests check figures right after the answers that change them (the snapshot itself
        # is tested with its production default in test_quiz_ranking_snapshot).
        ranking_cache_seconds=0,
        # The scheduler tests are written for these push times (the defaults avoid :00/:30).
        tip_time="08:30",
        quiz_time="09:00",
        timezone=TZ,
        files_dir=str(Path(db_url.split("///")[-1]).parent / "files")
        if db_url.startswith("sqlite")
        else "/tmp/safetybot-test-files/" + uuid.uuid4().hex,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings_for():
    """make_settings as a fixture, for tests that build their own runtime."""
    return make_settings


@pytest.fixture
def settings(db_url, fake) -> Settings:
    return make_settings(db_url, fake)


@pytest.fixture
def runtime(settings, clock, fake):
    rt = build_runtime(settings, clock=clock, client_sleep=lambda _s: None)
    upgrade(rt.engine)
    with transaction(rt.factory) as s:
        sync_directory(s, rt.client, clock())
    fake.reset()  # tests count their own calls
    yield rt
    rt.close()


@pytest.fixture
def app(runtime):
    app = create_app(runtime=runtime)
    app.testing = True
    return app


@dataclass
class CardClick:
    """What a person sees after tapping a card button: WeCom takes only a card update as the
    answer to the click, so any text reaches them through the API (`text`, joined)."""

    status: int
    texts: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


class TestDriver(CallbackDriver):
    def __init__(self, runtime, fake, post) -> None:
        super().__init__(runtime.crypto, post, agent_id=runtime.settings.agent_id)
        self.runtime, self.fake = runtime, fake

    def card_event(self, userid: str, *args, **kwargs) -> CardClick:  # type: ignore[override]
        before = len(self.fake.texts_for(userid))
        result = super().card_event(userid, *args, **kwargs)
        assert result.text is None, "a card click must not get a passive text reply"
        self.runtime.sender.drain()
        return CardClick(result.status, self.fake.texts_for(userid)[before:])


@pytest.fixture
def wecom(app, runtime, fake) -> TestDriver:
    """Sends signed, encrypted callbacks to the app as WeCom would."""
    return TestDriver(runtime, fake, flask_post(app.test_client()))


@pytest.fixture
def session(runtime):
    with transaction(runtime.factory) as s:
        yield s


@pytest.fixture
def cli_runtime(monkeypatch):
    """Run `safetybot` sub-commands on a runtime the test built (its clock, its fake WeCom):
    `cli_runtime(rt)` makes `open_runtime` hand out `rt` and leave it open for the test."""
    import bot.runtime

    def use(rt) -> None:
        class KeepOpen:
            def __getattr__(self, name):
                return getattr(rt, name)

            def close(self) -> None:
                pass

        monkeypatch.setattr(bot.runtime, "build_runtime", lambda settings, **kw: KeepOpen())
        # `main()` reads DATABASE_URL; read-only commands first check that it exists.
        monkeypatch.setenv("DATABASE_URL", rt.settings.database_url)

    return use

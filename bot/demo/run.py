"""`safetybot demo`: the bot, the loopback WeCom stand-in and a web chat page, one command.

Nothing leaves the machine: the fake WeCom API listens on 127.0.0.1, the page posts each
message as a signed, encrypted WeCom callback to the bot's real /wecom/callback endpoint, and
whatever the bot sends through the API (replies, pushes, broadcasts) shows up in the chat.
"""

from __future__ import annotations

import base64
import logging
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.serving import serve_until_signal
from bot.settings import Settings

log = logging.getLogger(__name__)

DEMO_CONSOLE_USER = "admin"
DEMO_CONSOLE_PASSWORD = "safetybot-demo"


def default_database_url() -> str:
    return "sqlite:///" + str(Path("instance").resolve() / "demo.db")


def files_dir() -> Path:
    return Path("instance").resolve() / "demo-files"


def reset_demo(database_url: str | None) -> list[Path]:
    """Delete the demo's SQLite database (with its -wal and -shm files) and its files folder,
    so the next start is fresh; the paths removed. Refuses (ValueError) a database that is
    not a SQLite file: dropping a server's database is not the demo's to do."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url or default_database_url())
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        raise ValueError("--reset only deletes a SQLite demo database (a file)")
    db = Path(url.database)
    removed = []
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if path.is_file():
            path.unlink()
            removed.append(path)
    if files_dir().is_dir():
        shutil.rmtree(files_dir())
        removed.append(files_dir())
    return removed


def demo_settings(
    api_base: str, database_url: str | None, corp_id: str, secret: str, agent_id: int
) -> Settings:
    return Settings(
        corp_id=corp_id,
        agent_id=agent_id,
        secret=secret,
        token=secrets.token_urlsafe(12),
        encoding_aes_key=base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="),
        api_base=api_base,
        oauth_base=api_base,  # the fake WeCom also plays open.weixin.qq.com (web sign-in)
        database_url=database_url or default_database_url(),
        admins=frozenset({"wangfang"}),
        files_dir=str(files_dir()),
        secret_key=secrets.token_hex(16),
    )


@dataclass
class Demo:
    fake: object
    runtime: object
    scheduler: object
    server: object
    base_url: str

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        self.server.close()
        self.runtime.close()
        self.fake.stop()


def start_demo(host: str = "127.0.0.1", port: int = 8000, database_url: str | None = None) -> Demo:
    """Build everything; the caller runs `demo.server.run()` (blocking)."""
    from waitress import create_server

    from bot.app import create_app
    from bot.db import transaction
    from bot.demo.web import DemoChat, register_demo
    from bot.directory import sync_directory
    from bot.fake_wecom import FakeWeCom
    from bot.fake_wecom.seed import seed_directory
    from bot.migrate import upgrade
    from bot.runtime import build_runtime
    from scheduler.registry import build_scheduler

    fake = FakeWeCom(corp_id="wwdemo00000000001", secret=secrets.token_urlsafe(16)).start()
    seed_directory(fake)
    settings = demo_settings(
        fake.url, database_url, fake.state.corp_id, fake.state.secret, fake.state.agent_id
    )
    rt = sched = None
    try:
        rt = build_runtime(settings)
        upgrade(rt.engine)
        with transaction(rt.factory) as s:
            sync_directory(s, rt.client, rt.clock())
        with transaction(rt.factory) as s:
            # A console login for the demo (the password is printed at start; demo data only).
            from bot.console.auth import create_account

            create_account(
                s,
                DEMO_CONSOLE_USER,
                DEMO_CONSOLE_PASSWORD,
                role="admin",
                departments=None,
                now=rt.clock(),
            )
        with transaction(rt.factory) as s:
            # The samples to try, once: the demo's database survives a restart (--reset starts
            # afresh), and a second set would list every task and round twice.
            if not demo_seeded(s):
                seed_demo_round(s, rt.clock(), settings.tz)
                demo_learning_task(s, rt)
                demo_desk_exercise(s, rt.clock())
                demo_submission_contest(s, rt)
        rt.start_sender(interval=0.5)
        sched = build_scheduler(rt)
        sched.start()
        app = create_app(runtime=rt)
        server = create_server(app, host=host, port=port, threads=8)
    except BaseException:
        # Nothing left running (a busy port, a database out of reach): the command ends.
        if sched is not None:
            sched.shutdown(wait=False)
        if rt is not None:
            rt.close()
        fake.stop()
        raise
    base = f"http://{host}:{server.effective_port}"
    register_demo(app, DemoChat(fake, rt, base))
    return Demo(fake, rt, sched, server, base)


DEMO_INSPECTOR = "liuyang"  # 刘洋, 生产一车间: the demo page's first ordinary member
DEMO_DEPARTMENT = 3


def seed_demo_round(session, now, tz):
    """One inspection round ready to try: the fire checklist (else the first one) for
    生产一车间, 刘洋 as the inspector, due in a week. Nothing when there is no checklist."""
    from datetime import timedelta

    from bot.inspection.rounds import RoundRefused, start_round
    from bot.inspection.templates import templates

    found = templates()
    if not found:
        log.warning("demo: no checklist in content/checklists, no inspection round")
        return None
    template_id = "fire" if "fire" in found else next(iter(found))
    today = now.astimezone(tz).date()
    try:
        return start_round(
            session,
            template_id=template_id,
            assignments=[(DEMO_DEPARTMENT, DEMO_INSPECTOR)],
            due=today + timedelta(days=7),
            actor="demo",
            now=now,
            today=today,
            occurrence=f"demo:{template_id}",
        )
    except RoundRefused as exc:
        log.warning("demo: inspection round not started (%s)", exc.key)
        return None


def demo_seeded(session) -> bool:
    """Whether an earlier start of this demo database already made the samples."""
    from sqlalchemy import select

    from bot.models import LearningTask

    return (
        session.scalar(select(LearningTask.id).where(LearningTask.created_by == "demo")) is not None
    )


def demo_learning_task(session, rt) -> None:
    """One learning task for everyone, ready to try: an article with check questions if
    content/learning has one, else a link (the demo's card links are relative: the demo page
    opens them on the demo server itself)."""
    from datetime import timedelta

    from bot.learning.content import load_items
    from bot.learning.tasks import assign

    items = sorted(load_items().values(), key=lambda i: (i.kind != "article", -len(i.questions)))
    now = rt.clock()
    item = items[0] if items else None
    assign(
        session,
        title=item.title if item else "观看本单位消防演练视频",
        item_id=item.id if item else None,
        url=None if item else "https://www.mem.gov.cn/",
        due=(now.astimezone(rt.settings.tz) + timedelta(days=7)).date(),
        created_by="demo",
        now=now,
        tz=rt.settings.tz,
        public_url=rt.settings.public_url,
    )


def demo_desk_exercise(session, now):
    """One desk exercise (桌面推演) ready to try: 刘洋 answers it (type 推演, or a letter),
    王芳 facilitates (推演 插入 / 推演 进度 / 推演 结束). Nothing when there is no scenario."""
    from bot.drills.desk import start_desk
    from bot.drills.scenarios import scenarios

    found = scenarios()
    if not found:
        log.warning("demo: no scenario in content/drills, no desk exercise")
        return None
    scenario_id = "fire-evacuation" if "fire-evacuation" in found else next(iter(found))
    return start_desk(
        session,
        scenario_id=scenario_id,
        facilitator="wangfang",
        department_ids=[],
        userids=[DEMO_INSPECTOR],
        now=now,
    )


def demo_submission_contest(session, rt) -> None:
    """A 征文 / 随手拍 contest open for a week, so 征文 …, a photo plus 随手拍 … and 我的投稿
    can be tried at once (voting starts the day after the deadline)."""
    from datetime import timedelta

    from bot.submissions.contests import open_contest

    now = rt.clock()
    open_contest(
        session,
        theme="我身边的安全",
        kind="both",
        submit_until=(now.astimezone(rt.settings.tz) + timedelta(days=7)).date(),
        vote_until=None,
        created_by="demo",
        now=now,
        tz=rt.settings.tz,
    )


def run_demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    database_url: str | None = None,
    reset: bool = False,
) -> int:
    if reset:
        try:
            removed = reset_demo(database_url)
        except ValueError as exc:
            print(f"safetybot demo: {exc}", file=sys.stderr, flush=True)
            return 2
        print(
            "safetybot demo: starting fresh"
            + (f" (removed {', '.join(str(p) for p in removed)})" if removed else ""),
            flush=True,
        )
    demo = start_demo(host, port, database_url)
    print(
        f"safetybot demo: open {demo.base_url}/ in a browser (fake WeCom API at {demo.fake.url})",
        flush=True,
    )
    print(
        f"admin console: {demo.base_url}/admin  (user {DEMO_CONSOLE_USER}, "
        f"password {DEMO_CONSOLE_PASSWORD})",
        flush=True,
    )
    print(
        "The demo's data stay in "
        + str(demo.runtime.settings.database_url.removeprefix("sqlite:///"))
        + "; `safetybot demo --reset` starts fresh. Press Ctrl+C to stop.",
        flush=True,
    )
    serve_until_signal(demo.server)
    demo.stop()
    return 0

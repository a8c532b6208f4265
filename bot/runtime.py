"""Wiring: build the engine, session factory, WeCom client, router and Bot for one process.

Nothing here runs at import time; `create_app`, the CLI and the tests call `build_runtime`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine, make_session_factory
from bot.dispatcher import Bot
from bot.migrate import upgrade
from bot.router import Router
from bot.sender import OutboxSender, SenderThread
from bot.settings import Settings
from bot.token_store import DbTokenStore
from bot.wecom.client import WeComClient
from bot.wecom.crypto import CallbackCrypto

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    client: WeComClient
    router: Router
    bot: Bot
    sender: OutboxSender
    crypto: CallbackCrypto | None
    clock: Callable[[], datetime]
    sender_thread: SenderThread | None = None

    def start_sender(self, interval: float = 1.0) -> SenderThread:
        if self.sender_thread is None:
            self.sender_thread = SenderThread(self.sender, interval)
            self.sender_thread.start()
        return self.sender_thread

    def kick_sender(self) -> None:
        if self.sender_thread is not None:
            self.sender_thread.kick()

    def close(self) -> None:
        if self.sender_thread is not None:
            self.sender_thread.stop()
            self.sender_thread.join(timeout=5)
            self.sender_thread = None
        self.engine.dispose()


def build_runtime(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] | None = None,
    router: Router | None = None,
    client_sleep: Callable[[float], None] | None = None,
) -> Runtime:
    from bot.inspection.templates import load_templates
    from handlers import build_router

    # A checklist with an unknown field, a missing source or a duplicate item id is refused
    # here, at start-up, with its file and line (TemplateError).
    load_templates()

    from bot.learning.content import load_items

    # Bad content/learning files refuse the start, with file and line (LearningContentError).
    load_items()
    if clock is None and settings.clock_file:
        from bot.testing_clock import FileClock

        log.warning(
            "SAFETYBOT_CLOCK_FILE is set: simulated time from %s (tests only)", settings.clock_file
        )
        clock = FileClock(settings.clock_file)
    clock = clock or (lambda: datetime.now(timezone.utc))
    engine = engine or make_engine(settings.database_url)
    factory = make_session_factory(engine)
    token_key = f"{settings.corp_id}:{settings.agent_id}"
    kwargs: dict[str, Any] = {}
    if client_sleep is not None:
        kwargs["sleep"] = client_sleep
    client = WeComClient(
        settings.corp_id,
        settings.secret or "-",
        settings.agent_id,
        api_base=settings.api_base,
        token_store=DbTokenStore(factory, token_key),
        timeout=settings.api_timeout,
        **kwargs,
    )
    router = router or build_router()
    crypto = None
    if settings.token and settings.encoding_aes_key and settings.corp_id:
        crypto = CallbackCrypto(settings.token, settings.encoding_aes_key, settings.corp_id)

    def lookup(userid: str) -> dict[str, Any] | None:
        # The request path has WeCom's 5 s deadline: one short try, no retries.
        data = client.quick(2.0).get_user(userid)
        return data if data.get("userid") else None

    bot = Bot(
        settings,
        factory,
        router,
        clock=clock,
        lookup_user=lookup if settings.secret else None,
    )
    sender = OutboxSender(factory, client, clock=clock)
    rt = Runtime(
        settings=settings,
        engine=engine,
        factory=factory,
        client=client,
        router=router,
        bot=bot,
        sender=sender,
        crypto=crypto,
        clock=clock,
    )
    bot.services = rt  # prefetchers get the process's services (bot.services.Services)
    bot.on_enqueue = rt.kick_sender  # the runtime owns the sender thread the bot wakes
    return rt


@contextmanager
def open_runtime(settings: Settings, *, migrate: bool = True, **kwargs: Any) -> Iterator[Runtime]:
    """A runtime for one command or job: schema migrated (unless `migrate=False`), closed on exit."""
    rt = build_runtime(settings, **kwargs)
    try:
        if migrate:
            upgrade(rt.engine)
        yield rt
    finally:
        rt.close()

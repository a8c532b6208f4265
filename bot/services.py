"""What a prefetcher or a scheduled job may use besides its session: the process's services.

`bot.runtime.Runtime` provides them; domain code types against this protocol so it never
imports the composition root (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from bot.wecom.client import WeComClient


class Services(Protocol):
    settings: Settings
    factory: sessionmaker[Session]
    client: WeComClient
    clock: Callable[[], datetime]

    def kick_sender(self) -> None: ...

"""The WeCom access token, shared through the database by every process.

WeCom limits gettoken calls and invalidates nothing when a new token is fetched, but a token
per process is wasteful and, under many workers, trips the frequency limit. The row is locked
(SELECT … FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite) while a token is fetched, so
when it expires exactly one process fetches a new one and the others wait and reuse it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import insert_ignore, transaction
from bot.models import AccessToken

# Refresh this long before WeCom's expiry, so a token never dies mid-request.
REFRESH_MARGIN = timedelta(minutes=5)


class DbTokenStore:
    def __init__(
        self,
        factory: sessionmaker[Session],
        key: str,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._factory = factory
        self._key = key
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires: datetime | None = None

    def _fresh(self, token: str | None, expires: datetime | None, stale: str | None) -> bool:
        return (
            bool(token)
            and token != stale
            and expires is not None
            and expires - self._clock() > REFRESH_MARGIN
        )

    def get(self, fetch: Callable[[], tuple[str, int]], stale: str | None = None) -> str:
        if self._fresh(self._token, self._expires, stale):
            return self._token  # type: ignore[return-value]
        with self._lock, transaction(self._factory) as session:
            insert_ignore(session, AccessToken, {"key": self._key})
            row = session.execute(
                select(AccessToken).where(AccessToken.key == self._key).with_for_update()
            ).scalar_one()
            if not self._fresh(row.token, row.expires_at, stale):
                token, expires_in = fetch()
                now = self._clock()
                row.token, row.fetched_at = token, now
                row.expires_at = now + timedelta(seconds=expires_in)
            self._token, self._expires = row.token, row.expires_at
            return row.token  # type: ignore[return-value]

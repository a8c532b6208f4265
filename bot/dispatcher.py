"""The framework-neutral core: one incoming message -> one transaction -> one reply.

Flask never appears here (see bot.callback for the ~thin adapter), so tests, the demo and
benchmarks drive the same code path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import bindparam, select, true, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot import prepared
from bot.content import texts
from bot.context import SENDER_COLUMNS, Context, load_sender, sender_from_rows
from bot.counters import count_active
from bot.db import (
    TransientDatabaseError,
    bound_insert_ignore,
    insert_ignore,
    is_postgres,
    is_transient,
    lock_wait,
    on_commit,
    transaction,
)
from bot.directory import ensure_user, roles_for
from bot.messages import TEXT_LIMIT_BYTES, IncomingMessage, Reply, split_text, text_message
from bot.models import DailyActivity, InboundMessage, User
from bot.outbox import enqueue
from bot.router import Router
from bot.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    reply: Reply | None
    duplicate: bool = False
    passive_text: str | None = None  # the one text answered inside the HTTP response
    queued: int = 0  # messages sent through the API instead


# The longest a callback waits for SQLite's write lock: well inside WeCom's 5 s deadline.
CALLBACK_LOCK_WAIT = 3.0


class Bot:
    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        router: Router,
        *,
        clock: Callable[[], datetime] | None = None,
        lookup_user: Callable[[str], dict[str, Any] | None] | None = None,
        on_enqueue: Callable[[], None] | None = None,
        services: Services | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.router = router
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.lookup_user = lookup_user
        self.on_enqueue = on_enqueue
        # What prefetchers use (the runtime); set by the composition root.
        self.services = services
        # Senders already in the users table (saves a query per message; rows are never deleted).
        self._known_users: set[str] = set()
        self._known_loaded = False
        # (userid, day) whose DailyActivity row this process has written today.
        self._active_today: set[tuple[str, object]] = set()
        self._active_day: object = None

    def now(self) -> datetime:
        return self.clock().astimezone(self.settings.tz)

    def handle(self, msg: IncomingMessage) -> Outcome:
        """Handle one callback in one transaction.

        A transient database failure (unreachable, connection lost, locked or busy past
        CALLBACK_LOCK_WAIT, serialization failure, deadlock) raises TransientDatabaseError
        with nothing recorded, so the caller answers 5xx and WeCom's retry takes effect once
        the database is back. Only a deterministic error (a bug) is recorded with the
        apology, so that retries of that message do not loop."""
        try:
            with lock_wait(CALLBACK_LOCK_WAIT):
                looked_up = self._lookup_stranger(msg.from_user)
                prefetched = self._prefetch(msg)
                try:
                    outcome = self._handle_reconnecting(msg, looked_up, prefetched)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    log.exception("handling %s from %s failed", msg.dedup_key, msg.from_user)
                    outcome = self._record_failure(msg)
        except Exception as exc:
            if is_transient(exc):
                log.warning("database unavailable for %s: %s", msg.dedup_key, exc)
                raise TransientDatabaseError(str(exc)) from exc
            raise
        if outcome.queued and self.on_enqueue:
            self.on_enqueue()
        return outcome

    def _handle_reconnecting(self, msg: IncomingMessage, looked_up, prefetched) -> Outcome:
        """The transaction, run once more if its connection turned out to be dead (PostgreSQL
        restarted since the pool last used it: bot.db checks only idle connections first).
        Safe: a lost connection keeps nothing of an open transaction, and if it died in
        COMMIT after all, the second run finds the MsgId row and answers as a retry."""
        try:
            return self._handle_in_transaction(msg, looked_up, prefetched)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.warning("connection lost handling %s, once more: %s", msg.dedup_key, exc)
            return self._handle_in_transaction(msg, looked_up, prefetched)

    def _lookup_stranger(self, userid: str) -> dict[str, Any] | None:
        # Outside the transaction: a slow user/get must not hold a database lock.
        if self.lookup_user is None or userid in self._known_users:
            return None
        if not self._known_loaded:
            # Once per process: every member synced from the directory is known, so only a
            # real stranger costs a query (and a user/get) on the message path.
            with self.factory() as s:
                self._known_users.update(s.scalars(select(User.userid)))
            self._known_loaded = True
            if userid in self._known_users:
                return None
        with self.factory() as s:
            if s.get(User, userid) is not None:
                self._known_users.add(userid)
                return None
        try:
            return self.lookup_user(userid)
        except Exception:  # noqa: BLE001 - an unknown sender still gets an answer
            log.warning("user/get %s failed", userid, exc_info=True)
            return None

    def _prefetch(self, msg: IncomingMessage) -> Any:
        for fn in self.router.prefetchers.get(msg.msg_type, []):
            try:
                found = fn(msg, self.services)
            except Exception:  # noqa: BLE001 - the handler decides what a missing result means
                log.warning("prefetch for %s failed", msg.dedup_key, exc_info=True)
                continue
            if found is not None:
                return found
        return None

    def _handle_in_transaction(self, msg: IncomingMessage, looked_up, prefetched) -> Outcome:
        now = self.now()
        params = {
            "dedup_key": msg.dedup_key,
            "userid": msg.from_user,
            "msg_type": msg.msg_type,
            "event": msg.event or None,
            "received_at": now,
        }
        with transaction(self.factory) as s:
            sender_rows = None
            if is_postgres(s):
                # One round trip: the MsgId insert decides first (a data-modifying WITH runs
                # whatever the SELECT reads), and the sender's rows come with its id; no row
                # at all means the insert did nothing: a retry.
                rows = prepared.run(s, _START_POSTGRES, params).all()
                inserted = rows[0] if rows else None
                sender_rows = [row[1:] for row in rows]
            else:
                inserted = prepared.run(s, _insert_inbound, params).first()
            if inserted is None:
                # A retry (or a concurrent copy) of a callback that already took effect:
                # answer as the first time, change nothing.
                stored = s.scalar(
                    select(InboundMessage.reply).where(InboundMessage.dedup_key == msg.dedup_key)
                )
                reply = Reply.from_json(stored)
                return Outcome(reply=reply, duplicate=True, passive_text=_passive_text(reply, msg))
            sender = (
                load_sender(s, self.settings, msg.from_user)
                if sender_rows is None
                else sender_from_rows(s, self.settings, msg.from_user, sender_rows)
            )
            if sender is None:  # a stranger: the row is created now, from user/get if any
                user = ensure_user(s, msg.from_user, looked_up, now)
                roles = roles_for(s, self.settings, user, msg.from_user)
                ctx = Context(s, self.settings, now, msg.from_user, user, roles)
            else:
                user, roles, conv = sender
                ctx = Context(s, self.settings, now, msg.from_user, user, roles)
                ctx.use_conversation(conv)
            ctx.prefetched = prefetched
            first_of_day = self._record_activity(s, user, now)
            reply = self.router.dispatch(msg, ctx)
            outcome = self._deliver(s, msg, reply, now, inserted[0])
            prepared.run(
                s,
                _UPDATE_REPLY,
                {"inbound_id": inserted[0], "reply": reply.to_json() if reply else None},
            )
            if first_of_day is not None:
                # Last statement of the transaction: on PostgreSQL every first message of the
                # day in a department updates this one row, so its lock is held only for the
                # commit (and is the last lock taken: see bot.counters' lock order).
                count_active(s, *first_of_day)
            return outcome

    def _record_activity(self, s: Session, user: User, now: datetime) -> tuple | None:
        """One DailyActivity row per person per local day (participation figures read it).

        Returns (department, day) when this message really inserted the row (the person's
        first message of the day): the caller then counts it in department_day_active. Each
        process remembers whom it has recorded today, so after the first message of the day
        this costs nothing; the primary key settles races between processes (the loser's
        insert does nothing and counts nothing)."""
        key = (user.userid, now.date())
        if key in self._active_today:
            return None
        if self._active_day != now.date():
            self._active_today.clear()
            self._active_day = now.date()
        inserted = prepared.run(
            s,
            _insert_activity,
            {
                "day": now.date(),
                "userid": user.userid,
                "department_id": user.department_id,
                "first_at": now,
            },
        ).rowcount
        # Remembered only once committed: a rolled-back message must not hide the day.
        on_commit(s, lambda: self._active_today.add(key))
        return (user.department_id, now.date()) if inserted == 1 else None

    def _deliver(
        self, s: Session, msg: IncomingMessage, reply: Reply | None, now: datetime, inbound_id: int
    ) -> Outcome:
        if reply is None:
            return Outcome(reply=None)
        reply.messages = _split_long_texts(reply.messages)
        queued = 0
        if reply.card_update and msg.response_code:
            # The card is updated under the task id that was clicked (each batch of a card
            # has its own, see bot.sender.batch_payload).
            card = {**reply.card_update, "task_id": msg.task_id or reply.card_update.get("task_id")}
            enqueue(
                s,
                [msg.from_user],
                {"response_code": msg.response_code, "card": card},
                source=f"card:{inbound_id}",
                now=now,
                kind="update_card",
                duplicate_check=False,
            )
            queued += 1
        passive = _passive_text(reply, msg)
        if passive is None and reply.messages:
            for i, body in enumerate(reply.messages):
                # No duplicate check on a reply: a person who asks for 责任书 twice in 30
                # minutes must get it twice (WeCom would suppress the identical request).
                enqueue(
                    s,
                    [msg.from_user],
                    body,
                    source=f"reply:{inbound_id}:{i}",
                    now=now,
                    duplicate_check=False,
                )
                queued += 1
        return Outcome(reply=reply, passive_text=passive, queued=queued)

    def _record_failure(self, msg: IncomingMessage) -> Outcome:

        reply = Reply.text(texts.get("error"))
        passive = _passive_text(reply, msg)
        queued = 0
        try:
            with transaction(self.factory) as s:
                row = insert_ignore(
                    s,
                    InboundMessage,
                    {
                        "dedup_key": msg.dedup_key,
                        "userid": msg.from_user,
                        "msg_type": msg.msg_type,
                        "event": msg.event or None,
                        "received_at": self.now(),
                        "reply": reply.to_json(),
                    },
                    returning=InboundMessage.id,
                ).first()
                if passive is None and row is not None:  # a card click: the apology via the API
                    enqueue(
                        s,
                        [msg.from_user],
                        reply.messages[0],
                        source=f"failure:{row[0]}",
                        now=self.now(),
                        duplicate_check=False,
                    )
                    queued = 1
        except Exception:  # noqa: BLE001
            log.exception("recording the failure of %s failed", msg.dedup_key)
        return Outcome(reply=reply, passive_text=passive, queued=queued)


# Statements on every message's path, built once: constructing a statement and computing its
# cache key costs more than executing it on SQLite.
_INBOUND = InboundMessage.__table__
_UPDATE_REPLY = (
    update(_INBOUND)
    .where(_INBOUND.c.id == bindparam("inbound_id"))
    .values(reply=bindparam("reply"))
)
_INBOUND_COLUMNS = ("dedup_key", "userid", "msg_type", "event", "received_at")


@prepared.per_dialect
def _insert_inbound(dialect: str) -> Any:
    return bound_insert_ignore(dialect, InboundMessage, _INBOUND_COLUMNS, InboundMessage.id)


@prepared.per_dialect
def _insert_activity(dialect: str) -> Any:
    """The daily_activity insert; its rowcount says whether this message inserted the row.
    preserve_rowcount: SQLAlchemy keeps an INSERT's rowcount only when asked (psycopg's is
    gone once the cursor is closed; sqlite3's happens to stay)."""
    columns = ("day", "userid", "department_id", "first_at")
    return bound_insert_ignore(dialect, DailyActivity, columns).execution_options(
        preserve_rowcount=True
    )


def _start_postgres() -> Any:
    """PostgreSQL: the MsgId insert as a data-modifying WITH, and the sender's rows
    (bot.context.SENDER_COLUMNS) outer-joined to its RETURNING: one row per role, or one with
    NULL sender columns for a stranger, or none for a retry."""
    inserted = _insert_inbound.built("postgresql").cte("inserted")
    return select(inserted.c.id, *SENDER_COLUMNS.c).select_from(
        inserted.outerjoin(SENDER_COLUMNS, true())
    )


_START_POSTGRES = _start_postgres()


def _passive_text(reply: Reply | None, msg: IncomingMessage) -> str | None:
    """A reply of exactly one short text goes back in the HTTP response (no API call).

    Not for a card click: WeCom documents only a card update as the answer to a
    template_card_event, so texts for it go through the API."""
    if reply is None or len(reply.messages) != 1 or msg.event == "template_card_event":
        return None
    body = reply.messages[0]
    if body.get("msgtype") != "text":
        return None
    content = body["text"]["content"]
    return content if len(content.encode()) <= TEXT_LIMIT_BYTES else None


def _split_long_texts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for body in messages:
        if body.get("msgtype") == "text":
            out.extend(text_message(part) for part in split_text(body["text"]["content"]))
        else:
            out.append(body)
    return out

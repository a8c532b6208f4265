"""What a handler gets besides the message: the transaction, the clock, the user, helpers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from bot import bank_cache, prepared
from bot.content import Texts, texts
from bot.db import attach
from bot.directory import roles_from
from bot.models import AuditLog, Conversation, RoleAssignment, User
from bot.outbox import enqueue
from bot.settings import Settings

# Reserved keys in Conversation.data (flows never use names starting with "_").
PAUSED = "_paused"
PENDING = "_pending"
STASH = "_stash"
# How long a paused conversation is kept for 「继续」.
PAUSE_KEEP = timedelta(days=1)


def _copy_json(value: Any) -> Any:
    """A copy of conversation values (JSON-shaped: dicts, lists, scalars, datetimes) that a
    handler's later changes cannot reach. copy.deepcopy did this at several times the cost
    (its memo and type dispatch), twice per message."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy_json(v) for v in value)
    return value


@dataclass
class Context:
    session: Session
    settings: Settings
    now: datetime  # timezone-aware, in the campaign's time zone
    userid: str
    user: User | None = None
    roles: frozenset[str] = frozenset()
    texts: Texts = field(default_factory=lambda: texts)
    # What the router's prefetcher for this message type fetched before the transaction.
    prefetched: Any = None
    # A command's arguments as typed (Chinese punctuation and line breaks kept); set by the router.
    raw_args: str = ""
    _conversation: Conversation | None = field(default=None, repr=False)
    _conversation_loaded: bool = field(default=False, repr=False)
    # The conversation's columns as the database holds them (None: no row), to write only
    # what changed; see save_conversation.
    _conversation_stored: dict[str, Any] | None = field(default=None, repr=False)

    # -- identity ---------------------------------------------------------------------
    @property
    def is_admin(self) -> bool:
        """Admins and safety officers may run the admin commands."""
        return bool(self.roles & {"admin", "safety_officer"})

    @property
    def display_name(self) -> str:
        return self.user.name if self.user and self.user.name else self.userid

    def t(self, key: str, **values: Any) -> str:
        return self.texts.get(key, **values)

    @property
    def today(self):
        return self.now.date()

    # -- conversations ----------------------------------------------------------------
    @property
    def conversation(self) -> Conversation | None:
        if not self._conversation_loaded:
            row = prepared.run(self.session, _CONVERSATION, {"userid": self.userid}).first()
            self.use_conversation(None if row is None else row._asdict())
        return self._conversation

    def use_conversation(self, values: dict[str, Any] | None) -> None:
        """Take the conversation row read by the caller (None: the person has none)."""
        self._conversation = None if values is None else Conversation(**values)
        self._conversation_stored = None if values is None else _copy_json(values)
        self._conversation_loaded = True

    def save_conversation(self) -> None:
        """Write the conversation's changes with one Core statement (the router calls this
        after every message, in the message's transaction).

        The conversation is a plain object outside the session: the ORM's unit-of-work flush
        of one small row cost more than the rest of an answer's statements together. Only
        what changed is written; a row deleted by end_flow is already gone."""
        conv = self._conversation
        if not self._conversation_loaded or conv is None:
            return
        values = {name: getattr(conv, name) for name in _CONV_COLUMNS}
        if self._conversation_stored is None:
            prepared.run(self.session, _INSERT_CONVERSATION, values)
        elif values != self._conversation_stored:
            prepared.run(self.session, _UPDATE_CONVERSATION, {"key": self.userid, **values})
        else:
            return
        self._conversation_stored = _copy_json(values)

    def start_flow(
        self,
        flow: str,
        step: str,
        data: dict[str, Any] | None = None,
        timeout: timedelta | None = None,
    ) -> Conversation:
        """Start `flow`; a paused conversation of another flow is kept (stashed in the new
        one's data) and comes back, still paused, when the new one ends."""
        timeout = timeout or timedelta(minutes=self.settings.conversation_timeout_minutes)
        conv = self.conversation
        data = dict(data or {})
        if conv is None:
            conv = Conversation(userid=self.userid)  # inserted by save_conversation
        elif self.paused and conv.flow != flow:
            data[STASH] = {"flow": conv.flow, "step": conv.step, "data": dict(conv.data or {})}
        conv.flow, conv.step, conv.data = flow, step, data
        conv.updated_at, conv.expires_at = self.now, self.now + timeout
        self._conversation, self._conversation_loaded = conv, True
        return conv

    def set_step(self, step: str, **data: Any) -> Conversation:
        conv = self.conversation
        assert conv is not None, "set_step outside a conversation"
        conv.step = step
        conv.data = {**(conv.data or {}), **data}  # a new dict so the JSON change is saved
        timeout = timedelta(minutes=self.settings.conversation_timeout_minutes)
        conv.updated_at, conv.expires_at = self.now, self.now + timeout
        return conv

    def end_flow(self) -> None:
        """End the current conversation; a conversation it interrupted comes back paused."""
        conv = self.conversation
        stashed = (conv.data or {}).get(STASH) if conv is not None else None
        if stashed:
            conv.flow, conv.step = stashed["flow"], stashed["step"]
            conv.data = {**stashed["data"], PAUSED: True}
            conv.updated_at, conv.expires_at = self.now, self.now + PAUSE_KEEP
            return
        prepared.run(self.session, _DELETE_CONVERSATION, {"userid": self.userid})
        self._conversation, self._conversation_loaded = None, True
        self._conversation_stored = None

    # A conversation another command interrupted (or that timed out) is paused, not dropped:
    # its data stays in the database until 「继续」 resumes it (see bot.router).
    @property
    def paused(self) -> bool:
        conv = self.conversation
        return conv is not None and bool((conv.data or {}).get(PAUSED))

    def pause_flow(self, pending: str | None = None) -> Conversation:
        """Pause the current conversation; `pending` is text typed after it timed out,
        offered to the flow when it resumes."""
        conv = self.conversation
        assert conv is not None, "pause_flow outside a conversation"
        data = {k: v for k, v in (conv.data or {}).items() if k != PENDING}
        data[PAUSED] = True
        if pending:
            data[PENDING] = pending
        conv.data = data
        conv.updated_at, conv.expires_at = self.now, self.now + PAUSE_KEEP
        return conv

    def resume_flow(self) -> str | None:
        """Make the paused conversation current again; returns the pending text, if any."""
        conv = self.conversation
        assert conv is not None, "resume_flow outside a conversation"
        data = dict(conv.data or {})
        data.pop(PAUSED, None)
        pending = data.pop(PENDING, None)
        conv.data = data
        timeout = timedelta(minutes=self.settings.conversation_timeout_minutes)
        conv.updated_at, conv.expires_at = self.now, self.now + timeout
        return pending

    # -- side effects -----------------------------------------------------------------
    def send(
        self,
        userids: Iterable[str],
        body: dict[str, Any],
        *,
        source: str,
        dedup_key: str | None = None,
    ) -> int | None:
        """Queue a message to other people, in this transaction (see bot.outbox)."""

        return enqueue(
            self.session, userids, body, source=source, dedup_key=dedup_key, now=self.now
        )

    def audit(self, action: str, detail: str = "", allowed: bool = True) -> None:
        self.session.add(
            AuditLog(at=self.now, actor=self.userid, action=action, allowed=allowed, detail=detail)
        )


# -- the sender's rows, in one statement ------------------------------------------------------
_USERS = User.__table__
_CONVERSATIONS = Conversation.__table__
_ROLES = RoleAssignment.__table__
# The user row, one row per granted role, and the conversation: every message needs all three,
# and one Core statement costs a third of three ORM loads (built once, see bot.dispatcher).
# The question bank's version rides along (bot.bank_cache): one scalar subquery instead of a
# statement of its own, and the quiz's bank reads come from the process's copy.
_SENDER = (
    select(*_USERS.c, _ROLES.c.role, *_CONVERSATIONS.c, bank_cache.VERSION)
    .select_from(
        _USERS.outerjoin(_ROLES, _ROLES.c.userid == _USERS.c.userid).outerjoin(
            _CONVERSATIONS, _CONVERSATIONS.c.userid == _USERS.c.userid
        )
    )
    .where(_USERS.c.userid == bindparam("userid"))
)
_N_USER = len(_USERS.c)
# The same columns as a subquery, for a statement that reads them beside something else.
SENDER_COLUMNS = _SENDER.set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL).subquery("sender")
_CONV_COLUMNS = tuple(_CONVERSATIONS.c.keys())
_CONVERSATION = select(*_CONVERSATIONS.c).where(_CONVERSATIONS.c.userid == bindparam("userid"))
_UPDATE_CONVERSATION = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.userid == bindparam("key"))
    .values({name: bindparam(name) for name in _CONV_COLUMNS if name != "userid"})
)
_INSERT_CONVERSATION = insert(_CONVERSATIONS).values(
    {name: bindparam(name) for name in _CONV_COLUMNS}
)
_DELETE_CONVERSATION = delete(_CONVERSATIONS).where(_CONVERSATIONS.c.userid == bindparam("userid"))


def load_sender(
    session: Session, settings: Settings, userid: str
) -> tuple[User, frozenset[str], dict[str, Any] | None] | None:
    """The sender's User row, roles and conversation row (for Context.use_conversation), read
    fresh from the database (no per-process cache, so a role granted or a member moved is seen
    by the very next message in every process); None if the sender has no User row yet. The
    question bank's version is noted for bot.bank_cache on the way.

    The rows become ordinary persistent objects of `session` (changes to them are flushed as
    usual), without the ORM's per-load cost."""
    return sender_from_rows(
        session, settings, userid, prepared.run(session, _SENDER, {"userid": userid}).all()
    )


def sender_from_rows(
    session: Session, settings: Settings, userid: str, rows: list
) -> tuple[User, frozenset[str], dict[str, Any] | None] | None:
    """load_sender's result from the rows of `SENDER_COLUMNS` (read by load_sender, or on
    PostgreSQL by the dispatcher's first statement)."""
    if not rows or rows[0][0] is None:
        return None
    first = rows[0]
    user = attach(session, User, dict(zip(_USERS.c.keys(), first[:_N_USER], strict=True)))
    granted = [row[_N_USER] for row in rows if row[_N_USER] is not None]
    bank_cache.note_version(session, first[-1])
    row = first[_N_USER + 1 : -1]
    conv_values = None if row[0] is None else dict(zip(_CONV_COLUMNS, row, strict=True))
    return user, roles_from(settings, user, userid, granted), conv_values

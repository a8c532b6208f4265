"""The question bank in memory, per process, checked against bank_version on every message.

The first 答题 of each person each day read every active question id (the whole bank), and
every answer read its question rows: statements whose result is the same for everyone until an
officer edits the bank. Each process now keeps the bank (every row, and the active ids in the
database's id order) labelled with the version it was read at. The version is one row that a
trigger bumps on every write to `questions` (migration 0028) — imports, console edits, the
builtin sync, any SQL — and the sender statement of each message reads it along
(bot.context.load_sender), so a change committed in any process is seen by the very next
message in every process, at the cost of a scalar subquery instead of two statements.

Two rules keep the cache honest:
- a bank read in a transaction is published to the process only after that transaction
  commits (a rolled-back writer's version number is reused by the next writer);
- a transaction that writes the bank itself forgets the version it noted (`forget`), so its
  own later reads see its own writes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import on_commit
from bot.models import BankVersion, Question

_QUESTIONS = Question.__table__
_VERSIONS = BankVersion.__table__
# The version, as a column of a statement the message runs anyway (see bot.context).
VERSION = select(_VERSIONS.c.version).where(_VERSIONS.c.id == 1).scalar_subquery()
_READ_VERSION = select(VERSION)
# The id order is the database's (collations differ): choose_questions draws from this list.
_ALL = select(*_QUESTIONS.c).order_by(_QUESTIONS.c.id)
_COLUMNS = tuple(_QUESTIONS.c.keys())

# session.info keys: (transaction, version noted in it); (transaction, bank read in it).
_NOTED = "bank_version"
_STAGED = "bank_staged"


@dataclass(frozen=True, slots=True)
class BankQuestion:
    """A question as the chat path reads it: the row's values, read-only and shared by every
    transaction of the process (an ORM object per message cost more than the rest of the
    question's handling; edits go through the console or an import, never through these)."""

    id: str
    theme: str
    type: str
    stem: str
    options: tuple[str, ...]
    answer: str
    explanation: str
    source: str
    active: bool
    origin: str
    updated_at: Any


@dataclass(frozen=True)
class Bank:
    version: int
    active_ids: tuple[str, ...]  # in the database's id order
    questions: dict[str, BankQuestion]  # every question, active or not, by id


_banks: dict[str, Bank] = {}  # database URL -> the newest bank this process has seen committed
_lock = threading.Lock()


def note_version(session: Session, version: int | None) -> None:
    """The bank version this transaction read (None: the table has no row, no caching)."""
    session.info[_NOTED] = (session.get_transaction(), version)


def forget(session: Session) -> None:
    """This transaction writes the bank: read the version again (its own) before using it."""
    session.info.pop(_NOTED, None)
    session.info.pop(_STAGED, None)


def current(session: Session) -> Bank:
    """The bank as this transaction sees it: the process's copy if its version is the one
    noted in (or read now by) this transaction, else read now (one statement)."""
    version = _version(session)
    txn = session.get_transaction()  # after _version: its statement may have begun it
    url = str(session.get_bind().url)
    bank = _banks.get(url)
    if bank is not None and bank.version == version:
        return bank
    staged = session.info.get(_STAGED)
    if staged is not None and staged[0] is txn:
        return staged[1]
    bank = _load(session, version)
    session.info[_STAGED] = (txn, bank)
    if version is not None:
        on_commit(session, lambda: _publish(url, bank))
    return bank


def _version(session: Session) -> int | None:
    noted, txn = session.info.get(_NOTED), session.get_transaction()
    if noted is not None and txn is not None and noted[0] is txn:
        return noted[1]
    version = session.scalar(_READ_VERSION)
    note_version(session, version)
    return version


def question(session: Session, qid: str) -> BankQuestion | None:
    """One question of the bank as this transaction sees it (None: no such id)."""
    return current(session).questions.get(qid)


def _load(session: Session, version: int | None) -> Bank:
    questions = {}
    for row in session.execute(_ALL):
        values = dict(zip(_COLUMNS, row, strict=True))
        values["options"] = tuple(values["options"] or ())
        questions[values["id"]] = BankQuestion(**values)
    active = tuple(qid for qid, q in questions.items() if q.active)
    return Bank(-1 if version is None else version, active, questions)


def _publish(url: str, bank: Bank) -> None:
    # Versions only grow: a slow transaction must not put back an older bank.
    with _lock:
        held = _banks.get(url)
        if held is None or held.version < bank.version:
            _banks[url] = bank

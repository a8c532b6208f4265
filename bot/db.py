"""Engine and session set-up, and the one-transaction-per-unit-of-work helper.

SQLite is the zero-set-up default. Under concurrency its classic failure is
"database is locked": a deferred transaction that reads first and writes later cannot upgrade
its lock while another writer holds it, and SQLite does not wait in that case. We therefore
start every SQLite transaction with BEGIN IMMEDIATE (take the write lock up front, waiting up
to busy_timeout for it) and run in WAL mode so readers never block the writer.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    String,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    literal_column,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import manager_of_class

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite's automatic checkpoint (copying the WAL back into the database file once it holds
# 1,000 pages) runs inside the COMMIT that crosses the line: 5-10 ms and two fsyncs while the
# committing process still holds the write lock, so every other writer waits (the longest
# lock holds of a callback burst). Connections here turn it off; each process instead runs a
# PASSIVE checkpoint after it has let go of the lock, once every this many of its commits
# (a callback writes ~15 pages, so about as often as SQLite would).
SQLITE_CHECKPOINT_EVERY = 64
# How long PostgreSQL may take to accept a connection before the attempt fails (seconds):
# a database that is down must fail a callback inside WeCom's 5 s, not hang it.
PG_CONNECT_TIMEOUT = 3

# The longest this thread's next transactions may wait for SQLite's write lock (seconds);
# None: the default (SQLITE_BUSY_TIMEOUT_MS). The callback path sets it below WeCom's 5 s
# deadline, so a locked database answers 503 (WeCom retries) instead of hanging.
_LOCK_WAIT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "sqlite_lock_wait", default=None
)


class TransientDatabaseError(Exception):
    """The database could not be reached or was busy: nothing was recorded, try again later."""


def is_transient(exc: BaseException) -> bool:
    """A failure that says nothing about the message: the database is unreachable, the
    connection was lost, a lock or busy timeout, a serialization failure or a deadlock."""
    if isinstance(exc, TransientDatabaseError | sa_exc.TimeoutError | sa_exc.InterfaceError):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    # SQLite's "database is locked"/"busy", PostgreSQL's connection failures, serialization
    # failures and deadlocks are all OperationalError (psycopg: TransactionRollbackError).
    return isinstance(exc, sa_exc.OperationalError)


@contextmanager
def lock_wait(seconds: float) -> Iterator[None]:
    """Transactions opened inside wait at most `seconds` for SQLite's write lock."""
    token = _LOCK_WAIT.set(seconds)
    try:
        yield
    finally:
        _LOCK_WAIT.reset(token)


try:  # POSIX only; elsewhere SQLite's busy_timeout alone serialises writers
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url` with the pragmas and pool settings this bot relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        lock_path = None
        if database and database != ":memory:" and not database.startswith("file:"):
            lock_path = str(Path(database).resolve()) + ".writelock"
        _configure_sqlite(engine, lock_path)
        return engine
    kwargs.setdefault("connect_args", {"connect_timeout": PG_CONNECT_TIMEOUT})
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_idle_connections(engine)
    return engine


# A pooled PostgreSQL connection is checked (SELECT 1) before use only when it has been idle
# this long (seconds). pool_pre_ping checked it before every transaction: one more round trip
# per callback (0.15-0.25 ms, ~5% of one). A connection used a moment ago is alive unless the
# server went away in that moment; then its first statement fails, SQLAlchemy (and
# bot.prepared) mark every connection of the pool for renewal, and the dispatcher runs the
# callback once more on a new connection (Bot._handle_reconnecting).
PG_PING_AFTER_IDLE = 1.0
_IDLE_SINCE = "idle_since"


def _ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy) -> None:
        since = record.info.pop(_IDLE_SINCE, None)  # a new connection has no such mark
        if since is None or time.monotonic() - since < PG_PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure: this connection is gone
            # The server probably restarted: the pool renews this connection and marks the
            # others it holds for renewal too, then hands out the new one.
            raise sa_exc.InvalidatePoolError(str(exc)) from exc


def checkpoint(driver: sqlite3.Connection) -> None:
    """Copy what the WAL holds back into the database file, as far as readers allow, without
    waiting for anyone (PASSIVE): writers go on appending meanwhile."""
    try:
        driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error:  # another checkpoint is running: the next one catches up
        log.debug("checkpoint skipped", exc_info=True)


def _configure_sqlite(engine: Engine, lock_path: str | None) -> None:
    commits = itertools.count()  # this engine's commits, for the checkpoints

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record) -> None:  # pragma: no cover - trivial
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        record.info["busy_timeout"] = SQLITE_BUSY_TIMEOUT_MS  # what the begin event compares
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # see SQLITE_CHECKPOINT_EVERY
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if lock_path is not None and fcntl is not None:
            record.info["writelock"] = _WriteLock(lock_path)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # pragma: no cover - trivial
        lock = connection.info.get("writelock")
        wait = _LOCK_WAIT.get()
        driver = connection.connection.driver_connection
        if lock is not None:
            lock.acquire(wait)
        try:
            # Each transaction's own limit (a callback's 3 s, or the default), set only when
            # it differs from the connection's current one: a worker's connections serve
            # callbacks one after another, and the PRAGMA is one more statement under the lock.
            timeout = SQLITE_BUSY_TIMEOUT_MS if wait is None else int(wait * 1000)
            if connection.info.get("busy_timeout", SQLITE_BUSY_TIMEOUT_MS) != timeout:
                driver.execute(f"PRAGMA busy_timeout={timeout}")
                connection.info["busy_timeout"] = timeout
            # Straight to the driver: this runs for every transaction, and going through
            # SQLAlchemy's execution machinery costs more than the statement itself.
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # "database is locked" past busy_timeout
            if lock is not None:
                lock.release()
            raise TransientDatabaseError(str(exc)) from exc
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    def _release(connection) -> None:
        lock = connection.info.get("writelock")
        if lock is not None:
            lock.release()

    # SQLAlchemy fires "commit" and "rollback" *before* it asks the driver to end the
    # transaction. Releasing the flock there let the next writer in while this one still held
    # SQLite's own lock: its BEGIN IMMEDIATE then fell into SQLite's busy handler, which sleeps
    # 1, 2, 5 … ms. So the transaction is ended here, then the lock is released; the driver's
    # own commit()/rollback() that follow find no transaction and do nothing.
    def _commit_then_release(connection) -> None:
        driver = connection.connection.driver_connection
        if driver.in_transaction:
            # If COMMIT fails the transaction (and the lock) are still held: the rollback
            # that follows the error releases them.
            driver.execute("COMMIT")
        _release(connection)
        if next(commits) % SQLITE_CHECKPOINT_EVERY == SQLITE_CHECKPOINT_EVERY - 1:
            checkpoint(driver)

    def _rollback_then_release(connection) -> None:
        try:
            driver = connection.connection.driver_connection
            if driver.in_transaction:
                driver.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - a broken connection: the pool discards it
            pass
        finally:
            _release(connection)

    event.listen(engine, "commit", _commit_then_release)
    event.listen(engine, "rollback", _rollback_then_release)

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:  # a connection closed mid-transaction
        lock = record.info.get("writelock") if record is not None else None
        if lock is not None:
            lock.release()


class _WriteLock:
    """An exclusive flock on <database>.writelock, held from BEGIN to COMMIT/ROLLBACK.

    SQLite's own wait for the write lock (busy_timeout) polls with growing sleeps (1, 2, 5 …
    100 ms), so under contention from several processes (gunicorn workers, the scheduler)
    writers hand the lock on slowly and latency spikes. A blocking flock wakes the next writer
    as soon as the lock is released — across processes and threads alike (one open file per
    connection) — so BEGIN IMMEDIATE then never has to wait.

    A wait with a deadline (the callback path's) cannot block in flock, which has no timeout:
    it tries again every POLL_SECONDS. That interval is short on purpose: at 5 ms the lock sat
    idle for a median 1.5 ms at every hand-over under the 09:00 burst, a third of its time.
    After the first SLOW_AFTER seconds of waiting (the lock is held by something long, such as
    a big import) it tries once per SLOW_POLL_SECONDS, to spare the CPU.
    """

    POLL_SECONDS = 0.0002
    SLOW_AFTER = 0.05
    SLOW_POLL_SECONDS = 0.002

    # Locks held by the current thread: a transaction opened while this thread already holds
    # one (a nested unit of work) must not wait on the flock its own thread holds — it falls
    # back to SQLite's busy_timeout, which fails after 30 s instead of hanging forever.
    _local = threading.local()

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._held = False

    def acquire(self, wait: float | None = None) -> None:
        """Take the lock, waiting for it; at most `wait` seconds when given."""
        if self._held or getattr(self._local, "count", 0) > 0:
            return
        if wait is None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        else:
            started = time.monotonic()
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    waited = time.monotonic() - started
                    if waited >= wait:
                        raise TransientDatabaseError(
                            f"database is locked: waited {wait:.1f} s for the write lock"
                        ) from None
                    slow = waited > self.SLOW_AFTER
                    time.sleep(self.SLOW_POLL_SECONDS if slow else self.POLL_SECONDS)
        self._held = True
        self._local.count = getattr(self._local, "count", 0) + 1

    def release(self) -> None:
        if self._held:
            self._held = False
            self._local.count -= 1
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: handlers build replies from objects after the commit.
    return sessionmaker(engine, expire_on_commit=False)


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction commits (not if it rolls back):
    for what a process may remember only once the rows are really there. One listener for
    all sessions; adding a session listener per message cost ~0.1 ms each."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


_ON_COMMIT = "db.on_commit"


@event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    for callback in session.info.pop(_ON_COMMIT, ()):
        callback()


@event.listens_for(Session, "after_transaction_end")
def _forget_on_commit(session: Session, ended: Any) -> None:
    # The outermost transaction ended without after_commit running them: rolled back.
    if ended.parent is None:
        session.info.pop(_ON_COMMIT, None)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory.begin() as session:
        yield session


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "postgresql"


def insert_ignore(
    session: Session,
    model: Any,
    values: dict[str, Any] | list[dict[str, Any]],
    *,
    returning: Any = None,
):
    """INSERT … ON CONFLICT DO NOTHING on both SQLite and PostgreSQL.

    This is how idempotency is enforced: the unique constraint decides, atomically, whether
    this is the first time; there is no check-then-insert race.
    Returns the result (use `.first()` / `.scalars()` when `returning` is given). To learn
    whether a row was inserted, pass `returning=` and test `.first() is not None`:
    `rowcount` is -1 for this statement under psycopg.
    """
    stmt = upsert_insert(session, model).values(values).on_conflict_do_nothing()
    if returning is not None:
        stmt = stmt.returning(core_column(returning))
    return session.execute(stmt)


def dialect_insert(dialect: str) -> Any:
    """The insert construct with ON CONFLICT support for a dialect name."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def bound_insert(dialect: str, model: Any, columns: tuple[str, ...]) -> Any:
    """INSERT INTO model (columns) VALUES (:column, …) in the dialect's ON CONFLICT-capable
    construct, on the Table (see upsert_insert): the start of a statement built once and run
    many times with bot.prepared."""
    return dialect_insert(dialect)(core_table(model)).values({c: bindparam(c) for c in columns})


def bound_insert_ignore(
    dialect: str, model: Any, columns: tuple[str, ...], returning: Any = None
) -> Any:
    """`bound_insert` … ON CONFLICT DO NOTHING [RETURNING returning]: whether a row came back
    says whether this call inserted it (see insert_ignore)."""
    stmt = bound_insert(dialect, model, columns).on_conflict_do_nothing()
    return stmt if returning is None else stmt.returning(core_column(returning))


def upsert_insert(session: Session, model: Any):
    """The dialect-specific insert construct, for ON CONFLICT DO UPDATE statements.

    Built on the model's Table, not the mapped class: an insert of a mapped class goes through
    the ORM's bulk-insert machinery on every execution, which costs several times the statement
    itself on SQLite (a fifth of a callback's CPU before this). Pass Table columns (see
    `core_column`) to `.returning()` for the same reason."""
    return dialect_insert(session.get_bind().dialect.name)(core_table(model))


def core_table(model: Any) -> Any:
    """The Table of a mapped class (a Table is returned as is)."""
    return getattr(model, "__table__", model)


def core_column(column: Any) -> Any:
    """The Table column behind a mapped attribute such as `User.userid` (a column or other
    expression is returned as is): an ORM attribute in a Core statement makes SQLAlchemy run
    the statement through the ORM's slower path."""
    table = getattr(getattr(column, "class_", None), "__table__", None)
    if table is None:
        return column
    return table.c[column.key]


def attach(session: Session, model: Any, values: dict[str, Any]) -> Any:
    """An ORM object for a row read with Core, made persistent in `session` as if the ORM
    had loaded it (no change history: only later changes are written). On the message path a
    prebuilt Core select plus this costs a fraction of an ORM load. The values go straight
    into the instance's dict, as the ORM's loader puts them (the constructor would fire an
    attribute event per column and record history make_transient_to_detached then drops)."""
    obj = manager_of_class(model).new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def chunks(items: list, size: int = 5000) -> Iterator[list]:
    """`items` in slices of at most `size`: for IN lists and bulk inserts that can cover a
    whole organisation (PostgreSQL takes at most 65,535 parameters per statement)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def among(session: Session, column: Any, values: Any) -> Any:
    """`column IN values` for a long list of strings, bound as one parameter (a JSON array
    read by json_each on SQLite, an array on PostgreSQL): an expanding IN renders one
    placeholder per value on every call (milliseconds of Python for a few thousand) and
    PostgreSQL caps a statement at 65,535 parameters."""
    items = [str(v) for v in values]
    if is_postgres(session):
        return column == any_(bindparam(None, items, type_=ARRAY(String())))
    each = func.json_each(bindparam(None, json.dumps(items), type_=String()))
    return column.in_(select(literal_column("value")).select_from(each))

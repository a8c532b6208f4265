"""Engine and session set-up, and the one-transaction-per-unit-of-work helper.

SQLite is the zero-set-up default. Under concurrency its classic failure is
"database is locked": a deferred transaction that reads first and writes later cannot upgrade
its lock while another writer holds it, and SQLite does not wait in that case. We therefore
start every SQLite transaction with BEGIN IMMEDIATE (take the write lock up front, waiting up
to busy_timeout for it) and run in WAL mode so readers never block the writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


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
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # pragma: no cover - trivial
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: handlers build replies from objects after the commit.
    return sessionmaker(engine, expire_on_commit=False)


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
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(model).values(values).on_conflict_do_nothing()
    if returning is not None:
        stmt = stmt.returning(returning)
    return session.execute(stmt)


def upsert_insert(session: Session, model: Any):
    """The dialect-specific insert construct, for ON CONFLICT DO UPDATE statements."""
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)

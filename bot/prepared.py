"""Prebuilt Core statements executed straight on the session's DB-API connection.

A callback runs 6 to 9 short statements. Through `Session.execute` each costs SQLAlchemy
~50 µs of Python on SQLite (~100 µs on PostgreSQL) before and after the driver's own work:
execution context, parameter construction, result metadata, events — five times what the
statement itself costs SQLite (bench/callback_profile.py, docs/PERFORMANCE.md "Seventh
round"). A `Prepared` statement is compiled once per dialect into its SQL string, the order
of its parameters and its columns' bind and result processors (the same type processing the
ORM applies: UTC datetimes, JSON), and then executed with one cursor call.

Same semantics as `session.execute` of a Core statement: it runs inside the session's
transaction (SQLite's write lock is taken by bot.db's begin event as usual), driver errors
are raised as SQLAlchemy's DBAPIError subclasses (so bot.db.is_transient still tells a
retryable failure from a bug, and a lost connection is invalidated), and Core statements are
never autoflushed by the session either. Only for statements built once (module level or
cached per dialect): each distinct statement object is compiled and kept.
"""

from __future__ import annotations

import logging
import threading
from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable

log = logging.getLogger(__name__)

# Observers of every statement run here (bench/callback_profile.py counts them); SQLAlchemy's
# before_cursor_execute event does not see these statements.
statement_hooks: list[Callable[[str], None]] = []


class Rows:
    """A fully read result (hot statements return a few rows). Rows are named tuples: by
    position, by column name (row.id) and as `_asdict()`, like SQLAlchemy's Row."""

    __slots__ = ("rows", "rowcount")

    def __init__(self, rows: list[tuple], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def all(self) -> list[tuple]:
        return self.rows

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self.rows]

    def __iter__(self):
        return iter(self.rows)


_MISSING = object()


def _value(params: Mapping[str, Any], name: str, fixed: Any) -> Any:
    if name in params:
        return params[name]
    if fixed is _MISSING:
        raise sa_exc.ArgumentError(f"A value is required for bind parameter {name!r}")
    return fixed


class _Compiled:
    __slots__ = ("sql", "positional", "names", "binds", "results", "row", "dbapi_error")

    def __init__(self, stmt: Executable, dialect: Dialect) -> None:
        if stmt._propagate_attrs.get("compile_state_plugin") == "orm":
            # ORM statements autoflush and build entities: they need Session.execute.
            raise TypeError("Prepared runs Core statements only (built from tables)")
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = compiled.positional
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        self.names = names
        self.binds = []
        for name in names:
            bind = compiled.binds[name]
            if bind.expanding:
                raise TypeError(f"Prepared cannot expand IN parameter {name!r}")
            # A value fixed in the statement (.values(people=1)) unless the caller passes one.
            fixed = _MISSING if bind.required else bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            self.binds.append((name, fixed, processor))
        columns = list(getattr(stmt, "exported_columns", ()) or ())
        processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self.results = processors if any(processors) else None
        # Duplicate names (users.userid and conversations.userid) become _1, _2 …: such
        # statements' callers read by position.
        self.row = (
            namedtuple(
                "Row",
                [str(getattr(c, "key", None) or f"_{i}") for i, c in enumerate(columns)],
                rename=True,
            )
            if columns
            else None
        )
        self.dbapi_error = dialect.loaded_dbapi.Error


_HELD = "prepared.connection"


def _connection(session: Session) -> Connection:
    """The connection of the session's current transaction. Session.connection() walks the
    session's transaction machinery on every call (a tenth of a callback's time); the answer
    only changes with the transaction, so it is kept until then."""
    transaction = session.get_transaction()
    held = session.info.get(_HELD)
    if held is not None and transaction is not None and held[0] is transaction:
        return held[1]
    connection = session.connection()
    session.info[_HELD] = (session.get_transaction(), connection)
    return connection


class Prepared:
    """One Core statement, compiled once per dialect, run on the session's connection."""

    __slots__ = ("stmt", "_by_dialect", "_lock")

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._by_dialect: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            with self._lock:
                found = self._by_dialect.get(dialect.name)
                if found is None:
                    found = self._by_dialect[dialect.name] = _Compiled(self.stmt, dialect)
        return found

    def run_on(self, connection: Connection, params: Mapping[str, Any] | None = None) -> Rows:
        dialect = connection.dialect
        c = self._compiled(dialect)
        params = params or {}
        values = [
            (processor(v) if processor else v)
            for name, fixed, processor in c.binds
            for v in (_value(params, name, fixed),)
        ]
        args: Any = values if c.positional else dict(zip(c.names, values, strict=True))
        for hook in statement_hooks:
            hook(c.sql)
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(c.sql, args)
            rows = cursor.fetchall() if cursor.description is not None else []
            rowcount = cursor.rowcount
        except c.dbapi_error as error:
            invalidated = dialect.is_disconnect(error, dbapi_connection, cursor)
            if invalidated:
                # As SQLAlchemy does for its own statements: the other connections the pool
                # holds were opened before the same outage, so they are renewed on checkout.
                connection.engine.pool._invalidate(connection.connection, error)
                connection.invalidate(error)
            raise sa_exc.DBAPIError.instance(
                c.sql,
                args,
                error,
                c.dbapi_error,
                connection_invalidated=invalidated,
                dialect=dialect,
            ) from error
        finally:
            cursor.close()
        if rows and c.row is not None:
            make = c.row._make
            processors = c.results
            if processors is None:
                rows = [make(row) for row in rows]
            else:
                rows = [
                    make([p(v) if p else v for p, v in zip(processors, row, strict=True)])
                    for row in rows
                ]
        return Rows(rows, rowcount)


class PerDialect:
    """A statement spelled differently per database (INSERT … ON CONFLICT comes from each
    dialect's own insert construct), built by `build(dialect_name)` the first time each
    dialect asks and kept: building and cache-keying such a statement costs more than running
    it on SQLite. `run` takes one in place of a statement; `built` gives what `build` made."""

    __slots__ = ("build", "_built", "_lock")

    def __init__(self, build: Callable[[str], Any]) -> None:
        self.build = build
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def built(self, dialect: str) -> Any:
        found = self._built.get(dialect)
        if found is None:
            with self._lock:
                found = self._built.get(dialect)
                if found is None:
                    found = self._built[dialect] = self.build(dialect)
        return found


def per_dialect(build: Callable[[str], Any]) -> PerDialect:
    """Decorator: `@per_dialect def insert_x(dialect): return …` makes `insert_x` a
    PerDialect, to pass to `run` as is."""
    return PerDialect(build)


MAX_STATEMENTS = 1000
_PREPARED: dict[int, tuple[Executable, Prepared]] = {}
_REGISTRY_LOCK = threading.Lock()


def run(
    session: Session, stmt: Executable | PerDialect, params: Mapping[str, Any] | None = None
) -> Rows:
    """`session.execute(stmt, params)` for a Core statement built once (module level, or a
    PerDialect): compiled on first use and kept with the statement."""
    connection = _connection(session)
    if isinstance(stmt, PerDialect):
        stmt = stmt.built(connection.dialect.name)
    found = _PREPARED.get(id(stmt))
    if found is None or found[0] is not stmt:
        with _REGISTRY_LOCK:
            if len(_PREPARED) >= MAX_STATEMENTS:
                # Statements built per call would grow this without end: start over.
                log.warning("more than %d prepared statements: built per call?", MAX_STATEMENTS)
                _PREPARED.clear()
            found = _PREPARED[id(stmt)] = (stmt, Prepared(stmt))
    return found[1].run_on(connection, params)

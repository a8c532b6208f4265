"""SQLite's writers queue on our flock (bot.db._WriteLock): the next writer must find SQLite's own
lock free the moment it gets the flock, a writer with a deadline must get the lock as soon as it
is let go, and one that gave up must not keep it."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from bot import db
from bot.db import TransientDatabaseError, lock_wait, make_engine, make_session_factory, transaction


@pytest.fixture
def sqlite_db(tmp_path):
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    yield str(path), make_session_factory(engine)
    engine.dispose()


def _flock_is_free(path: str) -> bool:
    """Whether another process could take our flock at once."""
    fd = os.open(path + ".writelock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def _rows_if_sqlite_is_free(path: str, table: str) -> int | None:
    """The rows another connection sees in `table` if it can take SQLite's write lock without
    waiting at all (busy_timeout 0); None if SQLite's lock is still held."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        rows = other.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        other.execute("ROLLBACK")
        return rows
    except sqlite3.OperationalError:  # "database is locked"
        return None
    finally:
        other.close()


def _spy_on_release(monkeypatch, path: str) -> list[int | None]:
    """At every real release of the flock, note what _rows_if_sqlite_is_free finds in t."""
    seen: list[int | None] = []
    release = db._WriteLock.release

    def spying(self) -> None:
        if self._held:
            seen.append(_rows_if_sqlite_is_free(path, "t"))
        release(self)

    monkeypatch.setattr(db._WriteLock, "release", spying)
    return seen


def test_the_flock_is_let_go_only_after_the_commit(sqlite_db, monkeypatch):
    path, factory = sqlite_db
    seen = _spy_on_release(monkeypatch, path)
    for i in range(3):
        with transaction(factory) as s:
            s.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"row {i}"})
    # Each time, the next writer would have found SQLite free and the row already committed.
    assert seen == [1, 2, 3]


def test_the_flock_is_let_go_only_after_the_rollback(sqlite_db, monkeypatch):
    path, factory = sqlite_db
    seen = _spy_on_release(monkeypatch, path)
    with pytest.raises(RuntimeError), transaction(factory) as s:
        s.execute(text("INSERT INTO t (v) VALUES ('never')"))
        raise RuntimeError("a handler fails")
    assert seen == [0]


def _hold(factory, holding: threading.Event, release: threading.Event) -> threading.Thread:
    def hold() -> None:
        with transaction(factory) as s:
            s.execute(text("INSERT INTO t (v) VALUES ('holder')"))
            holding.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    assert holding.wait(5)
    return worker


def test_a_writer_with_a_deadline_gets_the_lock_when_it_is_let_go(sqlite_db):
    path, factory = sqlite_db
    holding, release = threading.Event(), threading.Event()
    worker = _hold(factory, holding, release)
    threading.Timer(0.2, release.set).start()
    with lock_wait(5), transaction(factory) as s:  # waits for the holder, well within 5 s
        s.execute(text("INSERT INTO t (v) VALUES ('waiter')"))
    worker.join()
    with factory() as s:
        assert s.scalars(text("SELECT v FROM t ORDER BY id")).all() == ["holder", "waiter"]


def test_a_writer_that_gave_up_does_not_keep_the_lock(sqlite_db):
    path, factory = sqlite_db
    holding, release = threading.Event(), threading.Event()
    worker = _hold(factory, holding, release)
    started = time.monotonic()
    with pytest.raises(TransientDatabaseError), lock_wait(0.3), transaction(factory) as s:
        s.execute(text("INSERT INTO t (v) VALUES ('gave up')"))
    assert time.monotonic() - started < 3
    release.set()
    worker.join()

    # Nobody holds the flock once the holder is done, so another process gets it at once.
    assert _flock_is_free(path), "the abandoned wait kept the write lock"
    with lock_wait(1), transaction(factory) as s:
        s.execute(text("INSERT INTO t (v) VALUES ('next')"))
    with factory() as s:
        assert s.scalars(text("SELECT v FROM t ORDER BY id")).all() == ["holder", "next"]


def test_a_commit_that_fails_leaves_neither_lock_held(sqlite_db):
    """A deferred foreign key fails at COMMIT, with the transaction still open: the rollback
    that follows must end it and let go of both SQLite's lock and ours."""
    path, factory = sqlite_db
    with factory.begin() as s:
        s.execute(
            text("CREATE TABLE child (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t(id))")
        )
    with pytest.raises(Exception, match="FOREIGN KEY"), transaction(factory) as s:
        s.execute(text("PRAGMA defer_foreign_keys=ON"))
        s.execute(text("INSERT INTO child (t_id) VALUES (42)"))

    assert _flock_is_free(path)
    assert _rows_if_sqlite_is_free(path, "child") == 0
    with lock_wait(1), transaction(factory) as s:
        s.execute(text("INSERT INTO t (v) VALUES ('after')"))


def test_each_transaction_gets_its_own_busy_timeout(sqlite_db):
    # A callback's transaction waits at most its lock_wait for SQLite's lock; the next one on
    # the same pooled connection (a scheduler job, say) gets the default again, and the PRAGMA
    # is issued only when the value changes.
    _, factory = sqlite_db

    def busy_timeout() -> int:
        with transaction(factory) as s:
            return s.execute(text("PRAGMA busy_timeout")).scalar()

    assert busy_timeout() == db.SQLITE_BUSY_TIMEOUT_MS
    with lock_wait(1.5):
        assert busy_timeout() == 1500
        assert busy_timeout() == 1500
    assert busy_timeout() == db.SQLITE_BUSY_TIMEOUT_MS


def _rows_in_database_file(path: str, tmp_path) -> int:
    """The rows of t in the database file alone, as if the WAL were lost: what has been
    checkpointed."""
    import shutil

    copy = tmp_path / "file-only.db"
    shutil.copyfile(path, copy)
    con = sqlite3.connect(copy)
    try:
        return con.execute("SELECT count(*) FROM t").fetchone()[0]
    finally:
        con.close()


def test_checkpoints_run_after_the_lock_is_let_go_not_inside_a_commit(
    sqlite_db, monkeypatch, tmp_path
):
    path, factory = sqlite_db
    with factory() as s:
        assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0  # not in COMMIT
    seen: list[tuple[bool, int | None, int]] = []
    checkpoint = db.checkpoint

    def spying(driver) -> None:
        # Another writer could start right now, and the rows committed so far are visible.
        free = (_flock_is_free(path), _rows_if_sqlite_is_free(path, "t"))
        checkpoint(driver)
        seen.append((*free, _rows_in_database_file(path, tmp_path)))

    monkeypatch.setattr(db, "checkpoint", spying)
    every = db.SQLITE_CHECKPOINT_EVERY
    for i in range(2 * every):
        with transaction(factory) as s:
            s.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": "x" * 2000 + str(i)})
    assert len(seen) == 2  # once every SQLITE_CHECKPOINT_EVERY commits (one made the table)
    for free_flock, rows, in_file in seen:
        assert free_flock and rows is not None
        assert in_file == rows  # everything committed was copied into the database file
    assert seen[1][1] - seen[0][1] == every

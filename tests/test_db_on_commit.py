"""bot.db.on_commit: what a process remembers about a transaction (a member's day recorded,
the question bank synced or read) is remembered only once that transaction has committed."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from bot.db import make_engine, on_commit, transaction


@pytest.fixture
def factory(sqlite_url):
    engine = make_engine(sqlite_url)
    yield sessionmaker(engine)
    engine.dispose()


def test_runs_after_commit_only(factory):
    seen: list[str] = []
    with transaction(factory) as s:
        s.execute(text("SELECT 1"))
        on_commit(s, lambda: seen.append("a"))
        on_commit(s, lambda: seen.append("b"))
        assert seen == []  # not before the commit
    assert seen == ["a", "b"]


def test_a_rolled_back_transaction_forgets_its_callbacks(factory):
    seen: list[str] = []
    session = factory()
    with pytest.raises(RuntimeError), session.begin():
        session.execute(text("SELECT 1"))
        on_commit(session, lambda: seen.append("rolled back"))
        raise RuntimeError
    with session.begin():  # the same session's next transaction commits
        session.execute(text("SELECT 1"))
        on_commit(session, lambda: seen.append("committed"))
    session.close()
    assert seen == ["committed"]


def test_a_savepoint_rollback_keeps_the_outer_callbacks(factory):
    seen: list[str] = []
    with transaction(factory) as s:
        s.execute(text("SELECT 1"))
        on_commit(s, lambda: seen.append("outer"))
        with pytest.raises(RuntimeError), s.begin_nested():
            raise RuntimeError
    assert seen == ["outer"]

"""bot.prepared runs a Core statement exactly as Session.execute would: same rows and types
(UTC datetimes, JSON, dates), RETURNING, rowcount, fixed values, the session's transaction,
and driver errors raised as SQLAlchemy's (so a transient failure is still told from a bug)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, exc, select, update
from sqlalchemy.orm import sessionmaker

from bot import prepared
from bot.db import bound_insert_ignore, dialect_insert, is_transient, make_engine, transaction
from bot.migrate import upgrade
from bot.models import Conversation, InboundMessage

_INBOUND = InboundMessage.__table__
_CONV = Conversation.__table__


@pytest.fixture
def factory(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    yield sessionmaker(engine)
    engine.dispose()


_INBOUND_COLUMNS = ("dedup_key", "userid", "msg_type", "event", "received_at")


def _insert_inbound(dialect: str):
    return bound_insert_ignore(dialect, _INBOUND, _INBOUND_COLUMNS).returning(
        _INBOUND.c.id, _INBOUND.c.received_at
    )


def test_same_rows_and_types_as_session_execute(factory):
    dialect = factory.kw["bind"].dialect.name
    insert = _insert_inbound(dialect)
    at = datetime(2026, 6, 5, 9, 0, 1, 250000, tzinfo=timezone(timedelta(hours=8)))
    params = {"userid": "liuyang", "msg_type": "text", "event": None, "received_at": at}
    with transaction(factory) as s:
        fast = prepared.run(s, insert, {**params, "dedup_key": "a"}).first()
        slow = s.execute(insert, {**params, "dedup_key": "b"}).first()
        again = prepared.run(s, insert, {**params, "dedup_key": "a"})
    assert fast.received_at == slow.received_at == at  # aware UTC, the same instant
    assert fast.received_at.tzinfo is not None
    assert fast.id == fast[0] and fast._asdict() == {"id": fast.id, "received_at": at}
    assert again.first() is None and again.rowcount == 0  # ON CONFLICT DO NOTHING

    read = select(_INBOUND.c.dedup_key, _INBOUND.c.received_at).order_by(_INBOUND.c.id)
    with transaction(factory) as s:
        assert prepared.run(s, read).all() == [tuple(r) for r in s.execute(read).all()]
        assert prepared.run(s, read).scalars() == ["a", "b"]


def test_json_dates_fixed_values_and_rowcount(factory):
    values = {
        "userid": "liuyang",
        "flow": "quiz",
        "step": "answer",
        "data": {"set": 7, "题": ["A", "对"]},
        "updated_at": datetime(2026, 6, 5, 1, 0, tzinfo=timezone.utc),
        "expires_at": datetime(2026, 6, 5, 1, 30, tzinfo=timezone.utc),
    }
    insert = _CONV.insert().values({c: bindparam(c) for c in values})
    touch = (
        update(_CONV)
        .where(_CONV.c.userid == bindparam("key"))
        .values(step="done", data=bindparam("data"))
    )
    with transaction(factory) as s:
        assert prepared.run(s, insert, values).rowcount == 1
        assert prepared.run(s, touch, {"key": "liuyang", "data": {"n": 1}}).rowcount == 1
        assert prepared.run(s, touch, {"key": "nobody", "data": {}}).rowcount == 0
    with transaction(factory) as s:
        row = s.execute(select(_CONV)).one()  # written by prepared, read by SQLAlchemy
        assert (row.step, row.data, row.expires_at) == ("done", {"n": 1}, values["expires_at"])
        mine = prepared.run(s, select(_CONV.c.data, _CONV.c.updated_at)).first()
        assert mine.data == {"n": 1} and mine.updated_at == values["updated_at"]


def test_runs_inside_the_sessions_transaction(factory):
    dialect = factory.kw["bind"].dialect.name
    insert = _insert_inbound(dialect)
    params = {
        "dedup_key": "k",
        "userid": "u",
        "msg_type": "text",
        "event": None,
        "received_at": datetime(2026, 6, 5, tzinfo=timezone.utc),
    }
    with pytest.raises(RuntimeError), transaction(factory) as s:
        prepared.run(s, insert, params)
        raise RuntimeError("the handler failed")
    count = select(_INBOUND.c.id)
    with transaction(factory) as s:
        assert prepared.run(s, count).all() == []  # rolled back with the session


def test_driver_errors_are_sqlalchemy_errors(factory):
    clash = _CONV.insert().values(userid=bindparam("userid"), flow="f", step="s")
    with pytest.raises(exc.IntegrityError) as raised, transaction(factory) as s:
        prepared.run(s, clash, {"userid": "x"})
        prepared.run(s, clash, {"userid": "x"})
    assert not is_transient(raised.value)  # a bug, not a reason for WeCom to retry
    with pytest.raises(exc.ArgumentError, match="userid"), transaction(factory) as s:
        prepared.run(s, clash, {})


def test_orm_statements_and_expanding_binds_are_refused(factory):
    with transaction(factory) as s:
        with pytest.raises(TypeError, match="Core"):
            prepared.run(s, select(Conversation))
        with pytest.raises(TypeError, match="expand"):
            prepared.run(
                s,
                select(_CONV.c.userid).where(_CONV.c.userid.in_(bindparam("ids", expanding=True))),
                {"ids": ["a"]},
            )


def test_dates_round_trip(factory):
    from bot.models import DailyActivity

    table = DailyActivity.__table__
    dialect = factory.kw["bind"].dialect.name
    insert = (
        dialect_insert(dialect)(table)
        .values(
            day=bindparam("day"),
            userid=bindparam("userid"),
            department_id=None,
            first_at=bindparam("first_at"),
        )
        .on_conflict_do_nothing()
    )
    params = {"day": date(2026, 6, 5), "userid": "u", "first_at": datetime.now(timezone.utc)}
    with transaction(factory) as s:
        assert prepared.run(s, insert, params).rowcount == 1
        assert prepared.run(s, insert, params).rowcount == 0
        assert prepared.run(s, select(table.c.day)).scalar() == date(2026, 6, 5)


def test_errors_are_the_classes_session_execute_raises(factory):
    # A missing table: OperationalError on SQLite (which is_transient treats as retryable,
    # like a locked database), ProgrammingError on PostgreSQL, whichever way it is run.
    from sqlalchemy import Column, Integer, MetaData, Table

    missing = Table("no_such_table", MetaData(), Column("id", Integer))
    raised = []
    for execute in (
        lambda s: s.execute(select(missing)),
        lambda s: prepared.run(s, select(missing)),
    ):
        with pytest.raises(exc.DBAPIError) as error, transaction(factory) as s:
            execute(s)
        raised.append(type(error.value))
    assert raised[0] is raised[1]


def test_a_per_dialect_statement_is_built_once_for_the_sessions_database(factory):
    dialect = factory.kw["bind"].dialect.name
    asked = []

    @prepared.per_dialect
    def insert(name: str):
        asked.append(name)
        return _insert_inbound(name)

    at = datetime(2026, 6, 5, 1, 0, tzinfo=timezone.utc)
    params = {"userid": "u", "msg_type": "text", "event": None, "received_at": at}
    with transaction(factory) as s:
        first = prepared.run(s, insert, {**params, "dedup_key": "a"}).first()
        again = prepared.run(s, insert, {**params, "dedup_key": "a"}).first()
        other = prepared.run(s, insert, {**params, "dedup_key": "b"}).first()
    assert asked == [dialect]  # built on first use, by this database's dialect only
    assert first.received_at == at and again is None and other.id != first.id
    assert insert.built(dialect) is insert.built(dialect)

"""`safetybot counters check [--repair]`: prove the running totals against the raw rows.

One line per counter that differs (what it should be, what is recorded), then a summary;
exit 1 when drift was found and left as it is, 0 when there was none or it was repaired.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bot import counters_check
from bot.content import texts
from bot.counters_check import Drift
from bot.db import is_postgres, transaction
from bot.pledge.texts import SHORT_HASH
from bot.runtime import open_runtime

# More lines than anyone reads: the rest is counted in one line (the summary has the total).
MAX_LINES = 200


def drift_line(drift: Drift) -> str:
    def shown(value):
        if isinstance(value, bool):
            return texts.get("counters.check.yes" if value else "counters.check.no")
        return value

    values = {
        "field": texts.get(f"counters.check.fields.{drift.field}"),
        "expected": shown(drift.expected),
        "actual": shown(drift.actual),
    }
    if drift.table == "person_totals":
        return texts.get("counters.check.person", userid=drift.key[0], **values)
    if drift.table == "department_totals":
        return texts.get("counters.check.department_total", department=drift.key[0], **values)
    if drift.table == "pledge_counts":
        department, text_hash = drift.key
        return texts.get(
            "counters.check.department_pledge",
            department=department,
            text=text_hash[:SHORT_HASH],
            **values,
        )
    if drift.table == "question_counts":
        department, question = drift.key
        return texts.get(
            "counters.check.department_question", department=department, question=question, **values
        )
    department, day = drift.key
    return texts.get("counters.check.department_day", department=department, day=day, **values)


def _summary(drifts: list[Drift]) -> dict:
    people = {d.key for d in drifts if d.table == "person_totals"}
    days = {d.key for d in drifts if d.table in ("department_day_counts", "department_day_active")}
    return {"count": len(drifts), "people": len(people), "days": len(days)}


def cmd_check(args) -> int:
    with open_runtime(args.settings) as rt:
        today = rt.clock().astimezone(rt.settings.tz).date()
        if args.repair:
            with transaction(rt.factory) as session:
                drifts = counters_check.repair(session, today)
        else:
            with read_snapshot(rt) as session:
                drifts = counters_check.check(session, today)
    for drift in drifts[:MAX_LINES]:
        print(drift_line(drift))
    if len(drifts) > MAX_LINES:
        print(texts.get("counters.check.more", count=len(drifts) - MAX_LINES))
    if not drifts:
        print(texts.get("counters.check.clean"))
        return 0
    if args.repair:
        print(texts.get("counters.check.repaired", **_summary(drifts)))
        return 0
    print(texts.get("counters.check.drift", **_summary(drifts)))
    return 1


@contextmanager
def read_snapshot(rt) -> Iterator[Session]:
    """One consistent snapshot to check in, without holding up the writers.

    A writer commits its raw row and its counters together, so a snapshot sees both or
    neither, and a check under live traffic finds no false drift. PostgreSQL: REPEATABLE READ.
    SQLite: a deferred read transaction of its own (WAL keeps its snapshot to the end), not the
    bot's sessions, which take the write lock at BEGIN and would stall every callback for as
    long as the check runs.
    """
    if not is_postgres(rt.engine):
        engine = create_engine(rt.engine.url, poolclass=NullPool)
        event.listen(engine, "connect", _no_implicit_transactions)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN DEFERRED"))
        try:
            with Session(engine) as session, session.begin():
                yield session
        finally:
            engine.dispose()
        return
    with transaction(rt.factory) as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


def _no_implicit_transactions(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # the "begin" listener above opens them


def add_commands(sub) -> None:
    p = sub.add_parser(
        "counters", help="the running totals of the figures: check them against the raw rows"
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="recompute the counters from the raw rows; exit 1 on drift"
    )
    check.add_argument(
        "--repair", action="store_true", help="rewrite the drifted counters to the raw rows"
    )
    check.set_defaults(func=cmd_check)

"""`safetybot counters check [--repair]`: prove the running totals against the raw rows.

One line per counter that differs (what it should be, what is recorded), then a summary;
exit 1 when drift was found and left as it is, 0 when there was none or it was repaired.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot import counters_check
from bot.content import texts
from bot.counters_check import Drift
from bot.db import is_postgres, transaction
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
    department, day = drift.key
    return texts.get("counters.check.department_day", department=department, day=day, **values)


def _summary(drifts: list[Drift]) -> dict:
    people = {d.key for d in drifts if d.table == "person_totals"}
    days = {d.key for d in drifts if d.table == "department_day_counts"}
    return {"count": len(drifts), "people": len(people), "days": len(days)}


def cmd_check(args) -> int:
    with open_runtime(args.settings) as rt:
        today = rt.clock().astimezone(rt.settings.tz).date()
        with transaction(rt.factory) as session:
            if is_postgres(session) and not args.repair:
                # One snapshot: a writer commits its raw row and its counters together, so a
                # check under live traffic sees both or neither.
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            drifts = _run(session, today, args.repair)
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


def _run(session: Session, today, repair: bool) -> list[Drift]:
    if repair:
        return counters_check.repair(session, today)
    return counters_check.check(session, today)


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

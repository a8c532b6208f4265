"""`safetybot drill scenarios|desk|live`, `safetybot plan add|list`, `safetybot supply add|list`:
drills, the emergency plan register and emergency supplies."""

from __future__ import annotations

import sys
from datetime import date

from bot.db import transaction
from bot.drills import desk, live, plans, registers, supplies
from bot.drills.common import DrillRefused
from bot.drills.scenarios import ScenarioError, scenarios
from bot.localtime import parse_local
from bot.models import Department, EmergencyPlan, User
from bot.runtime import open_runtime


def _fail(prog: str, message: str, status: int = 1) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return status


def _date(prog: str, text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DrillRefused("cli", text=f"{name} {text!r} is not a date (YYYY-MM-DD)") from None


def _check_people(s, departments, users) -> str | None:
    for d in departments:
        if s.get(Department, d) is None:
            return f"unknown department {d}"
    for u in users:
        if s.get(User, u) is None:
            return f"unknown member {u!r}"
    return None


def cmd_scenarios(args) -> int:
    try:
        found = scenarios()
    except ScenarioError as exc:
        return _fail("safetybot drill scenarios", f"scenario refused: {exc}")
    if not found:
        return _fail("safetybot drill scenarios", "no scenario in content/drills")
    for s in found.values():
        print(f"{s.id}\t{s.kind}\t{s.title}\t{len(s.sequence())} items")
    return 0


def cmd_desk(args) -> int:
    prog = "safetybot drill desk"
    with open_runtime(args.settings) as rt:
        with transaction(rt.factory) as s:
            problem = _check_people(s, args.department or [], args.user or [])
            if problem:
                return _fail(prog, problem)
            try:
                drill = desk.start_desk(
                    s,
                    scenario_id=args.scenario,
                    facilitator=args.facilitator,
                    department_ids=args.department or [],
                    userids=args.user or [],
                    now=rt.clock(),
                )
            except DrillRefused as exc:
                return _fail(prog, _refusal(exc))
            drill_id = drill.id
        print(f"desk exercise {drill_id}: {args.scenario}")
        if not args.no_send:
            st = rt.sender.drain()
            print(f"sent {st.sent}, deferred {st.deferred}, dead {st.dead}")
    return 0


def _refusal(exc: DrillRefused) -> str:
    if exc.key == "unknown_scenario":
        return f"unknown scenario {exc.values['scenario']!r} (valid: {', '.join(scenarios())})"
    if exc.key == "cli":
        return exc.values["text"]
    return f"{exc.key}: {exc.text()}"


def cmd_live(args) -> int:
    prog = "safetybot drill live"
    roles: dict[str, list[str]] = {}
    for spec in args.role or []:
        key, _, who = spec.partition("=")
        if not key or not who:
            return _fail(prog, f"--role {spec!r}: write ROLE=USERID", 2)
        roles.setdefault(key, []).append(who)
    with open_runtime(args.settings) as rt:
        try:
            starts = parse_local(args.at, rt.settings.tz)
        except ValueError:
            return _fail(prog, f"--at {args.at!r} is not a time (YYYY-MM-DD HH:MM)", 2)
        with transaction(rt.factory) as s:
            users = [u for people in roles.values() for u in people] + (args.user or [])
            problem = _check_people(s, args.department or [], users)
            if problem:
                return _fail(prog, problem)
            if args.plan is not None and s.get(EmergencyPlan, args.plan) is None:
                return _fail(prog, f"no emergency plan {args.plan}")
            try:
                drill = live.create_live(
                    s,
                    scenario_id=args.scenario,
                    starts_at=starts,
                    place=args.place,
                    department_ids=args.department or [],
                    userids=args.user or [],
                    roles=roles,
                    facilitator=args.facilitator,
                    now=rt.clock(),
                    plan_id=args.plan,
                    tz=rt.settings.tz,
                )
            except DrillRefused as exc:
                return _fail(prog, _refusal(exc))
            drill_id, event_id = drill.id, drill.event_id
        print(f"live drill {drill_id}: {args.scenario}, check-in event {event_id}")
        if not args.no_send:
            st = rt.sender.drain()
            print(f"sent {st.sent}, deferred {st.deferred}, dead {st.dead}")
    return 0


def cmd_plan_add(args) -> int:
    prog = "safetybot plan add"
    kind = plans.parse_kind(args.kind)
    if kind is None:
        return _fail(prog, f"--kind {args.kind!r}: one of {', '.join(plans.KINDS)}", 2)
    with open_runtime(args.settings) as rt, transaction(rt.factory) as s:
        try:
            if args.owner and s.get(User, args.owner) is None:
                return _fail(prog, f"unknown member {args.owner!r}")
            plan = plans.save_plan(
                s,
                title=args.title,
                kind=kind,
                owner=args.owner,
                version=args.version or "",
                url=args.url,
                last_review=_date(prog, args.last_review, "--last-review"),
                next_review=_date(prog, args.next_review, "--next-review"),
                actor="cli",
                now=rt.clock(),
            )
        except DrillRefused as exc:
            return _fail(prog, _refusal(exc))
        print(f"plan {plan.id}: {plan.title}, next review {plan.next_review or '-'}")
    return 0


def cmd_plan_list(args) -> int:
    with open_runtime(args.settings) as rt, rt.factory() as s:
        today = rt.clock().astimezone(rt.settings.tz).date()
        print(registers.plan_list_text(s, today))
    return 0


def cmd_supply_add(args) -> int:
    prog = "safetybot supply add"
    with open_runtime(args.settings) as rt, transaction(rt.factory) as s:
        try:
            if args.keeper and s.get(User, args.keeper) is None:
                return _fail(prog, f"unknown member {args.keeper!r}")
            supply = supplies.save_supply(
                s,
                name=args.name,
                quantity_value=args.quantity,
                min_quantity=args.min_quantity,
                location=args.location or "",
                keeper=args.keeper,
                interval_days=args.interval,
                expires_on=_date(prog, args.expires, "--expires"),
                now=rt.clock(),
            )
        except DrillRefused as exc:
            if exc.key in ("bad_quantity", "bad_interval"):
                return _fail(prog, f"quantities are whole numbers >= 0 ({exc.text()})")
            return _fail(prog, _refusal(exc))
        print(f"supply {supply.id}: {supply.name} x {supply.quantity}")
    return 0


def cmd_supply_list(args) -> int:
    with open_runtime(args.settings) as rt, rt.factory() as s:
        today = rt.clock().astimezone(rt.settings.tz).date()
        print(registers.supply_list_text(s, today))
    return 0


def add_commands(sub) -> None:
    parser = sub.add_parser("drill", help="应急演练: scenarios, desk exercises, live drills")
    group = parser.add_subparsers(dest="drill", required=True, metavar="ACTION")
    p = group.add_parser("scenarios", help="list the drill scenarios (id, kind, title)")
    p.set_defaults(func=cmd_scenarios)

    p = group.add_parser("desk", help="start a desk exercise (桌面推演) for a group")
    p.add_argument("scenario", help="a scenario id (see scenarios)")
    p.add_argument("--department", type=int, action="append", help="department id (repeat)")
    p.add_argument("--user", action="append", help="member userid (repeat)")
    p.add_argument("--facilitator", default="cli", help="who gets the group's answers (userid)")
    p.add_argument("--no-send", action="store_true", help="only queue; the running sender delivers")
    p.set_defaults(func=cmd_desk)

    p = group.add_parser("live", help="create a live drill (实战演练) with its check-in event")
    p.add_argument("scenario", help="a scenario id (see scenarios)")
    p.add_argument("--at", required=True, help='start, "YYYY-MM-DD HH:MM"')
    p.add_argument("--place", required=True, help="where")
    p.add_argument("--department", type=int, action="append", help="department id (repeat)")
    p.add_argument("--user", action="append", help="member userid (repeat)")
    p.add_argument("--role", action="append", help="ROLE=USERID, e.g. evacuation=liuyang (repeat)")
    p.add_argument("--plan", type=int, help="the emergency plan it exercises (id)")
    p.add_argument("--facilitator", default="cli", help="who records the key times (userid)")
    p.add_argument("--no-send", action="store_true", help="only queue; the running sender delivers")
    p.set_defaults(func=cmd_live)

    parser = sub.add_parser("plan", help="应急预案: the emergency plan register")
    group = parser.add_subparsers(dest="plan", required=True, metavar="ACTION")
    p = group.add_parser("add", help="register an emergency plan")
    p.add_argument("title", help="the plan's title")
    p.add_argument(
        "--kind", required=True, help="comprehensive | special | onsite (综合/专项/现场处置)"
    )
    p.add_argument("--owner", help="owner userid")
    p.add_argument("--version", help="version, e.g. 2026版")
    p.add_argument("--url", help="file link (http/https; never fetched)")
    p.add_argument("--last-review", help="YYYY-MM-DD")
    p.add_argument("--next-review", help="YYYY-MM-DD (comprehensive: 3 years after the last)")
    p.set_defaults(func=cmd_plan_add)
    p = group.add_parser("list", help="list the plans and what is due")
    p.set_defaults(func=cmd_plan_list)

    parser = sub.add_parser("supply", help="应急物资: the emergency supplies register")
    group = parser.add_subparsers(dest="supply", required=True, metavar="ACTION")
    p = group.add_parser("add", help="register an item of emergency supplies")
    p.add_argument("name", help="the item, e.g. 灭火器")
    p.add_argument("--quantity", required=True, help="a whole number >= 0")
    p.add_argument("--min-quantity", default="0", help="low-stock threshold (whole number >= 0)")
    p.add_argument("--location", help="where it is kept")
    p.add_argument("--keeper", help="keeper userid (does the monthly 物资检查)")
    p.add_argument("--interval", default="30", help="inspection interval in days")
    p.add_argument("--expires", help="expiry date, YYYY-MM-DD")
    p.set_defaults(func=cmd_supply_add)
    p = group.add_parser("list", help="list the supplies")
    p.set_defaults(func=cmd_supply_list)

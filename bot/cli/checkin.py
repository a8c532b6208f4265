"""`safetybot event create|list|survey`: check-in events (ceremonies, drills, the consultation day)."""

from __future__ import annotations

from bot.checkin.events import (
    create_event,
    created_text,
    event_lines,
    find_event,
    kinds,
    starts_in_the_past,
)
from bot.checkin.surveys import send_survey
from bot.content import texts
from bot.db import transaction
from bot.localtime import LocalTimeError, parse_local
from bot.models import Department
from bot.runtime import open_runtime


class _BadDepartments(ValueError):
    pass


def _departments(text: str | None) -> list[int]:
    parts = [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]
    if not all(p.isdigit() and int(p) < 2**31 for p in parts):
        raise _BadDepartments(text)
    return [int(p) for p in parts]


def cmd_event(args) -> int:
    with open_runtime(args.settings) as rt:
        tz = rt.settings.tz
        now = rt.clock().astimezone(tz)
        try:
            departments = _departments(args.departments)
            with transaction(rt.factory) as s:
                if args.action == "create":
                    if not (args.title and args.starts and args.ends):
                        print(
                            "event create needs --title, --starts and --ends "
                            "(e.g. '2026-06-10 14:00')"
                        )
                        return 2
                    unknown = [d for d in departments if s.get(Department, d) is None]
                    if unknown:
                        print(f"event create: no department {unknown[0]} (see the directory)")
                        return 2
                    starts_at = parse_local(args.starts, tz)
                    if starts_in_the_past(starts_at, now) and not args.past:
                        print(
                            f"event create: --starts {args.starts} is in the past; "
                            "add --past to create it anyway"
                        )
                        return 2
                    event = create_event(
                        s,
                        kind=args.kind,
                        title=args.title,
                        starts_at=starts_at,
                        ends_at=parse_local(args.ends, tz),
                        created_by="cli",
                        now=now,
                        latitude=args.lat,
                        longitude=args.lng,
                        radius_m=args.radius,
                        department_ids=departments,
                        tz=tz,
                    )
                    print(created_text(texts.get, event, tz))
                elif args.action == "list":
                    for line in event_lines(s, tz):
                        print(line)
                elif args.action == "survey":
                    event = find_event(s, args.event or "")
                    if event is None or not event.survey:
                        print("no such event, or it has no survey")
                        return 1
                    n = send_survey(s, event, now)
                    print(
                        "survey already sent" if n is None else f"survey queued for {n} attendees"
                    )
            return 0
        except _BadDepartments as exc:
            print(f"event {args.action}: --departments takes department ids, e.g. 3,4 ({exc})")
            return 2
        except (ValueError, LocalTimeError) as exc:
            print(f"event {args.action}: {exc}")
            return 2


def add_commands(sub) -> None:
    p = sub.add_parser("event", help="check-in events: create, list, send a drill survey")
    p.add_argument("action", choices=["create", "list", "survey"], help="what to do")
    p.add_argument("event", nargs="?", help="for survey: event id or code")
    p.add_argument("--kind", choices=kinds(), default="other", help="kind of event")
    p.add_argument("--title", help="the event's title")
    p.add_argument("--starts", help="local time, e.g. '2026-06-10 14:00'")
    p.add_argument("--ends", help="local time, e.g. '2026-06-10 16:00'")
    p.add_argument("--lat", type=float, help="latitude of the place (location check)")
    p.add_argument("--lng", type=float, help="longitude of the place (location check)")
    p.add_argument("--radius", type=int, help="metres (default 200 when a place is given)")
    p.add_argument("--departments", help="invited department ids, e.g. 3,4 (default: everyone)")
    p.add_argument("--past", action="store_true", help="create it even though its start has passed")
    p.set_defaults(func=cmd_event)

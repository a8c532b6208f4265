"""`safetybot event create|list|survey`: check-in events (ceremonies, drills, the consultation day)."""

from __future__ import annotations

from bot.checkin.events import create_event, created_text, event_lines, find_event, kinds
from bot.checkin.surveys import send_survey
from bot.content import texts
from bot.db import transaction
from bot.localtime import LocalTimeError, parse_local
from bot.runtime import open_runtime


def cmd_event(args) -> int:
    with open_runtime(args.settings) as rt:
        tz = rt.settings.tz
        now = rt.clock().astimezone(tz)
        try:
            with transaction(rt.factory) as s:
                if args.action == "create":
                    if not (args.title and args.starts and args.ends):
                        print(
                            "event create needs --title, --starts and --ends "
                            "(e.g. '2026-06-10 14:00')"
                        )
                        return 2
                    event = create_event(
                        s,
                        kind=args.kind,
                        title=args.title,
                        starts_at=parse_local(args.starts, tz),
                        ends_at=parse_local(args.ends, tz),
                        created_by="cli",
                        now=now,
                        latitude=args.lat,
                        longitude=args.lng,
                        radius_m=args.radius,
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
    p.set_defaults(func=cmd_event)

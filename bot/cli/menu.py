"""`safetybot menu [--file FILE] [--print]`: the app's custom menu in WeCom, from
content/menu.yaml (bot.wecom.menu checks it against WeCom's limits; every click key must be
a chat command, since a click reaches the router as the key typed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.runtime import open_runtime
from bot.text import normalize
from bot.wecom.menu import MenuError, click_keys, default_path, load_menu

CONSOLE_PATH = "/admin/login/wecom"


def check_keys(menu: dict) -> None:
    from handlers import build_router

    router = build_router()
    for key in click_keys(menu):
        if router.match_command(normalize(key)) is None:
            raise MenuError(f"click key {key!r} is no chat command the bot answers")


def cmd_menu(args) -> int:
    settings = args.settings
    base = settings.public_url.rstrip("/")
    path = Path(args.file) if args.file else default_path()
    try:
        menu = load_menu(path, base + CONSOLE_PATH if base else "")
        check_keys(menu)
    except MenuError as exc:
        print(f"safetybot menu: {exc}", file=sys.stderr)
        return 2
    if args.print:
        print(json.dumps(menu, ensure_ascii=False, indent=2))
        return 0
    missing = [
        name
        for name, value in (
            ("WECOM_CORP_ID", settings.corp_id),
            ("WECOM_AGENT_ID", settings.agent_id),
            ("WECOM_SECRET", settings.secret),
        )
        if not value
    ]
    if missing:
        print(f"safetybot menu: missing settings: {', '.join(missing)}", file=sys.stderr)
        return 2
    with open_runtime(settings) as rt:
        rt.client.create_menu(menu)
    actions = sum(len(b.get("sub_button", [b])) for b in menu["button"])
    print(
        f"menu created for app {settings.agent_id}: {len(menu['button'])} buttons, {actions} actions"
    )
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("menu", help="create the app's menu in WeCom from content/menu.yaml")
    p.add_argument("--file", help="the menu file (default: content/menu.yaml)")
    p.add_argument("--print", action="store_true", help="print the JSON, send nothing")
    p.set_defaults(func=cmd_menu)

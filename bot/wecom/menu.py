"""The app's custom menu: content/menu.yaml checked against WeCom's documented limits and
turned into the JSON of menu/create (应用管理 › 自定义菜单 › 创建菜单).

Limits as WeCom documents them: `button` holds 1-3 buttons; a button is either an action
(`type` with `key` or `url`) or a group (`name` and `sub_button`, 1-5 actions, no type);
names at most 16 bytes (top level) and 40 bytes (sub-buttons), keys at most 128 bytes, links
at most 1024 bytes. The bot uses `click` (its key reaches the router as typed text,
bot.router._dispatch_event) and `view` (a link).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.content import content_dir

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_NAME = 16  # bytes, top level
MAX_SUB_NAME = 40  # bytes, sub-buttons
MAX_KEY = 128
MAX_URL = 1024
TYPES = ("click", "view")
CONSOLE = "{console}"


class MenuError(ValueError):
    """A menu.yaml WeCom would refuse (or the bot could not answer): one line, where and why."""


def default_path() -> Path:
    return content_dir() / "menu.yaml"


def _bytes(text: str) -> int:
    return len(text.encode())


def _action(item: Any, where: str, name_limit: int, console_url: str) -> dict[str, str]:
    if not isinstance(item, dict):
        raise MenuError(f"{where}: a button needs name and type")
    name = str(item.get("name") or "").strip()
    if not name:
        raise MenuError(f"{where}: name is empty")
    if _bytes(name) > name_limit:
        raise MenuError(f"{where}: name {name!r} is {_bytes(name)} bytes, at most {name_limit}")
    kind = item.get("type")
    if kind not in TYPES:
        raise MenuError(f"{where} ({name}): type must be {' or '.join(TYPES)}, not {kind!r}")
    if kind == "click":
        key = str(item.get("key") or "").strip()
        if not key or _bytes(key) > MAX_KEY:
            raise MenuError(f"{where} ({name}): a click button needs a key of 1-{MAX_KEY} bytes")
        return {"type": "click", "name": name, "key": key}
    url = str(item.get("url") or "").strip()
    if CONSOLE in url:
        if not console_url:
            raise MenuError(f"{where} ({name}): {CONSOLE} needs SAFETYBOT_PUBLIC_URL")
        url = url.replace(CONSOLE, console_url)
    if not url.startswith(("https://", "http://")) or _bytes(url) > MAX_URL:
        raise MenuError(
            f"{where} ({name}): a view button needs an http(s) url of at most 1024 bytes"
        )
    return {"type": "view", "name": name, "url": url}


def build_menu(data: Any, console_url: str = "") -> dict[str, Any]:
    """The menu/create body for menu.yaml's data; MenuError for anything WeCom refuses."""
    buttons = data.get("button") if isinstance(data, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise MenuError(f"menu.yaml: `button` must list 1 to {MAX_BUTTONS} buttons")
    result = []
    for i, button in enumerate(buttons, 1):
        where = f"button {i}"
        subs = button.get("sub_button") if isinstance(button, dict) else None
        if subs is None:
            result.append(_action(button, where, MAX_NAME, console_url))
            continue
        if not isinstance(subs, list) or not 1 <= len(subs) <= MAX_SUB_BUTTONS:
            raise MenuError(f"{where}: sub_button must list 1 to {MAX_SUB_BUTTONS} buttons")
        if "type" in button:
            raise MenuError(f"{where}: a button with sub_button has no type of its own")
        name = str(button.get("name") or "").strip()
        if not name or _bytes(name) > MAX_NAME:
            raise MenuError(f"{where}: name {name!r} must be 1-{MAX_NAME} bytes")
        actions = [
            _action(sub, f"{where}.{j}", MAX_SUB_NAME, console_url) for j, sub in enumerate(subs, 1)
        ]
        result.append({"name": name, "sub_button": actions})
    return {"button": result}


def load_menu(path: Path, console_url: str = "") -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise MenuError(f"{path.name}{line}: not valid YAML") from None
    return build_menu(data, console_url)


def click_keys(menu: dict[str, Any]) -> list[str]:
    keys = []
    for button in menu["button"]:
        for action in button.get("sub_button", [button]):
            if action["type"] == "click":
                keys.append(action["key"])
    return keys

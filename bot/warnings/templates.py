"""The risk-warning templates of content/warnings.yaml: lookup by name, and rendering.

A template is (hazard, level): `rainstorm` / 暴雨 and `orange` / 橙色. Rendered as plain text
for message/send, as markdown for group robots, and as a short button card for 收到.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot import content

LEVELS = ("blue", "yellow", "orange", "red")
LEVEL_NAMES = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
# Schemes graded by number rather than colour (earthquake emergency response, geological
# risk) count down: 一级/Ⅰ级 is the most severe, as red is.
RESPONSE_LEVELS = {
    "red": ("一级", "Ⅰ级", "1级"),
    "orange": ("二级", "Ⅱ级", "2级"),
    "yellow": ("三级", "Ⅲ级", "3级"),
    "blue": ("四级", "Ⅳ级", "4级"),
}
# What people type for a level: 橙色, 橙, orange, 二级, Ⅱ级.
LEVEL_WORDS = {
    **{name: key for key, name in LEVEL_NAMES.items()},
    **{name[0]: key for key, name in LEVEL_NAMES.items()},
    **{key: key for key in LEVELS},
    **{word.lower(): key for key, words in RESPONSE_LEVELS.items() for word in words},
}
# Orange and red warnings ask for a 收到 by default.
ACK_LEVELS = frozenset({"orange", "red"})
# Markdown colours a WeCom robot supports: info (green), comment (grey), warning (orange-red).
MARKDOWN_COLOUR = {"blue": "comment", "yellow": "warning", "orange": "warning", "red": "warning"}


def warning_templates() -> dict[str, Any]:
    return content.load("warnings.yaml")["warnings"]


def hazard_names() -> dict[str, str]:
    """Every name a hazard is known by (中文 name and key) -> key."""
    names: dict[str, str] = {}
    for key, data in warning_templates().items():
        names[key.lower()] = key
        names[str(data["name"])] = key
    return names


def level_name(hazard: str | None, level: str | None, default: str = "") -> str:
    """How a level is named for this hazard: 橙色 for weather, Ⅱ级响应 for an earthquake (a
    hazard's `level_names` in content/warnings.yaml; there is no colour warning for those)."""
    if not level:
        return default
    names = (warning_templates().get(hazard or "") or {}).get("level_names") or {}
    return str(names.get(level) or LEVEL_NAMES.get(level, default))


def find_hazard(word: str) -> str | None:
    return hazard_names().get(word.strip().lower())


def find_level(word: str) -> str | None:
    word = word.strip().lower()
    if word.endswith("预警"):
        word = word[: -len("预警")]
    return LEVEL_WORDS.get(word)


# A colour word, alone or after a hazard name: 紫色, 红色预警, 台风紫色预警.
_COLOUR_WORD = re.compile(r"^(.*?)(\S色)(?:预警)?$")


def template_mistake(text: str) -> tuple[str, str] | None:
    """Why `text`, which matched no template, still looks like one (never send it as free text).

    ("level", word): a known hazard with an unknown or missing level (台风 紫色);
    ("hazard", word): a level with an unknown hazard (台峰 红色). None: free text."""
    words = text.split()
    if not words:
        return None
    first, second = words[0], (words[1] if len(words) > 1 else "")
    if find_hazard(first.removesuffix("预警")):
        if not second:
            return ("level", "")
        if _COLOUR_WORD.fullmatch(second) and not _COLOUR_WORD.fullmatch(second).group(1):
            return ("level", second)
        return None
    m = _COLOUR_WORD.fullmatch(first)
    if m and m.group(1):
        if find_hazard(m.group(1)):
            return ("level", m.group(2))
        if find_level(m.group(2)):
            return ("hazard", m.group(1))
    if m and find_level(first):
        return ("hazard", "")
    m = _COLOUR_WORD.fullmatch(second)
    if m and not m.group(1) and find_level(second):
        return ("hazard", first)
    return None


_TEMPLATE_RE_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def match_template(text: str) -> tuple[str, str, str] | None:
    """`暴雨 橙色 附加说明` / `暴雨橙色预警 附加说明` -> (hazard, level, rest), else None."""
    names = hazard_names()
    key = tuple(sorted(names))
    pattern = _TEMPLATE_RE_CACHE.get(key)
    if pattern is None:
        hazards = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        levels = "|".join(re.escape(w) for w in sorted(LEVEL_WORDS, key=len, reverse=True))
        pattern = re.compile(
            rf"^({hazards})\s*({levels})(?:预警)?(?=\s|$)\s*(.*)$", re.IGNORECASE | re.DOTALL
        )
        _TEMPLATE_RE_CACHE.clear()
        _TEMPLATE_RE_CACHE[key] = pattern
    m = pattern.match(text.strip())
    if not m:
        return None
    return names[m.group(1).lower()], LEVEL_WORDS[m.group(2).lower()], m.group(3).strip()


@dataclass
class RenderedWarning:
    """A warning ready to send: a title, the lines of its body, and where it comes from."""

    title: str
    meaning: str = ""
    actions: list[str] = field(default_factory=list)
    extra: str = ""
    source: str = ""
    note: str = ""
    level: str | None = None
    hazard: str | None = None
    free: bool = False  # typed by an admin: the text is the whole message
    prefix: str | None = None  # 风险预警 unless given (通知 for a broadcast)

    def text(self, labels: dict[str, str]) -> str:
        prefix = self.prefix or labels["prefix"]
        if self.free:
            return f"【{prefix}】{self.extra}"
        lines = [f"【{prefix}】{self.title}"]
        if self.meaning:
            lines.append(self.meaning)
        if self.extra:
            lines += ["", self.extra]
        if self.actions:
            lines += ["", labels["actions"]]
            lines += [f"{i}. {a}" for i, a in enumerate(self.actions, 1)]
        if self.note:
            lines += ["", f"{labels['note']}{self.note}"]
        if self.source:
            lines += ["", f"{labels['source']}{self.source}"]
        return "\n".join(lines)

    def markdown(self, labels: dict[str, str]) -> str:
        colour = MARKDOWN_COLOUR.get(self.level or "", "warning")
        prefix = self.prefix or labels["prefix"]
        if self.free:
            return cut_bytes(f'### <font color="{colour}">{prefix}</font>\n{_md(self.extra)}', 4000)
        lines = [f'### <font color="{colour}">{prefix}：{_md(self.title)}</font>']
        if self.meaning:
            lines.append(f"> {_md(self.meaning)}")
        if self.extra:
            lines += ["", _md(self.extra)]
        if self.actions:
            lines += ["", f"**{labels['actions']}**"]
            lines += [f"{i}. {_md(a)}" for i, a in enumerate(self.actions, 1)]
        if self.source:
            lines += ["", f'<font color="comment">{labels["source"]}{_md(self.source)}</font>']
        return cut_bytes("\n".join(lines), 4000)  # robot markdown: at most 4096 bytes


def render_template(hazard: str, level: str, extra: str = "") -> RenderedWarning:
    data = warning_templates()[hazard]
    tpl = data["levels"][level]
    return RenderedWarning(
        title=str(tpl["title"]),
        meaning=str(tpl.get("meaning") or "").strip(),
        actions=[str(a) for a in tpl.get("actions") or []],
        extra=extra.strip(),
        source=str(data.get("source") or ""),
        note=str(tpl.get("note") or "").strip(),
        level=level,
        hazard=hazard,
    )


def render_free_text(
    title: str, text: str, level: str | None = None, prefix: str | None = None
) -> RenderedWarning:
    return RenderedWarning(title=title, extra=text.strip(), level=level, prefix=prefix)


def render_typed(text: str, prefix: str | None = None) -> RenderedWarning:
    """A warning or notice typed by an admin: the text is the message, its start the title."""
    return RenderedWarning(title=truncate(text, 24), extra=text.strip(), free=True, prefix=prefix)


def _md(text: str) -> str:
    # Keep people's text from opening markdown structures of its own.
    return text.replace("<", "＜").replace(">", "＞")


ROBOT_MARKDOWN_LIMIT = 4096  # group robot markdown content, bytes (群机器人配置说明)


def cut_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, ending in … when cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def truncate(text: str, chars: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: chars - 1] + "…"

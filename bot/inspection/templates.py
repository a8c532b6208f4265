"""Checklist templates: content/checklists/*.yaml, validated at start-up.

A file with an unknown field, a missing source, a duplicate item id (across all templates) or
an unknown hazard category is refused with its file and line: the YAML node marks from
yaml.compose point at the offending key, so a safety officer editing the file finds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import yaml
from yaml.nodes import SequenceNode

from bot import yaml_nodes
from bot.content import content_dir, texts

TEMPLATE_FIELDS = {"id", "title", "category", "applies_to", "intro", "sources", "items"}
TEMPLATE_REQUIRED = ("title", "category", "sources", "items")
ITEM_FIELDS = {"id", "text", "hint", "critical", "photo_on_fail", "category", "source"}
ITEM_REQUIRED = ("id", "text", "source")


class TemplateError(ValueError):
    """A template file that cannot be used: `str()` is "file:line: what is wrong"."""


# Node helpers shared with the other content loaders (bot/yaml_nodes.py), raising this error.
_value = yaml_nodes.value
_fail = partial(yaml_nodes.fail, TemplateError)
_fields = partial(yaml_nodes.fields, TemplateError)
_text = partial(yaml_nodes.text, TemplateError)


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    source: str
    category: str
    hint: str = ""
    critical: bool = False
    photo_on_fail: bool = True


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    category: str
    sources: tuple[str, ...]
    items: tuple[Item, ...]
    applies_to: str = ""
    intro: str = ""
    path: str = ""
    by_id: dict[str, Item] = field(default_factory=dict, compare=False, repr=False)

    def item(self, item_id: str) -> Item | None:
        return self.by_id.get(item_id)


def checklist_dir() -> Path:
    return content_dir() / "checklists"


def hazard_categories() -> set[str]:
    return set(texts.raw("hazard.categories"))


def _flag(path: Path, fields: dict, key: str, default: bool) -> bool:
    if key not in fields:
        return default
    node, value = fields[key]
    if not isinstance(value, bool):
        raise _fail(path, node, f"{key!r} must be true or false")
    return value


def parse_template(path: Path, seen: dict[str, str], categories: set[str]) -> Template:
    """One file; `seen` maps item ids already taken to "file:line" (duplicates refused)."""
    with open(path, encoding="utf-8") as fh:
        try:
            root = yaml.compose(fh, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            raise TemplateError(f"{path}:{line}: not valid YAML") from exc
    if root is None:
        raise TemplateError(f"{path}:1: empty file")
    top = _fields(path, root, TEMPLATE_FIELDS, "the template")
    for key in TEMPLATE_REQUIRED:
        if key not in top:
            raise _fail(path, root, f"the template has no {key!r}")
    if "id" in top and top["id"][1] != path.stem:
        raise _fail(path, top["id"][0], f"id {top['id'][1]!r} differs from the file name")
    category = _text(path, top, "category", root, "the template", True)
    if category not in categories:
        raise _fail(path, top["category"][0], f"unknown hazard category {category!r}")
    sources_node, sources = top["sources"]
    if (
        not isinstance(sources, list)
        or not sources
        or not all(isinstance(s, str) and s.strip() for s in sources)
    ):
        raise _fail(path, sources_node, "'sources' must be a list of document names")
    items_node = top["items"][0]
    if not isinstance(items_node, SequenceNode) or not items_node.value:
        raise _fail(path, items_node, "'items' must be a non-empty list")
    items = []
    for item_node in items_node.value:
        f = _fields(path, item_node, ITEM_FIELDS, "an item")
        item_id = _text(path, f, "id", item_node, "an item", True)
        where = f"{path}:{f['id'][0].start_mark.line + 1}"
        if item_id in seen:
            raise _fail(path, f["id"][0], f"item id {item_id!r} already used at {seen[item_id]}")
        seen[item_id] = where
        what = f"item {item_id}"
        item_category = _text(path, f, "category", item_node, what, False) or category
        if item_category not in categories:
            raise _fail(path, f["category"][0], f"unknown hazard category {item_category!r}")
        items.append(
            Item(
                id=item_id,
                text=_text(path, f, "text", item_node, what, True),
                source=_text(path, f, "source", item_node, what, True),
                category=item_category,
                hint=_text(path, f, "hint", item_node, what, False),
                critical=_flag(path, f, "critical", False),
                photo_on_fail=_flag(path, f, "photo_on_fail", True),
            )
        )
    return Template(
        id=path.stem,
        title=_text(path, top, "title", root, "the template", True),
        category=category,
        sources=tuple(s.strip() for s in sources),
        items=tuple(items),
        applies_to=_text(path, top, "applies_to", root, "the template", False),
        intro=_text(path, top, "intro", root, "the template", False),
        path=str(path),
        by_id={i.id: i for i in items},
    )


def load_templates(folder: Path | None = None) -> dict[str, Template]:
    """Every template in `folder` (default content/checklists), validated; TemplateError on
    the first problem."""
    folder = folder or checklist_dir()
    if not folder.is_dir():
        return {}
    seen: dict[str, str] = {}
    categories = hazard_categories()
    return {p.stem: parse_template(p, seen, categories) for p in sorted(folder.glob("*.yaml"))}


_cache: yaml_nodes.FolderCache[dict[str, Template]] = yaml_nodes.FolderCache(load_templates)


def templates() -> dict[str, Template]:
    """The current templates, re-read when a file changes (the officer edits content/)."""
    return _cache.get(checklist_dir())


def get_template(template_id: str) -> Template | None:
    return templates().get(template_id)


def find_template(word: str) -> Template | None:
    """What an officer types for a checklist: its number in 「排查 模板」 (1, 2 …), its title
    (消防安全检查), a part of the title naming one checklist (消防), or its id (fire)."""
    found = templates()
    word = word.strip()
    if word in found:
        return found[word]
    ordered = list(found.values())
    if word.isdigit() and 1 <= int(word) <= len(ordered):
        return ordered[int(word) - 1]
    exact = [tp for tp in ordered if tp.title == word]
    if exact:
        return exact[0]
    partial = [tp for tp in ordered if word and word in tp.title]
    return partial[0] if len(partial) == 1 else None

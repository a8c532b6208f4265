"""Reading content YAML node by node, so that a mistake names its file and line.

The loaders of checklists (bot.inspection.templates) and drill scenarios (bot.drills.scenarios)
walk `yaml.compose` nodes: a node knows its line, a plain value does not. Each loader raises
its own error class; these helpers take it as their first argument.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node


def value(node: Node) -> Any:
    """The node as plain Python (mappings, lists, strings, numbers, dates)."""
    return SafeConstructor().construct_object(node, deep=True)


def fail(error: type[Exception], path: Path, node: Node, message: str) -> Exception:
    """`error("file:line: message")`, to raise."""
    return error(f"{path}:{node.start_mark.line + 1}: {message}")


def fields(
    error: type[Exception], path: Path, node: Node, allowed: set[str], what: str
) -> dict[str, tuple[Node, Any]]:
    """A mapping's fields as {name: (node, value)}; unknown and repeated names are refused."""
    if not isinstance(node, MappingNode):
        raise fail(error, path, node, f"{what} must be a mapping")
    out: dict[str, tuple[Node, Any]] = {}
    for key_node, value_node in node.value:
        key = str(value(key_node))
        if key not in allowed:
            raise fail(error, path, key_node, f"unknown field {key!r} in {what}")
        if key in out:
            raise fail(error, path, key_node, f"field {key!r} given twice in {what}")
        out[key] = (value_node, value(value_node))
    return out


def text(
    error: type[Exception],
    path: Path,
    found: dict[str, tuple[Node, Any]],
    key: str,
    parent: Node,
    what: str,
    required: bool = True,
    numbers: bool = False,
) -> str:
    """A non-empty text field ("" when absent and not required); `numbers`: 119 is "119"."""
    if key not in found:
        if required:
            raise fail(error, path, parent, f"{what} has no {key!r}")
        return ""
    node, got = found[key]
    if numbers and isinstance(got, (int, float)) and not isinstance(got, bool):
        got = str(got)
    if not isinstance(got, str) or not got.strip():
        raise fail(error, path, node, f"{key!r} of {what} must be a non-empty text")
    return got.strip()


T = TypeVar("T")


class FolderCache(Generic[T]):
    """What `load(folder)` made of a folder of YAML files, made again when a file is added,
    removed or changed (an officer edits content/ while the bot runs)."""

    def __init__(self, load: Callable[[Path], T]) -> None:
        self._load = load
        self._cache: dict[str, tuple[tuple, T]] = {}

    def get(self, folder: Path) -> T:
        files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        stamp = tuple((str(p), p.stat().st_mtime) for p in files)
        cached = self._cache.get(str(folder))
        if cached is None or cached[0] != stamp:
            cached = (stamp, self._load(folder))
            self._cache[str(folder)] = cached
        return cached[1]

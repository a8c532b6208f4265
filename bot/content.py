"""Loading content files from `content/` (YAML a safety officer can edit without Python).

Reply templates are looked up by dotted key: `texts.get("quiz.already")`.
Set SAFETYBOT_CONTENT_DIR to use an organisation's own copy of the content folder.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

import content as _content_pkg

PACKAGE_DIR = Path(_content_pkg.__file__).resolve().parent


def content_dir() -> Path:
    override = os.environ.get("SAFETYBOT_CONTENT_DIR")
    return Path(override) if override else PACKAGE_DIR


@lru_cache(maxsize=64)
def _load(path: str, mtime: float) -> Any:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load(relative: str) -> Any:
    """Load one YAML file under the content folder (cached until the file changes)."""
    path = content_dir() / relative
    return _load(str(path), path.stat().st_mtime)


def load_dir(relative: str) -> list[tuple[str, Any]]:
    folder = content_dir() / relative
    return [
        (p.stem, load(str(p.relative_to(content_dir())))) for p in sorted(folder.glob("*.yaml"))
    ]


class MissingText(KeyError):
    pass


class Texts:
    """Reply templates from content/replies.yaml."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self._data = data
        self._merged: dict[str, Any] | None = None
        self._stamp: tuple = ()
        self._checked = 0.0

    @property
    def data(self) -> dict[str, Any]:
        """replies.yaml merged with every content/replies.d/*.yaml (one file per feature,
        each under its own top-level key). Re-read when a file changes, checked at most
        once a second: this sits on every reply's path."""
        if self._data is not None:
            return self._data
        now = time.monotonic()
        if self._merged is None or now - self._checked > 1.0:
            self._checked = now
            files = [content_dir() / "replies.yaml"]
            folder = content_dir() / "replies.d"
            if folder.is_dir():
                files += sorted(folder.glob("*.yaml"))
            stamp = tuple((str(f), f.stat().st_mtime) for f in files)
            if stamp != self._stamp:
                merged: dict[str, Any] = {}
                for f in files:
                    merged.update(load(str(f.relative_to(content_dir()))) or {})
                self._merged, self._stamp = merged, stamp
        return self._merged  # type: ignore[return-value]

    def raw(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise MissingText(key)
            node = node[part]
        return node

    def get(self, key: str, **values: Any) -> str:
        template = self.raw(key)
        if isinstance(template, list):
            template = "\n".join(str(line) for line in template)
        return str(template).format(**values) if values else str(template)


texts = Texts()

"""Hazard grades: 一般事故隐患 (general) and 重大事故隐患 (major).

The words come from content `hazard.grades`; content/hazard_grades.yaml, when present, may
override them and lists the criteria for a major hazard with their sources, shown to an
officer who grades a hazard major.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.content import content_dir, texts

GRADES = ("general", "major")


def hazard_grades() -> dict[str, Any]:
    path = content_dir() / "hazard_grades.yaml"
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return data if isinstance(data, dict) else {}


def grade_label(grade: str | None) -> str:
    grade = grade if grade in GRADES else "general"
    custom = (hazard_grades().get("grades") or {}).get(grade)
    return str(custom) if custom else texts.get(f"hazard.grades.{grade}")


def parse_grade(text: str) -> str | None:
    t = (text or "").strip()
    if t in ("重大", "重大隐患", "重大事故隐患", "major", grade_label("major")):
        return "major"
    if t in ("一般", "一般隐患", "一般事故隐患", "general", grade_label("general")):
        return "general"
    return None


def major_criteria_lines() -> list[str]:
    """The criteria for a major hazard as numbered lines (empty without the content file)."""
    crit = hazard_grades().get("major_criteria") or {}
    lines = [str(crit["intro"])] if crit.get("intro") else []
    for i, c in enumerate(crit.get("criteria") or [], 1):
        if isinstance(c, dict) and c.get("text"):
            src = f"（{c['source']}）" if c.get("source") else ""
            lines.append(f"{i}. {c['text']}{src}")
    return lines

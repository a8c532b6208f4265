"""The layout rules of docs/ARCHITECTURE.md, checked on the source.

import-linter (`lint-imports`, run by .ci/run) checks the layer contracts in pyproject.toml;
these tests check what it does not: no import cycle at all (imports inside functions
included), no module over 500 lines, no feature discovery, and that every text key the code
asks for exists in content/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from import_graph import ROOT, cycles, edges, graph, project_modules

MAX_LINES = 500
ENTRY_POINTS = ("handlers", "scheduler", "bot.console")
DOMAIN = (
    "bot.quiz",
    "bot.pledge",
    "bot.checkin",
    "bot.hazard",
    "bot.warnings",
    "bot.suggestion",
    "bot.inspection",
    "bot.learning",
)
COMPOSITION_ROOTS = ("bot.app", "bot.wsgi", "bot.runtime", "bot.cli", "bot.demo")


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_no_import_cycle_even_inside_functions():
    assert cycles(graph(edges())) == []


def test_domain_never_imports_entry_points_or_composition_roots():
    wrong = [
        f"{e.source} -> {e.target} (line {e.line})"
        for e in edges()
        if _within(e.source, DOMAIN) and _within(e.target, ENTRY_POINTS + COMPOSITION_ROOTS)
    ]
    assert wrong == []


def test_only_composition_roots_import_handlers_and_scheduler():
    wrong = [
        f"{e.source} -> {e.target} (line {e.line})"
        for e in edges()
        if _within(e.target, ("handlers", "scheduler"))
        and not _within(e.source, COMPOSITION_ROOTS + ("handlers", "scheduler"))
    ]
    assert wrong == []


def test_entry_points_do_not_import_each_other():
    wrong = []
    for e in edges():
        for a in ENTRY_POINTS:
            for b in ENTRY_POINTS:
                if a != b and _within(e.source, (a,)) and _within(e.target, (b,)):
                    wrong.append(f"{e.source} -> {e.target} (line {e.line})")
    assert wrong == []


def test_handlers_hold_no_sql():
    """handlers/ is chat only: queries live in bot/<feature>/."""
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in sorted((ROOT / "handlers").glob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*(from sqlalchemy|import sqlalchemy)", line)
    ]
    assert offenders == []


def test_no_module_over_500_lines():
    too_long = {
        name: n
        for name, path in project_modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_nothing_discovers_features():
    """Every command, job, figure and export is listed in one place, never found by hasattr
    or by importing modules by name."""
    found = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in project_modules().values()
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"importlib\.import_module|__import__\(|hasattr\(module", line)
    ]
    assert found == []


_KEY_CALL = re.compile(
    r"""(?:\bctx\.t|\btexts\.get|\btexts\.raw|\btexts_get|\bt)\(\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']"""
)


def test_every_text_key_used_in_code_exists_in_content():
    from bot.content import texts

    missing = []
    for path in project_modules().values():
        source = path.read_text(encoding="utf-8")
        for key in sorted(set(_KEY_CALL.findall(source))):
            try:
                texts.raw(key)
            except KeyError:
                missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert missing == []


def test_every_content_file_loads():
    import yaml

    for path in sorted((ROOT / "content").rglob("*.yaml")):
        assert yaml.safe_load(path.read_text(encoding="utf-8")) is not None, path


def test_import_contracts_hold():
    """The layer contracts in pyproject.toml, as `lint-imports` (CI runs it too)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]

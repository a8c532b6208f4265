"""Shared by the tests/test_inspections*.py files: the test checklist, starting a round."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.inspection.templates as templates_module

DATA = Path(__file__).parent / "data"
OFFICER = "wangfang"


@pytest.fixture(autouse=True)
def test_checklists(monkeypatch):
    """The test checklist (tests/data/checklists/office.yaml, 4 items) instead of content's."""
    monkeypatch.setattr(templates_module, "checklist_dir", lambda: DATA / "checklists")


def start(wecom, text="排查 发起 office 生产一车间 刘洋 2026-06-20"):
    return wecom.text(OFFICER, text).text

"""Shared by tests/test_drills*.py: the test scenarios (tests/data/drills) instead of content's."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.drills.scenarios as scenarios_module

DATA = Path(__file__).parent / "data" / "drills"
OFFICER = "wangfang"


@pytest.fixture(autouse=True)
def test_scenarios(monkeypatch):
    monkeypatch.setattr(scenarios_module, "scenario_dir", lambda: DATA)

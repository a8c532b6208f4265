"""bench/burst.py: its schedule is open-loop and per-member ordered, and a tiny run reports every
figure with no error and every answer scored. No timing assertions: bench/ measures, tests don't.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from bench.burst import STEPS, arrivals

ROOT = Path(__file__).resolve().parent.parent


def test_arrivals_are_evenly_spaced_and_each_member_sends_in_order():
    plan = arrivals(members=25, rate=10, think_s=1.0)

    assert len(plan) == 25 * STEPS
    offsets = [offset for offset, _m, _s in plan]
    # One arrival every 1/rate seconds, whatever the server does: the schedule is fixed.
    assert offsets == [i / 10 for i in range(len(plan))]
    steps = defaultdict(list)
    for offset, member, step in plan:
        steps[member].append((step, offset))
    assert sorted(steps) == list(range(25))
    for member, sent in steps.items():
        assert [s for s, _ in sent] == list(range(STEPS)), member  # 答题 first, 积分 last
        # Members of a full block (10 per second × 1 s) leave a think time between messages.
        if member < 20:
            gaps = [b - a for (_, a), (_, b) in zip(sent, sent[1:], strict=False)]
            assert all(abs(g - 1.0) < 1e-9 for g in gaps), (member, gaps)


@pytest.mark.slow
def test_a_tiny_burst_reports_every_figure_without_errors(tmp_path):
    report_file = tmp_path / "burst.json"
    run = subprocess.run(
        [
            sys.executable,
            "bench/burst.py",
            "--members", "60",
            "--rates", "10",
            "--seconds", "2",
            "--warmup", "1",
            "--database", "sqlite",
            "--json", str(report_file),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "highest rate sustained by safetybot" in run.stdout

    report = json.loads(report_file.read_text())
    rates = report["databases"]["sqlite"]["rates"]
    assert list(rates) == ["10"]
    for server in ("echo", "safetybot"):
        figures = rates["10"][server]
        for field in ("p50_ms", "p99_ms", "max_ms", "over_5s", "generator_cores", "load_average"):
            assert field in figures, (server, field)
        assert figures["requests"] == 20  # 10/s × 2 s: 4 members × 5 messages
        assert figures["errors"] == 0, figures
    # The load did what it says: each member's three answers were scored by the bot.
    bot = rates["10"]["safetybot"]
    assert bot["answers_recorded"] == bot["answers_expected"] == 12

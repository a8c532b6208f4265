"""What the machine did during a benchmark's phase, besides running it.

- Steal: on a virtual machine the hypervisor may take CPU time away from the guest (the 8th
  figure of /proc/stat's cpu line). Benchmarks print the share stolen during each measured
  phase, so a run can be told from its neighbours.
- Idle: the share of both cores nobody used. A server that is CPU-bound leaves none; sync
  workers waiting for each other's SQLite write lock leave their cores idle."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NamedTuple


class Mark(NamedTuple):
    at: float
    idle: int | None  # clock ticks of all CPUs so far
    stolen: int | None


class Shares(NamedTuple):
    idle: float | None  # of all CPUs' time since the mark, 0.0 .. 1.0
    stolen: float | None


def mark() -> Mark:
    """Now, and the machine's idle and stolen CPU time so far (None where unknown)."""
    try:
        # cpu  user nice system idle iowait irq softirq steal …
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return Mark(time.perf_counter(), int(fields[4]) + int(fields[5]), int(fields[8]))
    except (OSError, IndexError, ValueError):
        return Mark(time.perf_counter(), None, None)


def shares_since(start: Mark) -> Shares:
    now = mark()
    ticks = os.sysconf("SC_CLK_TCK") * (now.at - start.at) * (os.cpu_count() or 1)

    def share(a: int | None, b: int | None) -> float | None:
        return None if a is None or b is None or ticks <= 0 else (b - a) / ticks

    return Shares(share(start.idle, now.idle), share(start.stolen, now.stolen))


def percent(share: float | None) -> str:
    return "?" if share is None else f"{share:.0%}"

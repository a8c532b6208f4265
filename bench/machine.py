"""What the machine itself did to a benchmark's timings.

On a virtual machine the hypervisor may take CPU time away from the guest ("steal", the 8th
figure of /proc/stat's cpu line): on this 2-core machine it has been seen at 0% one minute and
50% the next, moving wall-clock figures by 2x. Benchmarks print the share stolen during each
measured phase, so a run can be told from its neighbours."""

from __future__ import annotations

import os
import time
from pathlib import Path


def steal_mark() -> tuple[float, int | None]:
    """Now, and the machine's stolen CPU time so far (clock ticks; None where unknown)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        stolen: int | None = int(fields[8])  # cpu user nice system idle iowait irq softirq steal
    except (OSError, IndexError, ValueError):
        stolen = None
    return time.perf_counter(), stolen


def stolen_since(mark: tuple[float, int | None]) -> float | None:
    """The share of all CPUs' time the hypervisor took since `mark` (0.0 .. 1.0)."""
    started, before = mark
    now, after = steal_mark()
    ticks = os.sysconf("SC_CLK_TCK") * (now - started) * (os.cpu_count() or 1)
    if before is None or after is None or ticks <= 0:
        return None
    return (after - before) / ticks


def stolen_text(share: float | None) -> str:
    return "unknown" if share is None else f"{share:.0%}"

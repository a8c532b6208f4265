"""A clock read from a file: lets a test drive simulated time in real processes. Test-only.

`SAFETYBOT_CLOCK_FILE` (off by default) names a file holding one ISO-8601 timestamp with a UTC
offset. The file is read on every call, so a test moves time for every process at once by
replacing it atomically (write a temporary file, then os.replace). All processes must share
one file: the outbox sender's lease assumes their clocks agree.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path


class FileClock:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __call__(self) -> datetime:
        value = datetime.fromisoformat(self.path.read_text().strip())
        if value.tzinfo is None:
            raise ValueError(f"{self.path}: timestamp without a UTC offset: {value}")
        return value.astimezone(timezone.utc)

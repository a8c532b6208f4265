"""What the operations tests share: the environment a command runs in as an operator's
would (no settings leaking in from the test run), the log-line shape, a free port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) \S+: ")
WECOM = {
    "WECOM_CORP_ID": "wwops0000000001",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": "ops-secret-value",
    "WECOM_TOKEN": "opstoken",
    "WECOM_ENCODING_AES_KEY": "a" * 43,
}


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WECOM_", "SAFETYBOT_", "DATABASE_URL", "GUNICORN_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_cli(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *argv],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

"""Operations (issue 19): pinned installs, and the container set-up run the way the containers
run it (there is no Docker daemon where the tests run: the image's and compose.yaml's commands
and health checks are run here as processes, with the image's environment)."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from ops_helpers import LOG_LINE, ROOT, WECOM, clean_env, free_port

# -- 2. pinned installs -------------------------------------------------------------------------


def test_constraints_pin_every_dependency_and_ci_installs_from_them():
    import tomllib
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        wanted += extra
    names = {canonicalize_name(Requirement(r).name) for r in wanted} - {"safetybot"}
    pinned = {
        canonicalize_name(line.split("==")[0])
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert names - pinned == set(), "run the README's `uv pip compile` command"
    assert {"postgres", "gunicorn", "test", "browser"} <= set(project["optional-dependencies"])
    base = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    assert not base & {"psycopg", "gunicorn", "pytest", "playwright"}  # the demo needs none
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -q -c constraints.txt -e '.[test,browser]'" in ci
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install -c constraints.txt -e '.[test]' && .venv/bin/pytest -n 2" in readme


# -- 1. the container set-up --------------------------------------------------------------------


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text().replace("\\\n", " ")


def test_the_image_installs_pinned_dependencies_before_the_code(tmp_path):
    text = dockerfile()
    steps = [line.split(None, 1) for line in text.splitlines() if line and line[0].isupper()]
    copies = [rest for op, rest in steps if op == "COPY"]
    assert copies[0] == "pyproject.toml constraints.txt ./" and "bot ./bot" in copies
    assert "ARG PIP_INDEX_URL=" in text
    # The dependency list the first RUN installs: runtime, PostgreSQL and gunicorn; no tests.
    first_run = next(rest for op, rest in steps if op == "RUN")
    snippet = shlex.split(first_run.split(">")[0])
    assert snippet[:2] == ["python", "-c"]
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    listed = subprocess.run(
        [sys.executable, "-c", snippet[2]], cwd=tmp_path, capture_output=True, text=True
    ).stdout
    assert "psycopg[binary]" in listed and "gunicorn" in listed and "flask" in listed
    assert "pytest" not in listed and "playwright" not in listed
    assert "pip install -c constraints.txt -r /tmp/requirements.txt" in first_run
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".env", ".git", ".venv", "tests", "instance"} <= set(ignored)
    assert not {"README.md", "constraints.txt", "bot", "content"} & set(ignored)


def test_compose_file_has_the_shape_compose_requires():
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text())
    allowed_top = {"name", "services", "volumes", "networks", "secrets", "configs", "include"}
    assert {k for k in doc if not k.startswith("x-")} <= allowed_top
    services = doc["services"]
    assert set(services) == {"db", "web", "scheduler"}
    for name, service in services.items():
        assert re.fullmatch(r"[a-zA-Z0-9._-]+", name)
        assert "image" in service or "build" in service
        check = service["healthcheck"]["test"]
        assert isinstance(check, list) and check[0] in ("CMD", "CMD-SHELL"), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in doc["volumes"], (name, source)
        for other, when in (service.get("depends_on") or {}).items():
            assert other in services and when["condition"] == "service_healthy"
            assert "healthcheck" in services[other]
    for name in ("web", "scheduler"):
        service = services[name]
        assert service["env_file"] == ".env" and isinstance(service["command"], list)
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["volumes"] == ["files:/data/files"]
        assert service["build"]["args"]["PIP_INDEX_URL"].startswith("${PIP_INDEX_URL")
    assert services["scheduler"]["command"][:2] == ["safetybot", "scheduler"]
    assert services["web"]["environment"]["SAFETYBOT_SCHEDULER_ELSEWHERE"] == "1"


def as_here(argv: list[str], port: int, tmp_path: Path) -> list[str]:
    """A container's command as this machine runs it: the same program and arguments, the
    port and /tmp moved out of the way of other processes."""
    programs = {
        "safetybot": [sys.executable, "-m", "bot.cli"],
        "gunicorn": [sys.executable, "-m", "gunicorn"],
        "python": [sys.executable],
    }
    moved = [a.replace("8000", str(port)).replace("/tmp/", f"{tmp_path}/") for a in argv]
    return programs.get(moved[0], [moved[0]]) + moved[1:]


class Container:
    def __init__(self, argv, env, tmp_path: Path, name: str) -> None:
        self.log = tmp_path / f"{name}.log"
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(
                argv, cwd=tmp_path, env=env, stdout=fh, stderr=subprocess.STDOUT
            )

    def healthy(self, check: list[str], env, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            if subprocess.run(check, env=env, capture_output=True, timeout=10).returncode == 0:
                return
            time.sleep(0.5)
        pytest.fail(f"never healthy:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> list[str]:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=30) == 0, self.log.read_text()[-3000:]
        return [line for line in self.log.read_text().splitlines() if line.strip()]


def healthcheck_argv(test: list[str]) -> list[str]:
    assert test[0] == "CMD"
    return test[1:]


@pytest.mark.slow
def test_the_image_default_serves_and_runs_the_scheduler(tmp_path, fake):
    text = dockerfile()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1))
    check = shlex.split(re.search(r"^HEALTHCHECK .*? CMD (.*)$", text, re.MULTILINE).group(1))
    port = free_port()
    data = tmp_path / "data"
    env = clean_env(
        **WECOM,
        WECOM_API_BASE=fake.url,
        # The image's ENV, with /data here.
        DATABASE_URL=f"sqlite:///{data}/safetybot.db",
        SAFETYBOT_FILES_DIR=f"{data}/files",
    )
    data.mkdir()
    box = Container(as_here(cmd, port, tmp_path), env, tmp_path, "image")
    try:
        box.healthy(as_here(check, port, tmp_path), env)
    finally:
        lines = box.stop()
    assert all(LOG_LINE.match(line) for line in lines), lines
    assert any(f"safetybot serving on http://0.0.0.0:{port} (scheduler on)" in x for x in lines)
    assert (data / "safetybot.db").exists()


@pytest.mark.slow
def test_compose_web_and_scheduler_run_as_their_containers_would(tmp_path, pg_url, fake):
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    port = free_port()
    env = clean_env(
        **WECOM,
        **{
            **services["web"]["environment"],
            # compose's database and volume, here
            "DATABASE_URL": pg_url,
            "SAFETYBOT_FILES_DIR": str(tmp_path / "files"),
        },
        WECOM_API_BASE=fake.url,
        SAFETYBOT_LOG_FORMAT="json",
        GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{port} --workers 1",
    )
    # The scheduler in text, and quiet: its start-up line shows at any level.
    sched_env = {**env, "SAFETYBOT_LOG_FORMAT": "text", "SAFETYBOT_LOG_LEVEL": "WARNING"}
    sched_env.pop("SAFETYBOT_SCHEDULER_ELSEWHERE")
    web = Container(as_here(services["web"]["command"], port, tmp_path), env, tmp_path, "web")
    sched = Container(
        as_here(services["scheduler"]["command"], port, tmp_path), sched_env, tmp_path, "sched"
    )
    try:
        web.healthy(
            as_here(healthcheck_argv(services["web"]["healthcheck"]["test"]), port, tmp_path), env
        )
        sched.healthy(
            as_here(healthcheck_argv(services["scheduler"]["healthcheck"]["test"]), port, tmp_path),
            env,
        )
        res = requests.get(
            f"http://127.0.0.1:{port}/wecom/callback?timestamp=x",
            headers={"X-Request-Id": "ops-req-1"},
            timeout=10,
        )
        assert res.status_code in (400, 403) and res.headers["X-Request-Id"] == "ops-req-1"
    finally:
        web_lines, sched_lines = web.stop(), sched.stop()
    entries = [json.loads(line) for line in web_lines]  # every line is one JSON object
    loggers = {e["logger"] for e in entries}
    assert {"gunicorn.error", "gunicorn.access", "bot.callback"} <= loggers
    assert "bot.wsgi" not in loggers  # no "nothing will be pushed" warning: a scheduler runs
    refused = [e for e in entries if e["logger"] == "bot.callback"]
    assert refused and all(e["request_id"] == "ops-req-1" for e in refused)
    assert any("req=ops-req-1" in e["message"] for e in entries if e["logger"] == "gunicorn.access")
    assert all(LOG_LINE.match(line) for line in sched_lines), sched_lines
    assert any("safetybot scheduler running" in line for line in sched_lines)


def test_bot_wsgi_alone_says_loudly_that_nothing_is_pushed(tmp_path):
    code = "import bot.wsgi"
    env = clean_env(**WECOM, DATABASE_URL=f"sqlite:///{tmp_path}/bot.db")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    assert LOG_LINE.match(line) and " WARNING bot.wsgi: " in line
    assert "NO daily tip, quiz, reminder or warning will be pushed" in line
    quiet = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "SAFETYBOT_SCHEDULER_ELSEWHERE": "1"},
        capture_output=True,
        text=True,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""

"""Operations (issue 19): a quiet CLI, logs an operator can use, the demo's reset and photo, a
complete .env.example, pinned installs, and the container set-up run the way the containers
run it (there is no Docker daemon where the tests run: the image's and compose.yaml's
commands and health checks are run here as processes, with the image's environment)."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import requests
import yaml
from alembic.script import ScriptDirectory

from bot.cli import build_parser, main
from bot.logging_setup import REQUEST_ID, install_redaction, make_formatter
from bot.migrate import alembic_config

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


# -- 3. a quiet CLI -----------------------------------------------------------------------------


def test_migrations_are_one_line_each_when_they_run_and_silent_otherwise(db_url, tmp_path):
    revisions = list(ScriptDirectory.from_config(alembic_config()).walk_revisions())
    first = run_cli(["init-db"], tmp_path, DATABASE_URL=db_url)
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert "alembic" not in first.stderr
    assert all(LOG_LINE.match(line) for line in lines), lines
    applied = [line for line in lines if "database migration applied: " in line]
    assert len(applied) == len(lines) == len(revisions)
    assert {line.split("applied: ")[1].split()[0] for line in applied} == {
        r.revision for r in revisions
    }
    assert first.stdout.startswith("database ready: ")

    again = run_cli(["stats"], tmp_path, DATABASE_URL=db_url)
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""  # nothing migrates: not one log line
    assert "users: 0" in again.stdout.splitlines()


@pytest.mark.parametrize(
    "argv",
    [["stats"], ["outbox", "--json"], ["campaign", "show"], ["export", "hazards", "h.xlsx"]],
    ids=lambda a: a[0],
)
def test_read_only_commands_on_a_missing_sqlite_file_say_so_and_create_nothing(argv, tmp_path):
    done = run_cli(argv, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/data/bot.db")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"safetybot {argv[0] if argv[0] != 'export' else 'export hazards'}: no database at {tmp_path}/data/bot.db: nothing to show "
        "(check DATABASE_URL, or create it with `safetybot init-db`)"
    ]
    assert list(tmp_path.iterdir()) == []  # no database, no instance/ folder, no export


def test_a_busy_port_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for key, value in {**WECOM, "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"}.items():
        monkeypatch.setenv(key, value)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for command in ("serve", "demo"):
            status = main([command, "--host", "127.0.0.1", "--port", str(port)])
            out, err = capsys.readouterr()
            assert status == 1 and out == ""
            assert err == f"safetybot {command}: 端口 {port} 已被占用，可用 --port 换一个\n"
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing migrated


def subparsers(parser: argparse.ArgumentParser, prefix=()):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from subparsers(child, (*prefix, name))


def test_every_option_has_help_and_shows_its_default():
    for path, parser in subparsers(build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            name = action.option_strings or [action.dest]
            assert action.help and action.help != argparse.SUPPRESS, (path, name)
            shown = action.default not in (None, False, "") and action.nargs != 0
            if shown and action.option_strings:
                assert f"(default: {action.default})" in text, (path, name)
    assert "(default: 8000)" in dict(subparsers(build_parser()))[("serve",)].format_help()


def test_the_readme_documents_every_subcommand():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path, parser in subparsers(build_parser()):
        leaf = not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        if path and leaf:
            assert f"safetybot {' '.join(path)}" in readme, path
    for words in ("safetybot admin create", "safetybot demo --port", "safetybot demo --reset"):
        assert words in readme, words


# -- 4. logs ------------------------------------------------------------------------------------


def test_json_log_lines_parse_with_request_id_and_traceback():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter("json"))
    log = logging.getLogger("tests.ops.json")
    log.addHandler(handler)
    log.propagate = False
    try:
        token = REQUEST_ID.set("req-42")
        log.warning("callback refused (%s): %s", 403, "bad signature\nsecond line")
        REQUEST_ID.reset(token)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("job failed")
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "tests.ops.json"
    assert first["message"] == "callback refused (403): bad signature\nsecond line"
    assert first["request_id"] == "req-42" and first["time"].endswith("+00:00")
    assert "request_id" not in second and "ValueError: boom" in second["exc"]


def test_text_lines_carry_the_request_id():
    record = logging.LogRecord("bot.callback", logging.INFO, __file__, 1, "refused", (), None)
    record.request_id = "abc123"
    line = make_formatter("text").format(record)
    assert LOG_LINE.match(line) and line.endswith("bot.callback: [req abc123] refused")


def test_each_request_has_an_id_in_its_log_lines_and_answer(app, caplog):
    install_redaction()  # every entry point's record factory (bot.logging_setup.configure)
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="bot.callback"):
        given = client.get("/wecom/callback?timestamp=x", headers={"X-Request-Id": "lb-7f3a"})
        made = client.get("/wecom/callback?timestamp=x", headers={"X-Request-Id": "forged id"})
    assert given.headers["X-Request-Id"] == "lb-7f3a"
    assert re.fullmatch(r"[0-9a-f]{12}", made.headers["X-Request-Id"])
    refused = [r for r in caplog.records if "callback refused" in r.getMessage()]
    assert [r.request_id for r in refused] == ["lb-7f3a", made.headers["X-Request-Id"]]
    assert REQUEST_ID.get() == ""  # nothing left behind for the next request


# -- 5. the demo --------------------------------------------------------------------------------


def png_size_and_colours(data: bytes) -> tuple[int, int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    assert (depth, colour_type) == (8, 2)
    idat = b"".join(
        data[i + 8 : i + 8 + struct.unpack(">I", data[i : i + 4])[0]]
        for i in (m.start() - 4 for m in re.finditer(b"IDAT", data))
    )
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    pixels = {
        raw[y * stride + 1 + x * 3 : y * stride + 4 + x * 3]
        for y in range(0, height, 4)
        for x in range(0, width, 4)
    }
    return width, height, len(pixels)


def test_demo_reset_starts_fresh_and_photos_look_like_photos(tmp_path, monkeypatch, capsys):
    from sqlalchemy import func, select

    from bot.demo import run as demo_run
    from bot.demo.photo import sample_photo
    from bot.models import InboundMessage

    monkeypatch.chdir(tmp_path)  # the demo keeps its data under ./instance
    demo = demo_run.start_demo(port=0)
    try:
        chat = demo.server.application  # noqa: F841 - the app is up
        from bot.demo.web import DemoChat

        talk = DemoChat(demo.fake, demo.runtime, demo.base_url)
        import threading

        threading.Thread(target=demo.server.run, daemon=True).start()
        assert talk.send_text("liuyang", "帮助") == {"status": 200}
        assert talk.send_image("liuyang") == {"status": 200}
        with demo.runtime.factory() as s:
            assert s.scalar(select(func.count()).select_from(InboundMessage)) == 2
    finally:
        demo.stop()
    stored = [p for p in (tmp_path / "instance" / "demo-files").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in stored] == [sample_photo()]
    width, height, colours = png_size_and_colours(sample_photo())
    assert (width, height) == (320, 240) and colours > 1000  # a picture, not a 1x1 dot

    seen: dict[str, int] = {}
    started = demo_run.start_demo

    def start_and_look(*args, **kwargs):
        fresh = started(*args, **kwargs)
        with fresh.runtime.factory() as s:
            seen["inbound"] = s.scalar(select(func.count()).select_from(InboundMessage))
        seen["files"] = len(list((tmp_path / "instance" / "demo-files").rglob("*.png")))
        return fresh

    monkeypatch.setattr(demo_run, "start_demo", start_and_look)
    monkeypatch.setattr(demo_run, "serve_until_signal", lambda server: None)  # "Ctrl+C" at once
    assert main(["demo", "--reset", "--port", "0"]) == 0
    assert seen == {"inbound": 0, "files": 0}
    out = capsys.readouterr().out
    assert "safetybot demo: starting fresh (removed " in out and "demo.db" in out
    assert "`safetybot demo --reset` starts fresh" in out


# -- 6. .env.example ----------------------------------------------------------------------------

# Variables only compose.yaml reads (interpolation), not the code.
COMPOSE_ONLY = {"POSTGRES_PASSWORD", "PIP_INDEX_URL", "SAFETYBOT_HTTP_PORT", "GUNICORN_CMD_ARGS"}


def variables_the_code_reads() -> set[str]:
    found = set()
    for folder in ("bot", "handlers", "scheduler"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            found.update(re.findall(r'\bput\(\s*"([A-Z][A-Z0-9_]+)"', text))
            found.update(re.findall(r'environ(?:\.get\(|\[)\s*"([A-Z][A-Z0-9_]+)"', text))
    return found


def test_env_example_lists_every_setting_the_code_reads_and_nothing_else():
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    read = variables_the_code_reads()
    assert {"DATABASE_URL", "SAFETYBOT_CONTENT_DIR", "SAFETYBOT_LOG_FORMAT"} <= read
    assert read - listed == set(), "add these to .env.example"
    assert listed - read - COMPOSE_ONLY == set(), "nothing reads these"
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{([A-Z_]+)", compose)) <= listed
    # The example as it stands is a valid configuration.
    from dotenv import dotenv_values

    from bot.settings import Settings

    values = {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v is not None}
    assert Settings.from_env(values).log_format == "text"


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

"""Operations (issue 19): a quiet CLI, logs an operator can use, the demo's reset and photo, and
a complete .env.example. The container set-up and pinned installs: tests/test_container.py."""

from __future__ import annotations

import argparse
import io
import json
import logging
import re
import socket
import struct
import zlib

import pytest
from alembic.script import ScriptDirectory
from ops_helpers import LOG_LINE, ROOT, WECOM, run_cli

from bot.cli import build_parser, main
from bot.logging_setup import REQUEST_ID, install_redaction, make_formatter
from bot.migrate import alembic_config

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

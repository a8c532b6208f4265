"""Every `safetybot` sub-command answers a user's mistake (unknown ids, missing files, bad
dates, wrong choices, a database out of reach) with one line and a non-zero exit status, never
a traceback. The sub-commands come from the parser: a new one fails
`test_every_subcommand_has_mistakes_to_answer` until it is listed below."""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import build_parser, main
from bot.models import PledgeRound, RoleAssignment

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING) ")
HUGE = "99999999999999999999"
ROOT = Path(__file__).resolve().parent.parent


def leaf_commands(parser: argparse.ArgumentParser, prefix=()) -> list[tuple[str, ...]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [prefix]
    return [
        leaf
        for name, child in subs[0].choices.items()
        for leaf in leaf_commands(child, (*prefix, name))
    ]


# Per sub-command: argument lists that are mistakes (`{tmp}` is a fresh directory, `{nodir}` a
# directory that does not exist). Run on a migrated database with the seeded directory.
MISTAKES: dict[tuple[str, ...], list[list[str]]] = {
    ("serve",): [["--port", HUGE], ["--threads", "many"], []],  # [] : no WeCom settings
    ("scheduler",): [["extra"]],
    ("init-db",): [["extra"]],
    ("sync-directory",): [[]],  # the WeCom API is out of reach
    ("stats",): [["--jsn"]],
    ("push",): [["video"], []],
    ("outbox",): [["--json", "extra"]],
    ("campaign",): [["extend"], ["extend", "2026-02-30"], ["extend", "2020-01-01"], ["stop"]],
    ("roles",): [
        ["grant", "nobody", "admin"],
        ["grant", "liuyang", "wizard"],
        ["grant", "liuyang", "department_head", "--department", "999"],
        ["grant", "liuyang", "department_head", "--department", HUGE],
        ["grant", "liuyang", "department_head"],
        ["revoke", "liuyang", "admin"],
    ],
    ("demo",): [["--port", "http"], ["--database-url", "sqlite:///{tmp}/afile/x.db"]],
    ("questions",): [
        ["import", "{tmp}/missing.csv"],
        ["import"],
        ["export", "{nodir}/q.xlsx"],
        ["bogus"],
    ],
    ("contest",): [
        ["results", "--id", "999"],
        ["results", "--id", HUGE],
        ["results"],
        ["create", "--name", "x", "--opens", "2026-13-45 09:00"],
        ["create", "--name", "x", "--count", "lots"],
    ],
    ("pledge",): [
        ["sign", "nobody"],
        ["sign"],
        ["launch", "--departments", "a,b"],
        ["launch", "--departments", "999"],
        ["launch", "--departments", HUGE],
    ],
    ("learning", "assign"): [
        ["t", "--url", "ftp://pan.example.cn/x", "--due", "2099-06-12"],
        ["t", "--url", "https://pan.example.cn/x", "--due", "2026-02-30"],
        ["t", "--url", "https://pan.example.cn/x", "--due", "2099-06-12", "--department", "999"],
        ["t", "--url", "https://x.cn", "--due", "2099-06-12", "--department", HUGE],
        ["t", "--due", "2099-06-12"],
    ],
    ("learning", "list"): [["extra"]],
    ("submissions", "open"): [
        ["t", "--kind", "video", "--until", "2099-06-12"],
        ["t", "--kind", "essay", "--until", "2026-02-30"],
        ["t", "--kind", "essay", "--until", "2020-06-12"],
        ["t", "--kind", "photo", "--until", "2099-06-12", "--vote-until", "2099-06-01"],
        ["t", "--kind", "both", "--until", "2099-06-12", "--vote-until", "soon"],
        ["", "--kind", "essay", "--until", "2099-06-12"],
        ["t", "--until", "2099-06-12"],
    ],
    ("submissions", "list"): [["extra"]],
    ("event",): [
        ["create", "--title", "t", "--starts", "2026-13-40 25:00", "--ends", "2026-06-10 16:00"],
        ["create", "--title", "t", "--starts", "2026-06-10 14:00", "--ends", "2026-06-10 13:00"],
        ["create", "--title", "t"],
        ["create", "--kind", "bogus"],
        ["create", "--title", "t", "--starts", "x", "--ends", "y", "--radius", HUGE],
        ["create", "--title", "t", "--starts", "2020-06-01 09:00", "--ends", "2020-06-01 10:00"],
        [
            "create",
            "--title",
            "t",
            "--starts",
            "2026-06-10 14:00",
            "--ends",
            "2026-06-10 16:00",
            "--departments",
            "a,b",
        ],
        [
            "create",
            "--title",
            "t",
            "--starts",
            "2026-06-10 14:00",
            "--ends",
            "2026-06-10 16:00",
            "--departments",
            "999",
        ],
        ["survey", "999999"],
        ["survey", HUGE],
        ["survey"],
    ],
    ("inspection", "templates"): [["extra"]],
    ("inspection", "start"): [
        ["nope", "--department", "3", "--inspector", "liuyang", "--due", "2026-06-20"],
        ["x", "--department", "3", "--due", "2026-06-20", "--inspector", "a", "--inspector", "b"],
        ["x", "--department", "3", "--inspector", "liuyang", "--due", "2026-02-30"],
        ["x", "--department", HUGE, "--inspector", "liuyang", "--due", "2026-06-20"],
        ["x", "--department", "3", "--inspector", "liuyang"],
        [
            "x",
            "--department",
            "3",
            "--inspector",
            "liuyang",
            "--due",
            "2026-06-20",
            "--repeat",
            "daily",
        ],
    ],
    ("inspection", "export"): [["999", "{tmp}/r.xlsx"], [HUGE, "{tmp}/r.xlsx"], ["1"]],
    ("drill", "scenarios"): [["extra"]],
    ("drill", "desk"): [
        ["nope", "--department", "3"],
        ["office-fire", "--department", "999"],
        ["office-fire", "--department", HUGE],
        ["office-fire", "--user", "nobody"],
        [],
    ],
    ("drill", "live"): [
        ["nope", "--at", "2026-06-10 15:00", "--place", "x", "--department", "3"],
        ["x", "--at", "2026-13-40 25:00", "--place", "x"],
        ["x", "--at", "2026-06-10 15:00"],
        ["x", "--at", "2026-06-10 15:00", "--place", "x", "--role", "command"],
        ["x", "--at", "2026-06-10 15:00", "--place", "x", "--plan", "999"],
    ],
    ("plan", "add"): [
        ["t", "--kind", "bogus"],
        ["t", "--kind", "special", "--url", "ftp://x"],
        ["t", "--kind", "special", "--last-review", "2026-02-30"],
        ["t", "--kind", "special", "--owner", "nobody"],
        ["t"],
    ],
    ("plan", "list"): [["extra"]],
    ("supply", "add"): [
        ["t", "--quantity", "-1"],
        ["t", "--quantity", "2.5"],
        ["t", "--quantity", "1", "--expires", "soon"],
        ["t", "--quantity", "1", "--keeper", "nobody"],
        ["t"],
    ],
    ("supply", "list"): [["extra"]],
    ("export", "supplies"): [["{nodir}/s.xlsx"], []],
    ("cap-poll",): [[]],  # SAFETYBOT_CAP_URL not set
    ("admin",): [
        ["create", "x", "--departments", "a", "--password-stdin"],
        ["create", "x", "--password-stdin"],  # stdin: too short
        ["create", "x", "--role", "king", "--password-stdin"],
    ],
    ("report",): [["{nodir}/r.xlsx"], ["{tmp}/r.pdf"]],
    ("menu",): [
        ["--file", "{tmp}/missing.yaml"],
        ["--file", "{tmp}/afile"],  # not a menu
        [],  # SAFETYBOT_PUBLIC_URL not set: the 管理后台 button has nowhere to go
    ],
    ("export", "attendance"): [
        [HUGE, "{tmp}/a.xlsx"],
        ["42", "{tmp}/a.xlsx"],
        ["bogus", "{tmp}/a.xlsx"],
        ["42"],
    ],
    ("export", "absentees"): [
        [HUGE, "{tmp}/a.xlsx"],
        ["42", "{tmp}/a.xlsx"],
        ["42"],
    ],
    ("export", "hazards"): [
        ["{nodir}/h.xlsx"],
        ["{tmp}/h.xlsx", "--since", "june"],
        ["{tmp}/h.xlsx", "--until", "2026-13-01"],
        ["{tmp}/h.xlsx", "--status", "bogus"],
        ["{tmp}/h.xlsx", "--department", "x"],
    ],
    ("export", "suggestions"): [["{nodir}/s.xlsx"]],
    ("export", "inspections"): [["{nodir}/i.xlsx"]],
    ("export", "audit"): [["{nodir}/a.xlsx"]],
    ("export", "points"): [["{nodir}/p.xlsx"]],
    ("export", "asked"): [["{nodir}/q.xlsx"]],
    ("knowledge", "check"): [["--dir", "{nodir}"], ["--dir", "{tmp}/afile"]],
    ("counters", "check"): [["extra"], ["--repair", "now"]],
    ("export", "learning"): [
        ["{nodir}/l.xlsx"],
        ["{tmp}/l.xlsx", "--task", HUGE],
        ["{tmp}/l.xlsx", "--task", "999"],
    ],
    ("export", "submissions"): [
        ["{nodir}/s.xlsx"],
        ["{tmp}/s.xlsx", "--contest", HUGE],
        ["{tmp}/s.xlsx", "--contest", "999"],
        ["{tmp}/s.xlsx", "--contest", "x"],
    ],
    ("export", "pledges"): [
        ["{nodir}/p.xlsx"],
        ["{tmp}/p.xlsx", "--round", HUGE],
        ["{tmp}/p.xlsx", "--round", "999"],
    ],
}

# Per sub-command: arguments that would work, to run against a database out of reach (None:
# the command does not use the database, or is `demo`, which brings its own).
WORKING: dict[tuple[str, ...], list[str] | None] = {
    ("serve",): ["--port", "0"],
    ("scheduler",): [],
    ("init-db",): [],
    ("sync-directory",): [],
    ("stats",): [],
    ("push",): ["tip", "--no-send"],
    ("outbox",): [],
    ("campaign",): ["show"],
    ("roles",): ["grant", "liuyang", "admin"],
    ("demo",): None,
    ("questions",): ["sync"],
    ("contest",): ["close"],
    ("pledge",): ["launch", "--no-send"],
    ("learning", "assign"): ["t", "--url", "https://pan.example.cn/v", "--due", "2099-01-01"],
    ("learning", "list"): [],
    ("submissions", "open"): ["t", "--kind", "essay", "--until", "2099-01-01", "--no-send"],
    ("submissions", "list"): [],
    ("event",): ["list"],
    ("inspection", "templates"): None,
    ("inspection", "start"): [
        *("fire", "--department", "3", "--inspector", "liuyang", "--due", "2026-06-20"),
        "--no-send",
    ],
    ("inspection", "export"): ["1", "{tmp}/r.xlsx"],
    ("drill", "scenarios"): None,
    ("drill", "desk"): ["fire-evacuation", "--department", "3", "--no-send"],
    ("drill", "live"): [
        *("fire-evacuation", "--at", "2026-06-10 15:00", "--place", "x"),
        *("--department", "3", "--no-send"),
    ],
    ("plan", "add"): ["t", "--kind", "special"],
    ("plan", "list"): [],
    ("supply", "add"): ["t", "--quantity", "1"],
    ("supply", "list"): [],
    ("export", "supplies"): ["{tmp}/s.xlsx"],
    ("cap-poll",): ["--no-send"],
    ("admin",): ["create", "someone", "--password-stdin"],
    ("report",): ["{tmp}/r.xlsx"],
    ("menu",): None,  # checks the file first; the database only holds the WeCom token
    ("export", "attendance"): ["1", "{tmp}/a.xlsx"],
    ("export", "absentees"): ["1", "{tmp}/a.xlsx"],
    ("export", "hazards"): ["{tmp}/h.xlsx"],
    ("export", "learning"): ["{tmp}/l.xlsx"],
    ("export", "submissions"): ["{tmp}/s.xlsx"],
    ("export", "pledges"): ["{tmp}/p.xlsx"],
    ("export", "suggestions"): ["{tmp}/s.xlsx"],
    ("export", "inspections"): ["{tmp}/i.xlsx"],
    ("export", "audit"): ["{tmp}/a.xlsx"],
    ("export", "points"): ["{tmp}/p.xlsx"],
    ("export", "asked"): ["{tmp}/q.xlsx"],
    ("knowledge", "check"): None,
    ("counters", "check"): ["--repair"],
}


def run_cli(argv: list[str], capsys, monkeypatch, stdin: str = "short\n") -> str:
    """Run `safetybot argv`; assert one line, a non-zero status and no traceback."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    text = out + err
    lines = [line for line in text.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert "Traceback" not in text, (argv, text)
    assert status in (1, 2), (argv, status, text)
    assert len(lines) == 1, (argv, text)
    assert len(lines[0]) < 400, (argv, lines[0])
    return lines[0]


def fill(argv: list[str], tmp_path: Path) -> list[str]:
    return [a.format(tmp=tmp_path, nodir=tmp_path / "no-such-dir") for a in argv]


@pytest.fixture
def cli_env(monkeypatch, tmp_path, fake):
    monkeypatch.chdir(tmp_path)  # no .env
    (tmp_path / "afile").write_text("a file, not a directory")
    for key in ("SAFETYBOT_CAP_URL", "WECOM_CORP_ID", "WECOM_SECRET", "WECOM_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WECOM_API_BASE", "http://127.0.0.1:1")  # nothing listens there
    return monkeypatch


def test_every_subcommand_has_mistakes_to_answer():
    commands = set(leaf_commands(build_parser()))
    assert commands == set(MISTAKES), "list the new sub-command's mistakes in MISTAKES"
    assert commands == set(WORKING), "list the new sub-command's arguments in WORKING"


def test_mistakes_are_one_line_without_traceback(
    runtime, settings, cli_env, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    for command, mistakes in MISTAKES.items():
        for tail in mistakes:
            run_cli(fill([*command, *tail], tmp_path), capsys, monkeypatch)
    with runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(RoleAssignment)) == 0
        assert s.scalar(select(func.count()).select_from(PledgeRound)) == 0


def test_unknown_option_is_one_line_for_every_subcommand(cli_env, capsys, monkeypatch):
    for command in leaf_commands(build_parser()):
        line = run_cli([*command, "--no-such-option"], capsys, monkeypatch)
        assert line.startswith("safetybot") and "error" in line, line


@pytest.mark.parametrize(
    "url",
    ["sqlite:///{tmp}/afile/bot.db", "postgresql+psycopg://nobody@127.0.0.1:1/nothing"],
    ids=["sqlite-under-a-file", "postgres-refused"],
)
def test_database_out_of_reach_is_one_line(url, cli_env, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", fill([url], tmp_path)[0])
    for key, value in {
        "WECOM_CORP_ID": "ww1",
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": "s",
        "WECOM_TOKEN": "t",
        "WECOM_ENCODING_AES_KEY": "a" * 43,
        "SAFETYBOT_CAP_URL": "http://127.0.0.1:1/cap.xml",
    }.items():
        monkeypatch.setenv(key, value)
    for command, tail in WORKING.items():
        if tail is None:
            continue
        line = run_cli(fill([*command, *tail], tmp_path), capsys, monkeypatch, "a-long-pass\n")
        assert "database" in line, (command, line)


def test_roles_grant_refuses_unknown_people_departments_and_roles(
    runtime, settings, cli_env, capsys, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    line = run_cli(["roles", "grant", "nobody", "admin"], capsys, monkeypatch)
    assert "unknown member 'nobody'" in line and "nothing granted" in line
    line = run_cli(["roles", "grant", "liuyang", "wizard"], capsys, monkeypatch)
    assert "invalid choice: 'wizard'" in line
    line = run_cli(
        ["roles", "grant", "liuyang", "department_head", "--department", "999"],
        capsys,
        monkeypatch,
    )
    assert "unknown department 999" in line
    with runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(RoleAssignment)) == 0
    assert main(["roles", "grant", "liuyang", "department_head", "--department", "3"]) == 0
    assert "granted department_head to liuyang" in capsys.readouterr().out
    with runtime.factory() as s:
        assert s.scalars(select(RoleAssignment.department_id)).all() == [3]


def test_a_real_process_answers_in_one_line(tmp_path):
    (tmp_path / "afile").write_text("")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/afile/bot.db", "PYTHONPATH": str(ROOT)}
    for argv in (["roles", "grant", "liuyang", "wizard"], ["stats"]):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode in (1, 2)
        assert "Traceback" not in done.stderr + done.stdout
        errors = [line for line in done.stderr.splitlines() if not LOG_LINE.match(line)]
        assert len(errors) == 1 and errors[0].startswith("safetybot"), done.stderr

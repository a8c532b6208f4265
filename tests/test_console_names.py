"""Issue 18, point 2: names, not ids. The audit log shows actions as Chinese labels, people as
姓名（部门） and a 责任书 text by its title and version, never a raw action key, a userid or a
64-character hash; every audit action the code writes has a label; console messages name
people."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

from ascii_words import english_words, visible_text
from console_pages import OFFICER, client_for, download, export_url, seed_console, sheet_rows
from sqlalchemy import select

from bot.audit import action_label
from bot.console.testing import csrf_from
from bot.content import texts
from bot.fake_wecom.seed import USERS
from bot.hazard import states
from bot.models import AuditLog

ROOT = Path(__file__).resolve().parent.parent
USERIDS = [userid for userid, *_ in USERS]
HASH = re.compile(r"[0-9a-f]{64}")

# Functions whose `action` argument is passed on (the writers themselves, not a use of one).
WRITERS = {"audit", "AuditLog", "xlsx_download", "sheets_download"}
ACTION_ARG = {"audit": 0, "xlsx_download": 2, "sheets_download": 2}


def _values(node, consts) -> set[tuple[str, str]]:
    """What an action expression may be: ("exact", key), ("prefix", start) for "x:" + rest
    or f"x:{rest}", ("dynamic", source) for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {("exact", node.value)}
    if isinstance(node, ast.JoinedStr):
        head = ""
        for part in node.values:
            if not isinstance(part, ast.Constant):
                return {("prefix", head)}
            head += part.value
        return {("exact", head)}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _values(node.left, consts)
        return {("prefix", v) for kind, v in left if kind == "exact"} or {
            ("dynamic", ast.unparse(node))
        }
    if isinstance(node, ast.IfExp):
        return _values(node.body, consts) | _values(node.orelse, consts)
    if isinstance(node, ast.Name) and node.id in consts:
        return {("exact", consts[node.id])}
    return {("dynamic", ast.unparse(node))}


def written_actions() -> dict[tuple[str, str], set[str]]:
    """Every audit action written in bot/, handlers/ and scheduler/: (kind, value) -> files."""
    found: dict[tuple[str, str], set[str]] = {}
    files = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/*.py"), *ROOT.glob("scheduler/*.py")]
    for path in files:
        tree = ast.parse(path.read_text("utf-8"))
        consts = {
            target.id: node.value.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
            if name not in WRITERS:
                continue
            if name == "AuditLog":
                arg = next((k.value for k in node.keywords if k.arg == "action"), None)
            else:
                index = ACTION_ARG[name]
                arg = node.args[index] if len(node.args) > index else None
            if arg is None:
                continue
            for value in _values(arg, consts):
                found.setdefault(value, set()).add(str(path.relative_to(ROOT)))
    return found


def _hazard_subcommands() -> set[str]:
    source = (ROOT / "handlers" / "hazard_officer.py").read_text("utf-8")
    block = source.split("ADMIN_SUBCOMMANDS = {", 1)[1].split("}", 1)[0]
    return set(re.findall(r':\s*"([a-z]+)"', block))


# What follows a dynamic prefix, from the code that builds it.
EXPANSIONS = {
    "console:hazard-": lambda: set(states.ACTIONS),
    "hazard:": lambda: set(states.ACTIONS) | _hazard_subcommands(),
    "console:cap-": lambda: {"approve", "ignore"},
    "console:submissions-": lambda: {"accept", "reject"},
    "refused:hazard:": _hazard_subcommands,
    "refused:hazard:card:": lambda: set(states.ACTIONS),
    # A chat command's own (Chinese) keyword: router.py and checkin_events.py.
    "refused:": lambda: {"统计", "活动 创建", "竞赛 创建", "排查 发起"},
}
# The writers pass their `action` argument on.
DYNAMIC_OK = {"action", "action[:64]"}


def test_every_audit_action_the_code_writes_has_a_chinese_label():
    found = written_actions()
    assert len([k for k in found if k[0] == "exact"]) > 40  # the scan found the writers
    keys, unknown = set(), []
    for (kind, value), where in sorted(found.items()):
        if kind == "exact":
            keys.add(value)
        elif kind == "prefix" and value in EXPANSIONS:
            keys |= {value + rest for rest in EXPANSIONS[value]()}
        elif not (kind == "dynamic" and value in DYNAMIC_OK):
            unknown.append(f"{kind} {value!r} in {sorted(where)}: add it to EXPANSIONS")
    assert unknown == []
    missing = {}
    for key in sorted(keys):
        label = action_label(key)
        if label == key or english_words(label) or ":" in label:
            missing[key] = label
    assert missing == {}, "add these to content/replies.d/console.yaml console.audit.actions"
    labels = texts.raw("console.audit.actions")
    assert labels["console:asked-export"] and labels["console:event-manual"]
    assert action_label("console:hazard-verify") == "隐患：验收"
    assert action_label("refused:hazard:card:close") == "被拒绝：隐患：关闭"


def test_audit_log_shows_names_labels_and_pledge_versions(app, runtime, wecom, clock):
    seeded = seed_console(runtime, clock)
    # A signature in chat (its audit row holds the text's full hash), a late sign-in and an
    # assignment in the console, a refused command.
    wecom.text("zhoujie", "责任书")
    assert "签署成功" in wecom.text("zhoujie", "确认签署").text
    wecom.text("liuyang", "统计")
    officer = client_for(app, OFFICER)
    token = csrf_from(officer.get("/admin/").get_data(as_text=True))
    officer.post(
        f"/admin/events/{seeded['event_id']}/manual",
        data={"csrf_token": token, "userid": "zhaolei"},
    )
    deadline = (seeded["today"] + timedelta(days=7)).isoformat()
    assigned = officer.post(
        f"/admin/hazards/{seeded['hazards'][0]}/assign",
        data={"csrf_token": token, "owner": "yangmin", "deadline": deadline},
        follow_redirects=True,
    ).get_data(as_text=True)
    # The console's message says the name, not the account.
    assert "已指派给 杨敏（生产二车间）" in assigned and "yangmin" not in visible_text(assigned)

    with runtime.factory() as s:
        rows = list(s.scalars(select(AuditLog)))
    recorded = " ".join(f"{r.actor} {r.action} {r.detail}" for r in rows)
    assert HASH.search(recorded) and "zhoujie" in recorded and "pledge:sign" in recorded

    page = visible_text(officer.get("/admin/audit").get_data(as_text=True))
    for userid in USERIDS:
        assert not re.search(rf"(?<![A-Za-z]){userid}(?![A-Za-z])", page), userid
    assert not HASH.search(page) and not re.search(r"[0-9a-f]{16}", page)
    assert "console:" not in page and "pledge:sign" not in page and "refused:" not in page
    assert "周杰（综合办公室）" in page and "签署责任书" in page
    assert "《安全生产责任书" in page or "责任书》" in page
    assert "版（编号 " in page
    assert "王芳（安全环保部，管理后台）" in page and "后台登记补签" in page
    assert "为 赵磊（生产二车间） 补签" in page
    assert "被拒绝：统计" in page and "刘洋（生产一车间）" in page
    assert "责任人 杨敏（生产二车间）" in page
    assert english_words(page) == []

    # The download says the same.
    wb = download(officer, export_url(officer.get("/admin/audit").get_data(as_text=True)))
    text = " ".join(str(v) for row in sheet_rows(wb, "操作日志") for v in row)
    for userid in USERIDS:
        assert not re.search(rf"(?<![A-Za-z]){userid}(?![A-Za-z])", text), userid
    assert not HASH.search(text) and "周杰（综合办公室）" in text and "签署责任书" in text


def test_console_pages_name_people_who_answered(app, runtime, clock):
    """A suggestion answered from the console shows who answered by name, not the account."""
    seed_console(runtime, clock)
    officer = client_for(app, OFFICER)
    token = csrf_from(officer.get("/admin/").get_data(as_text=True))
    page = officer.get("/admin/suggestions").get_data(as_text=True)
    suggestion_id = re.search(r'id="suggestion-(\d+)"', page).group(1)
    officer.post(
        f"/admin/suggestions/{suggestion_id}/reply",
        data={"csrf_token": token, "content": "已采纳，下周安装"},
    )
    page = visible_text(officer.get("/admin/suggestions").get_data(as_text=True))
    assert "答复（王芳（安全环保部，管理后台）" in page and "console:" not in page
    assert "wangfang" not in page

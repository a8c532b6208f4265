"""The 责任书 export: one row per member in scope and a summary per department."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.content import texts
from bot.pledge.members import (
    active_members,
    department_names,
    text_keys_for_members,
    users_by_id,
)
from bot.pledge.rounds import round_members
from bot.pledge.signing import all_signatures
from bot.pledge.texts import SHORT_HASH, current_texts

PLEDGE_SHEET_HEADER = [
    "部门",
    "姓名",
    "账号",
    "是否签署",
    "签署时间",
    "责任书类型",
    "版本",
    "文本编号",
    "签署方式",
]
SUMMARY_HEADER = ["部门", "应签署", "已签署", "未签署", "完成率(%)"]


def export_rows(
    session: Session,
    tz,
    round_id: int | None = None,
    allows: Callable[[int | None], bool] = lambda _dept: True,
) -> tuple[list[list], list[list]]:
    """(person rows, department summary rows) for the pledge export; `allows` keeps the
    members of some departments only (a department head's console)."""
    current = current_texts()
    by_hash = {t.hash: t for t in current.values()}
    names = department_names(session)
    if round_id is not None:
        members = round_members(session, round_id)
        users = users_by_id(session, [m.userid for m in members])
        scope = [
            (users.get(m.userid), m.userid, m.department_id, m.text_key, m.text_hash)
            for m in members
        ]
    else:
        people = active_members(session)
        keys = text_keys_for_members(session, people)
        scope = [
            (u, u.userid, u.department_id, keys[u.userid], current[keys[u.userid]].hash)
            for u in people
        ]
    signatures = all_signatures(session)
    roles, channels = texts.raw("pledge.roles"), texts.raw("pledge.sign_channels")
    rows, summary = [], {}
    for user, userid, dept_id, key, hash_ in scope:
        if not allows(dept_id):
            continue
        sig = signatures.get((userid, hash_))
        dept = names.get(dept_id or 0, str(dept_id or ""))
        version = sig.text_version if sig else (by_hash[hash_].version if hash_ in by_hash else "")
        rows.append(
            [
                dept,
                user.name if user else "",
                userid,
                "是" if sig else "否",
                sig.signed_at.astimezone(tz) if sig else None,
                roles.get(key, key),
                version,
                hash_[:SHORT_HASH],
                channels.get(sig.channel, sig.channel) if sig else "",
            ]
        )
        entry = summary.setdefault(dept, [0, 0])
        entry[0] += 1
        entry[1] += 1 if sig else 0
    rows.sort(key=lambda r: (r[0], r[2]))
    summary_rows = [
        [d, n, s, n - s, round(100 * s / n, 1) if n else 0.0]
        for d, (n, s) in sorted(summary.items())
    ]
    return rows, summary_rows

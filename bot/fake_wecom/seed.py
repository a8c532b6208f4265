"""The demo organisation: a few departments, a dozen people, one admin."""

from __future__ import annotations

from bot.fake_wecom.server import FakeWeCom

DEPARTMENTS = [
    (1, "示范集团", 0),
    (2, "安全环保部", 1),
    (3, "生产一车间", 1),
    (4, "生产二车间", 1),
    (5, "综合办公室", 1),
    (6, "仓储物流部", 1),
]

# userid, name, departments, leader of, position
USERS = [
    ("zhangwei", "张伟", [2], [2], "安全环保部部长"),
    ("wangfang", "王芳", [2], [], "安全管理员"),
    ("liqiang", "李强", [3], [3], "一车间主任"),
    ("liuyang", "刘洋", [3], [], "操作工"),
    ("chenjing", "陈静", [3], [], "质检员"),
    ("yangmin", "杨敏", [4], [4], "二车间主任"),
    ("zhaolei", "赵磊", [4], [], "电工"),
    ("huangli", "黄丽", [4], [], "操作工"),
    ("zhoujie", "周杰", [5], [5], "办公室主任"),
    ("wuxia", "吴霞", [5], [], "行政专员"),
    ("xuhao", "徐浩", [6], [6], "仓储主管"),
    ("sunyu", "孙宇", [6], [], "叉车司机"),
]

ADMINS = ["wangfang"]


def seed_directory(fake: FakeWeCom) -> None:
    for dept_id, name, parent in DEPARTMENTS:
        fake.add_department(dept_id, name, parent, order=dept_id)
    for userid, name, depts, leader, position in USERS:
        fake.add_user(userid, name, depts, leader=leader, position=position)
